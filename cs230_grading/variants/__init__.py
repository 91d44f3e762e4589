"""Submission variants: code that builds sample and test submissions.

A :class:`Variant` is one way of answering one notebook: the model answers
(from ``source/``) with some answer cells replaced, or the untouched release
notebook. Each variant says which test cells it must fail and with which
words in the message; its expected score is *derived* from the points in the
source metadata (full points for every test cell it does not fail), never
typed in by hand.

Each question's module (``qN``, one per row of :mod:`cs230_grading.questions`) exports
``VARIANTS: list[Variant]``.
"""

from __future__ import annotations

import dataclasses
import importlib
from collections.abc import Mapping
from pathlib import Path

from nbformat import NotebookNode

from ..course import NOTEBOOKS, REPO_ROOT, CellGrade, Course
from ..notebooks import fill_answers, grade_cells, nbgrader_meta, read_notebook, solution_sources
from ..questions import QUESTIONS

#: notebook -> its module in this package (``qN``), from the question table.
QUESTION_MODULES: dict[str, str] = {q.notebook: q.variants for q in QUESTIONS}


@dataclasses.dataclass(frozen=True)
class Variant:
    """One way of answering one notebook, with its expected outcome.

    * ``answers``: grade id -> replacement source for answer cells (applied on
      top of the model answers, or on the blank release when ``base="blank"``).
    * ``failing``: test grade id -> a phrase the failure message must contain
      (``""`` when any failure will do). These cells score 0.
    * ``partial``: test grade id -> points expected under partial credit,
      computed from the points metadata (for example ``2 * 2/3``).
    * ``lost``: test grade id -> {sub-answer: a phrase the feedback must contain}: the
      sub-answers (``graders.qN.SPLIT``) this variant's mistake breaks in that part. The
      cell's expected score is its points minus theirs (0 when all are lost).
    * ``notes``: test grade id -> a phrase the cell's output must contain although it keeps
      its points (an earlier mistake carried forward: "this part was graded with a correct
      one").
    * ``manual``: manually graded cells that the variant leaves unanswered
      (they score 0 automatically); by default they await a manual grade.
    """

    notebook: str
    name: str
    description: str
    answers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    failing: Mapping[str, str] = dataclasses.field(default_factory=dict)
    partial: Mapping[str, float] = dataclasses.field(default_factory=dict)
    lost: Mapping[str, Mapping[str, str]] = dataclasses.field(default_factory=dict)
    notes: Mapping[str, str] = dataclasses.field(default_factory=dict)
    base: str = "solution"
    #: test grade id -> the named mistakes (``Mistake`` ids) the graders must record there,
    #: when they cannot be told from the phrases (see :meth:`expected_mistakes`)
    mistakes: Mapping[str, tuple[str, ...]] | None = None

    def build(self, source_dir: Path | None = None, release_dir: Path | None = None
              ) -> NotebookNode:
        """The submitted notebook for this variant."""
        source_dir = source_dir or REPO_ROOT / "source" / "midterm"
        release_dir = release_dir or REPO_ROOT / "release" / "midterm"
        release = read_notebook(release_dir / f"{self.notebook}.ipynb")
        answers: dict[str, str] = {}
        if self.base == "solution":
            answers.update(solution_sources(read_notebook(source_dir / f"{self.notebook}.ipynb")))
        elif self.base != "blank":
            raise ValueError(f"unknown base {self.base!r}: use 'solution' or 'blank'")
        answers.update(self.answers)
        return fill_answers(release, answers)

    def expected_scores(self, source_dir: Path | None = None) -> dict[str, float | None]:
        """``{grade_id: points}`` derived from the source metadata.

        Autograded test cells: 0 when listed in ``failing``, the ``partial``
        value when listed there, else their full points. Manually graded
        answers: ``None`` (awaiting a grade) when answered, 0 when the answer
        cell is left as released (nbgrader scores an unchanged answer 0).
        """
        source_dir = source_dir or REPO_ROOT / "source" / "midterm"
        src = read_notebook(source_dir / f"{self.notebook}.ipynb")
        expected: dict[str, float | None] = {}
        for gid, cell in grade_cells(src).items():
            meta = nbgrader_meta(cell)
            if not meta.get("grade"):
                continue
            points = float(meta.get("points", 0))
            if meta.get("solution"):
                blank = self.base == "blank" and gid not in self.answers
                expected[gid] = 0.0 if blank else None
            elif gid in self.partial:
                expected[gid] = float(self.partial[gid])
            elif gid in self.lost and self.base != "blank":
                expected[gid] = points - self._lost_points(gid, points)
            elif gid in self.failing or self.base == "blank":
                expected[gid] = 0.0
            else:
                expected[gid] = points
        unknown = (set(self.failing) | set(self.partial) | set(self.lost)
                   | set(self.notes)) - set(expected)
        if unknown:
            raise ValueError(f"{self.notebook}/{self.name}: unknown test cells {sorted(unknown)}")
        return expected


    def expected_mistakes(self) -> set[tuple[str, str]]:
        """``{(test grade id, mistake id)}`` the graders must record for this variant.

        Derived from the phrases in ``failing`` and ``lost``: a phrase that is part of exactly
        one named mistake of this question's grader means that mistake; a phrase that is
        part of none (``"not implemented"``) means no named mistake; a phrase that is part
        of several is an error (use a longer one, or ``mistakes``)."""
        if self.mistakes is not None:
            return {(gid, m) for gid, ids in self.mistakes.items() for m in ids}
        from ..class_mistakes import mistake_messages

        prefix = self.notebook.split("_")[0] + "."
        messages = {m: text for m, text in mistake_messages().items() if m.startswith(prefix)}
        phrases = [*self.failing.items(),
                   *((gid, p) for gid, subs in self.lost.items() for p in subs.values())]
        found: set[tuple[str, str]] = set()
        for gid, phrase in phrases:
            hits = sorted(m for m, text in messages.items() if phrase and phrase in text)
            if len(hits) > 1:
                raise ValueError(f"variant {self.name}: {phrase!r} is part of several named "
                                 f"mistakes ({', '.join(hits)}): use a longer phrase")
            found |= {(gid, hits[0])} if hits else set()
        return found

    def _lost_points(self, gid: str, points: float) -> float:
        """The points of the sub-answers of ``gid`` listed in ``lost`` (from the split)."""
        split = sub_answer_split(self.notebook).get(gid)
        if split is None:
            raise ValueError(f"{self.notebook}/{self.name}: {gid} has no sub-answers to lose")
        if abs(sum(split.values()) - points) > 1e-9:
            raise ValueError(f"{self.notebook}: the split of {gid} adds up to "
                             f"{sum(split.values()):g}, but the cell is worth {points:g}")
        unknown = set(self.lost[gid]) - set(split)
        if unknown:
            raise ValueError(f"{self.notebook}/{self.name}: {gid} has no sub-answers "
                             f"{sorted(unknown)}")
        return float(sum(split[name] for name in self.lost[gid]))


def sub_answer_split(notebook: str) -> dict[str, dict[str, float]]:
    """``{test grade id: {sub-answer: points}}`` of a notebook's grader (``SPLIT``)."""
    try:
        module = importlib.import_module(f"..graders.{QUESTION_MODULES[notebook]}", __name__)
    except ModuleNotFoundError:
        return {}
    return dict(getattr(module, "SPLIT", {}))


def variants_for(notebook: str) -> list[Variant]:
    """All variants of one notebook (its module ``variants/qN.py`` must exist)."""
    module_name = QUESTION_MODULES[notebook]
    name = f"{__name__}.{module_name}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name:
            raise ModuleNotFoundError(
                f"{notebook}: its variants module cs230_grading/variants/{module_name}.py is "
                "missing (every question in cs230_grading/questions.py has one)",
                name=name) from None
        raise
    return list(module.VARIANTS)


def all_variants() -> dict[str, list[Variant]]:
    return {name: variants_for(name) for name in NOTEBOOKS}


def blank(notebook: str) -> Variant:
    """The release notebook submitted untouched: every stub still raises."""
    return Variant(notebook, "blank", "submitted as released", base="blank")


def model(notebook: str) -> Variant:
    """The model answers from ``source/``: full marks on autograded cells."""
    return Variant(notebook, "model", "the model answers from source/")


def student_id(variant: Variant) -> str:
    """A gradebook-safe student id for a variant, e.g. ``q3-ceil_pooling``."""
    return f"{variant.notebook.split('_')[0]}-{variant.name}"


def grade_variants(variants: list[Variant], workdir: Path) -> dict[str, dict[str, CellGrade]]:
    """Autograde each variant as its own student in a scratch course under ``workdir``.

    Returns ``{student_id: {grade_id: CellGrade}}`` for the variant's notebook.
    One ``nbgrader autograde`` call grades them all.
    """
    course = Course.scratch(workdir)
    course.generate_assignment()
    for variant in variants:
        course.add_submission(
            student_id(variant), {variant.notebook: variant.build(course.source_dir,
                                                                  course.release_dir)}
        )
    course.autograde()
    results: dict[str, dict[str, CellGrade]] = {}
    for variant in variants:
        sid = student_id(variant)
        results[sid] = {
            g.grade_id: g for g in course.cell_grades(sid) if g.notebook == variant.notebook
        }
    return results


def outcome_problems(variant: Variant, grades: Mapping[str, CellGrade],
                     source_dir: Path | None = None) -> list[str]:
    """Differences between a variant's derived expectation and its graded cells."""
    problems: list[str] = []
    for gid, expected in variant.expected_scores(source_dir).items():
        got = grades.get(gid)
        if got is None:
            problems.append(f"{variant.name}: {gid} has no grade")
            continue
        if expected is None:
            if not got.needs_manual_grade:
                problems.append(f"{variant.name}: {gid} should await a manual grade")
        elif got.score is None or abs(got.score - expected) > 1e-6:
            problems.append(
                f"{variant.name}: {gid} scored {got.score}, expected {expected}"
                f" (output: {got.output[:300]!r})"
            )
        phrases = [variant.failing.get(gid), variant.notes.get(gid),
                   *variant.lost.get(gid, {}).values()]
        for phrase in phrases:
            if phrase and phrase.lower() not in got.output.lower():
                problems.append(
                    f"{variant.name}: {gid} message lacks {phrase!r}: {got.output[:300]!r}"
                )
    return problems
