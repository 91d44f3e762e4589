"""Checking submissions before grading: every problem becomes a clear line.

nbgrader stops grading a student at the first notebook it cannot read, so the
pipeline grades from a *staged* copy of ``submitted/`` that holds only the
notebooks that passed these checks. A notebook left out is graded as missing
(zero), and the report says why.
"""

from __future__ import annotations

import csv
import dataclasses
import shutil
from pathlib import Path

from .course import ASSIGNMENT, NOTEBOOK_POINTS, NOTEBOOKS
from .notebooks import NotebookError, grade_cells, nbgrader_meta, read_notebook, write_notebook

STAGED_DIR = "staged"


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something an instructor should know about one submission."""

    student: str
    message: str
    notebook: str = ""
    severity: str = "error"  # "error" needs attention; "warning" is informational

    def line(self) -> str:
        where = f"{self.student}/{self.notebook}" if self.notebook else self.student
        return f"[{self.severity}] {where}: {self.message}"


@dataclasses.dataclass
class Intake:
    students: list[str]
    findings: list[Finding]


def load_roster(course_root: Path) -> set[str] | None:
    """Student ids from ``roster.csv`` (nbgrader's import format, column ``id``), if present."""
    path = course_root / "roster.csv"
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise ValueError(f"{path}: needs a header row with an 'id' column")
        return {row["id"].strip() for row in reader if row.get("id", "").strip()}


def stage_submissions(course_root: Path, source_dir: Path) -> Intake:
    """Check ``submitted/*/midterm`` and copy what can be graded to ``staged/``."""
    submitted = course_root / "submitted"
    staged = course_root / STAGED_DIR
    if staged.exists():
        shutil.rmtree(staged)
    staged.mkdir(parents=True)
    findings: list[Finding] = []
    if not submitted.is_dir() or not any(p.is_dir() for p in submitted.iterdir()):
        findings.append(Finding("(class)", f"no submissions: {submitted} is empty or missing"))
        return Intake([], findings)

    roster = load_roster(course_root)
    expected_ids = {name: set(grade_cells(read_notebook(source_dir / f"{name}.ipynb")))
                    for name in NOTEBOOKS}
    students: list[str] = []
    for folder in sorted(p for p in submitted.iterdir() if p.is_dir()):
        student = folder.name
        if roster is not None and student not in roster:
            findings.append(Finding(student, "unknown student (not in roster.csv): not graded; "
                                    "fix the folder name or add the student to the roster"))
            continue
        assignment = folder / ASSIGNMENT
        if not assignment.is_dir():
            others = ", ".join(sorted(p.name for p in folder.iterdir() if p.is_dir())) or "none"
            findings.append(Finding(student, f"no {ASSIGNMENT}/ folder (found: {others}): "
                                    "not graded"))
            continue
        target = staged / student / ASSIGNMENT
        target.mkdir(parents=True)
        timestamp = assignment / "timestamp.txt"
        if timestamp.exists():
            shutil.copy(timestamp, target / "timestamp.txt")
        for extra in sorted(assignment.glob("*.ipynb")):
            if extra.stem not in NOTEBOOKS:
                findings.append(Finding(student, "not a notebook of this exam: ignored",
                                        extra.name, "warning"))
        for name in NOTEBOOKS:
            path = assignment / f"{name}.ipynb"
            if not path.exists():
                if NOTEBOOK_POINTS[name] == 0:  # the cover: cover.honour_code_findings says so
                    continue
                findings.append(Finding(student, "missing notebook: scored 0", name))
                continue
            try:
                nb = read_notebook(path)
            except NotebookError as exc:
                findings.append(Finding(student, f"{_short(exc, path)}: scored 0", name))
                continue
            if not set(grade_cells(nb)) & expected_ids[name]:
                findings.append(Finding(
                    student, "holds none of this notebook's answer or test cells (a notebook "
                    "from another assignment, or its nbgrader metadata was stripped): scored 0",
                    name))
                continue
            repairs = _repair(nb)
            if repairs:
                write_notebook(nb, target / path.name)
                findings.append(Finding(student, "; ".join(repairs), name, "warning"))
            else:
                shutil.copy(path, target / path.name)
        students.append(student)
    return Intake(students, findings)


def _repair(nb) -> list[str]:
    """Fix in place what would make nbgrader fail the whole student; say what was fixed.

    A cell copied with its nbgrader metadata (same grade id) is dropped after the first
    copy, and repeated cell ids are renewed.
    """
    import uuid

    notes: list[str] = []
    seen_grades: set[str] = set()
    seen_ids: set[str] = set()
    kept = []
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id and grade_id in seen_grades:
            notes.append(f"duplicated cell {grade_id} dropped (the first copy is graded)")
            continue
        if grade_id:
            seen_grades.add(grade_id)
        cell_id = cell.get("id")
        if cell_id and cell_id in seen_ids:
            cell["id"] = uuid.uuid4().hex[:8]
        if cell_id:
            seen_ids.add(cell.get("id"))
        kept.append(cell)
    nb.cells = kept
    return notes


def _short(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
