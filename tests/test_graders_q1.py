"""Q1 hidden tests, the student-side helper and the source notebook (no nbgrader)."""

from __future__ import annotations

import importlib
import itertools
import re
import sys
from pathlib import Path

import nbclient
import pytest

from cs230_grading.checks import GradingError
from cs230_grading.course import REPO_ROOT
from cs230_grading.graders import q1
from cs230_grading.grading.score import HIDDEN_TEST_MARKER
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook, solution_sources
from cs230_grading.reference.multiple_choice import OPTIONS, QUESTIONS, parse_answer, score

SOURCE = REPO_ROOT / "source" / "midterm"
NOTEBOOK = SOURCE / "q1_multiple_choice.ipynb"
ALL_ANSWERS = [set(c) for r in range(5) for c in itertools.combinations(OPTIONS, r)]


@pytest.fixture(scope="module")
def tools():
    sys.path.insert(0, str(SOURCE))
    try:
        yield importlib.import_module("q1_tools")
    finally:
        sys.path.remove(str(SOURCE))


@pytest.fixture(scope="module")
def model_ns() -> dict:
    """The namespace the model answers of the source notebook produce."""
    ns: dict = {}
    for source in solution_sources(read_notebook(NOTEBOOK)).values():
        exec(source, ns)  # noqa: S102 - our own model answers
    return ns


@pytest.fixture
def all_or_nothing(monkeypatch):
    monkeypatch.setenv("CS230_PARTIAL_CREDIT", "0")


@pytest.fixture
def partial(monkeypatch):
    monkeypatch.setenv("CS230_PARTIAL_CREDIT", "1")


def test_checks_match_the_notebook_test_cells() -> None:
    cells = grade_cells(read_notebook(NOTEBOOK))
    tests = {g for g, c in cells.items() if nbgrader_meta(c).get("grade")}
    assert set(q1.CHECKS) == tests == {f"q1_{q}_test" for q in QUESTIONS}
    for q in QUESTIONS:
        meta = nbgrader_meta(cells[f"q1_{q}_test"])
        assert meta["points"] == 2 and not meta["solution"]
        # the hidden part runs nothing: the grader scores the cell with CHECKS[grade id]
        assert cells[f"q1_{q}_test"].source.strip().endswith(HIDDEN_TEST_MARKER)
        assert nbgrader_meta(cells[f"q1_{q}"])["solution"]


def test_model_answers_pass_in_both_modes(model_ns, monkeypatch) -> None:
    monkeypatch.setenv("CS230_PARTIAL_CREDIT", "0")
    assert all(q1.CHECKS[f"q1_{q}_test"](model_ns) is None for q in QUESTIONS)
    monkeypatch.setenv("CS230_PARTIAL_CREDIT", "1")
    assert all(q1.CHECKS[f"q1_{q}_test"](model_ns) == 2.0 for q in QUESTIONS)


def test_wrong_answers_fail_without_revealing(all_or_nothing, capsys) -> None:
    for q in QUESTIONS:
        messages = set()
        for answer in ALL_ANSWERS:
            if score(q, answer) == 2.0:
                assert q1.check(q, {f"answer_{q}": answer}) is None
                continue
            with pytest.raises(GradingError, match="is not right") as info:
                q1.check(q, {f"answer_{q}": answer})
            messages.add(str(info.value))
        # One message per question, whatever the wrong answer: it names no option.
        assert len(messages) == 1
        assert not re.search(r"\((i|ii|iii|iv)\)", messages.pop())
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("answer", [2, 0.5, {"v"}, {3}, "i, x"])
def test_malformed_answer_names_the_accepted_forms(answer, all_or_nothing) -> None:
    with pytest.raises(GradingError, match="not well formed.*set, list or tuple"):
        q1.check("c", {"answer_c": answer})


def test_an_answer_left_as_released_is_not_answered_yet(all_or_nothing) -> None:
    """The release holds `answer_c = None  # YOUR ANSWER HERE`: not a malformed answer."""
    with pytest.raises(GradingError, match="`answer_c` is not answered yet"):
        q1.check("c", {"answer_c": None})


def test_missing_answer_says_not_defined(partial) -> None:
    with pytest.raises(GradingError, match="`answer_e` is not defined"):
        q1.check("e", {"answer": {"iv"}})


def test_partial_mode_returns_reference_points(partial, capsys) -> None:
    for q in QUESTIONS:
        for answer in ALL_ANSWERS:
            got = q1.CHECKS[f"q1_{q}_test"]({f"answer_{q}": sorted(answer)})
            assert got == score(q, answer, partial=True)
    out = capsys.readouterr()
    assert out.err == ""
    assert "of 2 points" in out.out and not re.search(r"\((i|ii|iii|iv)\)", out.out)
    with pytest.raises(GradingError, match="not well formed"):
        q1.check("a", {"answer_a": 2})


CASES = [{"i"}, ["II", "iv"], ("iii",), "i, iii", " (ii) ", "", set(), 1, None, {"v"},
         ["i", 2], "i & ii", {"i": 1}, 1.5, b"i"]


@pytest.mark.parametrize("answer", CASES, ids=repr)
def test_student_parser_agrees_with_the_reference(tools, answer) -> None:
    try:
        expected = parse_answer(answer)
    except ValueError:
        with pytest.raises(ValueError, match="set, list or tuple"):
            tools.parse_choice(answer)
    else:
        assert tools.parse_choice(answer) == expected


def test_self_check_says_well_formed_only(tools, capsys) -> None:
    tools.check_answer({"answer_b": {"iii", "ii"}}, "answer_b")     # accepted (right)
    tools.check_answer({"answer_b": {"i"}}, "answer_b")             # wrong
    tools.check_answer({"answer_b": 7}, "answer_b")
    tools.check_answer({}, "answer_b")
    lines = capsys.readouterr().out.strip().split("\n")
    assert lines[0] == ("\u2714 `answer_b` is well formed: you chose (ii), (iii)"
                        "   [ ] (i)  [x] (ii)  [x] (iii)  [ ] (iv)")
    assert lines[1] == ("\u2714 `answer_b` is well formed: you chose (i)"
                        "   [x] (i)  [ ] (ii)  [ ] (iii)  [ ] (iv)")
    assert lines[2].startswith("\u2718 `answer_b` is not well formed") and "set, list" in lines[2]
    assert "not defined yet" in lines[3]


def test_student_module_holds_no_key(tools, model_ns) -> None:
    text = (SOURCE / "q1_tools.py").read_text()
    for q in QUESTIONS:
        assert f"answer_{q} = " + "{" not in text
    assert "KEY" not in text and "either" not in text.lower()


@pytest.mark.parametrize("answer", ALL_ANSWERS, ids=lambda a: "-".join(sorted(a)) or "none")
def test_ticks_show_what_is_graded(tools, answer, capsys) -> None:
    """The boxes shown under an answer are exactly the options the grader reads from it."""
    for form in (answer, sorted(answer), ", ".join(sorted(answer)).upper()):
        assert tools.check_answer({"answer_h": form}, "answer_h")
        shown = capsys.readouterr().out
        ticked = set(re.findall(r"\[x\] \((i|ii|iii|iv)\)", shown))
        unticked = set(re.findall(r"\[ \] \((i|ii|iii|iv)\)", shown))
        assert ticked == set(parse_answer(form)) and ticked | unticked == set(OPTIONS)


def test_no_second_place_to_answer() -> None:
    """The answer cell is the only input: no checkbox widget that could hold another answer."""
    nb = read_notebook(NOTEBOOK)
    text = "\n".join(c.source for c in nb.cells) + (SOURCE / "q1_tools.py").read_text()
    assert "ipywidgets" not in text and "Checkbox(" not in text
    assert not [g for g in grade_cells(nb) if g.endswith("_widget")]


def test_source_notebook_runs_top_to_bottom(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYTHONPATH", str(REPO_ROOT))
    for name in ("q1_tools.py", "selfcheck.py"):
        (tmp_path / name).write_text((SOURCE / name).read_text())
    nb = read_notebook(NOTEBOOK)
    nbclient.NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(tmp_path)}}
                            ).execute()
    outputs = {g: c.get("outputs", []) for g, c in grade_cells(nb).items()}
    for q in QUESTIONS:
        texts = [o.get("text", "") for o in outputs[f"q1_{q}_test"]]
        assert texts and texts[0].startswith("\u2714"), texts
        assert all(o["output_type"] != "error" for o in outputs[f"q1_{q}_test"])


def test_notebook_source_has_no_outputs() -> None:
    nb = read_notebook(NOTEBOOK)
    assert all(not c.get("outputs") and c.get("execution_count") is None
               for c in nb.cells if c.cell_type == "code")
    assert Path(NOTEBOOK).read_text().count('"schema_version": 3') == len(grade_cells(nb))
