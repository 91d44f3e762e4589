"""Issue 32, items 2 and 4, through the real scoring pass (nbgrader autograde + ScoreParts).

* No shortcut earns analytic credit: a Q4 or Q5 gradient computed by finite differences of the
  provided objective (``numerical_gradient``, ``gan_objective``), whether the helper is called
  by its name, through an alias or as a module's attribute, scores 0 for that part, and the
  message names the helper. The model answers keep every point (no false alarm).
* Extra credit is optional: Q6's ``attention_vectorized`` left as released scores 0 with a
  neutral "not attempted" line (no error output), and the other parts keep their points.

Expected scores are derived from the source's points metadata (``Variant.expected_scores``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cs230_grading.grading.shortcuts import GUARDS, shortcut_message
from cs230_grading.notebooks import nbgrader_meta, read_notebook
from cs230_grading.variants import (
    Variant,
    grade_variants,
    model,
    outcome_problems,
    student_id,
)

Q4, Q5, Q6 = "q4_l1_regularization", "q5_gan_backprop", "q6_numpy_attention"

FD_PART_I = '''def discriminator_grads(W_d, activations, X, X_fake, output_grads=None):
    return [numerical_gradient(lambda _: gan_objective(W_d, activations, X, X_fake), W)
            for W in W_d]
'''
FD_PART_I_ALIAS = '''fd = numerical_gradient
objective = gan_objective


def discriminator_grads(W_d, activations, X, X_fake, output_grads=None):
    return [fd(lambda _: objective(W_d, activations, X, X_fake), W) for W in W_d]
'''
FD_PART_V = '''def generator_grads(W_g, g_activations, W_d, d_activations, Z, output_grads=None):
    real = np.zeros((W_d[0].shape[1], 1))  # the real term does not depend on W_g

    def L(_):
        return gan_objective(W_d, d_activations, real, forward(W_g, g_activations, Z)[1][-1])

    return [numerical_gradient(L, W) for W in W_g]
'''
FD_PART_V_MODULE = '''import selfcheck


def generator_grads(W_g, g_activations, W_d, d_activations, Z, output_grads=None):
    real = np.zeros((W_d[0].shape[1], 1))
    fake = lambda: forward(W_g, g_activations, Z)[1][-1]  # noqa: E731
    import q5_tools as tools
    return [selfcheck.numerical_gradient(
        lambda _: tools.gan_objective(W_d, d_activations, real, fake()), W) for W in W_g]
'''
FD_Q4_I = '''def l1_regularized_grad(grad_J, w, alpha):
    return grad_J + numerical_gradient(lambda x: alpha * np.sum(np.abs(x)), w)
'''
STUB = '''def attention_vectorized(image, k, v):
    # YOUR CODE HERE
    raise NotImplementedError()
'''


def _variants() -> list[Variant]:
    i_msg = "discriminator_grads calls numerical_gradient (finite differences)"
    v_msg = "generator_grads calls numerical_gradient (finite differences)"
    return [
        model(Q5),
        Variant(Q5, "fd_part_i", "part i by finite differences of gan_objective",
                answers={"q5_discriminator_grads": FD_PART_I},
                failing={"q5_i_test": i_msg}),
        Variant(Q5, "fd_part_i_alias", "part i by finite differences, helpers renamed",
                answers={"q5_discriminator_grads": FD_PART_I_ALIAS},
                failing={"q5_i_test": "part i asks for backprop; discriminator_grads calls"}),
        Variant(Q5, "fd_part_v", "part v by finite differences of gan_objective",
                answers={"q5_generator_grads": FD_PART_V},
                failing={"q5_v_test": v_msg}),
        Variant(Q5, "fd_part_v_module", "part v by finite differences, as module attributes",
                answers={"q5_generator_grads": FD_PART_V_MODULE},
                failing={"q5_v_test": v_msg}),
        model(Q4),
        Variant(Q4, "fd_part_i", "the L1 term's gradient by finite differences",
                answers={"q4_i_code": FD_Q4_I},
                failing={"q4_i_test": "part i asks for the gradient's formula; "
                         "l1_regularized_grad calls numerical_gradient"}),
        Variant(Q6, "extra_credit_skipped", "attention_vectorized left as released",
                answers={"q6_attention_vectorized": STUB},
                failing={"q6_vectorized_test": "not attempted (extra credit, optional)"}),
    ]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    workdir = tmp_path_factory.mktemp("shortcuts") / "course"
    return {"grades": grade_variants(_variants(), workdir), "course": workdir}


@pytest.mark.parametrize("variant", _variants(), ids=lambda v: f"{v.notebook}-{v.name}")
def test_scores_are_the_derived_ones(variant: Variant, graded: dict) -> None:
    grades = graded["grades"][student_id(variant)]
    assert outcome_problems(variant, grades) == []


def test_the_shortcut_message_is_one_line_with_the_key_words_first() -> None:
    guard = GUARDS[Q5]["q5_i_test"]
    text = shortcut_message(guard, ["numerical_gradient", "gan_objective"])
    assert "\n" not in text
    assert text.startswith("part i asks for backprop; discriminator_grads calls numerical")
    assert text.index("numerical_gradient") < 80


def test_a_part_not_attempted_is_not_shown_as_an_error(graded: dict) -> None:
    """The skipped extra credit's cell has no error output (the feedback shows it as a neutral
    line), and says 0 points."""
    [variant] = [v for v in _variants() if v.name == "extra_credit_skipped"]
    nb = read_notebook(Path(graded["course"]) / "autograded" / student_id(variant) / "midterm"
                       / f"{Q6}.ipynb")
    [cell] = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") == "q6_vectorized_test"]
    kinds = [o["output_type"] for o in cell.outputs]
    assert "error" not in kinds, cell.outputs
    text = "".join(o.get("text", "") for o in cell.outputs)
    assert "0 / 5 points: not attempted" in text, text
