"""``cs230-grade``: the instructor's command line.

    cs230-grade demo                 # write the sample class, then run the pipeline
    cs230-grade samples [--force]    # write the sample class into submitted/
    cs230-grade run [--workers N] [--scheduler ADDR] [--db-url URL]
    cs230-grade report               # re-read the gradebook (after manual grading)
    cs230-grade audit [--student S] [--part GRADE_ID]
                                     # who changed which hand grade, when, with what tool
    ... run|report --canvas-roster FILE [--canvas-id-column COL]
                                     # also write reports/canvas.csv for a Canvas import
    cs230-grade collect --lms-zip FILE [--lms canvas] [--force]
                                     # unpack an LMS download into submitted/<id>/midterm/
    cs230-grade new-question qN_slug --title T --points P (--raise-total | --rebalance QN)
                                     # scaffold a question (docs/authoring.md)
    cs230-grade tables [--check]     # the exam's tables and totals, from questions.py
    cs230-grade exam-window | receipt FILE | regrades [...]
                                     # exam day and after (docs/exam-day.md)
    cs230-grade doctor               # what the grading sandbox can do on this machine
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from .course import Course, NbgraderError


def _course_root(value: str | None) -> Path:
    root = Path(value or os.getcwd()).resolve()
    if not (root / "nbgrader_config.py").exists():
        raise SystemExit(
            f"cs230-grade: {root} is not a course folder (no nbgrader_config.py); "
            "run from the course root or pass --course DIR"
        )
    if not (root / "source" / "midterm").is_dir():
        raise SystemExit(f"cs230-grade: {root}/source/midterm is missing")
    return root


def _warn_if_password(url: str) -> None:
    """A password in ``--db-url`` is in the process list, which every local user can read."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        has_password = bool(make_url(url).password)
    except ArgumentError:
        return  # nbgrader reports the malformed URL itself
    if has_password:
        print("cs230-grade: warning: the password in --db-url is visible to every user of "
              "this machine in the process list; set CS230_GRADEBOOK_URL instead",
              file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs230-grade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--course", help="course root (default: the current folder)")
    sub = parser.add_subparsers(dest="command", required=True)

    def add_run_options(p: argparse.ArgumentParser) -> None:
        p.add_argument("--workers", type=int, default=None,
                       help="local worker processes (default: one per core)")
        p.add_argument("--scheduler", default=None,
                       help="address of an existing Dask scheduler, e.g. tcp://host:8786 "
                            "(default: $CS230_DASK_SCHEDULER, else a LocalCluster)")
        p.add_argument("--db-url", default=None,
                       help="gradebook SQLAlchemy URL (default: $CS230_GRADEBOOK_URL, "
                            "else sqlite gradebook.db in the course root)")
        p.add_argument("--no-feedback", action="store_true", help="skip feedback HTML")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        add_canvas_options(p)

    run = sub.add_parser("run", help="grade everything under submitted/")
    add_run_options(run)
    demo = sub.add_parser("demo", help="write the sample class, then grade it")
    add_run_options(demo)
    samples = sub.add_parser("samples", help="write the sample class into submitted/")
    samples.add_argument("--force", action="store_true", help="overwrite existing samples")
    report = sub.add_parser("report", help="rebuild the report and CSVs from the gradebook")
    report.add_argument("--db-url", default=None)
    add_canvas_options(report)
    audit = sub.add_parser("audit", help="print the audit log of hand grades")
    audit.add_argument("--db-url", default=None)
    audit.add_argument("--student", default=None, help="only this student's changes")
    audit.add_argument("--part", default=None, help="only this part (a grade id, e.g. q2_a)")
    add_collect_parser(sub)
    from .exam_day_cli import add_parsers as add_exam_day_parsers

    add_exam_day_parsers(sub)  # exam-window, receipt, regrades (docs/exam-day.md)
    from .scaffold import add_parser as add_new_question_parser

    add_new_question_parser(sub)
    from .exam_text import add_parser as add_tables_parser

    add_tables_parser(sub)
    from .doctor import add_parser as add_doctor_parser

    add_doctor_parser(sub)
    return parser


def add_canvas_options(p: argparse.ArgumentParser) -> None:
    from .lms_export import DEFAULT_ASSIGNMENT_COLUMN, DEFAULT_ID_COLUMN

    p.add_argument("--canvas-roster", metavar="FILE", default=None,
                   help="a Canvas gradebook export (Grades > Export): also write "
                        "reports/canvas.csv, to import into Canvas")
    p.add_argument("--canvas-id-column", default=DEFAULT_ID_COLUMN,
                   help="the roster's column that holds the nbgrader student ids "
                        f"(default: {DEFAULT_ID_COLUMN!r})")
    p.add_argument("--canvas-column", default=DEFAULT_ASSIGNMENT_COLUMN,
                   help=f"the assignment column to write (default: {DEFAULT_ASSIGNMENT_COLUMN!r})")


def canvas_options(args: argparse.Namespace) -> Any:
    """The Canvas export the command line asks for, or None."""
    from .pipeline import CanvasOptions

    if not getattr(args, "canvas_roster", None):
        return None
    return CanvasOptions(Path(args.canvas_roster), args.canvas_id_column, args.canvas_column)


def add_collect_parser(sub: argparse._SubParsersAction) -> None:
    """``collect``: unpack an LMS's submissions archive into ``submitted/``."""
    from .collect import LMS_FORMATS

    collect = sub.add_parser(
        "collect", help="unpack an LMS submissions archive into submitted/<id>/midterm/",
        description="Unpack an LMS's 'download all submissions' zip safely into "
                    "submitted/<student id>/midterm/, mapping LMS users to ids through "
                    "roster.csv's lms_user_id column. See docs/collection.md.")
    collect.add_argument("--lms-zip", required=True, metavar="FILE", type=Path,
                         help="the archive downloaded from the LMS")
    collect.add_argument("--lms", default="canvas", choices=sorted(LMS_FORMATS),
                         help="the LMS that wrote the archive (default: canvas)")
    collect.add_argument("--force", action="store_true",
                         help="replace students' existing submitted/<id>/midterm/ folders")


def run_collect(root: Path, args: argparse.Namespace) -> int:
    """``cs230-grade collect``: print every finding and a summary; 1 if a file was not placed."""
    from .collect import collect_lms_zip, report_lines

    try:
        result = collect_lms_zip(root, args.lms_zip, lms=args.lms, force=args.force)
    except OSError as exc:
        print(f"cs230-grade: collect failed: {exc}", file=sys.stderr)
        return 2
    for line in report_lines(result):
        print(line)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":  # a machine's check: no course folder needed
        from .doctor import run as doctor

        return doctor()
    root = _course_root(args.course)
    if getattr(args, "db_url", None):
        _warn_if_password(args.db_url)
    db_url = getattr(args, "db_url", None) or os.environ.get("CS230_GRADEBOOK_URL")
    try:
        if args.command in ("run", "demo"):  # every question's grader, before any grading
            from .grading.score import MissingGrader, require_graders

            try:
                require_graders()
            except MissingGrader as exc:
                print(f"cs230-grade: {exc}", file=sys.stderr)
                return 2
        if args.command in ("samples", "demo"):
            from .samples import write_sample_class

            if not (root / "release" / "midterm").is_dir():
                Course(root, db_url=db_url).generate_assignment()
            students = write_sample_class(root, force=args.command == "demo" or args.force)
            print(f"Wrote {len(students)} sample submissions to {root / 'submitted'}")
            if args.command == "samples":
                return 0
        if args.command in ("run", "demo"):
            from .pipeline import run_pipeline

            result = run_pipeline(root, workers=args.workers, scheduler=args.scheduler,
                                  db_url=db_url, feedback=not args.no_feedback,
                                  progress=not args.no_progress,
                                  canvas=canvas_options(args))
            return result.exit_code
        if args.command == "collect":
            return run_collect(root, args)
        from .exam_day_cli import COMMANDS as EXAM_DAY_COMMANDS

        if args.command in EXAM_DAY_COMMANDS:
            from .exam_day_cli import run as run_exam_day

            return run_exam_day(root, args, db_url)
        if args.command == "new-question":
            from .scaffold import run as new_question

            return new_question(root, args)
        if args.command == "tables":
            from .exam_text import run as tables

            return tables(root, args.check)
        if args.command == "audit":
            from .audit import print_log

            return print_log(Course(root, db_url=db_url).db_url, student=args.student,
                             grade_id=args.part)
        if args.command == "report":
            from .pipeline import rebuild_report

            return rebuild_report(root, db_url=db_url, canvas=canvas_options(args)).exit_code
    except (NbgraderError, FileExistsError, ValueError) as exc:
        print(f"cs230-grade: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
