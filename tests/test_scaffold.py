"""``cs230-grade new-question`` (:mod:`cs230_grading.scaffold`), end to end and in parts.

* A scratch copy of the kit under git: the scaffold adds a question, the test fills it in as
  a TA would (answer key, model answers, text), and ``git status`` must list only the
  question's own files, ``questions.py``, the generated text (cover, README, docs, release)
  and the rows the scaffold registers (the browser tests' ``WRONG``, rubric items). The fast
  variant scaffolds in-process without a release; the slow one runs the command, regenerates
  the release and runs the copy's own tests of the new question.
* A copy that carries only the cover (its table cut down with
  :func:`cs230_grading.scaffold.unregister`), where ``cs230-grade run`` grades the model and
  the blank submission of a scaffolded question to the scores its metadata derives.
* The planning rules (names, points split, the points decision) and the generated files.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import importlib.util
import io
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cs230_grading import exam_text, scaffold, scaffold_files
from cs230_grading.course import NOTEBOOKS, REPO_ROOT, Course
from cs230_grading.cover import COVER
from cs230_grading.notebooks import (
    grade_cells,
    nbgrader_meta,
    read_notebook,
    solution_sources,
    write_notebook,
)
from cs230_grading.variants import Variant, blank, model, outcome_problems

DUMMY = "q9_dummy"
NEW = "q7_batchnorm"
PARTS = ["code:batchnorm_forward=3", "numeric:running_mean", "choice:true_claims", "written"]
#: What the kit's repository holds that a question can touch (copied into the scratch repo).
KIT = ("cs230_grading", "source", "release", "tests", "docs", "instructor", "README.md",
       "nbgrader_config.py", "pyproject.toml", ".gitignore")
#: The new question's own files.
OWN = {f"source/midterm/{NEW}.ipynb", "source/midterm/q7_tools.py",
       "cs230_grading/reference/batchnorm.py", "cs230_grading/graders/q7.py",
       "cs230_grading/variants/q7.py", "tests/test_graders_q7.py",
       "tests/test_reference_batchnorm.py", "tests/test_q7_tools.py"}
#: The question table, the generated text and the rows the scaffold registers.
SHARED = {"cs230_grading/questions.py", "source/midterm/q0_cover.ipynb", "README.md",
          "docs/students.md", "tests/browser/test_student.py", "instructor/rubric_items.yaml"}
RELEASED = {f"release/midterm/{NEW}.ipynb", "release/midterm/q7_tools.py",
            "release/midterm/q0_cover.ipynb"}


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org",
                           "-c", "commit.gpgsign=false", *args], cwd=root, check=True,
                          capture_output=True, text=True).stdout


@pytest.fixture
def scratch_repo(tmp_path: Path) -> Path:
    """The kit's files in a fresh git repository, everything committed."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "kit"
    root.mkdir()
    for name in KIT:
        path = REPO_ROOT / name
        if path.is_dir():
            shutil.copytree(path, root / name, ignore=shutil.ignore_patterns(
                "__pycache__", ".ipynb_checkpoints", ".pytest_cache"))
        else:
            shutil.copy(path, root / name)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "the kit")
    return root


def _changed(root: Path) -> set[str]:
    """Every path ``git status`` lists (new files one by one)."""
    lines = _git(root, "status", "--porcelain", "--untracked-files=all").splitlines()
    return {line[3:] for line in lines}


def _fill(root: Path) -> None:
    """What the TA writes: the answer key, the model answers and the question's text."""
    (root / "cs230_grading" / "reference" / "batchnorm.py").write_text('''"""Answer key for Q7."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["batchnorm_forward", "running_mean", "true_claims"]
EPS = 1e-5


def batchnorm_forward(x: Any) -> np.ndarray:
    """Normalise each feature over the batch (axis 0): zero mean, unit variance."""
    x = np.asarray(x, dtype=np.float64)
    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + EPS)


def running_mean() -> float:
    """One update of a running mean 0 with momentum 0.9 on a batch mean of 2."""
    return 0.9 * 0.0 + 0.1 * 2.0


def true_claims() -> frozenset[str]:
    """(i) it normalises per feature; (iii) it has learnable scale and shift."""
    return frozenset({"i", "iii"})
''')
    path = root / "source" / "midterm" / f"{NEW}.ipynb"
    nb = read_notebook(path)
    cells = grade_cells(nb)
    cells["q7_intro"].source = cells["q7_intro"].source.replace(
        "TODO: the question's text.", "Batch normalisation, forward and running statistics.")
    answers = {
        "q7_i_code": "def batchnorm_forward(x):\n    ### BEGIN SOLUTION\n"
                     "    return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)\n"
                     "    ### END SOLUTION",
        "q7_ii_code": "### BEGIN SOLUTION\nrunning_mean = 0.2\n### END SOLUTION",
        "q7_iii_code": '### BEGIN SOLUTION\ntrue_claims = {"i", "iii"}\n### END SOLUTION',
        "q7_iv": "It keeps activations in range, so larger learning rates train stably.",
    }
    for gid, source in answers.items():
        cells[gid].source = source
    write_notebook(nb, path)


def test_a_new_question_touches_its_files_the_table_and_generated_text(
        scratch_repo: Path) -> None:
    root = scratch_repo
    q = scaffold.plan(NEW, "Q7 Batch normalisation", 6, parts=PARTS)
    written = scaffold.scaffold(root, q, scaffold.Points(raise_total=True))
    _fill(root)
    exam_text.write_all(root)

    changed = _changed(root)
    assert changed == OWN | SHARED, (
        f"outside the question's files: {sorted(changed - OWN - SHARED)}; "
        f"not written: {sorted(OWN | SHARED - changed)}")
    assert {str(p.relative_to(root)) for p in written} == OWN | SHARED
    assert exam_text.stale_files(root) == []
    table = exam_text.table(root)
    assert table.policy_problems(table.QUESTIONS) == [] and table.EXAM_POINTS == 106
    cover = grade_cells(read_notebook(root / "source" / "midterm" / f"{COVER}.ipynb"))
    assert f"| `{NEW}.ipynb` | 7. Batch normalisation | 6 |" in cover["q0_intro"].source
    assert "out of **106 points**" in cover["q0_intro"].source
    readme = (root / "README.md").read_text()
    assert f"| `{NEW}` | Batch normalisation | 6 |" in readme
    assert "8 notebooks: the cover and 7 questions" in readme


@pytest.mark.slow
def test_the_command_then_a_filled_question_passes_the_copys_own_tests(
        scratch_repo: Path, newcomer_env, venv_bin) -> None:
    root = scratch_repo
    made = cs230_grade(root, newcomer_env, venv_bin, "new-question", NEW, "--title",
                       "Q7 Batch normalisation", "--points", "6", "--raise-total",
                       *[a for p in PARTS for a in ("--part", p)])
    assert made.returncode == 0, made.stdout + made.stderr
    _fill(root)
    Course(root).generate_assignment()  # as the release step does
    assert _changed(root) == OWN | SHARED | RELEASED
    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_question_table.py", "tests/test_cover.py", "tests/test_graders_q7.py",
         "tests/test_reference_batchnorm.py", "tests/test_q7_tools.py"],
        cwd=root, env={**newcomer_env, "PYTHONPATH": str(root)}, capture_output=True, text=True,
        timeout=900, check=False)
    assert tests.returncode == 0, tests.stdout[-3000:] + tests.stderr[-2000:]


# --- a kit with the cover alone: a scaffolded question is released and graded -------------------
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
                       "--title", "Dummy", "--points", "3", "--function", "double",
                       "--raise-total")
    assert made.returncode == 0, made.stdout + made.stderr
    for path in ("source/midterm/q9_dummy.ipynb", "source/midterm/q9_tools.py",
                 "cs230_grading/graders/q9.py", "cs230_grading/variants/q9.py",
                 "cs230_grading/reference/dummy.py", "tests/test_graders_q9.py",
                 "tests/test_reference_dummy.py", "tests/test_q9_tools.py",
                 "release/midterm/q9_dummy.ipynb", "release/midterm/q9_tools.py"):
        assert (root / path).is_file(), f"{path} not written:\n{made.stdout}"
    table = (root / "cs230_grading" / "questions.py").read_text()
    assert f'Question("{DUMMY}", "Q9 Dummy", 3, grader="q9"' in table
    released = (root / "release" / "midterm" / f"{DUMMY}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in released and "cs230_grading" not in released
    cover = (root / "release" / "midterm" / f"{COVER}.ipynb").read_text()
    assert f"| `{DUMMY}.ipynb` | 9. Dummy | 3 | automatically |" in cover

    with pytest.raises(scaffold.ScaffoldError, match="q9 is already a question"):
        scaffold.scaffold(root, scaffold.plan("q9_other", "Other", 1))

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


# --- planning -------------------------------------------------------------------------------------
def test_the_scaffolded_notebook_has_the_cells_the_kit_needs() -> None:
    q = scaffold.plan(DUMMY, "Q9 Dummy", 3, function="double")
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in scaffold.build_notebook(q).cells}
    assert list(cells) == ["q9_intro", "q9_setup", "q9_i_text", "q9_i_code", "q9_i_test"]
    test = cells["q9_i_test"]
    assert test.metadata["tags"] == ["raises-exception"]
    assert test.metadata["nbgrader"]["points"] == 3 and test.metadata["nbgrader"]["grade"]
    from cs230_grading.grading.score import HIDDEN_TEST_MARKER

    assert HIDDEN_TEST_MARKER in test.source  # the kernel is handed nothing of the key
    assert "import" not in test.source.split("### BEGIN HIDDEN TESTS")[1]
    assert "### BEGIN SOLUTION" in cells["q9_i_code"].source


@pytest.mark.parametrize("title", ["Q7 Batch normalisation", "q7: Batch normalisation",
                                   "Question 7: Batch normalisation", "Batch normalisation"])
def test_the_heading_names_the_question_once(title: str) -> None:
    q = scaffold.plan(NEW, title, 6)
    assert q.name == "Batch normalisation" and q.title == "Q7 Batch normalisation"
    intro = scaffold.build_notebook(q).cells[0].source
    assert intro.startswith("# Question 7: Batch normalisation (6 points)\n"), intro
    assert exam_text.heading(intro) == (7, "Batch normalisation", "6 points")


def test_a_title_with_another_number_is_refused() -> None:
    with pytest.raises(scaffold.ScaffoldError, match="names question 8, the notebook is q7"):
        scaffold.plan(NEW, "Q8 Batch normalisation", 6)


@pytest.mark.parametrize(("points", "parts", "shares"), [
    (6, PARTS, [3, 1, 1, 1]),
    (5, ["code:f", "code:g"], [3, 2]),
    (1, ["code:f", "numeric:g", "choice:h", "written"], [0.25] * 4),
    (6, ["code:f=2.5", "code:g=3.5"], [2.5, 3.5]),
])
def test_points_are_split_over_the_parts(points: float, parts: list[str],
                                         shares: list[float]) -> None:
    q = scaffold.plan(NEW, "Batch normalisation", points, parts=parts)
    assert [p.points for p in q.parts] == shares
    graded = [nbgrader_meta(c) for c in scaffold.build_notebook(q).cells
              if nbgrader_meta(c).get("grade")]
    assert sum(m["points"] for m in graded) == points
    assert [m["points"] for m in graded] == shares


def test_each_kind_of_part_gets_its_cells() -> None:
    q = scaffold.plan(NEW, "Batch normalisation", 6, parts=PARTS)
    cells = grade_cells(scaffold.build_notebook(q))
    for gid in ("q7_i_code", "q7_ii_code", "q7_iii_code"):
        assert cells[gid].cell_type == "code" and nbgrader_meta(cells[gid])["solution"]
        test = cells[gid.replace("_code", "_test")]
        assert nbgrader_meta(test)["grade"] and "raises-exception" in test.metadata["tags"]
    written = nbgrader_meta(cells["q7_iv"])
    assert cells["q7_iv"].cell_type == "markdown" and written["grade"] and written["solution"]
    assert "q7_iv_test" not in cells
    assert set(solution_sources(scaffold.build_notebook(q))) >= {"q7_i_code", "q7_iv"}


def test_every_test_cell_reaches_the_grader_through_the_one_template() -> None:
    """Each autograded part's test cell has the one hidden part, and the scaffolded grader
    module has a check for it (the scoring pass finds it by grade id)."""
    q = scaffold.plan(NEW, "Batch normalisation", 6, parts=PARTS)
    cells = grade_cells(scaffold.build_notebook(q))
    grader = scaffold_files.grader_module(q)
    for part in q.auto_parts:
        assert scaffold_files.hidden_test_source() in cells[part.test_id(q.key)].source
        assert f'"{part.test_id(q.key)}"' in grader


@pytest.mark.parametrize(("args", "phrase"), [
    (("Q9-dummy", "T", 1), "named qN_<slug>"),
    (("q9_dummy", "T", 0), "more than 0 points"),
    (("q9_2d", "T", 1), "not a Python name"),
    (("q9_dummy", "T", 2, None, None, ["code:f=3"]), "leave nothing"),
    (("q9_dummy", "T", 2, None, None, ["code:f=1"]), "add up to 1, --points is 2"),
    (("q9_dummy", "T", 2, None, None, ["table:f"]), "kind is one of"),
    (("q9_dummy", "T", 2, None, None, ["numeric"]), "names what the student writes"),
    (("q9_dummy", "T", 2, None, None, ["code:f", "numeric:f"]), "same name"),
    (("q9_dummy", "T", 2, "f", None, ["code:f"]), "--part only"),
])
def test_bad_requests_get_one_clear_line(args, phrase: str) -> None:
    with pytest.raises(scaffold.ScaffoldError, match=phrase):
        scaffold.plan(*args)


# --- what the scaffold writes ------------------------------------------------------------------
def _load(path: Path, name: str) -> object:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def test_the_browser_row_is_wrong_whatever_the_real_signature(tmp_path: Path) -> None:
    """The row answers with ``*args, **kwargs`` and the wrong type: the visible self-check
    prints a cross for it, and the test cell's assertion (what Validate shows) repeats it."""
    q = scaffold.plan(NEW, "Batch normalisation", 6, parts=PARTS)
    row = ast.literal_eval("{" + scaffold_files.browser_row(q) + "}")
    answer_id, wrong, test_id, phrase = row[NEW]
    assert (answer_id, test_id, phrase) == ("q7_i_code", "q7_i_test", scaffold_files.CROSS)
    assert "(*args, **kwargs)" in wrong
    (tmp_path / "q7_tools.py").write_text(scaffold_files.tools_module(q))
    sys.path.insert(0, str(REPO_ROOT / "source" / "midterm"))
    sys.path.insert(0, str(tmp_path))
    try:
        tools = _load(tmp_path / "q7_tools.py", "q7_tools")
        collect = importlib.import_module("selfcheck").collect
        namespace: dict = {}
        exec(wrong, namespace)  # noqa: S102 - the scaffold's own wrong answer
        outcome = collect(tools.selfcheck_batchnorm_forward, namespace["batchnorm_forward"],
                          echo=False)
        assert not outcome.ok
        for part, wrong_value in (("running_mean", None), ("true_claims", {"v"})):
            assert not collect(getattr(tools, f"selfcheck_{part}"), {part: wrong_value},
                               echo=False).ok
        # the test cell's visible lines, as the exam's code parts: the crosses are printed
        # (echo) and the assertion names the part and the function to fix
        test_source = grade_cells(scaffold.build_notebook(q))[test_id].source
        visible = test_source.split("### BEGIN HIDDEN TESTS")[0]
        namespace.update(q7_tools=tools, part_check=importlib.import_module(
            "selfcheck").part_check)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), pytest.raises(AssertionError) as failed:
            exec(visible, namespace)  # noqa: S102 - the scaffold's own test cell
        assert phrase in printed.getvalue()
        assert str(failed.value).startswith("part i: fix batchnorm_forward")
    finally:
        sys.path[:2] = []


def test_a_written_only_question_has_no_grader_and_its_row_says_so() -> None:
    q = scaffold.plan("q8_essay", "Essay", 4, parts=["written"])
    assert not q.graded_automatically
    assert [p.name for p in scaffold.files(Path("/x"), q)] == ["q8_essay.ipynb", "q8.py"]
    row = scaffold_files.table_row(q)
    assert "grader=None" in row and "tools=False" in row
    assert scaffold_files.rubric_entries(q).startswith("\nq8_i:\n  scoring: positive")
    assert ast.literal_eval("{" + scaffold_files.browser_row(q) + "}")["q8_essay"][3] == \
        "did not provide a response"


# --- the points decision --------------------------------------------------------------------------
@pytest.fixture
def small_kit(tmp_path: Path) -> Path:
    """The question table and Q1's and Q6's source notebooks: enough to rebalance."""
    (tmp_path / "cs230_grading").mkdir()
    shutil.copy(REPO_ROOT / "cs230_grading" / "questions.py", tmp_path / "cs230_grading")
    (tmp_path / "source" / "midterm").mkdir(parents=True)
    for name in ("q1_multiple_choice", "q6_numpy_attention"):
        shutil.copy(REPO_ROOT / "source" / "midterm" / f"{name}.ipynb",
                    tmp_path / "source" / "midterm")
    return tmp_path


def test_rebalance_takes_the_points_from_another_question(small_kit: Path) -> None:
    q = scaffold.plan(NEW, "Batch normalisation", 6, parts=["code:f", "numeric:g"])
    scaffold.scaffold(small_kit, q, scaffold.Points(rebalance="q1"))
    table = exam_text.table(small_kit)
    assert table.policy_problems(table.QUESTIONS) == []  # the total is kept
    assert table.BY_NOTEBOOK["q1_multiple_choice"].points == 10
    nb = read_notebook(small_kit / "source" / "midterm" / "q1_multiple_choice.ipynb")
    points = [nbgrader_meta(c)["points"] for c in nb.cells if nbgrader_meta(c).get("grade")]
    assert sum(points) == 10 and all(p > 0 for p in points)
    assert nb.cells[0].source.startswith("# Question 1: Multiple choice (10 points)")


@pytest.mark.parametrize(("decision", "phrase"), [
    (scaffold.Points(), "decide where the points come from"),
    (scaffold.Points(rebalance="q6"), "it has extra credit"),
    (scaffold.Points(rebalance="q5_nope"), "not a question"),
])
def test_a_points_decision_that_cannot_be_carried_out_writes_nothing(
        small_kit: Path, decision: scaffold.Points, phrase: str) -> None:
    before = (small_kit / "cs230_grading" / "questions.py").read_text()
    q = scaffold.plan(NEW, "Batch normalisation", 6)
    with pytest.raises(scaffold.ScaffoldError, match=phrase):
        scaffold.scaffold(small_kit, q, decision)
    assert (small_kit / "cs230_grading" / "questions.py").read_text() == before
    assert not (small_kit / "source" / "midterm" / f"{NEW}.ipynb").exists()


def test_rebalancing_more_than_a_question_has_is_refused(small_kit: Path) -> None:
    q = scaffold.plan(NEW, "Batch normalisation", 16)
    with pytest.raises(scaffold.ScaffoldError, match="not enough to give 16"):
        scaffold.scaffold(small_kit, q, scaffold.Points(rebalance="q1_multiple_choice"))


def test_scaled_points_add_up_exactly_in_quarter_points() -> None:
    new = scaffold.scaled({"a": 2, "b": 2, "c": 4, "d": 3}, 7)
    assert sum(new.values()) == 7 and all((4 * p).is_integer() and p > 0 for p in new.values())
    with pytest.raises(scaffold.ScaffoldError, match="with no points"):
        scaffold.scaled({"a": 0.25, "b": 20}, 2)


def test_unregister_takes_out_a_row_that_spans_lines(small_kit: Path) -> None:
    scaffold.unregister(small_kit, "q0_cover")
    table = exam_text.table(small_kit)
    assert "q0_cover" not in table.BY_NOTEBOOK and "q1_multiple_choice" in table.BY_NOTEBOOK
    with pytest.raises(scaffold.ScaffoldError, match="not in"):
        scaffold.unregister(small_kit, "q0_cover")
