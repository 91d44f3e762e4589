"""The driver: grade a class on Dask workers; workers need no shared folder and no database.

Each task goes to a worker (:mod:`cs230_grading.grading.worker`), which grades it in a private
course of its own; the driver alone writes what comes back (:mod:`cs230_grading.grading.
record`). A submission that kills its worker is re-run elsewhere by the scheduler; after a
bounded number of worker deaths it is marked ``crashed`` in the ledger and reported, and the
rest of the class goes on. This is the pipeline's only grading path, on a ``LocalCluster`` by
default and on a scheduler's cluster with ``--scheduler`` (:mod:`cs230_grading.engine`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

from ..autograde import StudentResult
from ..course import ASSIGNMENT, Course
from ..engine import GradingEngine
from ..folders import content_sha, tree_files
from ..intake import STAGED_DIR
from ..sanitize import terminal_text
from .kit import CourseKit, GradedSubmission, SubmissionTask, build_kit
from .record import findings_of_note, read_ledger, record_crashed, record_graded
from .worker import grade_submission, last_line, release_worker_courses


@dataclasses.dataclass
class ClassRun:
    """A whole distributed run: a result per student and what happened on the way."""

    results: dict[str, StudentResult]
    graded: list[str] = dataclasses.field(default_factory=list)
    #: graded in an earlier run against the same submission: not graded again
    skipped: list[str] = dataclasses.field(default_factory=list)
    #: student -> workers that died while grading it (re-run elsewhere)
    retried: dict[str, int] = dataclasses.field(default_factory=dict)
    #: submissions that killed every worker they ran on: marked, not graded
    crashed: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    #: driver time spent writing files and gradebook rows (the one serial part)
    write_seconds: float = 0.0
    #: student -> seconds by phase (:data:`PHASES`), for the benchmark's breakdown
    timings: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    #: the cluster being closed in the background (``close_in_background``)
    closing: threading.Thread | None = None

    def wait_closed(self) -> None:
        """Wait until the cluster of this run is closed (at once if it already is)."""
        if self.closing is not None:
            self.closing.join()
            self.closing = None

    def summary(self) -> list[str]:
        lines = [f"graded {len(self.graded)}, unchanged since the last run {len(self.skipped)}, "
                 f"crashed {len(self.crashed)} in {self.seconds:.1f} s"]
        for student, n in sorted(self.retried.items()):
            lines.append(f"retried {student}: {n} worker(s) died while grading it")
        for student in self.crashed:
            lines.append(f"crashed {student}: {self.results[student].error}")
        return lines

def _gradebook_inputs(db_url: str, students: Iterable[str]
                      ) -> tuple[dt.datetime | None, dict[str, dt.timedelta | None]]:
    """The due date and each student's extension: the central rows a task carries."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            duedate = gb.find_assignment(ASSIGNMENT).duedate
        except MissingEntry:
            raise RuntimeError(f"the gradebook at {db_url} has no assignment {ASSIGNMENT!r}: "
                               "run `nbgrader generate_assignment` first") from None
        extensions: dict[str, dt.timedelta | None] = {}
        for student in students:
            try:
                extensions[student] = gb.find_submission(ASSIGNMENT, student).extension
            except MissingEntry:
                extensions[student] = None
    return duedate, extensions

def _manual_rows(db_url: str) -> tuple[dict[str, dict[tuple[str, str], float]],
                                       dict[str, dict[tuple[str, str], str]]]:
    """Every manual score and manual comment of the midterm, by student: two queries.

    ``({student: {(notebook, grade id): score}}, {student: {(notebook, cell): text}})``
    """
    from nbgrader.api import (
        Assignment,
        BaseCell,
        Comment,
        Grade,
        Gradebook,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    def rows(session: Any, kind: Any, column: Any) -> Iterator[tuple[str, str, str, Any]]:
        return (session.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name,
                              column)
                .join(BaseCell, BaseCell.id == kind.cell_id)
                .join(SubmittedNotebook, SubmittedNotebook.id == kind.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(SubmittedAssignment,
                      SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                .filter(Assignment.name == ASSIGNMENT, column.isnot(None)))

    scores: dict[str, dict[tuple[str, str], float]] = {}
    texts: dict[str, dict[tuple[str, str], str]] = {}
    with Gradebook(db_url) as gb:
        for student, nb, cell, value in rows(gb.db, Grade, Grade.manual_score):
            scores.setdefault(student, {})[(nb, cell)] = float(value)
        for student, nb, cell, value in rows(gb.db, Comment, Comment.manual_comment):
            texts.setdefault(student, {})[(nb, cell)] = str(value)
    return scores, texts

def grade_class(course: Course, students: list[str], *, workers: int | None = None,
                scheduler: str | None = None, feedback: bool = True, progress: bool = True,
                out: TextIO = sys.stdout, max_retries: int = 2, submitted: str = STAGED_DIR,
                resume: bool = True, close_in_background: bool = False,
                when_idle: Callable[[], None] | None = None) -> ClassRun:
    """Grade ``students`` from ``<course>/<submitted>/`` on Dask; the driver writes everything.

    ``max_retries``: worker deaths a submission may cause before it is marked
    ``crashed`` (LocalCluster; a remote scheduler uses its own allowed-failures).
    ``close_in_background``: once every result is written, close the cluster in a thread
    (:meth:`ClassRun.wait_closed` waits for it) so that the caller can go on meanwhile.
    ``when_idle``: called once when the last submission has been handed out and a worker
    is free (:meth:`GradingEngine.run`): the driver may start work of its own then.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    kit = build_kit(course)
    ledger = read_ledger(course.db_url) if resume else {}
    duedate, extensions = _gradebook_inputs(course.db_url, students)
    manual_scores, manual_comments = _manual_rows(course.db_url)
    run = ClassRun({})
    tasks: list[SubmissionTask] = []
    for student in students:
        files = tree_files(course.root / submitted / student / ASSIGNMENT)
        sha = content_sha(files)
        row = ledger.get(student)
        if row and row["submission_sha"] == sha and row["kit_sha"] == kit.sha:
            if row["status"] == "crashed":
                run.crashed.append(student)
                run.results[student] = StudentResult(
                    student=student, success=False, seconds=0.0,
                    error=f"{row['note']} (marked in an earlier run; submission unchanged)")
                continue
            if course.autograded_dir(student).is_dir() and (
                    not feedback or course.feedback_dir(student).is_dir()):
                run.skipped.append(student)
                run.results[student] = StudentResult(
                    student=student, success=True, seconds=0.0,
                    log="unchanged since it was graded: not graded again",
                    findings=findings_of_note(row["note"]))
                continue
        tasks.append(SubmissionTask(
            student, files, sha, feedback, duedate, extensions.get(student),
            manual_scores=manual_scores.get(student, {}),
            manual_comments=manual_comments.get(student, {})))

    if tasks:
        engine = GradingEngine(workers=workers, scheduler=scheduler, env={},
                               allowed_failures=max_retries)
        engine.__enter__()
        in_background = False
        try:
            with tqdm(total=len(tasks), unit="student", desc="grading", disable=not progress,
                      file=out, dynamic_ncols=True) as bar:
                for outcome in engine.run(grade_submission, tasks, shared=kit,
                                          when_idle=when_idle):
                    task: SubmissionTask = outcome.item
                    if task.student in run.results:
                        continue  # never write a student twice in one run
                    if outcome.retries:
                        run.retried[task.student] = outcome.retries
                    tick = time.perf_counter()
                    run.results[task.student] = _settle(course, kit, task, outcome, run)
                    write = time.perf_counter() - tick
                    run.write_seconds += write
                    if outcome.ok and outcome.value is not None and outcome.value.timings:
                        run.timings[task.student] = {**outcome.value.timings,
                                                     "driver_write": write}
                    bar.set_postfix_str(terminal_text(task.student))
                    bar.update()
            engine.run_on_workers(release_worker_courses)
            in_background = close_in_background  # every result is written
        finally:
            if in_background:
                run.closing = threading.Thread(target=engine.__exit__, args=(None, None, None),
                                               name="cs230-close-cluster")
                run.closing.start()
            else:
                engine.__exit__(None, None, None)
    run.seconds = time.perf_counter() - start
    return run

def _settle(course: Course, kit: CourseKit, task: SubmissionTask, outcome: Any,
            run: ClassRun) -> StudentResult:
    """Turn one task outcome into a result, writing what it graded."""
    retried = (f"; retried after {outcome.retries} worker death(s)" if outcome.retries else "")
    if outcome.killed_workers:
        note = (f"submission crashed its worker {outcome.retries + 1} times: marked as crashing, "
                "not graded (inspect it by hand)")
        record_crashed(course, kit.sha, task, outcome.retries, note)
        run.crashed.append(task.student)
        return StudentResult(student=task.student, success=False, seconds=0.0, error=note)
    if not outcome.ok:
        return StudentResult(student=task.student, success=False, seconds=0.0,
                             error=(outcome.error or "grading failed") + retried)
    res: GradedSubmission = outcome.value
    if not res.success:
        return StudentResult(student=task.student, success=False, seconds=res.seconds,
                             log=res.log, error=(res.error or "nbgrader failed") + retried)
    try:
        record_graded(course, kit.sha, task, res, outcome.retries, outcome.worker)
    except Exception as exc:  # noqa: BLE001 - one student's write must not stop the class
        return StudentResult(student=task.student, success=False, seconds=res.seconds,
                             log=res.log, error=f"could not record the grades: "
                             f"{type(exc).__name__}: {last_line(str(exc))}")
    run.graded.append(task.student)
    log = res.log + (f"\n[cs230] graded on {outcome.worker}{retried}\n")
    return StudentResult(student=task.student, success=True, seconds=res.seconds, log=log,
                         findings=list(res.findings),
                         scoring_seconds=res.timings.get("scoring", 0.0))

def grade_all_distributed(course: Course, students: list[str], *, workers: int | None = None,
                          scheduler: str | None = None, feedback: bool = True,
                          progress: bool = True, out: TextIO = sys.stdout
                          ) -> dict[str, StudentResult]:
    """:func:`grade_class`, its summary lines printed: ``{student: StudentResult}``."""
    run = grade_class(course, students, workers=workers, scheduler=scheduler,
                      feedback=feedback, progress=progress, out=out)
    if run.skipped or run.retried or run.crashed:
        for line in run.summary():  # quotes student names and errors: printed as text
            print(terminal_text(line), file=out, flush=True)
    return run.results
