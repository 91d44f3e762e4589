"""Q1 through real nbgrader with per-option partial credit, and the Q1 release.

A scratch course holding only the Q1 notebook and its helpers is generated and
every Q1 variant is autograded with ``CS230_PARTIAL_CREDIT=1``. Each test
cell's expected points come from ``reference.multiple_choice.score`` applied
to the variant's answer (0 when the answer is malformed or missing).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbclient
import pytest

from cs230_grading.course import REPO_ROOT, Course
from cs230_grading.notebooks import (
    grade_cells,
    nbgrader_meta,
    read_notebook,
    solution_sources,
    strip_hidden_tests,
)
from cs230_grading.reference.multiple_choice import QUESTIONS, score
from cs230_grading.variants import Variant, blank, model, student_id
from cs230_grading.variants.q1 import VARIANTS

NOTEBOOK = "q1_multiple_choice"
FILES = (f"{NOTEBOOK}.ipynb", "q1_tools.py", "selfcheck.py")


def partial_points(variant: Variant, source_dir: Path) -> dict[str, float]:
    """``{test grade id: points}`` under partial credit, from the reference scorer."""
    if variant.base == "blank":
        return {f"q1_{q}_test": 0.0 for q in QUESTIONS}
    answers = solution_sources(read_notebook(source_dir / f"{NOTEBOOK}.ipynb"))
    answers.update(variant.answers)
    ns: dict = {}
    for source in answers.values():
        exec(source, ns)  # noqa: S102 - the variants' own answers
    expected = {}
    for q in QUESTIONS:
        try:
            expected[f"q1_{q}_test"] = score(q, ns[f"answer_{q}"], partial=True)
        except (KeyError, ValueError):
            expected[f"q1_{q}_test"] = 0.0
    return expected


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    src = tmp_path_factory.mktemp("source")
    (src / "midterm").mkdir()
    for name in FILES:
        shutil.copy(REPO_ROOT / "source" / "midterm" / name, src / "midterm" / name)
    course = Course.scratch(tmp_path_factory.mktemp("course"), source=src)
    course.generate_assignment()
    return course


def test_variants_grade_to_reference_partial_scores(course: Course) -> None:
    variants = [model(NOTEBOOK), blank(NOTEBOOK), *VARIANTS]
    for v in variants:
        course.add_submission(student_id(v), {NOTEBOOK: v.build(course.source_dir,
                                                                course.release_dir)})
    course.nbgrader("autograde", "midterm", "--force", env={"CS230_PARTIAL_CREDIT": "1"})
    problems = []
    partial_seen = False
    for v in variants:
        expected = partial_points(v, course.source_dir)
        got = {g.grade_id: g for g in course.cell_grades(student_id(v))
               if g.notebook == NOTEBOOK and g.grade_id.endswith("_test")}
        for gid, points in expected.items():
            partial_seen |= 0 < points < 2
            if got[gid].score is None or abs(got[gid].score - points) > 1e-6:
                problems.append(f"{v.name} {gid}: {got[gid].score} != {points} "
                                f"({got[gid].output[:200]!r})")
            if v.failing.get(gid) and 0 < points < 2:
                assert "of 2 points" in got[gid].output
    assert partial_seen, "no variant exercises partial credit"
    assert not problems, "\n".join(problems)


def test_release_holds_no_key(course: Course) -> None:
    source = read_notebook(course.source_dir / f"{NOTEBOOK}.ipynb")
    release_path = course.release_dir / f"{NOTEBOOK}.ipynb"
    release = read_notebook(release_path)
    text = release_path.read_text() + (course.release_dir / "q1_tools.py").read_text()
    for gid, answer in solution_sources(source).items():
        for line in answer.strip().split("\n"):
            assert line not in text, f"{gid} leaks {line!r}"
    assert "HIDDEN TESTS" not in text and "cs230_grading" not in text
    assert "# Key:" not in text
    cells = grade_cells(release)
    for q in QUESTIONS:
        # released unanswered, as a stub that does not stop Run All (answer_stubs.py)
        assert cells[f"q1_{q}"].source.endswith(f"answer_{q} = None  # YOUR ANSWER HERE")
        assert cells[f"q1_{q}_test"].source.strip() == strip_hidden_tests(
            grade_cells(source)[f"q1_{q}_test"].source).strip()
        assert nbgrader_meta(cells[f"q1_{q}_test"])["points"] == 2


@pytest.mark.parametrize("execution", ["", "validate"])
def test_release_runs_to_the_end_and_validate_lists_missing_answers(
        course: Course, tmp_path, monkeypatch, execution: str) -> None:
    """Interactively (no NBGRADER_EXECUTION) the unanswered release runs with no error and
    each self-check says "not answered yet"; under Validate each test cell fails with it."""
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("NBGRADER_EXECUTION", execution)
    for name in FILES[1:]:
        shutil.copy(course.release_dir / name, tmp_path / name)
    nb = read_notebook(course.release_dir / f"{NOTEBOOK}.ipynb")
    nbclient.NotebookClient(nb, timeout=60, allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    failed = {nbgrader_meta(c).get("grade_id") for c in nb.cells
              if any(o["output_type"] == "error" for o in c.get("outputs", []))}
    expected = {f"q1_{q}_test" for q in QUESTIONS} if execution else set()
    assert failed == expected
    for q in QUESTIONS:
        outputs = grade_cells(nb)[f"q1_{q}_test"].outputs
        assert outputs[0]["text"] == (f"\u25cb `answer_{q}` is not answered yet: set it in the "
                                      "answer cell and run it\n")
        if execution:
            assert outputs[-1]["ename"] == "AssertionError"
            assert f"`answer_{q}` is not answered yet" in outputs[-1]["evalue"]
