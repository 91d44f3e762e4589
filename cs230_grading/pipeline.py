"""The instructor's main job, in one call.

1. regenerate ``release/`` from ``source/`` (``nbgrader generate_assignment``), unless it is
   current (:mod:`cs230_grading.release_state`);
2. check every submission under ``submitted/<student>/midterm/`` and stage what can be graded;
3. grade every student on Dask workers (a ``LocalCluster`` here, or a scheduler's cluster):
   nbgrader's autograde (each notebook executed without the key, then scored outside its
   kernel) and the feedback HTML on the worker,
   the driver alone writing the gradebook and the folders (:mod:`cs230_grading.grading`:
   resume through the ledger, ``crashed`` marks), with a progress bar;
4. export the grades (nbgrader's CSV export plugin, in this process) and a per-question CSV;
5. write the report (score distributions, per-student table, manual grading queue); its
   similarity part is computed while the last students grade, once a worker is free.

The exit status is 0 when every submission was read and graded, 1 when
something needs the instructor's attention (each such thing has a line in the
terminal and the report).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from . import audit
from .class_mistakes import count_mistakes, read_mistakes, write_mistakes_csv
from .course import EXAM_POINTS, Course
from .cover import honour_code_findings
from .exam_window import apply_deadlines, drop_ungraded_rows, load_window
from .finding import Finding
from .findings import terminal_lines
from .folders import staged_folder
from .grading.driver import grade_class
from .grading.record import ledger_findings
from .intake import STAGED_DIR, stage_submissions
from .item_analysis import collect_part_scores, item_statistics, write_item_analysis_csv
from .lms_export import (
    DEFAULT_ASSIGNMENT_COLUMN,
    DEFAULT_ID_COLUMN,
    CanvasRoster,
    read_canvas_roster,
    restate_grades_csv,
    write_canvas_csv,
)
from .release_state import release_is_current
from .report import write_report
from .results import ClassGrades, collect_grades, write_scores_csv
from .rubric import write_rubric
from .sanitize import terminal_text
from .similarity import Pair, similarity_pairs, write_similarity_csv
from .summary import attention_line, formgrader_url, summarise, summary_lines

REPORT_DIR = "reports"


@dataclasses.dataclass
class PipelineResult:
    grades: ClassGrades
    findings: list[Finding]
    report: Path | None
    grades_csv: Path | None
    seconds: float
    graded: list[str]
    #: wall-clock seconds each graded student took on its worker
    student_seconds: dict[str, float] = dataclasses.field(default_factory=dict)
    #: student -> seconds by phase (``grading.kit.PHASES``) for the students graded this run
    timings: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity == "error" for f in self.findings) else 0


def run_pipeline(
    course_root: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    db_url: str | None = None,
    regenerate_release: bool = True,
    feedback: bool = True,
    progress: bool = True,
    canvas: CanvasOptions | None = None,
    out: TextIO = sys.stdout,
) -> PipelineResult:
    """Run the whole instructor job on the course at ``course_root``.

    Workers grade in a private course each, the driver alone writing the gradebook
    (:func:`cs230_grading.grading.driver.grade_class`): ``workers`` local processes on a
    ``LocalCluster`` (default: one per core), or the cluster of the scheduler at
    ``scheduler`` (or ``CS230_DASK_SCHEDULER``). A re-run resumes: students graded against
    an unchanged submission and course are not graded again.
    """
    start = time.perf_counter()
    course = Course(course_root, db_url=db_url)
    say = _printer(out)
    if canvas is not None:
        canvas.roster()  # a roster that cannot be used stops the run before any grading
    window = load_window(course.root)  # so do a bad exam window or accommodations.csv

    if regenerate_release:
        if release_is_current(course):
            say("release/ is current: source/, release/ and the configuration are unchanged "
                "since it was generated for this gradebook.")
        else:
            say("Regenerating release/ from source/ (nbgrader generate_assignment)...")
            course.generate_assignment()  # stamps the gradebook (release_state)

    intake = stage_submissions(course.root, course.source_dir)
    findings = [*intake.findings, *honour_code_findings(course.root / STAGED_DIR, intake.students)]
    for line in terminal_lines(findings):
        say(line)
    students = intake.students
    # each student's own end time, as nbgrader's due date and extensions (exam_window.py)
    created = apply_deadlines(course.db_url, window, students) if window else set()
    if window:
        say(f"Exam window: ends {window.end:%Y-%m-%d %H:%M %Z}, {len(window.accommodations)} "
            "student(s) with their own end time (accommodations.csv).")
    graded: list[str] = []
    student_seconds: dict[str, float] = {}
    timings: dict[str, dict[str, float]] = {}
    run = None
    # The similarity report reads only the staged submissions: it is computed in a thread as
    # soon as a worker has nothing left to grade (one core is free for the rest of the run).
    similarity = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="cs230-similarity")
    similar: list[concurrent.futures.Future[list[Pair]]] = []

    def start_similarity() -> None:
        similar.append(similarity.submit(similarity_pairs, course.root / STAGED_DIR,
                                         course.release_dir))

    try:
        if students:
            say(f"Autograding {len(students)} students on "
                f"{'the cluster at ' + scheduler if scheduler else 'this machine'}...")
            run = grade_class(course, students, workers=workers, scheduler=scheduler,
                              feedback=feedback, progress=progress, out=out,
                              close_in_background=True, when_idle=start_similarity)
            if run.skipped or run.retried or run.crashed:
                for line in run.summary():
                    say(line)
            results, timings = run.results, run.timings
            for student in students:
                res = results.get(student)
                if res is None or not res.success:
                    reason = (res.error if res else "no result") or "nbgrader failed"
                    findings.append(Finding(student, f"grading failed: {reason}"))
                    say(findings[-1].line())
                else:
                    graded.append(student)
                    student_seconds[student] = res.seconds
                    findings.extend(res.findings)
                    for line in terminal_lines(res.findings):
                        say(line)

        drop_ungraded_rows(course.db_url, created, graded)
        # the reports are written while the cluster closes
        grades = collect_grades(course.db_url, students)
        report, grades_csv = write_reports(course, grades, findings, export=bool(graded),
                                           canvas=canvas, say=say,
                                           similar=similar[0].result() if similar else None)
    finally:
        similarity.shutdown(cancel_futures=True)
        if run is not None:
            run.wait_closed()
    seconds = time.perf_counter() - start
    result = PipelineResult(grades, findings, report, grades_csv, seconds, graded,
                            student_seconds, timings)
    _summary(result, say)
    return result


def write_reports(course: Course, grades: ClassGrades, findings: list[Finding], *,
                  export: bool = True, canvas: CanvasOptions | None = None,
                  say: Callable[[str], None] | None = None,
                  similar: list[Pair] | None = None) -> tuple[Path, Path | None]:
    """Write ``reports/`` whole: grades.csv (as ``nbgrader export``), scores_by_question.csv,
    mistakes.csv, item_analysis.csv, canvas.csv (with ``canvas``), report.html and the TA
    rubric. A failure leaves the previous ``reports/`` as it was. ``similar``: the
    similarity pairs of the staged submissions, when already computed.

    grades.csv is what ``nbgrader export`` writes (its ``CsvExportPlugin``), without
    starting an ``nbgrader`` process. Returns the paths of the report and of grades.csv
    (None when nobody was graded).
    """
    report_dir = course.root / REPORT_DIR
    students = [s.student for s in grades.students]
    notes: list[str] = []
    with staged_folder(report_dir) as fresh:
        if export:
            course.export_grades(fresh / "grades.csv")
            restate_grades_csv(fresh / "grades.csv",  # max_score 100, extra credit apart
                               {s.student: len(s.awaiting_manual) for s in grades.students})
            write_scores_csv(grades, fresh / "scores_by_question.csv")
        mistakes = count_mistakes(read_mistakes(course.db_url, students), len(students))
        write_mistakes_csv(mistakes, fresh / "mistakes.csv")
        items = item_statistics(collect_part_scores(course.db_url, students))
        write_item_analysis_csv(items, fresh / "item_analysis.csv")
        if canvas is not None:
            totals = {s.student: max(s.total - s.late_penalty, 0.0) for s in grades.students}
            exported = write_canvas_csv(canvas.roster(), totals, fresh / "canvas.csv",
                                        assignment_column=canvas.column,
                                        points_possible=EXAM_POINTS)
            exported.path = report_dir / "canvas.csv"
            notes += exported.lines()
        if similar is None:
            similar = similarity_pairs(course.root / STAGED_DIR, course.release_dir)
        write_similarity_csv(similar, fresh / "similarity.csv")
        write_rubric(course.source_dir, fresh)
        write_report(grades, findings, fresh, similarity=similar, mistakes=mistakes,
                     items=items, notes=notes, changes=audit.history(course.db_url),
                     formgrader=formgrader_url(course.root))
    for line in notes:
        (say or _printer(sys.stdout))(line)
    return report_dir / "report.html", (report_dir / "grades.csv" if export else None)


@dataclasses.dataclass(frozen=True)
class CanvasOptions:
    """``--canvas-roster FILE`` (a Canvas gradebook export), the column holding the nbgrader
    student ids, and the name of the assignment column to write."""

    roster_path: Path
    id_column: str = DEFAULT_ID_COLUMN
    column: str = DEFAULT_ASSIGNMENT_COLUMN

    def roster(self) -> CanvasRoster:
        return read_canvas_roster(self.roster_path, self.id_column)


def _printer(out: TextIO):
    def say(line: str) -> None:  # lines quote student text: no escape sequence reaches a tty
        print(terminal_text(line), file=out, flush=True)

    return say


def _summary(result: PipelineResult, say) -> None:
    """The class in numbers (:mod:`cs230_grading.summary`), then where the report is."""
    summary = summarise(result.grades, result.findings)
    say("")
    say(f"Done in {result.seconds:.1f} s.")
    root = result.report.parent.parent if result.report else None
    for line in summary_lines(summary, formgrader_url(root)):
        say(line)
    if result.grades_csv:
        say(f"Grades: {result.grades_csv}")
    if result.report:
        say(f"Report: {result.report}")
        say(f"Rubric for manual grading: {result.report.with_name('rubric.md')}")
    say(attention_line(summary))


def rebuild_report(course_root: str | Path, *, db_url: str | None = None,
                   canvas: CanvasOptions | None = None,
                   out: TextIO | None = None) -> PipelineResult:
    """Re-export grades and redraw the report from the gradebook (e.g. after manual grading).

    The last run's findings come back from the ledger, where each graded student's row keeps
    them, so the redrawn report still says who needs attention."""
    start = time.perf_counter()
    course = Course(course_root, db_url=db_url)
    say = _printer(out or sys.stdout)
    if canvas is not None:
        canvas.roster()
    grades = collect_grades(course.db_url)
    findings = ledger_findings(course.db_url, [s.student for s in grades.students])
    report, grades_csv = write_reports(course, grades, findings, canvas=canvas, say=say)
    result = PipelineResult(grades, findings, report, grades_csv, time.perf_counter() - start,
                            [s.student for s in grades.students])
    _summary(result, say)
    return result
