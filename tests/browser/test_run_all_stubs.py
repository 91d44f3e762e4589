"""Run All runs everything (issue 32, item 5), in JupyterLab in headless Chromium.

A student who opens a released notebook and presses Run All with nothing answered sees the
whole notebook run: no cell stops the run, the last code cell has run, and each self-check
says what is not answered yet (a neutral ``○`` line, never an error). Validate on the same
notebook still lists the parts left to do, with the same words.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cs230_grading.course import NOTEBOOKS

pytestmark = pytest.mark.browser

NOT_YET = "\u25cb"  # selfcheck.NOT_YET


def _run_all_once(lab, timeout: float = 180) -> list:
    """Press Run All once (no resuming after an error, as conftest's ``run_all`` does)."""
    lab.command("notebook:run-all-cells")
    lab.wait_idle(timeout)
    return lab.cells()


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_run_all_with_every_stub_runs_to_the_end(notebook: str, lab, student_copy) -> None:
    student_copy(f"stubs-{notebook}")
    lab.open_notebook(f"students/stubs-{notebook}/{notebook}.ipynb")
    cells = _run_all_once(lab)
    code = [c for c in cells if c.cell_type == "code"]
    assert not [(c.grade_id, c.errors) for c in code if c.errors]
    assert all(c.execution_count is not None for c in code), \
        [c.grade_id for c in code if c.execution_count is None]
    if any(c.solution for c in code):  # something to answer: the checks say it is not yet
        assert any(line.startswith(NOT_YET) for c in code for line in c.text.splitlines())
    lab.screenshot(f"run-all-stubs-{notebook}", full_page=True)
    assert not lab.real_console_errors(), lab.real_console_errors()


def test_q1_run_all_shows_every_check_and_validate_lists_what_is_left(lab, student_copy
                                                                       ) -> None:
    notebook = "q1_multiple_choice"
    student_copy("stubs-q1-validate")
    lab.open_notebook(f"students/stubs-q1-validate/{notebook}.ipynb")
    cells = _run_all_once(lab)
    checks = {c.grade_id: c for c in cells if (c.grade_id or "").endswith("_test")}
    assert len(checks) == 8
    for gid, cell in checks.items():
        name = f"answer_{gid.split('_')[1]}"
        assert cell.text.startswith(f"{NOT_YET} `{name}` is not answered yet"), cell.text
    # the last check is on screen too, not only in the model
    expect(lab.cell_locator("q1_h_test").locator(".jp-OutputArea-output:visible")) \
        .to_contain_text("`answer_h` is not answered yet")
    # one answer written, run on its own: its check shows the ticks, the others stay neutral
    lab.set_source("q1_c", 'answer_c = {"iv"}')
    cells = lab.run_cells("q1_c", "q1_c_test")
    shown = next(c for c in cells if c.grade_id == "q1_c_test")
    assert "[ ] (i)  [ ] (ii)  [ ] (iii)  [x] (iv)" in shown.text
    # Validate still lists the parts left to do (it runs under nbgrader)
    passed, text = lab.validate()
    assert not passed
    assert "`answer_a` is not answered yet" in text and "answer_c" not in text, text
