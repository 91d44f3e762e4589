"""The Q4 explorer and self-checks (headless), and the Q4 source notebook run top to bottom."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cs230_grading.course import REPO_ROOT, nbgrader_env
from cs230_grading.notebooks import fill_answers, grade_cells, read_notebook
from cs230_grading.reference import l1 as ref

MIDTERM = REPO_ROOT / "source" / "midterm"
sys.path.insert(0, str(MIDTERM))

import q4_tools  # noqa: E402
from selfcheck import NotImplementedYet  # noqa: E402


def stub(*args: Any) -> Any:
    raise NotImplementedError()


@pytest.fixture
def explorer() -> q4_tools.L1Explorer:
    return q4_tools.L1Explorer(ref.l1_solution, ref.l2_solution, alpha=1.0, H=1.0, w_star=1.5)


def test_builds_headless_with_documented_classes(explorer: q4_tools.L1Explorer) -> None:
    classes = {
        "cs230-q4-explorer": explorer.widget, "cs230-q4-alpha": explorer.alpha_slider,
        "cs230-q4-H": explorer.H_slider, "cs230-q4-wstar": explorer.w_star_slider,
        "cs230-q4-plot": explorer.image, "cs230-q4-minimiser": explorer.minimiser,
        "cs230-q4-l2-minimiser": explorer.l2_minimiser, "cs230-q4-status": explorer.status,
    }
    for css, widget in classes.items():
        assert css in widget._dom_classes
        assert f"``.{css}``" in q4_tools.__doc__
    assert bytes(explorer.image.value).startswith(b"\x89PNG")
    assert explorer.alpha_slider.description == "alpha"
    # the notes' table at H = 1, alpha = 1: w* = 1.5 -> L1 0.5, L2 0.75
    assert explorer.l1_value == pytest.approx(0.5)
    assert explorer.l2_value == pytest.approx(0.75)
    assert explorer.minimiser.value == "L1 minimiser w = 0.5000"
    assert explorer.l2_minimiser.value == "L2 minimiser w = 0.7500"
    assert explorer.status.value == ""


def test_moving_alpha_moves_the_marked_minimiser(explorer: q4_tools.L1Explorer) -> None:
    before = bytes(explorer.image.value)
    explorer.alpha_slider.value = 0.5
    assert explorer.l1_value == pytest.approx(1.0)
    assert explorer.obj_l1_min.get_xdata()[0] == pytest.approx(1.0)
    assert explorer.map_l1_pt.get_ydata()[0] == pytest.approx(1.0)
    assert explorer.minimiser.value == "L1 minimiser w = 1.0000"
    assert bytes(explorer.image.value) != before
    explorer.alpha_slider.value = 2.0  # w* = 1.5 is now inside the dead zone
    assert explorer.l1_value == 0.0
    assert explorer.zero_band.get_visible()
    assert explorer.zero_band.get_x() == pytest.approx(-2.0, abs=0.03)
    assert explorer.zero_band.get_width() == pytest.approx(4.0, abs=0.05)


def test_h_and_w_star_sliders_are_linked_to_both_plots(explorer: q4_tools.L1Explorer) -> None:
    explorer.H_slider.value = 2.0
    explorer.w_star_slider.value = -3.0
    assert explorer.l1_value == pytest.approx(-2.5)
    assert explorer.l2_value == pytest.approx(-2.0)
    assert explorer.obj_star.get_xdata()[0] == pytest.approx(-3.0)
    assert explorer.map_star.get_xdata()[0] == pytest.approx(-3.0)
    assert explorer.obj_l2_min.get_xdata()[0] == pytest.approx(-2.0)


def test_every_update_records_its_own_time(explorer: q4_tools.L1Explorer) -> None:
    """The explorer times each redraw (its readout shows it); the speed itself is for a
    benchmark, not for a unit test on a busy machine."""
    seen = []
    for i, alpha in enumerate(np.linspace(0.1, 3.0, 5)):
        explorer.alpha_slider.value = round(float(alpha), 2)
        explorer.w_star_slider.value = round(-3.0 + 0.4 * i, 2)
        seen.append(explorer.last_update_seconds)
    assert all(t > 0 for t in seen)


def test_stub_message_is_shown_and_l1_curve_missing() -> None:
    explorer = q4_tools.L1Explorer(stub, ref.l2_solution)
    assert explorer.l1_value is None
    assert "not implemented" in explorer.message
    assert "not implemented" in explorer.status.value
    assert "not implemented" in explorer.minimiser.value
    assert "not implemented" in explorer.obj_text.get_text()
    assert explorer.obj_text.get_visible() and explorer.map_text.get_visible()
    assert not explorer.map_l1.get_visible() and not explorer.obj_l1_min.get_visible()
    assert explorer.l2_value == pytest.approx(0.75)
    explorer.alpha_slider.value = 2.0  # still responds, still says why
    assert explorer.l2_value == pytest.approx(0.5)
    assert "not implemented" in explorer.status.value


def test_other_failures_are_reported_not_raised() -> None:
    def scalar_only(w, h, a):
        return w if w > a / h else 0.0

    explorer = q4_tools.L1Explorer(scalar_only, ref.l2_solution)
    assert explorer.l1_value is None
    assert "ValueError" in explorer.message  # numpy's "truth value ... is ambiguous"
    explorer = q4_tools.L1Explorer(lambda w, h, a: np.nan * w, ref.l2_solution)
    assert "NaN" in explorer.message and not explorer.map_l1.get_visible()


def test_show_explorer_is_skipped_while_autograding(monkeypatch, capsys) -> None:
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert q4_tools.show_explorer(ref.l1_solution, ref.l2_solution) is None
    assert "not built" in capsys.readouterr().out


def test_selfchecks(capsys) -> None:
    assert q4_tools.selfcheck_grad(ref.l1_regularized_grad)
    assert q4_tools.selfcheck_solution(ref.l1_solution)
    assert not q4_tools.selfcheck_solution(lambda w, h, a: np.ravel(w))
    with pytest.raises(NotImplementedYet, match="not implemented"):
        q4_tools.selfcheck_solution(stub)


def test_tools_hold_no_answer() -> None:
    text = (MIDTERM / "q4_tools.py").read_text()
    assert "cs230_grading" not in text
    assert "maximum" not in text and "alpha / H" not in text


# -- the notebook, executed in a plain kernel ----------------------------------------------
def _execute(answers: dict[str, str], tmp_path: Path, visible_only: bool = False
             ) -> dict[str, Any]:
    from nbclient import NotebookClient

    from cs230_grading.notebooks import strip_hidden_tests

    for name in ("selfcheck.py", "q4_tools.py"):
        shutil.copy(MIDTERM / name, tmp_path / name)
    nb = fill_answers(read_notebook(MIDTERM / "q4_l1_regularization.ipynb"), answers)
    if visible_only:  # as a student's copy: the test cells without their hidden tests
        for cell in nb.cells:
            cell.source = strip_hidden_tests(cell.source)
    env = nbgrader_env({"MPLBACKEND": "Agg"})
    env.pop("NBGRADER_EXECUTION", None)
    client = NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=env)
    return grade_cells(nb) | {f"cell{i}": c for i, c in enumerate(nb.cells)
                              if not c.get("metadata", {}).get("nbgrader")}


def _errors(cells: dict[str, Any]) -> set[str]:
    return {gid for gid, cell in cells.items() if cell.cell_type == "code"
            and any(o.get("output_type") == "error" for o in cell.get("outputs", []))}


def test_notebook_runs_with_model_answers(tmp_path: Path) -> None:
    cells = _execute({}, tmp_path)
    assert _errors(cells) == set()
    outputs = cells["q4_explorer"].outputs
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_notebook_with_stubs_runs_to_the_end(tmp_path: Path) -> None:
    stubs = {
        "q4_i_code": "def l1_regularized_grad(grad_J, w, alpha):\n"
                     "    # YOUR CODE HERE\n    raise NotImplementedError()",
        "q4_ii_code": "def l1_solution(w_star, H_diag, alpha):\n"
                      "    # YOUR CODE HERE\n    raise NotImplementedError()",
    }
    cells = _execute(stubs, tmp_path, visible_only=True)
    # interactively a stub is "not implemented yet" (a neutral line) and Run All goes on
    assert _errors(cells) == set()
    text = "".join(o.get("text", "") for o in cells["q4_ii_test"].outputs)
    assert text.startswith("\u25cb l1_solution is not implemented yet")


def test_collected_self_checks_give_the_validate_message(capsys, monkeypatch) -> None:
    from selfcheck import FAIL, collect

    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")  # a stub fails under Validate

    assert collect(q4_tools.selfcheck_solution, ref.l1_solution) == (True, "")
    ok, why = collect(q4_tools.selfcheck_solution, lambda w, H, a: np.zeros(3))
    assert not ok and why == "w has shape (3,), expected (3, 4)"
    ok, why = collect(q4_tools.selfcheck_grad, stub)
    assert not ok and why.startswith("stub is not implemented yet")
    ok, why = collect(q4_tools.selfcheck_grad, lambda g, w, a: 1 / 0)
    assert not ok and "ZeroDivisionError" in why
    assert f"{FAIL} w has shape (3,)" in capsys.readouterr().out
    assert collect(q4_tools.selfcheck_grad, stub, echo=False)[0] is False
    assert capsys.readouterr().out == ""


def test_a_stub_is_not_answered_yet_interactively(capsys, monkeypatch) -> None:
    """Outside nbgrader a stub's check passes with a neutral line, so Run All goes on."""
    from selfcheck import NOT_YET, collect

    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert collect(q4_tools.selfcheck_grad, stub) == (True, "")
    assert capsys.readouterr().out.startswith(f"{NOT_YET} stub is not implemented yet")
    ok, why = collect(q4_tools.selfcheck_grad, lambda g, w, a: 1 / 0)
    assert not ok and "ZeroDivisionError" in why  # a real failure still fails
