"""Regrade requests: from the student's request to the TA's decision and new feedback.

A student asks, after feedback is out, with a plain text file, ``regrade-request.txt``:

    part: q3_iii
    reason: My output volume is right; the check compared (H, W) in the wrong order.

    part: q2_b
    reason: ...

through the channel they submit by: nbgrader's exchange (the instructor releases the form as
the assignment ``midterm-regrade``, ``cs230-grade regrades form``; the student fetches it,
fills it in and runs ``nbgrader submit midterm-regrade``; ``nbgrader collect
midterm-regrade`` brings it to ``submitted/<id>/midterm-regrade/``), or a file from the LMS
(``cs230-grade regrades add FILE --student ID``).

``cs230-grade regrades`` reads new requests into ``regrades/<student>.json`` (the ledger, one
file per student: every request, its decision, who decided, when, and the points before and
after) and lists the open ones. A request for a part that does not exist, before the
student's feedback, after ``c.Regrades.close`` or a second time for the same part is
recorded as *refused* with a reply saying why. The TA accepts (new points, written to the
gradebook as nbgrader's manual score, or for a rubric part as an adjustment of the rubric
items) or declines, with a reply (``cs230-grade regrades accept|decline``, or the grading
console's panel); the student's feedback is then generated again by nbgrader, and
:class:`AppendRegrades` adds the decisions and replies to it. The report counts open and
decided requests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from traitlets import Bool

from .course import ASSIGNMENT, NOTEBOOKS, Course
from .notebooks import grade_cells, nbgrader_meta, read_notebook

REGRADE_ASSIGNMENT = f"{ASSIGNMENT}-regrade"
REQUEST_FILE = "regrade-request.txt"
LEDGER_DIR = "regrades"
CELL_MARK = "regrade-decisions"
OPEN, ACCEPTED, DECLINED, REFUSED = "open", "accepted", "declined", "refused"
FORM = """\
# Regrade request for the CS230 midterm.
# One block per part you want regraded: the part's name as in your feedback (for example
# q3_iii or q2_b) and your reason (it may go on over several lines). Then submit this file
# (nbgrader submit midterm-regrade, or upload it where you uploaded the exam).

part:
reason:
"""


class RegradeError(ValueError):
    """A command that cannot be carried out; the message says why."""


@dataclasses.dataclass
class Request:
    """One request for one part, and what became of it."""

    student: str
    part: str
    reason: str
    received: str  # when the student sent it (ISO, UTC): nbgrader's timestamp or the LMS's
    via: str
    status: str = OPEN
    reply: str = ""
    decided_by: str = ""
    decided_at: str = ""
    points_before: float | None = None
    points_after: float | None = None
    max_points: float | None = None


# --- parts ------------------------------------------------------------------------------

def graded_parts(course_root: Path) -> dict[str, tuple[str, float]]:
    """``{part: (notebook, points)}``: every graded cell of the exam with points, by grade id.

    A student may name an autograded part without its ``_test`` suffix (``q3_iii``)."""
    parts: dict[str, tuple[str, float]] = {}
    for name in NOTEBOOKS:
        nb = read_notebook(Path(course_root) / "source" / ASSIGNMENT / f"{name}.ipynb")
        for grade_id, cell in grade_cells(nb).items():
            meta = nbgrader_meta(cell)
            if meta.get("grade") and float(meta.get("points") or 0) > 0:
                parts[grade_id] = (name, float(meta["points"]))
    return parts


def canonical_part(name: str, parts: dict[str, tuple[str, float]]) -> str | None:
    name = name.strip()
    for candidate in (name, f"{name}_test"):
        if candidate in parts:
            return candidate
    return None


def short_part(part: str) -> str:
    return part[:-5] if part.endswith("_test") else part


# --- the ledger -------------------------------------------------------------------------

def ledger_path(course_root: Path, student: str) -> Path:
    return Path(course_root) / LEDGER_DIR / f"{student}.json"


def read_requests(course_root: Path, student: str) -> list[Request]:
    path = ledger_path(course_root, student)
    if not path.exists():
        return []
    return [Request(**row) for row in json.loads(path.read_text(encoding="utf-8"))]


def all_requests(course_root: Path) -> list[Request]:
    folder = Path(course_root) / LEDGER_DIR
    if not folder.is_dir():
        return []
    return [r for path in sorted(folder.glob("*.json"))
            for r in read_requests(course_root, path.stem)]


def _write_requests(course_root: Path, student: str, requests: Sequence[Request]) -> None:
    path = ledger_path(course_root, student)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{student}.")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump([dataclasses.asdict(r) for r in requests], fh, indent=2)
    os.replace(tmp, path)  # readers see the old ledger or the new one, never half of one


# --- reading requests ---------------------------------------------------------------------

def parse_request(text: str) -> list[tuple[str, str]]:
    """``[(part, reason)]`` from the text of a request form; ``#`` lines are comments."""
    blocks: list[list[str]] = []
    field = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if line.lstrip().startswith("#"):
            continue
        match = re.match(r"^\s*(part|reason)\s*:\s*(.*)$", line, re.IGNORECASE)
        if match and match[1].lower() == "part":
            blocks.append([match[2].strip(), ""])
            field = "part"
        elif match and blocks:
            blocks[-1][1] = match[2].strip()
            field = "reason"
        elif field == "reason" and blocks:
            blocks[-1][1] = (blocks[-1][1] + "\n" + line).strip()
    return [(part, reason) for part, reason in blocks if part or reason]


def regrade_close(course_root: Path) -> dt.datetime | None:
    """``c.Regrades.close`` of nbgrader_config.py (None: requests are always taken)."""
    from .exam_window import course_config, parse_time

    text = str(course_config(course_root).get("Regrades", {}).get("close", "") or "").strip()
    if not text:
        return None
    try:
        return parse_time(text)
    except ValueError as exc:
        raise RegradeError(f"nbgrader_config.py: c.Regrades.close: {exc}") from None


def add_request(course_root: Path, student: str, text: str, received: dt.datetime, via: str
                ) -> list[Request]:
    """Record the requests of one form; returns them (refused ones with their reply).

    Importing the same form again changes nothing."""
    course_root = Path(course_root)
    parts = graded_parts(course_root)
    close = regrade_close(course_root)
    ledger = read_requests(course_root, student)
    when = received.astimezone(dt.timezone.utc).isoformat(timespec="seconds")
    seen = {(r.part, r.reason, r.received) for r in ledger}
    feedback = (course_root / "feedback" / student / ASSIGNMENT).is_dir()
    added: list[Request] = []
    blocks = parse_request(text)
    if not blocks:
        blocks = [("", "")]
    for name, reason in blocks:
        part = canonical_part(name, parts) or name.strip()
        if (part, reason, when) in seen:
            continue
        request = Request(student, part, reason, when, via)
        earlier = [r for r in ledger if r.part == part and r.status != REFUSED]
        refusal = ""
        if not name.strip():
            refusal = "the request names no part; write 'part: <name>' as in your feedback"
        elif part not in parts:
            refusal = (f"there is no part {name.strip()!r} in this exam; the parts are named "
                       f"as in your feedback, e.g. q3_iii or q2_b")
        elif not feedback:
            refusal = "your feedback is not out yet; ask once you have read it"
        elif close is not None and received > close:
            refusal = (f"regrade requests closed at {close:%Y-%m-%d %H:%M %Z}; this one "
                       f"arrived at {received.astimezone(close.tzinfo):%Y-%m-%d %H:%M %Z}")
        elif earlier:
            refusal = (f"you already asked for a regrade of {short_part(part)} on "
                       f"{earlier[0].received} ({earlier[0].status}); one request per part")
        elif not reason:
            refusal = "the request gives no reason; write 'reason: ...' under the part"
        if refusal:
            request.status, request.reply = REFUSED, refusal
            request.decided_by, request.decided_at = "cs230-grade", _now()
        else:
            request.max_points = parts[part][1]
        ledger.append(request)
        seen.add((part, reason, when))
        added.append(request)
    if added:
        _write_requests(course_root, student, ledger)
    return added


def import_exchange_requests(course_root: Path) -> list[Request]:
    """Read every collected ``submitted/<id>/midterm-regrade/regrade-request.txt``; the time
    is nbgrader's ``timestamp.txt`` beside it."""
    from nbgrader.utils import parse_utc

    added: list[Request] = []
    for path in sorted((Path(course_root) / "submitted").glob(
            f"*/{REGRADE_ASSIGNMENT}/{REQUEST_FILE}")):
        if path.is_symlink():
            continue
        student = path.parent.parent.name
        stamp = path.parent / "timestamp.txt"
        if not stamp.is_file():
            raise RegradeError(f"{stamp}: missing; collect the request with nbgrader collect")
        received = parse_utc(stamp.read_text(encoding="utf-8").strip())
        received = received.replace(tzinfo=dt.timezone.utc)
        added += add_request(course_root, student, path.read_text(encoding="utf-8"),
                             received, "nbgrader exchange")
    return added


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


# --- deciding -------------------------------------------------------------------------

def current_points(course_root: Path, student: str, part: str,
                   db_url: str | None = None) -> float | None:
    """The part's score in the gradebook now (None: not graded)."""
    from nbgrader.api import Gradebook, MissingEntry

    notebook = graded_parts(course_root)[part][0]
    with Gradebook(Course(course_root, db_url=db_url).db_url) as gb:
        try:
            score = gb.find_grade(part, notebook, ASSIGNMENT, student).score
        except MissingEntry:
            return None
    return None if score is None else float(score)


def decide(course_root: str | Path, student: str, part: str, *, accept: bool,
           reply: str, grader: str, points: float | None = None,
           db_url: str | None = None, feedback: bool = True) -> Request:
    """Accept (with ``points``) or decline ``student``'s open request for ``part``.

    Accepting writes the points to the gradebook; then the student's feedback is generated
    again (``nbgrader generate_feedback``) with the decision and the reply."""
    course_root = Path(course_root)
    parts = graded_parts(course_root)
    canonical = canonical_part(part, parts)
    if canonical is None:
        raise RegradeError(f"no part {part!r} in this exam")
    ledger = read_requests(course_root, student)
    request = next((r for r in ledger if r.part == canonical and r.status == OPEN), None)
    if request is None:
        raise RegradeError(f"{student} has no open regrade request for {short_part(canonical)}")
    if not reply.strip():
        raise RegradeError("a decision needs a reply to the student")
    if not grader.strip():
        raise RegradeError("say who decides (--grader, or the console's Grader box)")
    before = current_points(course_root, student, canonical, db_url)
    request.points_before = before
    if accept:
        top = parts[canonical][1]
        if points is None or not 0 <= points <= top:
            raise RegradeError(f"accepting needs the new points, from 0 to {top:g}")
        _write_points(course_root, student, canonical, points, reply, grader, db_url)
        request.status, request.points_after = ACCEPTED, float(points)
    else:
        request.status, request.points_after = DECLINED, before
    request.reply, request.decided_by, request.decided_at = reply.strip(), grader.strip(), _now()
    _write_requests(course_root, student, ledger)
    if feedback:
        from .course import NbgraderError

        try:
            regenerate_feedback(course_root, student, db_url)
        except NbgraderError as exc:
            last = (str(exc).strip().splitlines() or [""])[-1]
            raise RegradeError(
                f"the decision is recorded, but {student}'s feedback could not be generated "
                f"again ({last}); run nbgrader generate_feedback {ASSIGNMENT} "
                f"--student={student} --force") from None
    return request


def _write_points(course_root: Path, student: str, part: str, points: float, reply: str,
                  grader: str, db_url: str | None) -> None:
    from nbgrader.api import Gradebook

    from . import manual

    rubric = rubric_parts(course_root)
    if part in rubric:  # a rubric part: an adjustment, so re-scoring the items keeps it
        rubric_part = rubric[part]
        graded = manual.grades(course_root, part, db_url=db_url).get(student)
        items = graded.items if graded else ()
        base = rubric_part.start + sum(rubric_part.item(i).points for i in items)
        manual.adjust(course_root, part, student, points - base, f"regrade: {reply}", grader,
                      db_url=db_url)
        return
    notebook = graded_parts(course_root)[part][0]
    with Gradebook(Course(course_root, db_url=db_url).db_url) as gb:
        grade = gb.find_grade(part, notebook, ASSIGNMENT, student)
        grade.manual_score = float(points)
        grade.needs_manual_grade = False
        gb.db.commit()


def rubric_parts(course_root: Path) -> dict[str, Any]:
    """The hand-graded parts with rubric items ({} for a course without the items file)."""
    from . import manual

    if not manual.items_path(course_root).is_file():
        return {}
    return manual.load_rubric(course_root)


def regenerate_feedback(course_root: Path, student: str, db_url: str | None = None) -> None:
    """``nbgrader generate_feedback`` for one student, in the course root (where
    :class:`AppendRegrades` finds the ledger)."""
    course = Course(course_root, db_url=db_url)
    course.nbgrader("generate_feedback", ASSIGNMENT, f"--student={student}", "--force")


# --- what the student and the staff see ------------------------------------------------

def decisions_markdown(requests: Iterable[Request], notebook: str,
                       parts: dict[str, tuple[str, float]]) -> str:
    """The feedback's section on the requests for parts of ``notebook`` ("" when none)."""
    lines = []
    for r in requests:
        if parts.get(r.part, ("",))[0] != notebook and not (
                r.status == REFUSED and notebook == NOTEBOOKS[0]):
            continue
        reason = _md(r.reason or "(no reason given)")
        if r.status == OPEN:
            outcome = "**open**: a member of the teaching team will answer"
        elif r.status == ACCEPTED:
            outcome = (f"**accepted**: {points_text(r.points_before)} → "
                       f"{points_text(r.points_after)} points (of {points_text(r.max_points)})")
        elif r.status == DECLINED:
            outcome = f"**declined**: the score stays {points_text(r.points_before)}"
        else:
            outcome = "**not taken**"
        reply = f" Reply: {_md(r.reply)}" if r.reply else ""
        lines.append(f"- **{_md(short_part(r.part))}** (asked {r.received}: {reason}): "
                     f"{outcome}.{reply}")
    if not lines:
        return ""
    return "\n".join(["## Your regrade requests", "", *lines])


def points_text(value: float | None) -> str:
    """Points as the student and the TA read them ("–" when not graded)."""
    return "–" if value is None else f"{value:g}"


def _md(text: str) -> str:
    """Student or TA text as inert markdown: escaped HTML, markdown markup backslashed."""
    text = html.escape(" ".join(text.split()))
    return re.sub(r"([\\`*_{}\[\]()#+!|>~-])", r"\\\1", text)


class AppendRegrades(Preprocessor):
    """Feedback: append the decisions on the student's regrade requests for this notebook
    (``regrades/<student>.json`` in the course root, the folder nbgrader runs in)."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict[str, Any]]:
        info = resources.get("nbgrader", {})
        student, notebook = str(info.get("student", "")), str(resources.get("unique_key", ""))
        root = Path.cwd()
        if not student or not (root / LEDGER_DIR).is_dir() \
                or not (root / "source" / ASSIGNMENT).is_dir():
            return nb, resources
        requests = read_requests(root, student)
        text = decisions_markdown(requests, notebook, graded_parts(root)) if requests else ""
        if text and not any(c.get("metadata", {}).get("cs230") == CELL_MARK for c in nb.cells):
            nb.cells.append(new_markdown_cell(text, metadata={"cs230": CELL_MARK}))
        return nb, resources


def open_lines(requests: Sequence[Request]) -> list[str]:
    """``cs230-grade regrades``: one line per open request."""
    waiting = [r for r in requests if r.status == OPEN]
    if not waiting:
        return ["No open regrade requests."]
    lines = [f"{len(waiting)} open regrade request(s):"]
    for r in waiting:
        first = (r.reason.splitlines() or [""])[0]
        lines.append(f"  {r.student} {short_part(r.part)} (of {points_text(r.max_points)} points), "
                     f"asked {r.received} via {r.via}: {first}")
    lines.append("Decide with: cs230-grade regrades accept STUDENT PART --points P --reply "
                 "TEXT, or decline STUDENT PART --reply TEXT")
    return lines


def counts(requests: Sequence[Request]) -> dict[str, int]:
    return {status: sum(1 for r in requests if r.status == status)
            for status in (OPEN, ACCEPTED, DECLINED, REFUSED)}


def report_section(course_root: Path) -> list[str]:
    """The report's section: requests open and decided, and each one."""
    requests = all_requests(course_root)
    if not requests:
        return []
    n = counts(requests)
    rows = "".join(
        f"<tr><td>{html.escape(r.student)}</td><td>{html.escape(short_part(r.part))}</td>"
        f"<td>{html.escape(r.status)}</td><td>{points_text(r.points_before)}</td>"
        f"<td>{points_text(r.points_after)}</td><td>{html.escape(r.decided_by)}</td>"
        f"<td>{html.escape(r.reason)}</td><td>{html.escape(r.reply)}</td></tr>"
        for r in requests)
    return ['<section id="regrades"><h2>Regrade requests</h2>',
            f"<p>{n[OPEN]} open, {n[ACCEPTED] + n[DECLINED]} decided ({n[ACCEPTED]} accepted, "
            f"{n[DECLINED]} declined), {n[REFUSED]} not taken (no such part, too late, or "
            "asked twice). Open ones: <code>cs230-grade regrades</code>.</p>",
            "<table><thead><tr><th>student</th><th>part</th><th>status</th><th>before</th>"
            "<th>after</th><th>decided by</th><th>reason</th><th>reply</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></section>"]


def write_form(course_root: Path) -> Path:
    """Put the request form in the exchange as the assignment ``midterm-regrade`` (what
    ``nbgrader release_assignment`` would do), so students can fetch it and submit it."""
    from .exam_window import course_config

    config = course_config(course_root)
    exchange = Path(str(config.get("Exchange", {}).get("root") or course_root / "exchange"))
    course_id = str(config.get("CourseDirectory", {}).get("course_id") or "")
    if not course_id:
        raise RegradeError("nbgrader_config.py sets no c.CourseDirectory.course_id")
    outbound = exchange / course_id / "outbound" / REGRADE_ASSIGNMENT
    inbound = exchange / course_id / "inbound"
    if not inbound.is_dir():
        raise RegradeError(f"{inbound} is missing: release the exam through the exchange "
                           "first (nbgrader release_assignment midterm)")
    outbound.mkdir(mode=0o755, exist_ok=True)
    path = outbound / REQUEST_FILE
    path.write_text(FORM, encoding="utf-8")
    path.chmod(0o644)
    return path
