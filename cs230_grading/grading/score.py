"""Score the parts: the one pass that gives points, in the grading process.

nbgrader executes each notebook in the student's sandboxed kernel, which holds no answer key
and no hidden test (the test cells' hidden parts are a comment in ``source/``). Then
:class:`ScoreParts`, the next preprocessor of ``Autograde.autograde_preprocessors``, scores
every test cell here, in the grading process, the only process that imports
:mod:`cs230_grading.reference` and :mod:`cs230_grading.graders`: the notebook's code runs again
in a fresh sandboxed student process (:mod:`cs230_grading.grading.student_process`), and each
check of ``graders.qN.CHECKS`` calls the student's functions across the process boundary.

The verdict of each check becomes the test cell's outputs, in the form nbgrader reads
(``SaveAutoGrades``: an error output scores 0, an ``execute_result`` number is partial credit,
anything else full marks), so the gradebook, the formgrader and the feedback show exactly the
grader's scores and messages; what the kernel printed in a test cell is replaced.

It fails closed: a test cell with points and no check, or a notebook whose scoring cannot run,
scores 0 with a message and a finding, never full marks.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import functools
import importlib
import io
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor

from .. import credit
from ..budget import NOT_RUN, current_clock
from ..checks import recognised
from ..folders import course_root_of
from ..notebooks import NotebookError, insertion_index, nbgrader_meta, read_notebook
from ..questions import ASSIGNMENT
from .shortcuts import guarded_checks, is_not_attempted
from .student_process import (
    CheckOutOfTime,
    StudentCodeError,
    StudentNamespace,
    StudentProcess,
    execute_timeout,
    notebook_cells,
)

Check = Callable[[Mapping[str, Any]], "float | None"]
#: the first words of the outputs the scoring pass writes into a test cell
SCORED_MARK = "Scored by the grader"
#: the hidden part of every test cell in ``source/``: it runs nothing (the kernel holds no key)
HIDDEN_TEST_MARKER = ("### BEGIN HIDDEN TESTS\n"
                      "# Scored by the grader outside this notebook's kernel "
                      "(cs230_grading/graders: CHECKS).\n"
                      "### END HIDDEN TESTS")


@dataclasses.dataclass
class CheckOutcome:
    notebook: str
    grade_id: str
    points: float
    max_points: float
    message: str = ""
    #: ids of the named mistakes the check recognised (``cs230_grading.checks.Mistake``)
    mistakes: tuple[str, ...] = ()


class CheckResult(NamedTuple):
    """What one check gave: its points, its message, and the named mistakes it recognised."""

    points: float
    message: str
    mistakes: tuple[str, ...] = ()


@dataclasses.dataclass
class NotebookScore:
    """The scoring pass over one notebook."""

    notebook: str
    outcomes: list[CheckOutcome] = dataclasses.field(default_factory=list)
    #: cells that hung, crashed the student process or hit a limit while being loaded
    events: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    #: why the pass could not score this notebook (its parts then score 0); empty when it did
    error: str = ""
    #: test cells the student deleted, put back from ``source/`` and scored
    restored: list[str] = dataclasses.field(default_factory=list)


class MissingGrader(RuntimeError):
    """A question's grader module named in the question table is missing or has no CHECKS."""


def graders_for(notebook: str) -> Mapping[str, Check]:
    """``{test grade id: check}`` of a notebook's grader module, from the question table.

    The first call imports the grader of every question in the table
    (:func:`require_graders`): a grader the table names but that does not import stops
    grading with :class:`MissingGrader` (naming the file) before any check runs, never a
    question silently left out. A row with ``grader=None`` (manually graded short answers)
    has no checks.
    """
    from ..questions import question

    return require_graders()[question(notebook).notebook]


@functools.cache
def require_graders() -> dict[str, Mapping[str, Check]]:
    """``{notebook: CHECKS}`` for every question of the table; :class:`MissingGrader` if any
    grader module named there is missing or defines no ``CHECKS``."""
    from ..questions import QUESTIONS

    table: dict[str, Mapping[str, Check]] = {}
    for row in QUESTIONS:
        if row.grader is None:
            table[row.notebook] = {}
            continue
        name = f"cs230_grading.graders.{row.grader}"
        path = f"cs230_grading/graders/{row.grader}.py"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            raise MissingGrader(
                f"{row.notebook}: its grader module {path} is missing (named in "
                "cs230_grading/questions.py); grading will not start without it") from None
        checks = getattr(module, "CHECKS", None)
        if not isinstance(checks, Mapping):
            raise MissingGrader(f"{row.notebook}: {path} defines no CHECKS mapping "
                                "(test grade id -> check)")
        table[row.notebook] = checks
    return table


def run_check(space: StudentNamespace, check: Check, points: float,
              seconds: float | None = None, limit: str = "its time limit",
              load_seconds: float | None = None) -> CheckResult:
    """Points, message and recognised mistakes of one check against the student's namespace.

    Running the notebook's cells first (when the process is fresh) is the notebook's time,
    not the check's: each cell has the cell time limit, and all of them together at most
    ``load_seconds`` (what is left of the notebook's budget). The check itself, with every
    call of the student's code it makes (and the reloads those calls cause), then gets
    ``seconds`` of wall-clock time in all; over that it scores 0 and its message names
    ``limit``.
    """
    over = (f"over the time limit: this check ran for more than {limit}, counting every call "
            "of your code it made")
    try:
        space.deadline = None if load_seconds is None else time.monotonic() + load_seconds
        try:
            ns = space.namespace()
        except StudentCodeError as exc:
            return CheckResult(0.0, f"could not read the notebook's definitions: {exc}")
        except CheckOutOfTime:
            return CheckResult(
                0.0, f"{NOT_RUN}: running the notebook's cells used up its time budget")
        space.deadline = None if seconds is None else time.monotonic() + seconds
        space.current_ns = ns
        space._student_names = {n for n in ns if n != "__name__"}
        recognised()  # what earlier checks recognised is theirs
        # What a check prints (partial credit: which sub-answers were credited) is its message.
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            result = check(ns)
    except CheckOutOfTime:
        return CheckResult(0.0, over)
    except AssertionError as exc:
        return CheckResult(0.0, str(exc), tuple(getattr(exc, "mistakes", ())))
    except Exception as exc:  # noqa: BLE001 - a bug here must not stop the pass
        return CheckResult(0.0, f"{type(exc).__name__}: {exc}")
    finally:
        space.current_ns = {}
        space.deadline = None
    said = printed.getvalue().strip()
    if result is None:
        return CheckResult(points, said)
    try:
        return CheckResult(min(max(float(result), 0.0), points), said, recognised())
    except (TypeError, ValueError):
        return CheckResult(0.0, f"the check returned {result!r}")


def test_cells(nb: Any) -> dict[str, float]:
    """``{grade id: points}`` of a notebook's autograded test cells, in order."""
    return {str(meta["grade_id"]): float(meta.get("points") or 0)
            for cell in nb.cells if cell.cell_type == "code"
            for meta in [nbgrader_meta(cell)]
            if meta.get("grade") and not meta.get("solution") and meta.get("grade_id")}


def score_notebook(name: str, nb: Any, source_nb: Any, folder: Path, course_root: Path,
                   timeout: float | None = None) -> NotebookScore:
    """Score every test cell of notebook ``name`` (``nb``, as submitted) in a fresh student
    process started in ``folder``; ``source_nb`` gives the locked cells and the points."""
    start = time.perf_counter()
    timeout = timeout or execute_timeout()
    credit.adopt_config_switch(course_root)
    scored = NotebookScore(name)
    checks = guarded_checks(name, graders_for(name))  # no shortcuts; extra credit optional
    tests = test_cells(source_nb)
    unchecked = {gid: p for gid, p in tests.items() if gid not in checks and p > 0}
    scored.outcomes += [CheckOutcome(name, gid, 0.0, p, "not scored: the grader has no check "
                                     "for this test cell") for gid, p in unchecked.items()]
    tests = {gid: p for gid, p in tests.items() if gid in checks}
    if not tests:
        scored.seconds = time.perf_counter() - start
        return scored
    space = StudentNamespace(StudentProcess(folder, course_root, timeout), name,
                             notebook_cells(nb, source_nb))
    timer = current_clock().notebook_timer(name, "scoring")
    try:
        for gid, max_points in tests.items():
            left = timer.remaining()
            if left <= 0:
                scored.outcomes.append(CheckOutcome(name, gid, 0.0, max_points, timer.skip()))
                continue
            if left < timeout:
                seconds, limit = left, f"what was left of the {timer.limit} time budget"
            else:
                seconds, limit = timeout, (f"{timeout:g} s, the time limit of a test cell "
                                           "(Execute.timeout)")
            got = run_check(space, checks[gid], max_points, seconds, limit, load_seconds=left)
            scored.outcomes.append(CheckOutcome(name, gid, got.points, max_points,
                                                got.message, got.mistakes))
    finally:
        space.process.stop()
        timer.close()
    scored.events = list(space.events)
    scored.seconds = time.perf_counter() - start
    return scored


def verdict_outputs(outcome: CheckOutcome) -> list[NotebookNode]:
    """The test cell's outputs for ``outcome``, as nbgrader's ``SaveAutoGrades`` reads them:
    an error for 0 points, a number as the cell's result for partial credit, neither for
    full marks. The message comes first, in words."""
    head = (f"{SCORED_MARK}: {outcome.points:g} / {outcome.max_points:g} "
            f"point{'' if outcome.max_points == 1 else 's'}")
    if outcome.points <= 0 and is_not_attempted(outcome.message):  # optional, left alone
        return [NotebookNode(output_type="execute_result", execution_count=None, metadata={},
                             data={"text/plain": "0"}),
                NotebookNode(output_type="stream", name="stdout",
                             text=f"{head}: {outcome.message}\n")]  # last: one-line readers show it
    if outcome.max_points > 0 and outcome.points <= 0:
        text = outcome.message or "no credit"
        return [NotebookNode(output_type="error", ename=head, evalue=text,
                             traceback=[f"{head}", *text.splitlines()])]
    lines = [head, *([outcome.message] if outcome.message else [])]
    outputs = [NotebookNode(output_type="stream", name="stdout", text="\n".join(lines) + "\n")]
    if outcome.points < outcome.max_points:
        outputs.append(NotebookNode(output_type="execute_result", execution_count=None,
                                    metadata={}, data={"text/plain": repr(float(outcome.points))}))
    return outputs


#: ``(student, notebook)`` -> the scoring pass's result, for the grading worker to collect
#: (findings, named mistakes) once nbgrader's autograde has returned.
SCORED: dict[tuple[str, str], NotebookScore] = {}


def take_scores(student: str) -> list[NotebookScore]:
    """The scores recorded for ``student`` since the last call, removed from :data:`SCORED`."""
    keys = [key for key in SCORED if key[0] == student]
    return [SCORED.pop(key) for key in keys]


class ScoreParts(NbGraderPreprocessor):
    """nbgrader preprocessor: score every test cell outside the kernel (see the module)."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        name, student = str(info.get("notebook", "")), str(info.get("student", ""))
        folder = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        start = time.perf_counter()
        try:
            root = course_root_of(folder)
            if root is None:
                raise NotebookError(f"no nbgrader_config.py above {folder}")
            source_nb = read_notebook(root / "source" / info.get("assignment", ASSIGNMENT)
                                      / f"{name}.ipynb")
            scored = score_notebook(name, nb, source_nb, folder, root)
        except Exception as exc:  # noqa: BLE001 - fail closed: 0 points, and say why
            why = f"{type(exc).__name__}: {exc}"
            self.log.error("Scoring %s failed: %s", name, why)
            scored = NotebookScore(name, [
                CheckOutcome(name, gid, 0.0, points, f"not scored: the grader could not "
                             f"score this notebook ({why})")
                for gid, points in test_cells(nb).items() if points > 0], error=why)
            scored.seconds = time.perf_counter() - start
        by_id = {o.grade_id: o for o in scored.outcomes}
        if not scored.error:
            scored.restored = restore_test_cells(nb, source_nb, set(by_id))
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "code" and gid in by_id:
                cell.outputs = verdict_outputs(by_id[gid])
        SCORED[(student, name)] = scored
        return nb, resources


def restore_test_cells(nb: Any, source_nb: Any, grade_ids: set[str]) -> list[str]:
    """Put back the test cells of ``grade_ids`` that the student deleted, as ``source/`` has
    them, after the cell that precedes them there; the grade ids put back."""
    present = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
    order = [nbgrader_meta(c).get("grade_id") for c in source_nb.cells]
    restored: list[str] = []
    for gid, cell in zip(order, source_nb.cells, strict=True):
        if gid not in grade_ids or gid in present:
            continue
        ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells]
        restored_cell = copy.deepcopy(cell)
        restored_cell.outputs, restored_cell.execution_count = [], None
        nb.cells.insert(insertion_index(order, gid, ids), restored_cell)
        present.add(gid)
        restored.append(str(gid))
    return restored
