"""``cs230-grade`` commands for exam day and after (docs/exam-day.md).

    cs230-grade exam-window [--publish DIR]   # every student's end time; the clock's file
    cs230-grade receipt FILE                  # does a student's receipt match what was graded?
    cs230-grade regrades                      # read new requests, list the open ones
    cs230-grade regrades add FILE --student ID [--time T]   # a request from the LMS
    cs230-grade regrades accept STUDENT PART --points P --reply TEXT [--grader NAME]
    cs230-grade regrades decline STUDENT PART --reply TEXT [--grader NAME]
    cs230-grade regrades form                 # put the request form in the exchange
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

COMMANDS = ("exam-window", "receipt", "regrades")


def add_parsers(sub: argparse._SubParsersAction) -> None:
    window = sub.add_parser("exam-window", help="check the exam window and accommodations.csv "
                            "and print every student's end time")
    window.add_argument("--publish", metavar="DIR", type=Path, default=None,
                        help="also write exam_window.json (the students' clock) into DIR")
    receipt = sub.add_parser("receipt", help="tell whether a student's receipt matches what "
                             "was graded")
    receipt.add_argument("file", type=Path, help="the submission-receipt.json the student shows")
    regrades = sub.add_parser("regrades", help="regrade requests: list, add, accept, decline")
    regrades.add_argument("action", nargs="?", default="list",
                          choices=("list", "add", "accept", "decline", "form"))
    regrades.add_argument("args", nargs="*", help="add: FILE; accept/decline: STUDENT PART")
    regrades.add_argument("--student", help="add: whose request the file is")
    regrades.add_argument("--time", help="add: when the LMS received it (default: now), e.g. "
                          "'2021-05-14 10:00 America/Los_Angeles'")
    regrades.add_argument("--points", type=float, help="accept: the part's new points")
    regrades.add_argument("--reply", default="", help="accept/decline: the reply to the student")
    regrades.add_argument("--grader", default="", help="who decides (default: your login)")
    regrades.add_argument("--db-url", default=None)


def run(root: Path, args: argparse.Namespace, db_url: str | None) -> int:
    """Run one of :data:`COMMANDS`; a problem is raised as ValueError (one line)."""
    if args.command == "exam-window":
        return _exam_window(root, args)
    if args.command == "receipt":
        from .receipts import check_receipt

        verdict = check_receipt(root, args.file)
        print("\n".join(verdict.lines))
        return 0 if verdict.matches else 1
    return _regrades(root, args, db_url)


def _exam_window(root: Path, args: argparse.Namespace) -> int:
    from .exam_window import deadline_lines, load_window
    from .intake import load_roster

    window = load_window(root)
    if window is None:
        print("No exam window: nbgrader_config.py sets no c.ExamWindow.start, so the due date "
              "is the gradebook's (nbgrader db assignment add midterm --duedate=...).")
        return 0
    roster = load_roster(root) or set()
    print("\n".join(deadline_lines(window, roster)))
    if args.publish:
        from .exam_clock import publish

        path = publish(window, args.publish)
        print(f"Wrote {path} (the students' clock; it never decides lateness)")
    return 0


def _regrades(root: Path, args: argparse.Namespace, db_url: str | None) -> int:
    import getpass

    from . import regrades as rg

    grader = args.grader or getpass.getuser()
    if args.action in ("accept", "decline"):
        if len(args.args) != 2:
            raise rg.RegradeError(f"regrades {args.action} needs STUDENT PART")
        student, part = args.args
        done = rg.decide(root, student, part, accept=args.action == "accept",
                         points=args.points, reply=args.reply, grader=grader,
                         db_url=args.db_url or db_url)
        print(f"{student} {rg.short_part(done.part)}: {done.status} "
              f"({rg.points_text(done.points_before)} -> {rg.points_text(done.points_after)} "
              f"points); feedback/{student}/ generated again with the reply")
        return 0
    if args.action == "form":
        print(f"Wrote {rg.write_form(root)}: students fetch it with nbgrader fetch_assignment "
              f"{rg.REGRADE_ASSIGNMENT} and send it with nbgrader submit {rg.REGRADE_ASSIGNMENT}")
        return 0
    if args.action == "add":
        if len(args.args) != 1 or not args.student:
            raise rg.RegradeError("regrades add needs FILE and --student ID")
        path = Path(args.args[0])
        if not path.is_file():
            raise rg.RegradeError(f"{path}: no such file")
        from .exam_window import parse_time

        when = (parse_time(args.time) if args.time else dt.datetime.now(dt.timezone.utc))
        added = rg.add_request(root, args.student, path.read_text(encoding="utf-8"), when,
                               "LMS upload")
    else:
        added = rg.import_exchange_requests(root)
    for request in added:
        if request.status == rg.REFUSED:
            print(f"not taken: {request.student} {rg.short_part(request.part) or '(no part)'}: "
                  f"{request.reply}")
        else:
            print(f"new: {request.student} {rg.short_part(request.part)}")
    # a request not taken is answered at once, in the student's feedback
    for student in sorted({r.student for r in added if r.status == rg.REFUSED}):
        if (root / "feedback" / student).is_dir():
            rg.regenerate_feedback(root, student, args.db_url or db_url)
    print("\n".join(rg.open_lines(rg.all_requests(root))))
    return 0
