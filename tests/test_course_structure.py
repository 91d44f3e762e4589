"""The course's metadata: points, grade ids, answer-to-test coverage, and the committed release.

These read ``source/`` and ``release/`` as committed; the release check
regenerates the release with nbgrader in a scratch course and compares.
"""

from __future__ import annotations

import ast
import filecmp
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

from cs230_grading.course import (
    EXAM_POINTS,
    EXTRA_CREDIT,
    NOTEBOOK_POINTS,
    NOTEBOOKS,
    REPO_ROOT,
    Course,
    source_points,
)
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook
from cs230_grading.questions import question

SOURCE = REPO_ROOT / "source" / "midterm"
RELEASE = REPO_ROOT / "release" / "midterm"
HIDDEN_REGION = re.compile(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", re.S)


def test_notebook_points_match_the_exam() -> None:
    points = source_points(SOURCE)
    per_notebook = {nb: sum(cells.values()) for nb, cells in points.items()}
    assert per_notebook == {nb: float(p) for nb, p in NOTEBOOK_POINTS.items()}
    assert sum(per_notebook.values()) == EXAM_POINTS + EXTRA_CREDIT


def test_grade_ids_are_unique_across_the_exam() -> None:
    seen: dict[str, str] = {}
    for name in NOTEBOOKS:
        nb = read_notebook(SOURCE / f"{name}.ipynb")
        ids = [nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c)]
        assert len(ids) == len(set(ids)), f"{name}: duplicate grade ids"
        for gid in ids:
            assert gid not in seen, f"{gid} in both {seen.get(gid)} and {name}"
            seen[gid] = name


def _defined_names(source: str) -> tuple[set[str], set[str]]:
    """Functions/classes and assigned variables defined at the top level of a cell."""
    tree = ast.parse(source)
    functions: set[str] = set()
    variables: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            functions.add(node.name)
        elif isinstance(node, ast.Assign):
            variables |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            variables.add(node.target.id)
    return functions, variables


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_autograded_answer_has_a_test(name: str) -> None:
    """Every function an answer cell defines, and at least one of its variables, is tested.

    A test cell uses a name when its source mentions it or when the grader
    check it calls (``CHECKS[grade_id]`` in ``cs230_grading.graders``) does.
    """
    nb = read_notebook(SOURCE / f"{name}.ipynb")
    cells = grade_cells(nb)
    tests = {gid: c for gid, c in cells.items()
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}
    answers = {gid: c for gid, c in cells.items()
               if nbgrader_meta(c).get("solution") and c.cell_type == "code"}
    if not answers:
        return
    grader = question(name).grader
    assert grader, f"{name} has autograded answers but no grader in cs230_grading/questions.py"
    graders = importlib.import_module(f"cs230_grading.graders.{grader}")
    text = ""
    for gid, cell in tests.items():
        text += cell.source
        check = graders.CHECKS.get(gid)
        assert check is not None or "cs230_grading" not in cell.source, (
            f"{gid} calls the graders but has no CHECKS entry")
        if check is not None:
            text += inspect.getsource(inspect.getmodule(check))
    for gid, cell in answers.items():
        source = "\n".join(ln for ln in cell.source.splitlines() if "SOLUTION" not in ln)
        functions, variables = _defined_names(source)
        tested = {n for n in functions | variables if re.search(rf"\b{re.escape(n)}\b", text)}
        untested = functions - tested
        assert not untested, f"{name}: {untested} (answer cell {gid}) checked by no test cell"
        if variables and not functions:
            assert tested, f"{name}: no test cell checks what answer cell {gid} defines"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_the_kernel_is_never_handed_the_key(name: str) -> None:
    """No cell of ``source/`` imports the kit (a kernel could not, and must not need to): the
    hidden part of every test cell is the marker, and every test cell with points is scored
    by a check of the notebook's grader (the scoring pass fails closed without one)."""
    from cs230_grading.grading.score import HIDDEN_TEST_MARKER, graders_for

    nb = read_notebook(SOURCE / f"{name}.ipynb")
    checks = graders_for(name)
    for i, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        assert "cs230_grading" not in cell.source.replace(HIDDEN_TEST_MARKER, ""), (
            f"{name}: cell {i + 1} ({meta.get('grade_id')}) refers to the kit")
        if cell.cell_type != "code" or not meta.get("grade") or meta.get("solution"):
            continue
        hidden = HIDDEN_REGION.findall(cell.source)
        if hidden:
            assert cell.source.count("BEGIN HIDDEN TESTS") == 1, meta["grade_id"]
            assert HIDDEN_TEST_MARKER in cell.source, meta["grade_id"]
        if float(meta.get("points") or 0) > 0:
            assert meta["grade_id"] in checks, f"{meta['grade_id']}: no check scores it"


def test_committed_release_matches_a_fresh_generate_assignment(tmp_path: Path) -> None:
    course = Course.scratch(tmp_path)
    course.generate_assignment()
    fresh = course.release_dir
    committed = sorted(p.relative_to(RELEASE) for p in RELEASE.rglob("*") if p.is_file())
    generated = sorted(p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file())
    assert committed == generated, "release/ lists other files than nbgrader generates"
    stale = []
    for rel in generated:
        if rel.suffix == ".ipynb":
            same = json.loads((RELEASE / rel).read_text()) == json.loads((fresh / rel).read_text())
        else:
            same = filecmp.cmp(RELEASE / rel, fresh / rel, shallow=False)
        if not same:
            stale.append(str(rel))
    assert not stale, (
        f"release/ is stale for {stale}: run `nbgrader generate_assignment midterm --force` "
        "from the course root and commit release/")


def _hidden_lines() -> set[str]:
    lines: set[str] = set()
    for name in NOTEBOOKS:
        for cell in read_notebook(SOURCE / f"{name}.ipynb").cells:
            for region in HIDDEN_REGION.findall(cell.source):
                lines |= {ln.strip() for ln in region.splitlines() if len(ln.strip()) > 12}
    return lines


def test_release_reveals_no_solution_hidden_test_or_answer_key() -> None:
    hidden = _hidden_lines()
    assert hidden, "the source notebooks should have hidden tests"
    for path in RELEASE.rglob("*"):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS",
                       "BEGIN MARK SCHEME", "cs230_grading"):
            assert marker not in text, f"{path.name} contains {marker!r}"
        leaked = [ln for ln in hidden if ln in text]
        assert not leaked, f"{path.name} contains hidden test lines: {leaked[:3]}"


def test_release_answer_cells_hold_no_model_answer() -> None:
    from cs230_grading.notebooks import solution_sources

    for name in NOTEBOOKS:
        model = solution_sources(read_notebook(SOURCE / f"{name}.ipynb"))
        released = grade_cells(read_notebook(RELEASE / f"{name}.ipynb"))
        for gid, answer in model.items():
            assert released[gid].source != answer, f"{name}/{gid}: the release holds the answer"


def test_notebooks_are_committed_without_outputs() -> None:
    for root in (SOURCE, RELEASE):
        for path in root.glob("*.ipynb"):
            for cell in read_notebook(path).cells:
                if cell.cell_type == "code":
                    assert not cell.outputs and cell.execution_count is None, path
