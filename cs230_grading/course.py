"""The nbgrader course: its layout, its points, and nbgrader driven on it.

The repository root is the course root (``nbgrader_config.py`` is there).
:class:`Course` also builds scratch courses in a temporary folder, which is
how the tests, the sample class and the benchmark grade without touching the
instructor's own gradebook.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from nbformat import NotebookNode

from .folders import remove_tree, replace_folder
from .notebooks import grade_cells, nbgrader_meta, read_notebook, write_notebook
from .questions import ASSIGNMENT as ASSIGNMENT  # re-exported: the table lives there
from .questions import EXAM_POINTS as EXAM_POINTS
from .questions import EXTRA_CREDIT as EXTRA_CREDIT
from .questions import QUESTIONS

REPO_ROOT = Path(__file__).resolve().parents[1]
#: The question notebooks, their points and the exam's totals: all from the question table
#: (cs230_grading/questions.py). Q6's points include its 5 points of extra credit; the cover,
#: with the honour code, is worth none.
NOTEBOOKS: tuple[str, ...] = tuple(q.notebook for q in QUESTIONS)
NOTEBOOK_POINTS: dict[str, float] = {q.notebook: q.points for q in QUESTIONS}
#: Prefix of the scratch folder (in the course root) a new release is generated into.
RELEASE_STAGING = ".release-staging-"


class NbgraderError(RuntimeError):
    """An nbgrader command failed; the message carries the end of its log."""


@dataclasses.dataclass(frozen=True)
class CellGrade:
    """One graded cell of one student's notebook, as the gradebook holds it."""

    notebook: str
    grade_id: str
    score: float | None
    max_score: float
    needs_manual_grade: bool
    auto: bool
    output: str = ""


def nbgrader_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Environment for nbgrader and its kernels: the answer key importable."""
    env = dict(os.environ)
    path = env.get("PYTHONPATH", "")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), path) if p)
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    env.setdefault("JUPYTER_PLATFORM_DIRS", "1")
    env.setdefault("MPLBACKEND", "Agg")
    if extra:
        env.update(extra)
    return env


class Course:
    """An nbgrader course folder (``nbgrader_config.py``, ``source/``, ...)."""

    def __init__(self, root: str | Path, *, db_url: str | None = None) -> None:
        self.root = Path(root).resolve()
        self.db_url = db_url or f"sqlite:///{self.root / 'gradebook.db'}?timeout=60"

    # -- construction -------------------------------------------------------
    @classmethod
    def scratch(
        cls,
        dest: str | Path,
        *,
        source: str | Path = REPO_ROOT / "source",
        config: str | Path = REPO_ROOT / "nbgrader_config.py",
        db_url: str | None = None,
    ) -> Course:
        """Copy the course configuration and ``source/`` into ``dest``."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy(config, dest / "nbgrader_config.py")
        shutil.copytree(
            source,
            dest / "source",
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
        )
        return cls(dest, db_url=db_url)

    # -- folders ------------------------------------------------------------
    @property
    def source_dir(self) -> Path:
        return self.root / "source" / ASSIGNMENT

    @property
    def release_dir(self) -> Path:
        return self.root / "release" / ASSIGNMENT

    @property
    def submitted_root(self) -> Path:
        return self.root / "submitted"

    def submission_dir(self, student: str) -> Path:
        return self.submitted_root / student / ASSIGNMENT

    def autograded_dir(self, student: str) -> Path:
        return self.root / "autograded" / student / ASSIGNMENT

    def feedback_dir(self, student: str) -> Path:
        return self.root / "feedback" / student / ASSIGNMENT

    # -- nbgrader -----------------------------------------------------------
    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = nbgrader_env(extra)
        env["CS230_GRADEBOOK_URL"] = self.db_url
        return env

    def nbgrader(
        self,
        *args: str,
        check: bool = True,
        env: Mapping[str, str] | None = None,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``nbgrader ARGS`` in the course root and return the finished process."""
        cmd = [sys.executable, "-m", "nbgrader", *args]
        proc = subprocess.run(
            cmd,
            cwd=self.root,
            env=self.env(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-25:])
            raise NbgraderError(f"`nbgrader {' '.join(args)}` failed:\n{tail}")
        return proc

    def generate_assignment(self) -> None:
        """``nbgrader generate_assignment midterm --force`` (also fills the gradebook).

        nbgrader deletes the release folder when a notebook fails to convert; here it writes
        into a scratch folder, which replaces ``release/midterm`` only when every notebook
        converted. On failure ``release/`` stays byte for byte as it was and the error
        names the notebook and the reason. First, the cover's generated table is rewritten
        from the question table (:func:`cs230_grading.exam_text.write_cover`).
        """
        from .exam_text import write_cover

        write_cover(self.root)  # the cover's table and totals, from the question table
        for stale in self.root.glob(f"{RELEASE_STAGING}*"):  # left by a killed run
            remove_tree(stale)
        with tempfile.TemporaryDirectory(prefix=RELEASE_STAGING, dir=self.root) as scratch:
            proc = self.nbgrader(
                "generate_assignment", ASSIGNMENT, "--force",
                f"--CourseDirectory.release_directory={Path(scratch).name}",
                check=False,
            )
            built = Path(scratch) / ASSIGNMENT
            if proc.returncode != 0 or not built.is_dir():
                raise NbgraderError(self._release_failure(proc.stdout + proc.stderr))
            replace_folder(self.release_dir, built)
        from .release_state import stamp_release

        stamp_release(self)  # the gradebook now knows which release/ it was generated with

    def export_grades(self, to: Path) -> None:
        """What ``nbgrader export --to=TO`` writes (its ``CsvExportPlugin``), in this process."""
        from nbgrader.api import Gradebook
        from nbgrader.plugins import CsvExportPlugin

        with Gradebook(self.db_url) as gb:
            CsvExportPlugin(to=str(to)).export(gb)

    def _release_failure(self, log: str) -> str:
        """One line: which source notebook stopped ``generate_assignment``, and why."""
        errors = re.findall(r"^\s*(?:[\w.]+(?:Error|Exception)): (.+)$", log, re.M)
        reason = errors[-1].strip() if errors else _last_error_line(log)
        converting = re.findall(r"Converting notebook (\S+\.ipynb)", log)
        if not converting:  # failed before any notebook: the gradebook, the config...
            return (f"release/ not regenerated, left as it was: `nbgrader generate_assignment` "
                    f"failed: {reason}")
        path = Path(os.path.normpath(converting[-1]))
        with contextlib.suppress(ValueError):
            path = path.relative_to(self.root)
        cell = re.search(r"Cell contents are:\s*\n\s*(\S[^\n]*)", log)
        in_cell = f" (in the cell that starts `{cell.group(1).strip()[:60]}`)" if cell else ""
        return (f"release/ not regenerated, left as it was: {path}: {reason}{in_cell}. "
                "Fix the notebook and run again.")

    def add_submission(
        self, student: str, notebooks: Mapping[str, NotebookNode | bytes | str]
    ) -> Path:
        """Write a submission folder; values are notebooks, or raw file contents."""
        folder = self.submission_dir(student)
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in notebooks.items():
            target = folder / (name if "." in name else f"{name}.ipynb")
            if isinstance(content, bytes):
                target.write_bytes(content)
            elif isinstance(content, str):
                target.write_text(content, encoding="utf-8")
            else:
                write_notebook(content, target)
        return folder

    def autograde(
        self, students: Sequence[str] | None = None, *, force: bool = True, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        args = ["autograde", ASSIGNMENT]
        if students:
            args.append("--student=" + ",".join(students))
        if force:
            args.append("--force")
        return self.nbgrader(*args, check=check)

    def generate_feedback(self, students: Sequence[str] | None = None) -> None:
        args = ["generate_feedback", ASSIGNMENT, "--force"]
        if students:
            args.append("--student=" + ",".join(students))
        self.nbgrader(*args)

    # -- results ------------------------------------------------------------
    def cell_grades(self, student: str, *, with_output: bool = True) -> list[CellGrade]:
        """Every graded cell of a student's midterm submission, from the gradebook."""
        from nbgrader.api import Gradebook, MissingEntry

        grades: list[CellGrade] = []
        with Gradebook(self.db_url) as gb:
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                return []
            for nb in submission.notebooks:
                outputs = self._test_outputs(student, nb.name) if with_output else {}
                for grade in nb.grades:
                    grades.append(
                        CellGrade(
                            notebook=nb.name,
                            grade_id=grade.name,
                            score=grade.score if not grade.needs_manual_grade else None,
                            max_score=grade.max_score,
                            needs_manual_grade=bool(grade.needs_manual_grade),
                            auto=grade.cell_type == "code" and not _is_solution(grade),
                            output=outputs.get(grade.name, ""),
                        )
                    )
        return grades

    def scores(self, student: str) -> dict[str, dict[str, float | None]]:
        """``{notebook: {grade_id: score or None (awaiting manual grade)}}``."""
        table: dict[str, dict[str, float | None]] = {}
        for g in self.cell_grades(student, with_output=False):
            table.setdefault(g.notebook, {})[g.grade_id] = g.score
        return table

    def _test_outputs(self, student: str, notebook: str) -> dict[str, str]:
        path = self.autograded_dir(student) / f"{notebook}.ipynb"
        if not path.exists():
            return {}
        try:
            nb = read_notebook(path)
        except ValueError:
            return {}
        return {gid: cell_output_text(cell) for gid, cell in grade_cells(nb).items()}


def _last_error_line(log: str) -> str:
    lines = [ln.strip() for ln in log.splitlines() if "ERROR" in ln or "Error" in ln]
    return lines[-1] if lines else "nbgrader failed (no error message)"


def _is_solution(grade: object) -> bool:
    cell = getattr(grade, "cell", None)
    return bool(getattr(cell, "solution", False)) if cell is not None else False


def cell_output_text(cell: NotebookNode) -> str:
    """The text a cell printed: streams, results and error messages (no tracebacks)."""
    parts: list[str] = []
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "stream":
            parts.append(out.get("text", ""))
        elif kind in ("execute_result", "display_data"):
            parts.append(str(out.get("data", {}).get("text/plain", "")))
        elif kind == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}")
    return "".join(p if p.endswith("\n") else p + "\n" for p in parts if p).strip()


def source_points(source_dir: str | Path) -> dict[str, dict[str, float]]:
    """``{notebook: {grade_id: points}}`` read from the source notebooks' metadata."""
    table: dict[str, dict[str, float]] = {}
    for name in NOTEBOOKS:
        nb = read_notebook(Path(source_dir) / f"{name}.ipynb")
        table[name] = {
            gid: float(nbgrader_meta(cell).get("points", 0))
            for gid, cell in grade_cells(nb).items()
            if nbgrader_meta(cell).get("grade")
        }
    return table

