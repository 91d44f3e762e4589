"""Every notebook's sample variants grade, through real nbgrader, to their derived scores.

One scratch course per notebook; one ``nbgrader autograde`` grades all its variants.
The expected score of each test cell is derived from the source metadata by
:meth:`Variant.expected_scores`; the messages must name the mistake.
"""

from __future__ import annotations

import pytest

from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.variants import (
    blank,
    grade_variants,
    model,
    outcome_problems,
    student_id,
    variants_for,
)


def _source_exists(name: str) -> bool:
    return (REPO_ROOT / "source" / "midterm" / f"{name}.ipynb").exists()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_variants_grade_to_derived_scores(notebook: str, tmp_path) -> None:
    if not _source_exists(notebook):
        pytest.fail(f"source/midterm/{notebook}.ipynb is missing")
    variants = [model(notebook), blank(notebook), *variants_for(notebook)]
    names = [v.name for v in variants]
    assert len(names) == len(set(names)), f"duplicate variant names in {notebook}: {names}"
    results = grade_variants(variants, tmp_path)
    problems = []
    for variant in variants:
        problems += outcome_problems(variant, results[student_id(variant)])
    assert not problems, "\n".join(problems)
