"""Q4 sample submissions: each named mistake, and each stub left unimplemented.

The ``model`` and ``blank`` variants are added by the variants test.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q4_l1_regularization"


def _solution(body: str) -> str:
    """An ``l1_solution`` answer cell whose body is ``body`` (one return statement)."""
    return f"def l1_solution(w_star, H_diag, alpha):\n    {body}\n"


def _grad(body: str) -> str:
    return f"def l1_regularized_grad(grad_J, w, alpha):\n    {body}\n"


STUB = "# YOUR CODE HERE\n    raise NotImplementedError()"

VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK, "printed_one_liner", "part ii as the printed key's one-liner (erratum E2)",
        answers={"q4_ii_code": _solution(
            "return np.sign(w_star) * np.maximum(np.abs(w_star - alpha / H_diag), 0)")},
        failing={"q4_ii_test": "printed one-liner"},
    ),
    Variant(
        NOTEBOOK, "threshold_at_alpha", "part ii thresholds at alpha instead of alpha/H",
        answers={"q4_ii_code": _solution(
            "return np.sign(w_star) * np.maximum(np.abs(w_star) - alpha, 0)")},
        failing={"q4_ii_test": "threshold at alpha instead of alpha/H"},
    ),
    Variant(
        NOTEBOOK, "forgot_sign", "part ii without the factor sign(w*)",
        answers={"q4_ii_code": _solution(
            "return np.maximum(np.abs(w_star) - alpha / H_diag, 0)")},
        failing={"q4_ii_test": "forget the factor sign(w*)"},
    ),
    Variant(
        NOTEBOOK, "nan_at_zero", "part ii with sign(w*) written as w*/|w*| (NaN at w* = 0)",
        answers={"q4_ii_code": _solution(
            "return w_star / np.abs(w_star) * np.maximum(np.abs(w_star) - alpha / H_diag, 0)")},
        failing={"q4_ii_test": "np.sign"},
    ),
    Variant(
        NOTEBOOK, "l2_gradient", "part i uses alpha * w (the L2 gradient)",
        answers={"q4_i_code": _grad("return grad_J + alpha * w")},
        failing={"q4_i_test": "L2 gradient"},
    ),
    Variant(
        NOTEBOOK, "unimplemented_i", "part i left as the stub, part ii answered",
        answers={"q4_i_code": _grad(STUB)},
        failing={"q4_i_test": "not implemented"},
    ),
    Variant(
        NOTEBOOK, "unimplemented_ii", "part ii left as the stub, part i answered",
        answers={"q4_ii_code": _solution(STUB)},
        failing={"q4_ii_test": "not implemented"},
    ),
]
