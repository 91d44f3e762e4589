"""Grades in the format an LMS uploads: a Canvas gradebook CSV built from Canvas's own export.

The instructor exports the course's gradebook from Canvas (Grades > Export) and passes it
with ``--canvas-roster FILE``, naming the column whose values are the nbgrader student ids
(``--canvas-id-column``, default ``SIS Login ID``). ``reports/canvas.csv`` keeps Canvas's
identity columns (Student, ID, SIS User ID, SIS Login ID, Section: whichever the export
has) and adds one column with the midterm's total after late penalties, which Canvas
imports as an assignment (Grades > Import). A student on the roster with no graded
submission gets an empty cell (Canvas leaves an empty cell alone); a graded student who is
not on the roster is not in the file. Both lists are returned, for the terminal and the
report: nobody is dropped silently.

Points are stated as the exam defines them (``cs230_grading/questions.py``): the exam is out
of ``EXAM_POINTS`` (100) and ``EXTRA_CREDIT`` (5) more can be earned. Canvas's
"Points Possible" row says 100 and a total above it is the extra credit;
``grades.csv`` (nbgrader's export, whose ``max_score`` adds every cell's points and so counts
the extra credit as regular points: 105) is restated by :func:`restate_grades_csv` with
``max_score`` 100, ``extra_credit_max`` 5 and the percentage.
"""

from __future__ import annotations

import csv
import dataclasses
from collections.abc import Mapping
from pathlib import Path

from .questions import EXAM_POINTS, EXTRA_CREDIT

#: Canvas's identity columns, in its order; kept when the export has them
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
DEFAULT_ID_COLUMN = "SIS Login ID"
DEFAULT_ASSIGNMENT_COLUMN = "CS230 Midterm"
POINTS_POSSIBLE = "Points Possible"


class RosterError(ValueError):
    """The Canvas export cannot be used as given (the message says how to fix it)."""


@dataclasses.dataclass
class CanvasRoster:
    columns: list[str]
    rows: list[dict[str, str]]
    id_column: str


@dataclasses.dataclass
class CanvasExport:
    path: Path
    written: int
    #: on the roster, no graded submission: an empty cell in canvas.csv
    not_graded: list[str]
    #: graded, not on the roster: not in canvas.csv
    not_on_roster: list[str]

    def lines(self) -> list[str]:
        out = [f"Canvas CSV: {self.written} students with a grade, out of {EXAM_POINTS:g} "
               f"points plus up to {EXTRA_CREDIT:g} of extra credit (so a total can exceed "
               f"{EXAM_POINTS:g}): {self.path}"]
        if self.not_graded:
            out.append(f"On the Canvas roster without a graded submission ({len(self.not_graded)},"
                       f" left empty): {', '.join(self.not_graded)}")
        if self.not_on_roster:
            out.append(f"Graded but not on the Canvas roster ({len(self.not_on_roster)}, not in"
                       f" canvas.csv): {', '.join(self.not_on_roster)}")
        return out


def read_canvas_roster(path: str | Path, id_column: str = DEFAULT_ID_COLUMN) -> CanvasRoster:
    """Read a Canvas gradebook export. Raises :class:`RosterError` naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise RosterError(f"{path}: no such file (export it from Canvas: Grades > Export)")
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            columns = list(reader.fieldnames or [])
            rows = [dict(r) for r in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"{path}: not a CSV file Canvas wrote ({exc})") from None
    if id_column not in columns:
        raise RosterError(
            f"{path}: no column {id_column!r}; the columns are: {', '.join(columns) or 'none'}. "
            "Name the column that holds the nbgrader student ids with --canvas-id-column.")
    students = [r for r in rows if not _is_points_row(r, columns)]
    seen: dict[str, int] = {}
    for r in students:
        key = _key(r.get(id_column) or "")
        if key:
            seen[key] = seen.get(key, 0) + 1
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        raise RosterError(f"{path}: column {id_column!r} repeats {', '.join(twice)}; "
                          "each student must appear once")
    return CanvasRoster(columns, students, id_column)


def write_canvas_csv(roster: CanvasRoster, totals: Mapping[str, float], path: Path, *,
                     assignment_column: str = DEFAULT_ASSIGNMENT_COLUMN,
                     points_possible: float | None = None) -> CanvasExport:
    """Write ``canvas.csv``: the roster's identity columns and ``assignment_column``.

    ``totals``: nbgrader student id -> total after late penalties.
    """
    by_key = {_key(s): s for s in totals}
    identity = [c for c in CANVAS_IDENTITY if c in roster.columns]
    if roster.id_column not in identity:
        identity.append(roster.id_column)
    matched: set[str] = set()
    not_graded: list[str] = []
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*identity, assignment_column])
        if points_possible is not None:
            writer.writerow([POINTS_POSSIBLE if c == identity[0] else "" for c in identity]
                            + [f"{points_possible:g}"])
        for row in roster.rows:
            student = by_key.get(_key(row.get(roster.id_column) or ""))
            if student is None:
                not_graded.append(row.get(roster.id_column) or row.get("Student") or "?")
                score = ""
            else:
                matched.add(student)
                score = f"{totals[student]:g}"
            writer.writerow([row.get(c, "") for c in identity] + [score])
    not_on_roster = sorted(set(totals) - matched)
    return CanvasExport(path, len(matched), sorted(not_graded), not_on_roster)


def _key(value: str) -> str:
    return value.strip().casefold()


def _is_points_row(row: Mapping[str, str | None], columns: list[str]) -> bool:
    first = (row.get(columns[0]) or "") if columns else ""
    return first.strip() == POINTS_POSSIBLE


#: the columns :func:`restate_grades_csv` adds to nbgrader's export
EXTRA_COLUMNS = ("extra_credit_max", "percent", "awaiting_manual")


def restate_grades_csv(path: Path, pending: Mapping[str, int] | None = None, *,
                       exam_points: float = EXAM_POINTS,
                       extra_credit: float = EXTRA_CREDIT) -> Path:
    """Rewrite nbgrader's ``grades.csv`` so that it states the exam's points as the exam does.

    ``max_score`` becomes the exam's points (not their sum with the extra credit), and
    columns are added: ``extra_credit_max``, ``percent`` (``score`` as a percentage of the
    exam's points, late penalty included, as nbgrader's ``score`` is) and
    ``awaiting_manual``, the number of answers still to grade by hand (``pending``: student
    id -> that number). A student with answers to grade has no percentage yet: nbgrader's
    ``score`` counts them as 0.
    """
    pending = pending or {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        rows = list(reader)
    if "max_score" not in columns or "score" not in columns:
        raise RosterError(f"{path}: not nbgrader's grade export (no score or max_score column)")
    out_columns = columns + [c for c in EXTRA_COLUMNS if c not in columns]
    for row in rows:
        row["max_score"] = f"{exam_points:g}"
        row["extra_credit_max"] = f"{extra_credit:g}"
        waiting = int(pending.get(row.get("student_id", ""), 0))
        row["awaiting_manual"] = str(waiting)
        try:
            row["percent"] = ("" if waiting
                              else f"{100.0 * float(row['score']) / exam_points:.1f}")
        except (TypeError, ValueError):
            row["percent"] = ""
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=out_columns)
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path
