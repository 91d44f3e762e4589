"""The question table (``cs230_grading/questions.py``) against everything it names.

No silent drops: a notebook in ``source/midterm/`` that the table lacks, a row without its
notebook, a grader, reference, variants or tools module that is missing (or left behind by
a removed question), and a browser-test table that lacks a question each fail here, naming
the file. The exam's totals are checked against the policy stated in the table's module.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import re

import pytest

from cs230_grading import exam_text, questions
from cs230_grading.course import NOTEBOOK_POINTS, NOTEBOOKS, REPO_ROOT, source_points
from cs230_grading.grading import score as scoring
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook
from cs230_grading.questions import QUESTIONS, Question
from cs230_grading.variants import variants_for

SOURCE = REPO_ROOT / "source" / "midterm"
PACKAGE = REPO_ROOT / "cs230_grading"
ROWS = {q.notebook: q for q in QUESTIONS}


def test_the_points_keep_the_exam_policy() -> None:
    assert questions.policy_problems() == []
    assert sum(NOTEBOOK_POINTS.values()) == questions.EXAM_POINTS + questions.EXTRA_CREDIT


def test_policy_problems_name_what_breaks_the_policy() -> None:
    exam, extra = questions.EXAM_POINTS, questions.EXTRA_CREDIT
    kept = (Question("q1_a", "Q1", exam, grader=None, reference=None, tools=False),
            Question("q2_b", "Q2", extra, grader=None, reference=None, tools=False,
                     extra_credit=extra))
    assert questions.policy_problems(kept) == []
    one_more = (*kept, Question("q3_c", "Q3", 1, grader=None, reference=None, tools=False))
    problems = questions.policy_problems(one_more)
    assert len(problems) == 1 and f"add up to {exam + 1}" in problems[0], problems
    no_extra = (kept[0], dataclasses.replace(kept[1], extra_credit=0))
    assert any("extra credit adds up to 0" in p for p in questions.policy_problems(no_extra))


def test_every_source_notebook_is_in_the_table_and_every_row_has_its_notebook() -> None:
    on_disk = {p.stem for p in SOURCE.glob("*.ipynb")}
    unregistered = sorted(f"source/midterm/{n}.ipynb" for n in on_disk - set(NOTEBOOKS))
    assert not unregistered, (
        f"{unregistered}: not in cs230_grading/questions.py, so never graded: add a row "
        "(or `cs230-grade new-question`), or delete the notebook")
    missing = sorted(f"source/midterm/{n}.ipynb" for n in set(NOTEBOOKS) - on_disk)
    assert not missing, f"{missing}: named in cs230_grading/questions.py but missing"


def _files(q: Question) -> list[str]:
    files = [f"cs230_grading/variants/{q.variants}.py"]
    if q.grader:
        files.append(f"cs230_grading/graders/{q.grader}.py")
    if q.reference:
        files.append(f"cs230_grading/reference/{q.reference}.py")
    if q.tools_file:
        files.append(f"source/midterm/{q.tools_file}")
    return files


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_module_a_question_names_exists(notebook: str) -> None:
    q = ROWS[notebook]
    assert q.key, notebook  # named qN_<slug> (raises otherwise)
    missing = [f for f in _files(q) if not (REPO_ROOT / f).is_file()]
    assert not missing, f"{notebook}: missing {missing} (named in cs230_grading/questions.py)"
    assert all(v.notebook == notebook for v in variants_for(notebook)), notebook
    if q.grader:
        module = importlib.import_module(f"cs230_grading.graders.{q.grader}")
        cells = source_points(SOURCE)[notebook]
        unknown = set(module.CHECKS) - set(cells)
        assert not unknown, f"cs230_grading/graders/{q.grader}.py: CHECKS for {unknown}, " \
                            f"which are not test cells of {notebook}"


def test_no_module_is_left_without_its_question() -> None:
    """A grader, variants or tools module no row names is a question silently dropped."""
    named = {f for q in QUESTIONS for f in _files(q)}
    found = {f"cs230_grading/{kind}/{p.name}" for kind in ("graders", "variants")
             for p in (PACKAGE / kind).glob("q*.py")}
    found |= {f"source/midterm/{p.name}" for p in SOURCE.glob("q*_tools.py")}
    orphans = sorted(found - named)
    assert not orphans, f"{orphans}: no row of cs230_grading/questions.py names them"


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_cells_follow_the_pattern(notebook: str) -> None:
    """Grade ids start with the question's ``qN_``; test cells carry ``raises-exception``
    (so that "Run All" goes on past a failing test; a notebook's last cell needs not)."""
    q = ROWS[notebook]
    nb = read_notebook(SOURCE / f"{notebook}.ipynb")
    for gid in grade_cells(nb):
        assert gid.startswith(f"{q.key}_"), f"{notebook}: grade id {gid} lacks {q.key}_"
    for cell in nb.cells[:-1]:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("grade") and not meta.get("solution"):
            assert "raises-exception" in cell.metadata.get("tags", []), (
                f"source/midterm/{notebook}.ipynb: test cell {meta.get('grade_id')} lacks the "
                "raises-exception tag (authoring.test_code sets it)")


def test_scoring_refuses_to_start_without_a_grader(monkeypatch) -> None:
    ghost = Question("q9_ghost", "Q9 Ghost", 1, grader="q9", reference=None, tools=False)
    monkeypatch.setattr(questions, "QUESTIONS", (*QUESTIONS, ghost))
    scoring.require_graders.cache_clear()
    try:
        with pytest.raises(scoring.MissingGrader, match=r"cs230_grading/graders/q9\.py"):
            scoring.graders_for(NOTEBOOKS[1])  # any notebook: the pass does not start
    finally:
        monkeypatch.undo()
        scoring.require_graders.cache_clear()
    assert set(scoring.graders_for("q4_l1_regularization")) == {"q4_i_test", "q4_ii_test"}


def test_the_browser_tests_have_a_wrong_answer_for_every_question() -> None:
    path = REPO_ROOT / "tests" / "browser" / "test_student.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    wrong = next(node.value for node in tree.body if isinstance(node, ast.AnnAssign)
                 and getattr(node.target, "id", "") == "WRONG")
    keys = set(ast.literal_eval(wrong))
    assert keys == set(NOTEBOOKS), (
        f"tests/browser/test_student.py WRONG: missing {sorted(set(NOTEBOOKS) - keys)}, "
        f"not a question {sorted(keys - set(NOTEBOOKS))}")


def test_cs230_grade_run_refuses_to_start_without_a_grader(monkeypatch, capsys) -> None:
    from cs230_grading import cli

    ghost = Question("q9_ghost", "Q9 Ghost", 1, grader="q9", reference=None, tools=False)
    monkeypatch.setattr(questions, "QUESTIONS", (*QUESTIONS, ghost))
    scoring.require_graders.cache_clear()
    try:
        assert cli.main(["--course", str(REPO_ROOT), "run"]) == 2
    finally:
        monkeypatch.undo()
        scoring.require_graders.cache_clear()
    err = capsys.readouterr().err
    assert err.startswith("cs230-grade: q9_ghost: its grader module "
                          "cs230_grading/graders/q9.py"), err
    assert len(err.strip().splitlines()) == 1, err


# --- text generated from the table (cs230_grading/exam_text.py) ----------------------------------
#: Prose a person writes about the exam as a whole; it must not state what the table decides.
PROSE = ("README.md", "docs/students.md", "docs/collection.md", "docs/authoring.md")
WORDS = {5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten"}


def test_the_generated_regions_agree_with_the_table() -> None:
    stale = [str(p.relative_to(REPO_ROOT)) for p in exam_text.stale_files(REPO_ROOT)]
    assert not stale, f"{stale}: generated text disagrees with cs230_grading/questions.py: " \
                      "run `.venv/bin/cs230-grade tables`"
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for q in QUESTIONS:  # read directly: each row, with its points
        assert re.search(rf"^\| `{q.notebook}` \|[^\n]*\| {q.points - q.extra_credit:g}[ |]",
                         readme, re.M), q.notebook


def _outside_regions(text: str) -> str:
    return re.sub(r"<!-- BEGIN GENERATED .*?<!-- END GENERATED [\w-]+ -->", "", text, flags=re.S)


@pytest.mark.parametrize("path", PROSE)
def test_prose_states_no_count_or_total_the_table_decides(path: str) -> None:
    text = " ".join(_outside_regions((REPO_ROOT / path).read_text(encoding="utf-8")).split())
    asked = len(QUESTIONS) - 1
    stated = [phrase for phrase in (
        f"{WORDS.get(len(QUESTIONS), len(QUESTIONS))} notebooks",
        f"{WORDS.get(asked, asked)} questions", f"{WORDS.get(asked, asked)} question notebooks",
        f"out of {questions.EXAM_POINTS}", f"{questions.EXAM_POINTS} points",
        f"{questions.EXAM_POINTS} + {questions.EXTRA_CREDIT}",
    ) if re.search(rf"\b{re.escape(phrase)}\b", text, re.I)]
    assert not stated, (f"{path} states {stated} outside a generated region: say it without "
                        "the number, or move it into a region (cs230_grading/exam_text.py)")


@pytest.mark.parametrize("notebook", [n for n in NOTEBOOKS if n != "q0_cover"])
def test_each_question_heading_states_its_rows_points(notebook: str) -> None:
    q = ROWS[notebook]
    first = read_notebook(SOURCE / f"{notebook}.ipynb").cells[0].source
    found = exam_text.heading(first)
    assert found, (f"source/midterm/{notebook}.ipynb: the first cell should start "
                   "`# Question N: Name (P points)`")
    number, _, points = found
    assert number == int(q.key[1:]), notebook
    assert points == exam_text.heading_points(q), (
        f"source/midterm/{notebook}.ipynb says ({points}); cs230_grading/questions.py gives "
        f"{exam_text.heading_points(q)}")


def test_cs230_grade_tables_check_names_a_stale_file(tmp_path, capsys) -> None:
    import shutil

    for rel in ("README.md", "docs/students.md", "cs230_grading/questions.py"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / rel, tmp_path / rel)
    shutil.copytree(SOURCE, tmp_path / "source" / "midterm")
    assert exam_text.run(tmp_path, check=True) == 0
    readme = tmp_path / "README.md"
    readme.write_text(readme.read_text().replace("| 25 |", "| 24 |"))
    capsys.readouterr()
    assert exam_text.run(tmp_path, check=True) == 1
    assert capsys.readouterr().out.strip() == "README.md: out of date (run cs230-grade tables)"
    assert exam_text.run(tmp_path, check=False) == 0
    assert "| 25 |" in readme.read_text() and exam_text.stale_files(tmp_path) == []
