"""The Q4 answer key, checked independently of its own formulas.

Minimisers are compared with a brute-force search of the 1-D objective, the
subgradient optimality conditions and the table in the answer-key notes; the
gradient with central finite differences away from w = 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from cs230_grading.reference.l1 import l1_regularized_grad, l1_solution, l2_solution

GRID = np.linspace(-6, 6, 120_001)  # step 1e-4


def brute_force(w_star: float, H: float, alpha: float, l2: bool = False) -> float:
    """Minimise the one-weight objective on a fine grid, then refine by golden section."""
    def f(w: np.ndarray | float) -> np.ndarray | float:
        penalty = 0.5 * alpha * np.square(w) if l2 else alpha * np.abs(w)
        return 0.5 * H * np.square(w - w_star) + penalty

    k = int(np.argmin(f(GRID)))
    lo, hi = GRID[max(k - 1, 0)], GRID[min(k + 1, GRID.size - 1)]
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):  # the objective is convex, so golden section converges
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if f(a) < f(b):
            hi = b
        else:
            lo = a
    return (lo + hi) / 2


def test_l1_solution_matches_brute_force() -> None:
    rng = np.random.default_rng(1)
    w_star = rng.uniform(-4, 4, size=40)
    H = rng.uniform(0.3, 5, size=40)
    alpha = 1.7
    got = l1_solution(w_star, H, alpha)
    expected = [brute_force(w, h, alpha) for w, h in zip(w_star, H, strict=True)]
    np.testing.assert_allclose(got, expected, atol=1e-7)
    assert np.sum(got == 0) >= 5  # the sample includes weights inside the dead zone


def test_l2_solution_matches_brute_force() -> None:
    rng = np.random.default_rng(2)
    w_star = rng.uniform(-4, 4, size=30)
    H = rng.uniform(0.3, 5, size=30)
    got = l2_solution(w_star, H, 0.9)
    expected = [brute_force(w, h, 0.9, l2=True) for w, h in zip(w_star, H, strict=True)]
    np.testing.assert_allclose(got, expected, atol=1e-7)


def test_l1_solution_satisfies_subgradient_conditions() -> None:
    """0 is in H (w - w*) + alpha * d|w|: equality off zero, |H w*| <= alpha at zero."""
    rng = np.random.default_rng(3)
    w_star = rng.normal(scale=2, size=(5, 7))
    H = rng.uniform(0.5, 3, size=(5, 7))
    alpha = 1.2
    w = l1_solution(w_star, H, alpha)
    off = w != 0
    np.testing.assert_allclose(H[off] * (w[off] - w_star[off]) + alpha * np.sign(w[off]), 0,
                               atol=1e-12)
    assert np.all(np.abs(H[~off] * w_star[~off]) <= alpha + 1e-12)
    assert off.any() and (~off).any()


@pytest.mark.parametrize(
    ("w_star", "l1", "l2"),
    [(0.5, 0.0, 0.25), (1.0, 0.0, 0.5), (1.5, 0.5, 0.75), (2.0, 1.0, 1.0), (3.0, 2.0, 1.5)],
)
def test_table_from_the_notes(w_star: float, l1: float, l2: float) -> None:
    """H = 1, alpha = 1, and the same with every sign flipped."""
    for s in (1.0, -1.0):
        assert l1_solution(np.array([s * w_star]), np.array([1.0]), 1.0)[0] == pytest.approx(
            s * l1, abs=1e-15)
        assert l2_solution(np.array([s * w_star]), np.array([1.0]), 1.0)[0] == pytest.approx(
            s * l2)


def test_boundaries() -> None:
    H = np.array([2.0, 2.0, 0.5, 4.0])
    assert np.array_equal(l1_solution(np.array([0.5, -0.5, 2.0, -0.25]), H, 1.0), np.zeros(4))
    assert np.array_equal(l1_solution(np.zeros(3), np.ones(3), 0.7), np.zeros(3))
    w_star = np.array([-1.5, 0.2, 3.0])
    np.testing.assert_array_equal(l1_solution(w_star, np.ones(3), 0.0), w_star)
    np.testing.assert_array_equal(l2_solution(w_star, np.ones(3), 0.0), w_star)


@pytest.mark.parametrize("shape", [(), (6,), (3, 4), (2, 3, 4)])
def test_any_shape_and_loop_agreement(shape: tuple[int, ...]) -> None:
    rng = np.random.default_rng(4)
    w_star = rng.normal(size=shape)
    H = rng.uniform(0.5, 2, size=shape)
    got = l1_solution(w_star, H, 0.6)
    assert got.shape == shape
    for idx in np.ndindex(shape):  # scalar loop with explicit cases
        t = 0.6 / H[idx]
        w = w_star[idx]
        expected = w - t if w >= t else (w + t if w <= -t else 0.0)
        assert got[idx] == pytest.approx(expected, abs=1e-12)
    assert l1_regularized_grad(w_star, w_star, 0.6).shape == shape


def test_gradient_matches_finite_differences() -> None:
    """J(w) = 1/2 ||A w - b||^2; grad J = A^T (A w - b); weights kept away from 0."""
    rng = np.random.default_rng(5)
    A, b = rng.normal(size=(6, 4)), rng.normal(size=6)
    w = rng.choice([-1, 1], size=4) * rng.uniform(0.3, 2, size=4)
    alpha = 0.8

    def objective(v: np.ndarray) -> float:
        return 0.5 * float(np.sum((A @ v - b) ** 2)) + alpha * float(np.sum(np.abs(v)))

    h = 1e-6
    numeric = np.array([(objective(w + h * e) - objective(w - h * e)) / (2 * h)
                        for e in np.eye(4)])
    got = l1_regularized_grad(A.T @ (A @ w - b), w, alpha)
    np.testing.assert_allclose(got, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_at_zero_is_a_subgradient() -> None:
    g = np.array([0.3, -0.2])
    got = l1_regularized_grad(g, np.zeros(2), 0.5)
    assert np.all(np.abs(got - g) <= 0.5)


@pytest.mark.parametrize("func", [l1_solution, l2_solution])
def test_bad_inputs_raise(func) -> None:
    with pytest.raises(ValueError, match="H_ii"):
        func(np.ones(2), np.array([1.0, 0.0]), 1.0)
    with pytest.raises(ValueError, match="H_ii"):
        func(np.ones(2), np.array([1.0, -2.0]), 1.0)
    with pytest.raises(ValueError, match="alpha"):
        func(np.ones(2), np.ones(2), -0.1)


def test_gradient_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="alpha"):
        l1_regularized_grad(np.ones(2), np.ones(2), -1.0)
    with pytest.raises(ValueError, match="shape"):
        l1_regularized_grad(np.ones(2), np.ones(3), 1.0)
