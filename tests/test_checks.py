"""The shared checking helper: messages that name the mistake, and nothing on stderr."""

from __future__ import annotations

import numpy as np
import pytest

from cs230_grading.checks import (
    GradingError,
    Mistake,
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
        check_close(-expected, expected, "w",
                    mistakes={Mistake("q9.sign", "did you forget the sign?"): -expected})


def test_check_close_reports_shape_and_largest_error() -> None:
    with pytest.raises(GradingError, match=r"shape \(2,\), expected \(3,\)"):
        check_close(np.zeros(2), np.zeros(3), "y")
    with pytest.raises(GradingError, match=r"largest absolute error 0.5 at index \(1,\)"):
        check_close(np.array([0.0, 0.5]), np.zeros(2), "y")


def test_check_close_mistake_with_another_shape_is_named() -> None:
    per_sample = np.array([[0.1, 0.2, 0.3]])
    with pytest.raises(GradingError, match="summed scalar"):
        check_close(per_sample.sum(), per_sample, "dZ",
                    mistakes={Mistake("q9.summed",
                                      "a summed scalar where per-sample values are asked"): 0.6})


def test_check_close_flags_nan() -> None:
    with pytest.raises(GradingError, match="NaN or inf"):
        check_close(np.array([np.nan]), np.array([1.0]), "z")


def test_check_close_rejects_non_numeric() -> None:
    with pytest.raises(GradingError, match="should be numeric"):
        check_close("abc", 1.0, "z")


def test_check_equal_normalises_tuples_lists_and_numpy_ints() -> None:
    check_equal([np.int64(126), 126, 64], (126, 126, 64), "shape")
    with pytest.raises(GradingError, match="forgot the bias"):
        check_equal(1728, 1792, "params",
                    mistakes={Mistake("q9.no_bias", "forgot the bias"): 1728})
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


# -- named mistakes as data (issue 18) -------------------------------------------------------
def test_a_named_mistake_travels_as_its_id_through_pickling() -> None:
    import pickle

    from cs230_grading.checks import MISTAKES

    sign = Mistake("q9.sign_flip", "the sign is flipped.")
    with pytest.raises(GradingError) as err:
        check_close(np.array([-1.0]), np.array([1.0]), "w", mistakes=[(sign, np.array([-1.0]))])
    assert err.value.mistakes == ("q9.sign_flip",)
    again = pickle.loads(pickle.dumps(err.value))  # Dask pickles errors
    assert again.mistakes == ("q9.sign_flip",) and str(again) == str(err.value)
    assert pickle.loads(pickle.dumps(sign)).id == "q9.sign_flip"
    assert MISTAKES["q9.sign_flip"] == "the sign is flipped."
    with pytest.raises(GradingError) as err:  # wrong in no known way: no id
        check_close(np.array([5.0]), np.array([1.0]), "w", mistakes=[(sign, np.array([-1.0]))])
    assert err.value.mistakes == ()


def test_a_mistake_without_an_id_or_with_two_messages_is_refused() -> None:
    with pytest.raises(TypeError, match="needs an id"):
        check_equal(1, 2, "n", mistakes={"forgot the bias": 1})
    Mistake("q9.twice", "one message")
    with pytest.raises(ValueError, match="two different messages"):
        Mistake("q9.twice", "another message")
    with pytest.raises(ValueError, match="qN.snake_case_name"):
        Mistake("no question", "x")


def test_partial_credit_records_its_mistakes_and_a_probe_records_none() -> None:
    from cs230_grading.checks import recognised
    from cs230_grading.credit import PartScore, helper_is_wrong

    slip = Mistake("q9.slip", "a slip.")

    def check(ns):
        score = PartScore("x", {"a": 1.0, "b": 1.0})
        with score.sub("a"):
            check_equal(ns["a"], 1, "a", mistakes=[(slip, 0)])
        with score.sub("b"):
            check_equal(ns["b"], 2, "b")
        return score.result()

    recognised()  # start clean
    assert check({"a": 0, "b": 2}) == 1.0
    assert recognised() == ("q9.slip",)
    assert helper_is_wrong(check, {"a": 0, "b": 2})  # probing an earlier part records nothing
    assert recognised() == ()
    with pytest.raises(GradingError) as err:  # no credit at all: the error carries the ids
        check({"a": 0, "b": 3})
    assert err.value.mistakes == ("q9.slip",)
