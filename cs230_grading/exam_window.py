"""The exam's window and each student's own end time (accommodations included).

The window lives in ``nbgrader_config.py``: ``c.ExamWindow.start`` (a date and time with its
time zone), ``c.ExamWindow.duration_minutes``, and the grace period, which is the late-penalty
policy's own ``c.CourseLatePenalty.grace_minutes`` (one number for both). Students with
accommodations are listed in ``accommodations.csv`` in the course root:

    id,extra_minutes,time_multiplier,start
    alice,60,,
    bob,,1.5,
    carol,,,2021-05-08 09:00 America/Los_Angeles

A student's end time is their start (their own, or the window's) plus the duration times
their multiplier (default 1) plus their extra minutes (default 0). Everyone else ends at the
window's end.

nbgrader does the rest: :func:`apply_deadlines` writes the window's end as the assignment's
due date and each accommodated student's difference as nbgrader's per-student *extension*,
so ``total_seconds_late``, the late-penalty hook, ``nbgrader export``, the report and the
Canvas export all use each student's own end time. The submission time stays nbgrader's
(``timestamp.txt`` from the exchange or the LMS collection): nothing a student's browser
shows or says counts.

A malformed or unknown row raises :class:`ExamWindowError` with one line naming it, which
the pipeline raises before any grading.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .course import ASSIGNMENT
from .intake import load_roster

ACCOMMODATIONS = "accommodations.csv"
COLUMNS = ("id", "extra_minutes", "time_multiplier", "start")


class ExamWindowError(ValueError):
    """The window or an accommodation cannot be used; the message names the line."""


@dataclasses.dataclass(frozen=True)
class Accommodation:
    """One row of ``accommodations.csv``."""

    student: str
    extra_minutes: float = 0.0
    time_multiplier: float = 1.0
    start: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class ExamWindow:
    """The common window and the accommodations; all times are aware datetimes."""

    start: dt.datetime
    duration: dt.timedelta
    grace: dt.timedelta
    accommodations: dict[str, Accommodation] = dataclasses.field(default_factory=dict)

    @property
    def end(self) -> dt.datetime:
        """The end of the exam for a student without accommodations."""
        return self.start + self.duration

    def start_of(self, student: str) -> dt.datetime:
        acc = self.accommodations.get(student)
        return acc.start if acc and acc.start else self.start

    def end_of(self, student: str) -> dt.datetime:
        """``student``'s own end time (before the grace period)."""
        acc = self.accommodations.get(student)
        if acc is None:
            return self.end
        return (self.start_of(student) + self.duration * acc.time_multiplier
                + dt.timedelta(minutes=acc.extra_minutes))

    def extension(self, student: str) -> dt.timedelta | None:
        """nbgrader's extension for ``student``: own end minus the common end (None if 0)."""
        delta = self.end_of(student) - self.end
        return delta or None


def parse_time(text: str, default_zone: dt.tzinfo | None = None) -> dt.datetime:
    """``2021-05-07 14:00 America/Los_Angeles``, ``2021-05-07T14:00:00-07:00`` or ``...Z``.

    A time without a zone takes ``default_zone``; without one either, ValueError.
    """
    text = text.strip()
    head, _, last = text.rpartition(" ")
    if head and ("/" in last or last == "UTC"):
        try:
            zone: dt.tzinfo = ZoneInfo(last)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {last!r}") from None
        return _iso(head).replace(tzinfo=zone)
    value = _iso(text)
    if value.tzinfo is None:
        if default_zone is None:
            raise ValueError(f"{text!r} has no time zone; add one, e.g. "
                             "'2021-05-07 14:00 America/Los_Angeles'")
        value = value.replace(tzinfo=default_zone)
    return value


def _iso(text: str) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None


def course_config(course_root: Path) -> Any:
    """The course's ``nbgrader_config.py``, loaded as nbgrader loads it (a traitlets Config)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    if not (Path(course_root) / "nbgrader_config.py").is_file():
        return Config()  # a bare folder (tests, a collection before the course is set up)
    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()


def window_settings(course_root: Path) -> dict[str, object]:
    """``ExamWindow`` and ``CourseLatePenalty`` settings of the course's nbgrader_config.py."""
    from .late import GRACE_MINUTES

    config = course_config(course_root)
    window = config.get("ExamWindow", {})
    late = config.get("CourseLatePenalty", {})
    return {"start": window.get("start", ""), "duration_minutes": window.get("duration_minutes"),
            "grace_minutes": late.get("grace_minutes", GRACE_MINUTES)}


def load_window(course_root: str | Path) -> ExamWindow | None:
    """The course's window and accommodations; None when ``c.ExamWindow.start`` is unset.

    Raises :class:`ExamWindowError` (one line) for a window or a row that cannot be used.
    """
    root = Path(course_root)
    settings = window_settings(root)
    start_text = str(settings["start"] or "").strip()
    accommodations = root / ACCOMMODATIONS
    if not start_text:
        if accommodations.exists():
            raise ExamWindowError(
                f"{accommodations} is there but nbgrader_config.py sets no exam window: "
                "set c.ExamWindow.start and c.ExamWindow.duration_minutes")
        return None
    try:
        start = parse_time(start_text)
    except ValueError as exc:
        raise ExamWindowError(f"nbgrader_config.py: c.ExamWindow.start: {exc}") from None
    duration = _positive(settings["duration_minutes"], "c.ExamWindow.duration_minutes",
                         "nbgrader_config.py")
    grace = _number(settings["grace_minutes"], "c.CourseLatePenalty.grace_minutes",
                    "nbgrader_config.py", minimum=0.0)
    return ExamWindow(start, dt.timedelta(minutes=duration), dt.timedelta(minutes=grace),
                      read_accommodations(root, start.tzinfo))


def read_accommodations(course_root: Path, zone: dt.tzinfo | None = None
                        ) -> dict[str, Accommodation]:
    """The rows of ``accommodations.csv`` (none when the file is absent), checked.

    A row is refused, with its line number, for: an empty id, an id not in ``roster.csv``
    (when there is a roster), an id listed twice, a value that is not a number, extra
    minutes below 0, a multiplier below 1, a start that is not a time, a row that changes
    nothing, or an unknown column.
    """
    path = course_root / ACCOMMODATIONS
    if not path.exists():
        return {}
    roster = load_roster(course_root)
    rows: dict[str, Accommodation] = {}
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        fields = [f.strip() for f in reader.fieldnames or []]
        unknown = [f for f in fields if f not in COLUMNS]
        if "id" not in fields or unknown:
            raise ExamWindowError(
                f"{path}: the header must be {','.join(COLUMNS)} (found: "
                f"{','.join(fields) or 'nothing'})")
        for row in reader:
            where = f"{path.name} line {reader.line_num}"
            values = {(k or "").strip(): (v or "").strip() for k, v in row.items()
                      if not isinstance(v, list)}
            if None in row:
                raise ExamWindowError(f"{where}: more values than columns")
            acc = _row(values, where, zone)
            if roster is not None and acc.student not in roster:
                raise ExamWindowError(f"{where}: {acc.student!r} is not in roster.csv "
                                      "(a typo, or add the student to the roster)")
            if acc.student in rows:
                raise ExamWindowError(f"{where}: {acc.student!r} is listed twice; keep one row")
            rows[acc.student] = acc
    return rows


def _row(values: dict[str, str], where: str, zone: dt.tzinfo | None) -> Accommodation:
    student = values.get("id", "")
    if not student:
        raise ExamWindowError(f"{where}: no student id")
    extra = values.get("extra_minutes", "")
    multiplier = values.get("time_multiplier", "")
    start_text = values.get("start", "")
    if not (extra or multiplier or start_text):
        raise ExamWindowError(f"{where}: {student!r} has no extra_minutes, time_multiplier "
                              "or start; fill one in or delete the row")
    start = None
    if start_text:
        try:
            start = parse_time(start_text, zone)
        except ValueError as exc:
            raise ExamWindowError(f"{where}: start: {exc}") from None
    return Accommodation(
        student,
        extra_minutes=_number(extra, "extra_minutes", where, minimum=0.0) if extra else 0.0,
        time_multiplier=_number(multiplier, "time_multiplier", where, minimum=1.0)
        if multiplier else 1.0,
        start=start)


def _number(value: object, name: str, where: str, *, minimum: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ExamWindowError(f"{where}: {name} {value!r} is not a number") from None
    if not math.isfinite(number) or number < minimum:
        raise ExamWindowError(f"{where}: {name} {value!r} must be at least {minimum:g}")
    return number


def _positive(value: object, name: str, where: str) -> float:
    number = _number(value, name, where, minimum=0.0)
    if number == 0:
        raise ExamWindowError(f"{where}: {name} must be more than 0")
    return number


def _utc(value: dt.datetime) -> dt.datetime:
    """``value`` as the gradebook stores times: naive UTC."""
    return value.astimezone(dt.timezone.utc).replace(tzinfo=None)


def apply_deadlines(db_url: str, window: ExamWindow, students: Iterable[str]) -> set[str]:
    """Write the window into the gradebook for ``students``, before they are graded.

    The assignment's due date becomes the window's end; each student's submission gets
    nbgrader's extension (their own end minus the common end). A student who needs an
    extension and has no submission row yet gets one (nbgrader keeps extensions there);
    returns those students, for :func:`drop_ungraded_rows`.
    """
    from nbgrader.api import Gradebook, MissingEntry

    created: set[str] = set()
    with Gradebook(db_url) as gb:
        gb.update_or_create_assignment(ASSIGNMENT, duedate=_utc(window.end))
        for student in students:
            extension = window.extension(student)
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                if extension is None:
                    continue
                gb.update_or_create_student(student)
                with gb.db.no_autoflush:  # nbgrader builds the rows before adding them
                    gb.add_submission(ASSIGNMENT, student, extension=extension)
                created.add(student)
                continue
            if submission.extension != extension:
                submission.extension = extension
                gb.db.commit()
    return created


def drop_ungraded_rows(db_url: str, created: Iterable[str], graded: Iterable[str]) -> None:
    """Remove the rows :func:`apply_deadlines` created for students whose grading failed,
    so that no empty submission reads as a score of 0."""
    from nbgrader.api import Gradebook, MissingEntry

    left = sorted(set(created) - set(graded))
    if not left:
        return
    with Gradebook(db_url) as gb:
        for student in left:
            try:
                gb.remove_submission(ASSIGNMENT, student)
            except MissingEntry:
                pass


def deadline_lines(window: ExamWindow, students: Iterable[str]) -> list[str]:
    """One line per student with their start and end (for ``cs230-grade exam-window``)."""
    grace = window.grace.total_seconds() / 60
    lines = [f"Exam window: {window.start:%Y-%m-%d %H:%M %Z} to {window.end:%Y-%m-%d %H:%M %Z} "
             f"({window.duration.total_seconds() / 60:g} min), then {grace:g} min of grace"]
    for student in sorted(set(students) | set(window.accommodations)):
        acc = window.accommodations.get(student)
        how = ""
        if acc:
            parts = []
            if acc.time_multiplier != 1:
                parts.append(f"x{acc.time_multiplier:g}")
            if acc.extra_minutes:
                parts.append(f"+{acc.extra_minutes:g} min")
            if acc.start:
                parts.append("own start")
            how = f"  ({', '.join(parts)})"
        lines.append(f"  {student}: {window.start_of(student):%Y-%m-%d %H:%M} to "
                     f"{window.end_of(student).astimezone(window.start.tzinfo):%Y-%m-%d %H:%M %Z}"
                     f"{how}")
    return lines


def deadline_inputs(course_root: Path) -> tuple[str, ...]:
    """What, besides ``nbgrader_config.py``, sets the students' end times: the bytes of
    ``accommodations.csv`` (hashed into the grading kit, so a change grades the class again)."""
    path = Path(course_root) / ACCOMMODATIONS
    return (hashlib.sha256(path.read_bytes()).hexdigest(),) if path.exists() else ()


def lms_late_note(course_root: Path, student: str) -> str:
    """For an LMS's "late" mark: the student's own end time when they have accommodations
    (the LMS judged by its own due date, which may not know them); "" otherwise."""
    window = load_window(course_root)
    if window is None or student not in window.accommodations:
        return ""
    end = window.end_of(student).astimezone(window.start.tzinfo)
    return (f" by its own due date; this student's end time is {end:%Y-%m-%d %H:%M %Z} "
            "(accommodations.csv): check the LMS's submission time against it")
