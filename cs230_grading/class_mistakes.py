"""What the class got wrong: the named mistakes the graders recognised, counted per part.

A grader's named mistake (:class:`cs230_grading.checks.Mistake`) carries a stable id. The
scoring pass records, for each student and graded part, the ids its checks recognised
(also when the part keeps partial credit); the worker sends them back with the
submission and the driver stores them in the gradebook (table ``cs230_mistakes``) in the
same transaction as the student's scores, so a resumed run keeps them. Nothing here is
parsed back out of message text, and nothing comes from the student's kernel (which
student code controls): only from the grader's own process.

``reports/mistakes.csv``: notebook, part, mistake id, message, number of students, share of
the class, and the students. The report draws the most common mistakes of each question as
a bar chart, with the message (the explanation a teacher would put on the board).
"""

from __future__ import annotations

import csv
import dataclasses
import importlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from .course import ASSIGNMENT

TABLE = "cs230_mistakes"
CSV_COLUMNS = ("notebook", "grade_id", "mistake_id", "message", "students", "share",
               "student_ids")


@dataclasses.dataclass(frozen=True)
class MistakeCount:
    notebook: str
    grade_id: str
    mistake_id: str
    message: str
    students: tuple[str, ...]
    class_size: int

    @property
    def share(self) -> float:
        return len(self.students) / self.class_size if self.class_size else 0.0


def mistake_messages() -> dict[str, str]:
    """Every named mistake of every question's grader: id -> message."""
    from .checks import MISTAKES
    from .questions import QUESTIONS

    for q in QUESTIONS:
        if q.grader:
            importlib.import_module(f"cs230_grading.graders.{q.grader}")
    return {k: str(v) for k, v in MISTAKES.items()}


def count_mistakes(records: Iterable[tuple[str, str, str, str]], class_size: int
                   ) -> list[MistakeCount]:
    """``records``: (student, notebook, grade id, mistake id). One count per (part, mistake),
    most common first within the exam's order of parts."""
    messages = mistake_messages()
    students: dict[tuple[str, str, str], set[str]] = {}
    for student, notebook, grade_id, mistake_id in records:
        students.setdefault((notebook, grade_id, mistake_id), set()).add(student)
    counts = [MistakeCount(nb, gid, mid, messages.get(mid, ""), tuple(sorted(who)), class_size)
              for (nb, gid, mid), who in students.items()]
    return sorted(counts, key=lambda c: (c.notebook, -len(c.students), c.grade_id, c.mistake_id))


def write_mistakes_csv(counts: Sequence[MistakeCount], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for c in counts:
            writer.writerow([c.notebook, c.grade_id, c.mistake_id, c.message, len(c.students),
                             f"{c.share:.3f}", " ".join(c.students)])
    return path


# --- storage: one table in the gradebook -----------------------------------------------------
def _table(metadata: Any) -> Any:
    from sqlalchemy import Column, String, Table

    return Table(
        TABLE, metadata,
        Column("assignment", String(128), primary_key=True),
        Column("student", String(128), primary_key=True),
        Column("notebook", String(128), primary_key=True),
        Column("grade_id", String(128), primary_key=True),
        Column("mistake_id", String(128), primary_key=True),
    )


def mistakes_table(gb: Any) -> Any:
    """The table, created on first use, in the gradebook ``gb`` (nbgrader's Gradebook)."""
    from sqlalchemy import MetaData

    table = _table(MetaData())
    table.create(gb.engine, checkfirst=True)
    return table


def replace_student_mistakes(gb: Any, table: Any, student: str,
                             mistakes: Iterable[tuple[str, str, str]]) -> None:
    """Replace ``student``'s rows in the caller's transaction (no commit here). ``table``:
    :func:`mistakes_table`, created before the transaction starts writing (SQLite lets one
    connection write at a time)."""
    gb.db.execute(table.delete().where((table.c.assignment == ASSIGNMENT)
                                       & (table.c.student == student)))
    rows = [{"assignment": ASSIGNMENT, "student": student, "notebook": nb, "grade_id": gid,
             "mistake_id": mid} for nb, gid, mid in dict.fromkeys(mistakes)]
    if rows:
        gb.db.execute(table.insert(), rows)


def read_mistakes(db_url: str, students: Iterable[str] | None = None
                  ) -> list[tuple[str, str, str, str]]:
    """(student, notebook, grade id, mistake id) rows of the midterm, from the gradebook."""
    from nbgrader.api import Gradebook
    from sqlalchemy import select

    wanted = None if students is None else set(students)
    with Gradebook(db_url) as gb:
        table = mistakes_table(gb)
        rows = gb.db.execute(select(table).where(table.c.assignment == ASSIGNMENT)).all()
    return [(r.student, r.notebook, r.grade_id, r.mistake_id) for r in rows
            if wanted is None or r.student in wanted]


# --- the plot -----------------------------------------------------------------------------------
def mistakes_figure(counts: Sequence[MistakeCount], title: str, top: int = 6) -> Any:
    """Horizontal bars: the ``top`` most common mistakes of one question, as a share of the
    class, labelled by part and mistake id (a matplotlib figure; the caller saves or embeds
    it, with the messages beside it)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    shown = sorted(counts, key=lambda c: -len(c.students))[:top]
    labels = [f"{c.grade_id.removesuffix('_test')}: {c.mistake_id.split('.', 1)[-1]}"
              for c in shown]
    fig, ax = plt.subplots(figsize=(6.5, 0.9 + 0.45 * len(shown)))
    ax.barh(range(len(shown)), [100 * c.share for c in shown], color="#8c1515")
    ax.set_yticks(range(len(shown)), labels, fontsize=8)
    ax.invert_yaxis()
    for i, c in enumerate(shown):
        ax.text(100 * c.share, i, f" {len(c.students)}", va="center", fontsize=8)
    ax.set_xlabel("students who made this mistake (% of the class)")
    ax.set_xlim(0, max(100 * max((c.share for c in shown), default=0) * 1.15, 5))
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig
