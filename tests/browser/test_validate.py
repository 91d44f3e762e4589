"""What Validate says is what the visible self-checks say (issue 32, items 1 to 3).

In JupyterLab (headless Chromium), a student types answers and presses nbgrader's Validate
button:

1. Q5 with the model answers but the 1/n average left out of ``output_layer_grads`` (part ii):
   the finite-difference check on screen shows a cross, and Validate fails too, with one line
   per failing part that starts with the part and what to fix: part ii names the factor, and
   parts i and v (which use part ii's function) name part ii as the root cause instead of
   repeating it. No line points at a "✘ line above" that the dialog does not show.
2. Q6 with the model answers and the extra credit (``attention_vectorized``) left as
   released: Validate passes, and the test cell says the part is not attempted.
"""

from __future__ import annotations

import re

import pytest

from cs230_grading.course import Course
from cs230_grading.notebooks import read_notebook, solution_sources

pytestmark = pytest.mark.browser

Q5, Q6 = "q5_gan_backprop", "q6_numpy_attention"
NO_AVERAGE = ("def output_layer_grads(D_real, D_fake):\n"
              "    return 1 - D_real, -D_fake\n")
STUB = ("def attention_vectorized(image, k, v):\n"
        "    # YOUR CODE HERE\n"
        "    raise NotImplementedError()\n")


def _answer(lab, course: Course, student_copy, notebook: str, changed: dict[str, str]) -> None:
    """Open a fresh copy of ``notebook``, type the model answers with ``changed`` on top."""
    student_copy(notebook)
    lab.open_notebook(f"students/{notebook}/{notebook}.ipynb")
    answers = solution_sources(read_notebook(course.source_dir / f"{notebook}.ipynb"))
    for grade_id, source in {**answers, **changed}.items():
        lab.set_source(grade_id, source)


def _assertion_lines(text: str) -> list[str]:
    return [line.split("AssertionError:", 1)[1].strip() for line in text.splitlines()
            if "AssertionError:" in line]


def test_a_wrong_gradient_fails_validate_once_per_root_cause(lab, course: Course,
                                                             student_copy) -> None:
    _answer(lab, course, student_copy, Q5, {"q5_output_layer_grads": NO_AVERAGE})
    cells = lab.run_all(timeout=300)
    shown = next(c for c in cells if c.grade_id == "q5_ii_check")
    assert "\u2718 dZ_real" in shown.text, shown.text  # the cross on screen
    passed, text = lab.validate(timeout=300)
    lab.screenshot("validate-q5-no-average")
    assert not passed, text
    lines = _assertion_lines(text)
    # the numerical check uses n = 5 real samples: the factor the student left out
    assert "part ii: fix output_layer_grads: dZ_real: off by a factor of 5" in lines[0], lines
    assert "part i fails: first fix output_layer_grads (part ii)" in lines, lines
    assert "part v fails: first fix output_layer_grads (part ii)" in lines, lines
    assert len(lines) == 3, lines  # parts iii, iv, vi, vii and viii's own checks pass
    assert not re.search(r"(see|lines?) (the )?\u2718|above", text), text
    assert all(len(line) <= 66 for line in lines[1:]), lines  # fits `nbgrader validate`'s cut


def test_skipping_the_extra_credit_passes_validate(lab, course: Course,
                                                   student_copy) -> None:
    _answer(lab, course, student_copy, Q6, {"q6_attention_vectorized": STUB})
    cells = lab.run_all(timeout=300)
    test_cell = next(c for c in cells if c.grade_id == "q6_vectorized_test")
    assert not test_cell.errors, test_cell.errors
    neutral = ("attention_vectorized: not attempted", "\u25cb attention_vectorized")
    assert any(line in test_cell.text for line in neutral), test_cell.text
    assert "\u2718" not in test_cell.text, test_cell.text
    passed, text = lab.validate(timeout=300)
    lab.screenshot("validate-q6-extra-credit-skipped")
    assert passed, f"Validate failed with the extra credit left as released:\n{text}"
