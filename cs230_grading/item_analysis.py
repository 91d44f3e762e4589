"""Item analysis: was any graded part too easy, too hard, or broken?

Classical test theory, one row per graded part (an nbgrader grade cell):

* **difficulty**: the mean fraction of the part's points that the class earned
  (1.0: everyone got it; 0.0: nobody did);
* **discrimination**: the corrected item-total correlation, the Pearson correlation
  between the part's score and each student's total *without that part*. A good
  question is answered better by students who do well on the rest of the exam; a part
  whose discrimination is below :data:`FLAG_BELOW` (or negative) is flagged: the key,
  the test or the question may be wrong.

Only graded parts are analysed. A hand-graded part with any answer still awaiting its TA
is *pending* (:data:`FLAG_PENDING`): no difficulty, no discrimination and no "check" flag,
because the answers graded so far (often only the blank ones, which score 0 on their own)
say nothing about the part. It joins once all its grades are in (``cs230-grade report``).
"""

from __future__ import annotations

import csv
import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .course import ASSIGNMENT

#: a part whose discrimination is below this (or undefined) is flagged
FLAG_BELOW = 0.1
#: the fewest graded students for which a correlation means anything
MIN_STUDENTS = 3

FLAG_LOW = "check the key or the question: low discrimination"
FLAG_NEGATIVE = "check the key or the question: negative discrimination"
FLAG_NO_SPREAD = "no spread: every student scored the same"
FLAG_FEW = "too few graded students to judge"
FLAG_PENDING = "pending: answers await hand grading"


@dataclasses.dataclass(frozen=True)
class Part:
    """One graded part of the exam: a grade cell of a notebook."""

    notebook: str
    grade_id: str
    points: float
    manual: bool = False


@dataclasses.dataclass
class PartScores:
    """Every student's score on every part; ``None`` where a part is not graded yet.

    ``scores[student][grade_id]``: points earned.
    """

    parts: list[Part]
    scores: dict[str, dict[str, float | None]]

    @property
    def students(self) -> list[str]:
        return sorted(self.scores)

    def matrix(self) -> np.ndarray:
        """Scores as an array, shape (n_students, n_parts), NaN where not graded."""
        rows = [[_nan(self.scores[s].get(p.grade_id)) for p in self.parts]
                for s in self.students]
        return np.array(rows, dtype=float).reshape(len(self.students), len(self.parts))


@dataclasses.dataclass(frozen=True)
class ItemStats:
    part: Part
    n_graded: int
    mean: float
    difficulty: float
    discrimination: float  # NaN when undefined (no spread, too few students, pending)
    flag: str
    #: answers of this part still awaiting a TA (a pending part is not analysed)
    pending: int = 0

    def row(self) -> dict[str, str]:
        return {
            "notebook": self.part.notebook,
            "grade_id": self.part.grade_id,
            "points": f"{self.part.points:g}",
            "graded_by": "TA" if self.part.manual else "autograder",
            "n_graded": str(self.n_graded),
            "n_pending": str(self.pending),
            "mean_score": _fmt(self.mean),
            "difficulty": _fmt(self.difficulty),
            "discrimination": _fmt(self.discrimination),
            "flag": self.flag,
        }


CSV_COLUMNS = ("notebook", "grade_id", "points", "graded_by", "n_graded", "n_pending",
               "mean_score", "difficulty", "discrimination", "flag")


def corrected_item_total(item: np.ndarray, rest: np.ndarray) -> float:
    """Pearson correlation of ``item`` (shape (n,)) with ``rest`` (shape (n,)); NaN when
    either has no spread."""
    item = np.asarray(item, dtype=float)
    rest = np.asarray(rest, dtype=float)
    di, dr = item - item.mean(), rest - rest.mean()
    denom = math.sqrt(float(di @ di) * float(dr @ dr))
    if denom <= 1e-12:
        return math.nan
    return float(di @ dr) / denom


def item_statistics(scores: PartScores) -> list[ItemStats]:
    """One :class:`ItemStats` per part, in the parts' order."""
    matrix = scores.matrix()
    graded_totals = np.nansum(matrix, axis=1) if matrix.size else np.zeros(0)
    stats: list[ItemStats] = []
    for j, part in enumerate(scores.parts):
        column = matrix[:, j] if matrix.size else np.zeros(0)
        graded = ~np.isnan(column)
        n = int(graded.sum())
        pending = sum(1 for row in scores.scores.values()
                      if part.grade_id in row and row[part.grade_id] is None)
        if part.manual and pending:
            stats.append(ItemStats(part, n, math.nan, math.nan, math.nan, FLAG_PENDING,
                                   pending))
            continue
        item = column[graded]
        mean = float(item.mean()) if n else math.nan
        difficulty = mean / part.points if n and part.points > 0 else math.nan
        rest = graded_totals[graded] - item
        discrimination = corrected_item_total(item, rest) if n >= MIN_STUDENTS else math.nan
        stats.append(ItemStats(part, n, mean, difficulty, discrimination,
                               _flag(n, item, discrimination)))
    return stats


def _flag(n: int, item: np.ndarray, discrimination: float) -> str:
    if n < MIN_STUDENTS:
        return FLAG_FEW if n else ""
    if np.ptp(item) == 0:
        return FLAG_NO_SPREAD
    if math.isnan(discrimination):
        return FLAG_LOW
    if discrimination < 0:
        return FLAG_NEGATIVE
    if discrimination < FLAG_BELOW:
        return FLAG_LOW
    return ""


def write_item_analysis_csv(stats: Sequence[ItemStats], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for s in stats:
            writer.writerow(s.row())
    return path


def collect_part_scores(db_url: str, students: Iterable[str] | None = None) -> PartScores:
    """Every graded part's score for every student with a submission, from the gradebook.

    A hand-graded part still awaiting its TA is ``None`` (not graded), never 0.
    """
    from nbgrader.api import Gradebook, MissingEntry

    parts: dict[str, Part] = {}
    scores: dict[str, dict[str, float | None]] = {}
    with Gradebook(db_url) as gb:
        assignment = gb.find_assignment(ASSIGNMENT)
        for notebook in assignment.notebooks:
            answers = {cell.name for cell in notebook.solution_cells}
            for cell in notebook.grade_cells:  # a grade cell that is also an answer: by hand
                if cell.max_score:
                    parts[cell.name] = Part(notebook.name, cell.name, float(cell.max_score),
                                            manual=cell.name in answers)
        ids = list(students) if students is not None else sorted(s.id for s in gb.students)
        for student in ids:
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                continue
            row: dict[str, float | None] = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.name not in parts:
                        continue
                    row[grade.name] = None if grade.needs_manual_grade else float(grade.score or 0)
            scores[student] = row
    ordered = sorted(parts.values(), key=lambda p: (p.notebook, _part_order(p.grade_id)))
    return PartScores(ordered, scores)


def _part_order(grade_id: str) -> tuple:
    return tuple(int(t) if t.isdigit() else t for t in grade_id.replace("-", "_").split("_"))


#: vertical room of one label in the figure's label column, in points
LABEL_STEP = 9.5


def spread_labels(targets: Sequence[float], low: float, high: float, step: float
                  ) -> list[float]:
    """Positions for labels wanted at ``targets`` (same unit), each at least ``step`` from
    the next and all within ``[low, high]`` when there is room, as close to their targets as
    that allows; in the order of ``targets``."""
    order = sorted(range(len(targets)), key=lambda i: targets[i])
    placed = [min(max(targets[i], low), high) for i in order]
    for k in range(1, len(placed)):  # push up what sits on the one below
        placed[k] = max(placed[k], placed[k - 1] + step)
    if placed:  # then push down from the top what went past it
        placed[-1] = min(placed[-1], high)
        for k in range(len(placed) - 2, -1, -1):
            placed[k] = min(placed[k], placed[k + 1] - step)
    out = [0.0] * len(targets)
    for k, i in enumerate(order):
        out[i] = placed[k]
    return out


def item_figure(stats: Sequence[ItemStats]) -> Any:
    """Scatter: difficulty (x) against discrimination (y), one point per analysed part, the
    flag line at :data:`FLAG_BELOW` (a matplotlib figure; the caller saves or embeds it).

    Points of nearby parts overlap, so their names never sit at the points: they stand in a
    column to the right of the plot, one above the other with a fixed gap
    (:func:`spread_labels`), each joined to its point by a thin line.
    """
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    shown = [s for s in stats if not (math.isnan(s.difficulty) or math.isnan(s.discrimination))]
    height = max(5.0, (len(shown) + 4) * LABEL_STEP / 72)
    fig = plt.figure(figsize=(9.0, height))
    ax = fig.add_axes((0.09, 0.1, 0.62, 0.82))
    ax.axhline(FLAG_BELOW, color="tab:red", linestyle="--", linewidth=1,
               label=f"flagged below {FLAG_BELOW:g}")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xlabel("difficulty (mean fraction of the points earned)")
    ax.set_ylabel("discrimination (part against the rest of the exam)")
    ax.set_title("Item analysis: one point per graded part")
    ax.legend(loc="lower left", fontsize=8)
    ax.grid(alpha=0.3)
    # label positions in figure points: wanted at each point's height
    fig_h = fig.get_size_inches()[1] * 72
    to_fig = ax.transData + fig.transFigure.inverted()
    wanted = [to_fig.transform((s.difficulty, s.discrimination))[1] * fig_h for s in shown]
    low, high = 0.04 * fig_h, 0.96 * fig_h
    ys = spread_labels(wanted, low, high, LABEL_STEP)
    for s, y in zip(shown, ys, strict=True):
        colour = "tab:red" if s.flag else "tab:blue"
        ax.scatter(s.difficulty, s.discrimination, color=colour, s=28, zorder=3)
        ax.annotate(s.part.grade_id, xy=(s.difficulty, s.discrimination), xycoords="data",
                    xytext=(0.74, y / fig_h), textcoords="figure fraction", fontsize=7,
                    va="center", color=colour, annotation_clip=False,
                    arrowprops={"arrowstyle": "-", "color": "0.6", "linewidth": 0.5,
                                "shrinkA": 4, "shrinkB": 2})
    return fig


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _fmt(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.3f}"


def scores_from_mapping(parts: Sequence[Part],
                        scores: Mapping[str, Mapping[str, float | None]]) -> PartScores:
    """Build :class:`PartScores` from plain dicts (tests, exports re-read from CSV)."""
    return PartScores(list(parts), {s: dict(row) for s, row in scores.items()})
