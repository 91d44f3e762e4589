"""``selfcheck.part_check``: a test cell's visible part, in one line (issue 32, items 1-3).

The model functions pass; a function of this part that fails its self-check is named with
the check's own first failure; a function of an earlier part is named as the root cause in a
line short enough for ``nbgrader validate`` (which cuts at about 85 characters after its
"AssertionError: "); an optional function left as released is not attempted, not a failure.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from cs230_grading.course import REPO_ROOT
from cs230_grading.reference import conv, gan

MIDTERM = REPO_ROOT / "source" / "midterm"
sys.path.insert(0, str(MIDTERM))

import q3_tools  # noqa: E402
import q5_tools  # noqa: E402
from selfcheck import part_check  # noqa: E402


def no_bias(in_channels: int, filter_size: int, num_filters: int) -> int:
    return filter_size * filter_size * in_channels * num_filters


def no_average(D_real: np.ndarray, D_fake: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return 1 - D_real, -D_fake


@pytest.fixture(autouse=True)
def as_validate_runs_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """NBGRADER_EXECUTION set, as Validate and autograde set it: a stub is a failure there
    (interactively it is a neutral line, so that Run All runs on)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")


def stub(*_args: object) -> None:
    raise NotImplementedError()


CONV = [(conv.conv_output_shape, "i", q3_tools.check_conv_output_shape),
        (conv.conv_num_params, "i", q3_tools.check_conv_num_params)]


def test_the_model_functions_pass(capsys) -> None:
    assert part_check("iii", *CONV) == (True, "")
    assert part_check("ii", (gan.output_layer_grads, "ii", q5_tools.check_output_layer_grads)
                      ) == (True, "")
    assert capsys.readouterr().out == ""  # silent unless echo=True


def test_this_part_s_own_mistake_names_the_function_and_the_check_s_words() -> None:
    ok, why = part_check("i", CONV[0], (no_bias, "i", q3_tools.check_conv_num_params))
    assert not ok
    assert why == "part i: fix no_bias: no_bias(1, 1, 1) returned 1, expected 2"


def test_an_earlier_part_s_mistake_is_named_as_the_root_cause_in_one_short_line() -> None:
    ok, why = part_check("iii", CONV[0], (no_bias, "i", q3_tools.check_conv_num_params))
    assert (ok, why) == (False, "part iii fails: first fix no_bias (part i)")
    ok, why = part_check("v", (stub, "iv", q3_tools.check_network_output))
    assert (ok, why) == (False, "part v fails: first implement stub (part iv)")
    assert "\n" not in why and len(why) <= 66


def test_the_finite_difference_check_names_the_missing_factor() -> None:
    ok, why = part_check("ii", (no_average, "ii", q5_tools.check_output_layer_grads))
    assert not ok
    # check_output_layer_grads uses n = 5 real samples: the left-out 1/n is a factor of 5
    assert why.startswith("part ii: fix no_average: dZ_real: off by a factor of 5 ")


def test_an_optional_stub_is_not_attempted(capsys) -> None:
    ok, why = part_check("extra credit", (stub, "extra credit", lambda f: f()),
                         echo=True, optional=True)
    assert (ok, why) == (True, "")
    out = capsys.readouterr().out
    assert "stub: not attempted" in out and "\u2718" not in out
    ok, why = part_check("2", (stub, "2", lambda f: f()))  # not optional: a failure
    assert (ok, why) == (False, "part 2: stub is not implemented yet")
