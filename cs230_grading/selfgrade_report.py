"""What ``cs230-selfgrade`` prints after grading, in the order a learner reads it.

1. **What to fix**: for each part that lost points, its name and the first message of its
   test, wrapped at 80 columns.
2. **Notes after answering** (errata of the printed key, Q1 options accepted either way),
   as plain text with Unicode math, only for the notebooks the learner attempted (an
   answer cell differs from the release); ``cs230-selfgrade --errata`` prints them all.
3. **Scores**, last, so they are what stays on screen: per notebook and per part, then the
   total, with what it leaves out and why (written answers awaiting a person's grade,
   notebooks not given) and the exam's points from :mod:`cs230_grading.questions`.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

from .course import CellGrade
from .feedback import notes_lines
from .feedback_labels import test_cell_labels
from .grading.shortcuts import NOT_ATTEMPTED
from .notebooks import grade_cells, nbgrader_meta, read_notebook
from .questions import EXAM_POINTS, EXTRA_CREDIT, QUESTIONS

WIDTH = 80
#: what a test cell's message says about a line of the notebook the terminal does not show
_POINTER = re.compile(r"^(?:see the \u2718 lines? above|the (?:self|finite-difference)[- ]check"
                      r" above fails): ", re.IGNORECASE)
_ERROR_LINE = re.compile(r"^[A-Za-z_.]*(Error|Exception|Yet)\b.*:")


def _fmt(value: float) -> str:
    return f"{value:g}"


def message(grade: CellGrade) -> str:
    """A failing test's message: its last ``SomethingError: ...`` line (else its last line),
    without the exception's name or a pointer to a line the terminal does not show."""
    lines = [ln.strip() for ln in grade.output.splitlines() if ln.strip()]
    errors = [ln for ln in lines if _ERROR_LINE.match(ln)]
    text = errors[-1] if errors else (lines[-1] if lines else "the test failed")
    text = re.sub(r"^[A-Za-z_.]*(?:Error|Exception)\s*:\s*", "", text)
    text = _POINTER.sub("", text)
    return text if len(text) <= 400 else text[:397] + "..."


def raised(grade: CellGrade) -> bool:
    """Whether the test cell ended in an error (its output has an ``...Error: ...`` line)."""
    return bool(re.search(r"^[A-Za-z_.]*(Error|Exception)\b.*:", grade.output, re.M))


def status(grade: CellGrade, tried: bool = True) -> str:
    """One or two words: passed, partial credit, failed, not answered, not attempted (an
    optional part left as released), awaits a person."""
    if not tried and not grade.score:
        return "not answered"
    if grade.score is None:
        return "awaits a person's grade"
    if grade.auto and grade.max_score == 0:  # a 0-point check (the cover's honour code)
        return "failed" if raised(grade) else "passed"
    if grade.score >= grade.max_score - 1e-9:
        return "passed" if grade.auto else "graded"
    if not grade.auto:
        return "not answered"
    if grade.score <= 0 and f": {NOT_ATTEMPTED} (" in grade.output:  # optional, left alone
        return NOT_ATTEMPTED
    return "partial credit" if grade.score > 0 else "failed"


def attempted(notebook: Path, released: Path) -> bool:
    """Whether any answer cell of ``notebook`` differs from the released notebook's."""
    mine, release = grade_cells(read_notebook(notebook)), grade_cells(read_notebook(released))
    return any(nbgrader_meta(cell).get("solution")
               and cell.source.strip() != mine.get(gid, cell).source.strip()
               for gid, cell in release.items())


def fix_lines(grades: Sequence[CellGrade], labels: Mapping[str, str],
              tried: Sequence[str]) -> list[str]:
    """Section 1: each part that lost points, named, with its message (one line for a
    notebook submitted as released)."""
    lines: list[str] = []
    untouched: list[str] = []
    for grade in grades:
        if grade.notebook not in tried:
            if grade.notebook not in untouched:
                untouched.append(grade.notebook)
            continue
        if status(grade) not in ("failed", "partial credit") or not grade.output.strip():
            continue
        if not lines:
            lines += ["What to fix (the first message of each part that lost points)", ""]
        lines += textwrap.wrap(f"{grade.notebook}, {labels.get(grade.grade_id, grade.grade_id)}"
                               f" ({grade.grade_id})", WIDTH, subsequent_indent="  ")
        lines += textwrap.wrap(message(grade), WIDTH, initial_indent="    ",
                               subsequent_indent="    ")
    if untouched:
        lines += ["", *textwrap.wrap(f"Not attempted (every answer as released): "
                                     f"{', '.join(untouched)}.", WIDTH)]
    return lines + [""] if lines else []


def note_lines(names: Sequence[str], shown: Sequence[str], all_notes: bool = False
               ) -> list[str]:
    """Section 2: the notes of the notebooks in ``shown``, and which notebooks were skipped."""
    lines: list[str] = []
    for name in shown:
        block = notes_lines(name, WIDTH)
        if block:
            lines += [*block, ""]
    skipped = [n for n in names if n not in shown and notes_lines(n)]
    if skipped and not all_notes:
        lines += textwrap.wrap(
            "Notes on the printed solutions are shown only for the notebooks you attempted "
            f"(not {', '.join(skipped)}); `cs230-selfgrade --errata` prints them all.",
            WIDTH) + [""]
    return lines


def score_lines(grades: Sequence[CellGrade], labels: Mapping[str, str],
                given: Sequence[str], tried: Sequence[str]) -> list[str]:
    """Section 3: per notebook and part, then the total and what it leaves out."""
    lines = ["Scores", ""]
    by_notebook: dict[str, list[CellGrade]] = {}
    for g in grades:
        by_notebook.setdefault(g.notebook, []).append(g)
    width = max((len(g.grade_id) for g in grades), default=10)
    got = most = waiting = 0.0
    waiting_parts: list[str] = []
    for name, cells in by_notebook.items():
        nb_got = sum(g.score or 0.0 for g in cells if g.score is not None)
        nb_most = sum(g.max_score for g in cells if g.score is not None)
        nb_wait = sum(g.max_score for g in cells if g.score is None)
        lines.append(f"{name}: {_fmt(nb_got)} / {_fmt(nb_most)}"
                     + (f" (and {_fmt(nb_wait)} points await a person's grade)"
                        if nb_wait else ""))
        for g in cells:
            score = "-" if g.score is None else _fmt(g.score)
            label = labels.get(g.grade_id, "")
            line = (f"  {g.grade_id:<{width}}  {score:>5} / {_fmt(g.max_score):<3}  "
                    f"{status(g, name in tried)}")
            room = WIDTH - len(line) - 3
            if label and room > 8:
                line += f" - {label if len(label) <= room else label[:room - 1] + '…'}"
            lines.append(line)
        got, most, waiting = got + nb_got, most + nb_most, waiting + nb_wait
        waiting_parts += [g.grade_id for g in cells if g.score is None]
        lines.append("")
    extra = [q for q in QUESTIONS if q.notebook in by_notebook and q.extra_credit]
    lines += textwrap.wrap(
        f"Total: {_fmt(got)} / {_fmt(most)} points, the parts graded by the hidden tests"
        + (f" ({_fmt(most)} includes {_fmt(sum(q.extra_credit for q in extra))} points of extra"
           f" credit, in {', '.join(q.notebook for q in extra)})" if extra else "") + ".",
        WIDTH)
    left_out: list[str] = []
    if waiting:
        left_out.append(f"{_fmt(waiting)} points of written answers, which a person grades "
                        f"({', '.join(waiting_parts)}; compare them with --solutions)")
    missing = [q for q in QUESTIONS if q.notebook not in given and q.points]
    if missing:
        left_out.append(f"{_fmt(sum(q.points for q in missing))} points of the notebooks you "
                        f"did not give ({', '.join(q.notebook for q in missing)})")
    if left_out:
        lines += textwrap.wrap("Not in the total: " + "; ".join(left_out) + ".", WIDTH)
    lines += textwrap.wrap(f"The exam is out of {EXAM_POINTS} points, plus {EXTRA_CREDIT} of "
                           "extra credit.", WIDTH)
    return lines


def labels_of(notebooks: Mapping[str, Path]) -> dict[str, str]:
    """Part names of every graded cell of the learner's notebooks (by grade id)."""
    labels: dict[str, str] = {}
    for path in notebooks.values():
        labels.update(test_cell_labels(read_notebook(path)))
    return labels
