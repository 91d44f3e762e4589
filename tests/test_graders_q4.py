"""The Q4 hidden-test checks, called directly with namespaces of sample functions."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from cs230_grading.checks import GradingError
from cs230_grading.graders import q4
from cs230_grading.reference import l1 as ref


def stub(*args: Any) -> Any:
    raise NotImplementedError()


def namespace(grad: Callable[..., Any] = ref.l1_regularized_grad,
              solution: Callable[..., Any] = ref.l1_solution) -> dict[str, Any]:
    return {"l1_regularized_grad": grad, "l1_solution": solution}


def fails_with(check: Callable[[dict[str, Any]], Any], ns: dict[str, Any], phrase: str) -> str:
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(GradingError) as info:
        check(ns)
    assert err.getvalue() == "", "hidden tests must write nothing to stderr"
    assert phrase.lower() in str(info.value).lower(), str(info.value)
    return str(info.value)


def test_checks_table() -> None:
    assert set(q4.CHECKS) == {"q4_i_test", "q4_ii_test"}


def test_reference_passes_both_checks() -> None:
    assert q4.check_part_i(namespace()) is None
    assert q4.check_part_ii(namespace()) is None


def test_case_wise_answer_with_other_subgradient_passes() -> None:
    """Any subgradient in [-alpha, alpha] at w = 0; the soft threshold written with np.where."""
    def grad(g, w, a):
        return g + a * np.where(w >= 0, 1.0, -1.0)

    def solution(w, h, a):
        t = a / h
        return np.where(w >= t, w - t, np.where(w <= -t, w + t, 0.0))

    assert q4.check_part_i(namespace(grad=grad)) is None
    assert q4.check_part_ii(namespace(solution=solution)) is None


@pytest.mark.parametrize(("grad", "phrase"), [
    (lambda g, w, a: g + a * w, "L2 gradient"),
    (lambda g, w, a: g - a * np.sign(w), "subtract"),
    (lambda g, w, a: g + np.sign(w), "factor alpha"),
    (lambda g, w, a: a * np.sign(w), "forget grad_J"),
    (lambda g, w, a: g + a * np.abs(w), "penalty itself"),
    (lambda g, w, a: g + a * w / np.abs(w), "NaN or inf where w_i = 0"),
    (lambda g, w, a: g + a * np.sign(w) + 2 * a * (w == 0), "[-alpha, alpha]"),
    (lambda g, w, a: (g + a * np.sign(w)).ravel(), "shape"),
    (stub, "not implemented"),
])
def test_part_i_mistakes(grad: Callable[..., Any], phrase: str) -> None:
    fails_with(q4.check_part_i, namespace(grad=grad), phrase)


SOLUTION_MISTAKES = [
    (lambda w, h, a: np.sign(w) * np.maximum(np.abs(w - a / h), 0), "printed one-liner"),
    (lambda w, h, a: np.sign(w) * np.maximum(np.abs(w) - a, 0), "instead of alpha/H"),
    (lambda w, h, a: np.sign(w) * np.maximum(np.abs(w) - a * h, 0), "alpha * H"),
    (lambda w, h, a: np.maximum(np.abs(w) - a / h, 0), "forget the factor sign(w*)"),
    (lambda w, h, a: np.maximum(w - a / h, 0), "negative case"),
    (lambda w, h, a: h / (h + a) * w, "L2 solution"),
    (lambda w, h, a: np.where(np.abs(w) > a / h, w, 0.0), "must also move"),
    (lambda w, h, a: w / np.abs(w) * np.maximum(np.abs(w) - a / h, 0), "np.sign"),
    (lambda w, h, a: np.sign(w) * np.maximum(np.abs(w) - a / h, 1e-12), "exactly 0.0"),
    (lambda w, h, a: w if w > a / h else 0.0, "element by element"),
    (stub, "not implemented"),
]


@pytest.mark.parametrize(("solution", "phrase"), SOLUTION_MISTAKES)
def test_part_ii_mistakes(solution: Callable[..., Any], phrase: str) -> None:
    fails_with(q4.check_part_ii, namespace(solution=solution), phrase)


def test_printed_one_liner_names_erratum() -> None:
    message = fails_with(q4.check_part_ii, namespace(solution=SOLUTION_MISTAKES[0][0]),
                         "E2")
    assert "0.9 instead of 0" in message


def test_boundary_case_is_checked() -> None:
    """Right everywhere except exactly at |w*| = alpha/H, where it keeps w*."""
    def solution(w, h, a):
        out = ref.l1_solution(w, h, a)
        return np.where(np.isclose(np.abs(w), a / h, rtol=0, atol=0), w, out)

    fails_with(q4.check_part_ii, namespace(solution=solution), "exactly alpha/H_ii")


def test_brute_force_catches_an_unnamed_mistake() -> None:
    """Right on every fixed case, wrong only on the brute-force sample (other seed, alpha)."""
    def solution(w, h, a):
        out = ref.l1_solution(w, h, a)
        return out * 1.01 if np.ndim(w) == 1 and np.size(w) == 12 else out

    fails_with(q4.check_part_ii, namespace(solution=solution), "does not minimise")


def test_input_mutation_does_not_matter() -> None:
    def solution(w, h, a):
        result = ref.l1_solution(w, h, a)
        w[...] = 99.0
        return result

    assert q4.check_part_ii(namespace(solution=solution)) is None
