"""Record: the driver alone writes the central gradebook and the course's folders.

One student at a time: files first (each folder swapped in whole), then the scores, the named
mistakes and a ledger row in one transaction. The ledger (table ``cs230_ledger`` in the same
gradebook) records the content hash of the submission and of the kit, which makes a re-run
resume: a student already graded against an unchanged submission is skipped. A submission that
kills its worker every time is marked ``crashed`` there.
"""

from __future__ import annotations

import dataclasses
import json
import time
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..class_mistakes import mistakes_table, replace_student_mistakes
from ..course import ASSIGNMENT, Course
from ..finding import Finding
from ..folders import staged_folder
from .kit import GradedSubmission, SubmissionTask

LEDGER = "cs230_ledger"


def _ledger_table(metadata: Any) -> Any:
    from sqlalchemy import Column, Float, Integer, String, Table, Text

    return Table(
        LEDGER, metadata,
        Column("assignment", String(128), primary_key=True),
        Column("student", String(128), primary_key=True),
        Column("submission_sha", String(64), nullable=False),
        Column("kit_sha", String(64), nullable=False),
        Column("status", String(16), nullable=False),  # graded | crashed
        Column("retries", Integer, nullable=False, default=0),
        Column("writes", Integer, nullable=False, default=0),
        Column("worker", String(256), nullable=False, default=""),
        Column("updated", Float, nullable=False),
        Column("note", Text, nullable=False, default=""),
    )

def _ledger(gb: Any) -> Any:
    from sqlalchemy import MetaData

    table = _ledger_table(MetaData())
    table.create(gb.engine, checkfirst=True)
    return table

def read_ledger(db_url: str) -> dict[str, dict[str, Any]]:
    """``{student: ledger row}`` for the midterm, from the central gradebook."""
    from nbgrader.api import Gradebook
    from sqlalchemy import select

    with Gradebook(db_url) as gb:
        table = _ledger(gb)
        rows = gb.db.execute(select(table).where(table.c.assignment == ASSIGNMENT)).mappings()
        return {r["student"]: dict(r) for r in rows}

def _upsert_ledger(gb: Any, table: Any, student: str, **values: Any) -> None:
    from sqlalchemy import select

    key = (table.c.assignment == ASSIGNMENT) & (table.c.student == student)
    old = gb.db.execute(select(table.c.writes).where(key)).first()
    values["updated"] = time.time()
    if old is None:
        gb.db.execute(table.insert().values(assignment=ASSIGNMENT, student=student, **values))
    else:
        if "writes" in values:
            values["writes"] = old[0] + values["writes"]
        gb.db.execute(table.update().where(key).values(**values))

def _write_tree(target: Path, files: Mapping[str, bytes]) -> None:
    """Replace ``target`` with ``files`` as a whole (a crash leaves the old or the new)."""
    with staged_folder(target) as fresh:
        for rel, blob in files.items():
            (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
            (fresh / rel).write_bytes(zlib.decompress(blob))

def record_graded(course: Course, kit_sha: str, task: SubmissionTask, res: GradedSubmission,
                  retries: int, worker: str) -> None:
    """Driver only: write one graded submission's files, then its scores and ledger row.

    Scores, the named mistakes and the ledger row are one transaction.
    """
    from nbgrader.api import (
        Comment,
        Grade,
        Gradebook,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    _write_tree(course.autograded_dir(res.student), res.autograded)
    if res.feedback:
        _write_tree(course.feedback_dir(res.student), res.feedback)
    with Gradebook(course.db_url) as gb:
        table = _ledger(gb)
        mistakes = mistakes_table(gb)
        session = gb.db
        try:
            try:
                student = gb.find_student(res.student)
            except MissingEntry:
                student = Student(id=res.student)
                session.add(student)
            try:
                sub = gb.find_submission(ASSIGNMENT, res.student)
            except MissingEntry:  # add_submission without its commit
                assignment = gb.find_assignment(ASSIGNMENT)
                with session.no_autoflush:
                    sub = SubmittedAssignment(assignment=assignment, student=student)
                    for notebook in assignment.notebooks:
                        nb = SubmittedNotebook(notebook=notebook, assignment=sub)
                        for cell in notebook.grade_cells:
                            Grade(cell_id=cell.id, notebook=nb)
                        for cell in (*notebook.solution_cells, *notebook.task_cells):
                            Comment(cell_id=cell.id, notebook=nb)
                        for cell in notebook.task_cells:
                            Grade(cell_id=cell.id, notebook=nb)
                    session.add(sub)  # cascades to the notebooks, grades and comments
            if res.timestamp is not None:
                sub.timestamp = res.timestamp
            session.flush()
            grades, comments, notebooks = _submission_rows(session, sub.id)
            present = set(res.submitted)
            for nb_name, grade_id, auto, manual in res.grades:
                grade = grades[(nb_name, grade_id)]
                grade.auto_score = auto
                # nbgrader's rule: an earlier manual score keeps the cell in review
                grade.needs_manual_grade = manual or (
                    nb_name in present and grade.manual_score is not None)
            for nb_name, cell_id, text in res.comments:
                comments[(nb_name, cell_id)].auto_comment = text
            for nb_name, penalty in res.penalties.items():
                notebooks[nb_name].late_submission_penalty = penalty
            # the report lines travel with the row: a resumed run reports them again
            note = json.dumps([dataclasses.asdict(f) for f in res.findings])
            # what the class got wrong, with the scores it explains
            replace_student_mistakes(gb, mistakes, res.student, res.mistakes)
            _upsert_ledger(gb, table, res.student, submission_sha=task.sha, kit_sha=kit_sha,
                           status="graded", retries=retries, writes=1, worker=worker, note=note)
            session.commit()
        except Exception:
            session.rollback()
            raise

def _submission_rows(session: Any, submission_id: str) -> tuple[dict, dict, dict]:
    """A submission's grades, comments and notebooks keyed by names: three queries in all."""
    from nbgrader.api import BaseCell, Comment, Grade, Notebook, SubmittedNotebook

    def keyed(kind: Any) -> dict[tuple[str, str], Any]:
        rows = (session.query(kind, Notebook.name, BaseCell.name)
                .join(BaseCell, BaseCell.id == kind.cell_id)
                .join(SubmittedNotebook, SubmittedNotebook.id == kind.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .filter(SubmittedNotebook.assignment_id == submission_id))
        return {(nb, cell): row for row, nb, cell in rows}

    notebooks = {nb.name: nb for nb in session.query(SubmittedNotebook)
                 .filter(SubmittedNotebook.assignment_id == submission_id)}
    return keyed(Grade), keyed(Comment), notebooks

def record_crashed(course: Course, kit_sha: str, task: SubmissionTask, retries: int,
                   note: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        _upsert_ledger(gb, _ledger(gb), task.student, submission_sha=task.sha, kit_sha=kit_sha,
                       status="crashed", retries=retries, writes=0, worker="", note=note)
        gb.db.commit()

def ledger_findings(db_url: str, students: Iterable[str]) -> list[Any]:
    """The report lines of the last run for ``students``, from their graded ledger rows."""
    rows = read_ledger(db_url)
    return [f for s in students if (row := rows.get(s)) and row["status"] == "graded"
            for f in findings_of_note(row["note"] or "")]

def findings_of_note(note: str) -> list[Any]:
    """The report lines a ledger row kept (empty for rows written before they were kept)."""

    try:
        rows = json.loads(note) if note.startswith("[") else []
        return [Finding(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
                for row in rows]  # JSON has no tuples: the evidence comes back as a list
    except (ValueError, TypeError):
        return []

def gradebook_snapshot(db_url: str) -> dict[str, dict[tuple[str, str], tuple[Any, ...]]]:
    """``{student: {(notebook, cell): (auto score, manual score, needs review | comment)}}``."""
    from nbgrader.api import Gradebook

    snap: dict[str, dict[tuple[str, str], tuple[Any, ...]]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            cells: dict[tuple[str, str], tuple[Any, ...]] = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[(nb.name, g.name)] = (g.auto_score, g.manual_score,
                                                bool(g.needs_manual_grade))
                for c in nb.comments:
                    cells[(nb.name, "comment:" + c.name)] = (c.auto_comment,)
                cells[(nb.name, "late_penalty")] = (nb.late_submission_penalty,)
            snap[sub.student.id] = cells
    return snap
