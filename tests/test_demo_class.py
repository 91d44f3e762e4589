"""The demo class looks like a class (issue 33).

* Q2 is answered the way students write: no sample student hands in the source's model
  answer (with its TA-only rubric) or a placeholder, and no two hand in the same set;
* two students copied Q3's code (one renamed the variables): both grade to full marks,
  derived from the points metadata, and the pair ranks first among the similar answers,
  with code shown; the report shows each pair folded to its matching cells.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest

from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.notebooks import read_notebook, solution_sources, write_notebook
from cs230_grading.samples import COPIERS, sample_plan
from cs230_grading.similarity import SHOWN_CELLS, similarity_html, similarity_pairs
from cs230_grading.variants import copied, grade_variants, outcome_problems, student_id
from cs230_grading.variants.q2 import ANSWERS
from cs230_grading.variants.q2 import NOTEBOOK as Q2

SOURCE = REPO_ROOT / "source" / "midterm"


def test_q2_answers_are_written_as_students_write() -> None:
    model = solution_sources(read_notebook(SOURCE / f"{Q2}.ipynb"))
    plan = sample_plan()
    sets = {student: nbs[Q2].answers for student, nbs in plan.items()}
    for student, answers in sets.items():
        assert plan[student][Q2].base == "blank", student  # never the model answer
        for gid, text in answers.items():
            assert text in ANSWERS[gid], (student, gid)
            assert "Rubric" not in text and "My answer to" not in text
            assert all(line not in text for line in model[gid].splitlines() if len(line) > 25)
    answered = [frozenset(a.items()) for a in sets.values() if a]
    assert len(answered) == len(set(answered)) >= len(plan) - 2  # no two the same
    for gid in ANSWERS:  # varied: several different answers to every part
        assert len({a[gid] for a in sets.values() if gid in a}) >= 3, gid


def test_the_copied_q3_code_grades_to_full_marks(tmp_path: Path) -> None:
    variants = [copied.original(), copied.copy()]
    assert variants[0].answers != variants[1].answers
    results = grade_variants(variants, tmp_path)
    problems = []
    for variant in variants:
        expected = variant.expected_scores()
        assert all(v is not None and v > 0 for v in expected.values()), expected
        problems += outcome_problems(variant, results[student_id(variant)])
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> list:
    """The sample class's similarity pairs (the submissions built, not graded)."""
    root = tmp_path_factory.mktemp("demo-submissions")
    for student, notebooks in sample_plan().items():
        folder = root / student / "midterm"
        folder.mkdir(parents=True)
        for nb, variant in notebooks.items():
            write_notebook(variant.build(), folder / f"{nb}.ipynb")
    return similarity_pairs(root, REPO_ROOT / "release" / "midterm")


def test_the_copying_pair_ranks_first_and_shows_code(pairs: list) -> None:
    first = pairs[0]
    assert (first.student_a, first.student_b) == COPIERS
    assert first.notebook == copied.NOTEBOOK
    assert set(copied.ORIGINAL) <= set(first.cells)
    assert first.views and all("<mark>" in a and "<mark>" in b for _, a, b in first.views)
    # no pair made only of the model answers: they are discounted
    assert all(p.score < 1 or p.notebook != Q2 for p in pairs)
    assert {p.notebook for p in pairs} <= set(NOTEBOOKS) - {"q0_cover", "q1_multiple_choice"}


def test_pairs_are_folded_to_their_matching_cells(pairs: list) -> None:
    page = similarity_html(pairs)
    blocks = re.split(r"<h3>", page)[1:]
    assert blocks
    for p, block in zip(pairs, blocks, strict=False):
        shown, _, folded = block.partition("<details>")
        assert shown.count("<table class='side'>") == min(SHOWN_CELLS, len(p.views))
        assert folded.count("<table class='side'>") == max(len(p.views) - SHOWN_CELLS, 0)
        for gid in p.cells:
            assert gid in block
    # a cell that matches nobody is not on the page
    copiers = pairs[0]
    assert not any(f"<th colspan='2'>{gid}</th>" in blocks[0]
                   for gid in set(solution_sources(read_notebook(
                       SOURCE / f"{copied.NOTEBOOK}.ipynb"))) - set(copiers.cells))


def test_no_two_students_share_a_q2_answer_set_pairwise() -> None:
    plan = sample_plan()
    for a, b in itertools.combinations(plan, 2):
        shared = set(plan[a][Q2].answers.items()) & set(plan[b][Q2].answers.items())
        assert len(shared) < len(ANSWERS) // 2, (a, b, shared)
