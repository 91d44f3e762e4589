"""The shared checking helper: messages that name the mistake, and nothing on stderr."""

from __future__ import annotations

import numpy as np
import pytest

from cs230_grading.checks import (
    GradingError,
    call_student,
    check_close,
    check_equal,
    check_shape,
    hidden_test,
)


def test_check_close_accepts_within_tolerance() -> None:
    check_close(np.array([1.0, 2.0]) + 1e-12, np.array([1.0, 2.0]), "x")


def test_check_close_names_the_matching_mistake() -> None:
    expected = np.array([1.0, 2.0, 3.0])
    with pytest.raises(GradingError, match="did you forget the sign"):
        check_close(-expected, expected, "w", mistakes={"did you forget the sign?": -expected})


def test_check_close_reports_shape_and_largest_error() -> None:
    with pytest.raises(GradingError, match=r"shape \(2,\), expected \(3,\)"):
        check_close(np.zeros(2), np.zeros(3), "y")
    with pytest.raises(GradingError, match=r"largest absolute error 0.5 at index \(1,\)"):
        check_close(np.array([0.0, 0.5]), np.zeros(2), "y")


def test_check_close_mistake_with_another_shape_is_named() -> None:
    per_sample = np.array([[0.1, 0.2, 0.3]])
    with pytest.raises(GradingError, match="summed scalar"):
        check_close(per_sample.sum(), per_sample, "dZ",
                    mistakes={"a summed scalar where per-sample values are asked": 0.6})


def test_check_close_flags_nan() -> None:
    with pytest.raises(GradingError, match="NaN or inf"):
        check_close(np.array([np.nan]), np.array([1.0]), "z")


def test_check_close_rejects_non_numeric() -> None:
    with pytest.raises(GradingError, match="should be numeric"):
        check_close("abc", 1.0, "z")


def test_check_equal_normalises_tuples_lists_and_numpy_ints() -> None:
    check_equal([np.int64(126), 126, 64], (126, 126, 64), "shape")
    with pytest.raises(GradingError, match="forgot the bias"):
        check_equal(1728, 1792, "params", mistakes={"forgot the bias": 1728})
    with pytest.raises(GradingError, match="got 5"):
        check_equal(5, 6, "n")


def test_check_shape() -> None:
    check_shape(np.zeros((2, 3)), (2, 3), "a")
    with pytest.raises(GradingError, match=r"\(3, 2\), expected \(2, 3\)"):
        check_shape(np.zeros((3, 2)), (2, 3), "a")


def test_call_student_messages() -> None:
    def stub(x):
        raise NotImplementedError()

    def broken(x):
        return x["missing"]

    ns = {"stub": stub, "broken": broken, "value": 3, "double": lambda x: 2 * x}
    assert call_student(ns, "double", 4) == 8
    with pytest.raises(GradingError, match="not implemented yet"):
        call_student(ns, "stub", 1)
    with pytest.raises(GradingError, match="is not defined"):
        call_student(ns, "absent")
    with pytest.raises(GradingError, match="should be a function"):
        call_student(ns, "value")
    with pytest.raises(GradingError, match=r"broken\(array\(2,\)\)` raised IndexError"):
        call_student(ns, "broken", np.zeros(2))


def test_call_student_passes_copies_of_arrays() -> None:
    def mutate(a):
        a[:] = 0
        return a.sum()

    data = np.ones(3)
    call_student({"mutate": mutate}, "mutate", data)
    assert data.sum() == 3


def test_hidden_test_is_silent_on_stderr_and_wraps_errors(capfd) -> None:
    @hidden_test
    def check(ns):
        import sys
        import warnings

        np.log(np.zeros(1))  # would warn: divide by zero
        warnings.warn("noisy", stacklevel=1)
        print("to stderr", file=sys.stderr)
        return ns["x"] / 0 if ns.get("boom") else None

    assert check({}) is None
    with pytest.raises(GradingError, match="could not run on your code"):
        check({"boom": True, "x": 1})
    captured = capfd.readouterr()
    assert captured.err == ""
