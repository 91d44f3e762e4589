"""``cs230-grade new-question`` end to end, in a copy of the kit that carries a subset.

The copy holds the package, ``nbgrader_config.py`` and the cover; its question table is cut
down to the cover (:func:`cs230_grading.scaffold.unregister`), so that grading it takes
seconds, not the full exam's minutes. In it the scaffold writes a dummy question and
regenerates the release; ``cs230-grade run`` (the copy's own code, through ``PYTHONPATH``)
then grades the model and the blank submission, and every cell's score must be the one the
variants derive from the scaffolded notebook's points metadata.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from cs230_grading import scaffold
from cs230_grading.course import NOTEBOOKS, REPO_ROOT, Course
from cs230_grading.cover import COVER
from cs230_grading.variants import Variant, blank, model, outcome_problems

DUMMY = "q9_dummy"


@pytest.fixture(scope="module")
def kit_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kit with the cover alone: package, config, cover notebook and ``selfcheck.py``."""
    root = tmp_path_factory.mktemp("kit")
    shutil.copytree(REPO_ROOT / "cs230_grading", root / "cs230_grading",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root)
    (root / "source" / "midterm").mkdir(parents=True)
    (root / "tests").mkdir()
    for name in (f"{COVER}.ipynb", "selfcheck.py"):
        shutil.copy(REPO_ROOT / "source" / "midterm" / name, root / "source" / "midterm")
    for notebook in NOTEBOOKS:
        if notebook != COVER:
            scaffold.unregister(root, notebook)
    return root


def cs230_grade(root: Path, env: dict[str, str], venv_bin: Path, *args: str
                ) -> subprocess.CompletedProcess[str]:
    """``.venv/bin/cs230-grade --course ROOT ARGS`` running the copy's own package."""
    return subprocess.run([str(venv_bin / "cs230-grade"), "--course", str(root), *args],
                          cwd=root, env={**env, "PYTHONPATH": str(root)}, capture_output=True,
                          text=True, timeout=600, check=False)


def test_a_scaffolded_question_is_released_and_graded(kit_copy: Path, newcomer_env, venv_bin
                                                      ) -> None:
    root = kit_copy
    made = cs230_grade(root, newcomer_env, venv_bin, "new-question", DUMMY,
                       "--title", "Q9 Dummy", "--points", "3", "--function", "double")
    assert made.returncode == 0, made.stdout + made.stderr
    for path in ("source/midterm/q9_dummy.ipynb", "source/midterm/q9_tools.py",
                 "cs230_grading/graders/q9.py", "cs230_grading/variants/q9.py",
                 "cs230_grading/reference/dummy.py", "tests/test_graders_q9.py",
                 "release/midterm/q9_dummy.ipynb", "release/midterm/q9_tools.py"):
        assert (root / path).is_file(), f"{path} not written:\n{made.stdout}"
    table = (root / "cs230_grading" / "questions.py").read_text()
    assert f'Question("{DUMMY}", "Q9 Dummy", 3, grader="q9"' in table
    released = (root / "release" / "midterm" / f"{DUMMY}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in released and "cs230_grading" not in released

    with pytest.raises(scaffold.ScaffoldError, match="q9 is already a question"):
        scaffold.scaffold(root, scaffold.plan("q9_other", "Q9 Other", 1))

    course = Course(root)
    plans: dict[str, list[Variant]] = {
        "model": [model(COVER), model(DUMMY)],
        "blank": [blank(COVER), blank(DUMMY)],
    }
    for student, variants in plans.items():
        course.add_submission(student, {v.notebook: v.build(course.source_dir, course.release_dir)
                                        for v in variants})
    (root / "roster.csv").write_text("id\n" + "\n".join(plans) + "\n")

    run = cs230_grade(root, newcomer_env, venv_bin, "run", "--workers", "1", "--no-progress",
                      "--no-feedback")
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "not a notebook of this exam" not in output, output
    problems = []
    for student, variants in plans.items():
        grades = course.cell_grades(student)
        for variant in variants:
            got = {g.grade_id: g for g in grades if g.notebook == variant.notebook}
            problems += [f"{student}: {p}"
                         for p in outcome_problems(variant, got, course.source_dir)]
    assert not problems, "\n".join(problems) + "\n" + output
    full = {g.grade_id: g.score for g in course.cell_grades("model") if g.notebook == DUMMY}
    assert full == {"q9_i_test": 3.0}


def test_the_scaffolded_notebook_has_the_cells_the_kit_needs() -> None:
    q = scaffold.plan(DUMMY, "Q9 Dummy", 3, function="double")
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in scaffold.build_notebook(q).cells}
    assert list(cells) == ["q9_intro", "q9_setup", "q9_i_text", "q9_i_code", "q9_i_test"]
    test = cells["q9_i_test"]
    assert test.metadata["tags"] == ["raises-exception"]
    assert test.metadata["nbgrader"]["points"] == 3 and test.metadata["nbgrader"]["grade"]
    assert "q9.check_part_i(globals())" in test.source
    assert "### BEGIN SOLUTION" in cells["q9_i_code"].source


@pytest.mark.parametrize(("args", "phrase"), [
    (("Q9-dummy", "T", 1), "named qN_<slug>"),
    (("q9_dummy", "T", 0), "more than 0 points"),
    (("q9_2d", "T", 1), "not a Python name"),
])
def test_bad_requests_get_one_clear_line(args, phrase: str) -> None:
    with pytest.raises(scaffold.ScaffoldError, match=phrase):
        scaffold.plan(*args)
