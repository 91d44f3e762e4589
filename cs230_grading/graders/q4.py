"""Hidden tests for Q4 (L1 regularisation): ``l1_regularized_grad`` and ``l1_solution``.

Both checks are all-or-nothing (they return ``None``). Inputs are seeded, so a
given submission always gets the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..checks import GradingError, Mistake, call_student, check_close, hidden_test
from ..reference import l1 as ref

__all__ = ["CHECKS", "check_part_i", "check_part_ii"]

GRAD = "l1_regularized_grad"
SOLUTION = "l1_solution"


def _call(ns: Mapping[str, Any], name: str, *args: Any) -> np.ndarray:
    """Call the student's function; say how to vectorise when it only handles scalars."""
    try:
        result = call_student(ns, name, *args)
    except GradingError as exc:
        if "truth value of an array" in str(exc):
            raise GradingError(
                f"{exc} `{name}` must work element by element on whole arrays: use "
                "np.sign, np.abs, np.maximum or np.where instead of `if` and `max()`."
            ) from None
        raise
    try:
        return np.asarray(result, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradingError(
            f"`{name}` should return a NumPy array of numbers, got {type(result).__name__}."
        ) from None


MINUS_SIGN = Mistake("q4.minus_sign", (
    "did you subtract alpha * sign(w)? The penalty's gradient is added to grad_J."))
L2_GRADIENT = Mistake("q4.l2_gradient", (
    'alpha * w is the L2 gradient (of alpha/2 ||w||^2); the L1 penalty alpha * |w_i| has '
    'derivative alpha * sign(w_i).'))
NO_ALPHA = Mistake("q4.no_alpha", 'did you forget the factor alpha in alpha * sign(w)?')
NO_GRAD_J = Mistake("q4.no_grad_j", (
    "did you forget grad_J? The gradient of J + alpha ||w||_1 is grad J plus the penalty's "
    'gradient.'))
ABS_NOT_SIGN = Mistake("q4.abs_not_sign", (
    'alpha * |w| is the penalty itself, not its derivative alpha * sign(w).'))


def _grad_mistakes(grad: np.ndarray, w: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    return {
        MINUS_SIGN:
            grad - alpha * np.sign(w),
        L2_GRADIENT: grad + alpha * w,
        NO_ALPHA: grad + np.sign(w),
        NO_GRAD_J: alpha * np.sign(w),
        ABS_NOT_SIGN:
            grad + alpha * np.abs(w),
    }


@hidden_test
def check_part_i(ns: Mapping[str, Any]) -> None:
    """Part i: grad_J + alpha * sign(w), any shape, any subgradient at w_i = 0."""
    rng = np.random.default_rng(4001)
    name = "l1_regularized_grad(grad_J, w, alpha)"
    for shape, alpha in [((4, 5), 0.7), ((7,), 2.5), ((2, 3, 4), 0.05), ((), 1.5)]:
        grad = rng.normal(size=shape)
        w = rng.normal(size=shape)
        got = _call(ns, GRAD, grad, w, alpha)
        check_close(got, ref.l1_regularized_grad(grad, w, alpha), name,
                    mistakes=_grad_mistakes(grad, w, alpha),
                    context=f"random arrays of shape {shape}, alpha = {alpha}")

    grad = rng.normal(size=(3, 3))
    w = rng.normal(size=(3, 3))
    got = _call(ns, GRAD, grad, w, 0.0)
    check_close(got, grad, name, context="alpha = 0: no penalty, so the gradient is grad_J")

    # At w_i = 0 every value in grad_J + [-alpha, alpha] is a valid subgradient.
    alpha = 0.8
    grad = rng.normal(size=(2, 6))
    w = rng.normal(size=(2, 6))
    w[:, ::2] = 0.0
    got = _call(ns, GRAD, grad, w, alpha)
    if got.shape != w.shape:
        raise GradingError(f"{name} has shape {got.shape}, expected {w.shape} (w with zeros).")
    zero = w == 0
    check_close(got[~zero], ref.l1_regularized_grad(grad, w, alpha)[~zero], name,
                context="entries with w_i != 0, in an array where other entries are 0")
    if not np.all(np.isfinite(got[zero])):
        raise GradingError(
            f"{name} is NaN or inf where w_i = 0; sign(0) is 0 (np.sign), and any value in "
            "[-alpha, alpha] is a valid subgradient of alpha |w_i| there."
        )
    if np.any(np.abs(got[zero] - grad[zero]) > alpha + 1e-9):
        raise GradingError(
            f"{name} is wrong where w_i = 0: the penalty's subgradient there must lie in "
            "[-alpha, alpha] (np.sign(0) = 0 is the usual choice)."
        )


def _objective(w: np.ndarray, w_star: np.ndarray, H: np.ndarray, alpha: float) -> np.ndarray:
    return 0.5 * H * (w - w_star) ** 2 + alpha * np.abs(w)


PRINTED_KEY_E2 = Mistake("q4.printed_key_e2", (
    'this is the printed one-liner sign(w*) max(|w* - alpha/H|, 0), which is wrong (erratum'
    ' E2): the absolute value belongs on w* alone, sign(w*) max(|w*| - alpha/H, 0). As '
    'printed, a small weight such as w* = 0.1 with alpha/H = 1 gives 0.9 instead of 0.'))
THRESHOLD_ALPHA = Mistake("q4.threshold_alpha", (
    'did you threshold at alpha instead of alpha/H? Setting the derivative H (w - w*) + '
    'alpha sign(w) to zero gives w = w* - (alpha/H) sign(w).'))
THRESHOLD_ALPHA_H = Mistake("q4.threshold_alpha_h", (
    'did you threshold at alpha * H instead of alpha/H?'))
NO_SIGN = Mistake("q4.no_sign", (
    'did you forget the factor sign(w*)? Negative weights must stay negative: max(|w*| - '
    'alpha/H, 0) loses their sign.'))
NO_NEGATIVE_CASE = Mistake("q4.no_negative_case", (
    'did you forget the sign(w*) factor (the negative case)? max(w* - alpha/H, 0) sets '
    'every negative weight to 0; they should move up towards 0 by alpha/H.'))
L2_SOLUTION = Mistake("q4.l2_solution", 'this is the L2 solution H/(H + alpha) w*, not the L1 one.')
HARD_THRESHOLD = Mistake("q4.hard_threshold", (
    'small weights are set to 0, but large weights must also move towards 0 by alpha/H.'))


def _solution_mistakes(w_star: np.ndarray, H: np.ndarray, alpha: float
                       ) -> list[tuple[str, np.ndarray]]:
    t = alpha / H
    sign = np.sign(w_star)
    return [
        (PRINTED_KEY_E2,
         sign * np.maximum(np.abs(w_star - t), 0)),
        (THRESHOLD_ALPHA,
         sign * np.maximum(np.abs(w_star) - alpha, 0)),
        (THRESHOLD_ALPHA_H,
         sign * np.maximum(np.abs(w_star) - alpha * H, 0)),
        (NO_SIGN,
         np.maximum(np.abs(w_star) - t, 0)),
        (NO_NEGATIVE_CASE,
         np.maximum(w_star - t, 0)),
        (L2_SOLUTION, H / (H + alpha) * w_star),
        (HARD_THRESHOLD,
         np.where(np.abs(w_star) > t, w_star, 0.0)),
    ]


def _check_solution(ns: Mapping[str, Any], w_star: np.ndarray, H: np.ndarray, alpha: float,
                    context: str) -> np.ndarray:
    got = _call(ns, SOLUTION, w_star, H, alpha)
    expected = ref.l1_solution(w_star, H, alpha)
    if got.shape == expected.shape and not np.all(np.isfinite(got)):
        hint = (" At w* = 0, w*/|w*| is 0/0 = NaN: use np.sign(w*)." if np.any(w_star == 0)
                else "")
        raise GradingError(f"l1_solution contains NaN or inf ({context}).{hint}")
    check_close(got, expected, "l1_solution(w_star, H_diag, alpha)",
                mistakes=_solution_mistakes(w_star, H, alpha), context=context)
    return got


@hidden_test
def check_part_ii(ns: Mapping[str, Any]) -> None:
    """Part ii: the soft threshold, checked on random arrays, boundaries and by brute force."""
    rng = np.random.default_rng(4002)
    w_star = rng.uniform(-3, 3, size=60)
    H = rng.uniform(0.5, 4, size=60)
    alpha = 1.3
    got = _check_solution(ns, w_star, H, alpha, "60 random weights, alpha = 1.3")
    small = np.abs(w_star) <= alpha / H
    if np.any(got[small] != 0):
        raise GradingError(
            "l1_solution should return exactly 0.0 for every |w*_i| <= alpha/H_ii (that is "
            "what makes L1 sparse); some of those entries are tiny but not zero."
        )

    # |w*| exactly alpha/H (all values exact in binary floating point): the weight is 0.
    _check_solution(ns, np.array([0.5, -0.5, 2.0, -0.25]), np.array([2.0, 2.0, 0.5, 4.0]), 1.0,
                    "|w*_i| exactly alpha/H_ii")
    _check_solution(ns, np.zeros(5), rng.uniform(0.5, 3, size=5), 0.6, "w* = 0")
    _check_solution(ns, np.zeros(3), np.ones(3), 0.0, "w* = 0 and alpha = 0")
    w_star = rng.uniform(-2, 2, size=8)
    _check_solution(ns, w_star, rng.uniform(0.5, 3, size=8), 0.0,
                    "alpha = 0: no penalty, so w = w*")

    for shape in [(3, 4), (2, 3, 4), ()]:
        w_star = rng.uniform(-3, 3, size=shape)
        _check_solution(ns, w_star, rng.uniform(0.5, 4, size=shape), 0.9,
                        f"arrays of shape {shape}")

    _brute_force(ns, rng)


def _brute_force(ns: Mapping[str, Any], rng: np.random.Generator) -> None:
    """The answer must minimise the 1-D objective as well as a dense grid does."""
    n = 12
    w_star = rng.uniform(-3, 3, size=n)
    H = rng.uniform(0.3, 5, size=n)
    alpha = 1.1
    got = _call(ns, SOLUTION, w_star, H, alpha)
    if got.shape != w_star.shape:
        raise GradingError(f"l1_solution has shape {got.shape}, expected {w_star.shape}.")
    grid = np.linspace(-4, 4, 80_001)  # step 1e-4
    values = _objective(grid[None, :], w_star[:, None], H[:, None], alpha)
    best = values.min(axis=1)
    mine = _objective(got, w_star, H, alpha)
    worse = mine > best + 1e-6
    if np.any(worse):
        i = int(np.argmax(worse))
        raise GradingError(
            "l1_solution does not minimise 1/2 H (w - w*)^2 + alpha |w|: for w* = "
            f"{w_star[i]:.4f}, H = {H[i]:.4f}, alpha = {alpha}, your w = {got[i]:.4f} has "
            f"objective {mine[i]:.5f}, but w = {grid[np.argmin(values[i])]:.4f} gives "
            f"{best[i]:.5f}."
        )


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "q4_i_test": check_part_i,
    "q4_ii_test": check_part_ii,
}
