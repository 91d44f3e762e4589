"""The student's exam in JupyterLab, in headless Chromium, one test per released notebook.

For each notebook (a fresh copy of the release in ``students/<notebook>/``):

1. it opens with no error in the browser console;
2. Run All with the stubs untouched reports only stubs not written yet (since issue 32 as
   neutral "not answered yet" lines, with no error), in readable words;
3. with the model answers typed in (through the JupyterLab model, as an editor would),
   Run All has no error and the explorers respond (Q1 shows the answer cell's options
   ticked; Q3 change the stride and see the table change; Q4 move alpha and see the
   minimiser move; Q6 pick a pixel and see its weights);
4. nbgrader's Validate button reports success;
5. a wrong answer shows its diagnostic message, and Validate fails with it.

Selectors come from the ``source/midterm/qN_tools.py`` docstrings.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from cs230_grading.course import NOTEBOOKS, Course
from cs230_grading.notebooks import read_notebook, solution_sources

pytestmark = pytest.mark.browser

#: A wrong answer per notebook: (answer grade id, source, test grade id, phrase of the message).
WRONG: dict[str, tuple[str, str, str, str]] = {
    "q0_cover": ("q0_honour", 'honour_code = "I agree"', "q0_honour_test",
                 "not the honour code statement"),
    "q1_multiple_choice": ("q1_a", 'answer_a = {"v"}', "q1_a_test", "not well formed"),
    "q2_short_answers": ("q2_a", "YOUR ANSWER HERE", "q2_a", "did not provide a response"),
    "q3_conv_architectures": (
        "q3_conv_output_shape",
        "def conv_output_shape(input_shape, filter_size, stride, padding, num_filters):\n"
        "    H, W, C = input_shape\n"
        "    return ((H - filter_size + 2 * padding) // stride,"
        " (W - filter_size + 2 * padding) // stride, num_filters)\n",
        "q3_selfcheck", "expected (3, 3, 4)",
    ),
    "q4_l1_regularization": (
        "q4_ii_code",
        "def l1_solution(w_star, H_diag, alpha):\n    return np.zeros(3)\n",
        "q4_ii_test", "expected (3, 4)",
    ),
    "q5_gan_backprop": (
        "q5_output_layer_grads",
        "def output_layer_grads(D_real, D_fake):\n    return D_real\n",
        "q5_ii_test", "return a pair",
    ),
    "q6_numpy_attention": (
        "q6_attention_loops",
        "def attention_loops(image, k, v):\n"
        "    return np.zeros(image.shape[:2] + (k.shape[3],))\n",
        "q6_loops_test", "expected (3, 4, 5)",
    ),
}  # end of WRONG (cs230-grade new-question adds rows above this line)

#: Notebooks whose visible self-checks print a cross and never raise: the diagnostic shows in
#: the notebook, but nbgrader's Validate still reports success for the wrong answer. None left:
#: every test cell now ends with an assertion of its self-check (issue 9).
VALIDATE_GAP: set[str] = set()

NOT_IMPLEMENTED = re.compile(
    r"NotImplementedError|not implemented|not defined yet|not answered yet|not affirmed yet"
    r"|not trained yet|\bimplement \w+", re.I)
CROSS = "\u2718"  # selfcheck.FAIL
NOT_YET = "\u25cb"  # selfcheck.NOT_YET: not answered yet (Run All goes on)


def _stub_failures_are_readable(cells: list) -> None:
    """With the stubs untouched, every report (an error, a printed cross or a "not answered
    yet" line) is a stub's.

    An error must be a NotImplementedError (its traceback ends in the stub) or say "not
    implemented"; a self-check's cross or neutral line must say so too.
    """
    errors = [(c.grade_id, e) for c in cells for e in c.errors]
    crosses = [(c.grade_id, ln) for c in cells for ln in c.text.splitlines()
               if ln.startswith((CROSS, NOT_YET))]
    unexpected = [(gid, e) for gid, e in errors + crosses if not NOT_IMPLEMENTED.search(e)]
    assert not unexpected, f"failures that are not an unimplemented stub: {unexpected}"
    if any(c.solution for c in cells if c.cell_type == "code"):
        assert errors or crosses, "Run All with the stubs untouched reported nothing"


def _explore(lab, notebook: str) -> None:
    page = lab.page
    if notebook == "q1_multiple_choice":
        # No checkboxes to click: the self-check under the answer shows what the answer cell
        # holds, ticked (the model answer to (a) is {"i", "iii"}).
        cell = lab.cell_locator("q1_a_test")
        expect(cell).to_contain_text("[x] (i)  [ ] (ii)  [x] (iii)  [ ] (iv)")
    elif notebook == "q3_conv_architectures":
        cell = lab.cell_locator("q3_explorer")
        table = cell.locator(".cs230-q3-table:visible")
        expect(table.locator("tr.cs230-q3-total")).to_be_visible()
        before = table.inner_text()
        cell.locator(".cs230-q3-stride:visible .noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        expect(table).not_to_have_text(before, timeout=5_000)
    elif notebook == "q4_l1_regularization":
        cell = lab.cell_locator("q4_explorer")
        minimiser = cell.locator(".cs230-q4-minimiser:visible")
        expect(minimiser).to_contain_text("L1 minimiser w =")
        before = minimiser.inner_text()
        readout = cell.locator(".cs230-q4-alpha:visible .widget-readout")
        value = float(readout.inner_text())
        readout.fill(f"{value + 0.5 if value < 1 else value / 4:.2f}")
        readout.press("Enter")
        expect(minimiser).not_to_have_text(before, timeout=5_000)
    elif notebook == "q6_numpy_attention":
        cell = lab.cell_locator("q6_explorer")
        weights = cell.locator(".cs230-q6-weights:visible")
        expect(weights.locator("table").first).to_be_visible(timeout=20_000)
        before = weights.inner_text()
        cell.locator(".cs230-q6-row:visible .noUi-handle").focus()
        page.keyboard.press("ArrowRight")
        expect(weights).not_to_have_text(before, timeout=5_000)


def _stub_explorer_says_what_to_do(lab, notebook: str) -> None:
    where = {
        "q3_conv_architectures": ("q3_explorer", ".cs230-q3-message"),
        "q4_l1_regularization": ("q4_explorer", ".cs230-q4-minimiser"),
        "q6_numpy_attention": ("q6_explorer", ".cs230-q6-status"),
    }.get(notebook)
    if where:
        text = lab.cell_locator(where[0]).locator(f"{where[1]}:visible")
        expect(text).to_contain_text(re.compile(r"implement", re.I))


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_student_workflow(notebook: str, lab, course: Course, student_copy) -> None:
    folder = student_copy(notebook)
    if not (folder / f"{notebook}.ipynb").exists():
        pytest.fail(f"release/midterm/{notebook}.ipynb was not generated")
    path = f"students/{notebook}/{notebook}.ipynb"

    # 1. opens cleanly
    lab.open_notebook(path)
    lab.screenshot(f"{notebook}-1-opened")
    assert not lab.real_console_errors(), lab.real_console_errors()

    # 2. stubs untouched
    cells = lab.run_all()
    _stub_failures_are_readable(cells)
    first = next((c for c in cells if c.errors), None)
    if first is not None:  # the message is on screen, not only in the model
        shown = lab.cell_locator(first.index).locator(".jp-OutputArea-output:visible")
        expect(shown.last).to_contain_text(first.errors[0].split(":")[0])
    _stub_explorer_says_what_to_do(lab, notebook)
    lab.screenshot(f"{notebook}-2-stubs", full_page=True)

    # 3. model answers typed in
    answers = solution_sources(read_notebook(course.source_dir / f"{notebook}.ipynb"))
    for grade_id, source in answers.items():
        lab.set_source(grade_id, source)
    cells = lab.run_all()
    assert not [(c.grade_id, c.errors) for c in cells if c.errors]
    _explore(lab, notebook)
    lab.screenshot(f"{notebook}-3-answered", full_page=True)

    # 4. Validate passes
    passed, text = lab.validate()
    assert passed, f"Validate failed with the model answers:\n{text}"

    # 5. a wrong answer: the diagnostic is shown, and Validate fails with it
    answer_id, wrong, test_id, phrase = WRONG[notebook]
    lab.set_source(answer_id, wrong)
    if test_id != answer_id:
        cells = lab.run_cells(answer_id, test_id)
        shown = next(c for c in cells if c.grade_id == test_id)
        assert phrase in shown.text, f"{test_id} does not say {phrase!r}: {shown.text!r}"
    passed, text = lab.validate()
    lab.screenshot(f"{notebook}-4-wrong", full_page=False)
    assert not lab.real_console_errors(), lab.real_console_errors()
    if passed and notebook in VALIDATE_GAP:
        pytest.xfail(f"{notebook}: the visible self-check prints '{phrase}' but never raises, "
                     "so Validate reports success for a wrong answer")
    assert notebook not in VALIDATE_GAP, f"{notebook} now fails Validate: drop it from VALIDATE_GAP"
    assert not passed, f"Validate passed a wrong answer in {notebook}"
    assert phrase in text, f"Validate's message lacks {phrase!r}:\n{text}"
