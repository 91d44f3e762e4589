"""Issue 16: credit per sub-answer and errors carried forward, in process (no nbgrader).

* every split adds up to its test cell's points in the source metadata, and the notebook
  states it before the student answers;
* each named mistake costs exactly the sub-answers it breaks, once (Q3, Q4, Q5, Q6), with the
  expected scores derived from the metadata and the split (``Variant.expected_scores``);
* the strict switch (``CS230_CARRY_FORWARD=0``) restores all-or-nothing parts and the
  student's own helpers;
* the scoring pass scores a partial part the same way and keeps what the check said;
* the swap is for grading only: the student's functions are back afterwards.
"""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

from cs230_grading import credit
from cs230_grading.checks import GradingError
from cs230_grading.course import REPO_ROOT
from cs230_grading.graders import q3, q4, q5, q6
from cs230_grading.grading import score
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook, solution_sources
from cs230_grading.reference import conv
from cs230_grading.variants import Variant, sub_answer_split
from cs230_grading.variants import q3 as q3_variants
from cs230_grading.variants import q4 as q4_variants
from cs230_grading.variants import q5 as q5_variants
from cs230_grading.variants import q6 as q6_variants

SOURCE = REPO_ROOT / "source" / "midterm"
GRADERS = {"q3_conv_architectures": q3, "q4_l1_regularization": q4,
           "q5_gan_backprop": q5, "q6_numpy_attention": q6}
VARIANTS = {"q3_conv_architectures": q3_variants.VARIANTS,
            "q4_l1_regularization": q4_variants.VARIANTS,
            "q5_gan_backprop": q5_variants.VARIANTS,
            "q6_numpy_attention": q6_variants.VARIANTS}
#: How the notebook's text names each sub-answer ("1 for the volume").
WORDS = {"volume": "volume", "count": "parameter count", "architecture": "architecture"}


def _points(notebook: str) -> dict[str, float]:
    nb = read_notebook(SOURCE / f"{notebook}.ipynb")
    return {gid: float(nbgrader_meta(c).get("points", 0)) for gid, c in grade_cells(nb).items()
            if nbgrader_meta(c).get("grade")}


def _namespace(notebook: str, answers: Mapping[str, str]) -> dict[str, Any]:
    """The answer cells run in notebook order (a failing cell is skipped, as in a kernel)."""
    nb = read_notebook(SOURCE / f"{notebook}.ipynb")
    sources = {**solution_sources(nb), **answers}
    ns: dict[str, Any] = {"__name__": "__main__", "np": np, "In": [""]}
    if notebook == "q5_gan_backprop":
        import sys

        sys.path.insert(0, str(SOURCE))
        exec("from q5_tools import *", ns)  # noqa: S102 - the notebook's own setup
    with contextlib.redirect_stdout(io.StringIO()):
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if cell.cell_type == "code" and gid in sources:
                ns["In"].append(sources[gid])
                try:
                    exec(sources[gid], ns)  # noqa: S102 - the notebook's own answer cells
                except Exception:  # noqa: BLE001, S110 - a failing cell is what is tested
                    pass
    return ns


def _grade(check: Callable[[Mapping[str, Any]], Any], ns: Mapping[str, Any], points: float
           ) -> tuple[float, str]:
    """What nbgrader records for a test cell: the returned points, full, or 0 on an error."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            result = check(ns)
    except GradingError as exc:
        return 0.0, str(exc)
    return (points if result is None else float(result)), printed.getvalue()


@pytest.fixture(autouse=True)
def small_speed_test(monkeypatch) -> None:
    """Q6's extra credit timed on 20x20 (same logic, less CPU)."""
    monkeypatch.setattr(q6, "SPEED_SHAPE", (20, 20, 3, 5))


# --- the split ------------------------------------------------------------------------------------
@pytest.mark.parametrize("notebook", sorted(GRADERS))
def test_every_split_adds_up_to_its_cells_points(notebook: str) -> None:
    points = _points(notebook)
    for gid, split in sub_answer_split(notebook).items():
        assert gid in points, f"{notebook}: SPLIT names {gid}, which is not a test cell"
        assert sum(split.values()) == pytest.approx(points[gid]), gid
        assert all(p > 0 for p in split.values()), gid


def test_q3_notebook_states_the_split_before_the_answers() -> None:
    nb = read_notebook(SOURCE / "q3_conv_architectures.ipynb")
    cells = grade_cells(nb)
    points = _points("q3_conv_architectures")
    assert set(q3.SPLIT) == {gid for gid in points if gid.endswith("_test")}
    for gid, split in q3.SPLIT.items():
        heading = cells[gid.replace("_test", "_md")].source.splitlines()[0]
        phrases = [f"{p:g} for (the|its) {WORDS[name]}" for name, p in split.items()]
        assert f"({points[gid]:g} points: " in heading, heading
        for phrase in phrases:
            assert re.search(phrase, heading), (phrase, heading)
    intro = cells["q3_intro"].source
    assert "errors carried forward" in intro and "Credit per sub-answer" in intro


def test_q4_and_q6_state_theirs() -> None:
    q4_text = grade_cells(read_notebook(SOURCE / "q4_l1_regularization.ipynb"))
    assert "(4 points: 2 for small weights, 2 for large weights)" in q4_text["q4_iii_text"].source
    q6_text = grade_cells(read_notebook(SOURCE / "q6_numpy_attention.ipynb"))
    assert "errors carried forward" in q6_text["q6_part2"].source


# --- each mistake costs its sub-answers once ------------------------------------------------------
def _cases() -> list[tuple[str, Variant]]:
    return [(nb, v) for nb, variants in VARIANTS.items() for v in variants]


@pytest.mark.parametrize("notebook,variant", _cases(),
                         ids=[f"{nb.split('_')[0]}-{v.name}" for nb, v in _cases()])
def test_each_named_mistake_costs_exactly_what_it_breaks(notebook: str, variant: Variant
                                                         ) -> None:
    grader = GRADERS[notebook]
    points = _points(notebook)
    expected = variant.expected_scores()
    ns = _namespace(notebook, variant.answers)
    got = {gid: _grade(check, ns, points[gid]) for gid, check in grader.CHECKS.items()}
    assert {gid: p for gid, (p, _) in got.items()} == pytest.approx(
        {gid: expected[gid] for gid in grader.CHECKS})
    # what the student reads: each lost sub-answer's reason, and each carried-forward note
    for gid, subs in variant.lost.items():
        for phrase in subs.values():
            said = got[gid][1]
            assert phrase.lower() in said.lower(), said
            if expected[gid]:  # partly credited: the feedback lists every sub-answer
                assert "not credited" in said and "credited." in said, said
    for gid, phrase in variant.notes.items():
        assert phrase.lower() in got[gid][1].lower() and "graded with a correct one" in got[gid][1]
    # once: no variant loses a point in a cell that only carries its mistake forward
    assert not set(variant.notes) & (set(variant.failing) | set(variant.lost))


def test_the_issues_three_slips_cost_points_once(monkeypatch) -> None:
    """The issue's report: no bias (was 2/20), ceil pooling (was 8/20), a global norm (2/15).

    With the default switch each costs only the sub-answers it breaks (derived from the split);
    graded strictly, as before, each costs more."""
    cases = {("q3_conv_architectures", "no_bias"): ["q3_i_test", "q3_ii_test", "q3_iii_test"],
             ("q3_conv_architectures", "ceil_pooling"): ["q3_iv_test"],
             ("q6_numpy_attention", "global_norm"): ["q6_normalize_test"]}
    for (notebook, name), touched in cases.items():
        variant = next(v for v in VARIANTS[notebook] if v.name == name)
        expected = variant.expected_scores()
        points = _points(notebook)
        lost = sum(points[g] - expected[g] for g in points if expected[g] is not None)
        split = sub_answer_split(notebook)
        once = sum(points[g] if g in variant.failing else
                   sum(split[g][s] for s in variant.lost.get(g, {})) for g in touched)
        assert lost == pytest.approx(once)
        monkeypatch.setenv(credit.ENV, "0")
        ns = _namespace(notebook, variant.answers)
        strict = sum(points[g] - _grade(c, ns, points[g])[0]
                     for g, c in GRADERS[notebook].CHECKS.items())
        monkeypatch.delenv(credit.ENV)
        assert strict > lost, (name, strict, lost)


# --- the strict switch ----------------------------------------------------------------------------
def test_strict_switch_restores_all_or_nothing_without_swaps(monkeypatch) -> None:
    monkeypatch.setenv(credit.ENV, "0")
    assert not credit.carry_forward()
    no_bias = next(v for v in q3_variants.VARIANTS if v.name == "no_bias")
    ns = _namespace("q3_conv_architectures", no_bias.answers)
    points = _points("q3_conv_architectures")
    got = {gid: _grade(c, ns, points[gid])[0] for gid, c in q3.CHECKS.items()}
    # the count is wrong in parts i-vi: each of them scores 0, as before issue 16
    assert got == {gid: (points[gid] if gid == "q3_vii_test" else 0.0) for gid in points}
    global_norm = next(v for v in q6_variants.VARIANTS if v.name == "global_norm")
    ns = _namespace("q6_numpy_attention", global_norm.answers)
    for gid in ("q6_loops_test", "q6_vectorized_test"):
        with pytest.raises(GradingError, match="global norm"):
            q6.CHECKS[gid](ns)


@pytest.mark.parametrize("value,on", [("1", True), ("", True), ("0", False), ("false", False)])
def test_switch_values(monkeypatch, value: str, on: bool) -> None:
    monkeypatch.setenv(credit.ENV, value)
    assert credit.carry_forward() is on


def test_switch_is_the_graders_and_the_configs() -> None:
    """The switch is read where the checks run (the grading process, which loads
    nbgrader_config.py); the kernel holds no key and is not given it."""
    from cs230_grading.sandbox.environment import student_environment

    assert credit.ENV not in student_environment({credit.ENV: "0"})
    config = (REPO_ROOT / "nbgrader_config.py").read_text(encoding="utf-8")
    assert "CARRY_FORWARD_ERRORS = True" in config and credit.ENV in config
    assert "CARRY_FORWARD_ERRORS = False" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


# --- the swap is for grading only -----------------------------------------------------------------
def test_student_functions_are_back_after_grading() -> None:
    no_bias = next(v for v in q3_variants.VARIANTS if v.name == "no_bias")
    ns = _namespace("q3_conv_architectures", no_bias.answers)
    own = {name: ns[name] for name in q3.HELPERS}
    _grade(q3.check_part_v, ns, 4)
    assert {name: ns[name] for name in q3.HELPERS} == own
    assert ns["conv_num_params"](3, 3, 64) == 1728  # still the student's
    ns6 = _namespace("q6_numpy_attention", {})
    mine = ns6["normalize_channels"]
    _grade(q6.check_loops, ns6, 5)
    assert ns6["normalize_channels"] is mine


# --- the scoring pass scores the same way ---------------------------------------------------
class _Space:
    """The part of StudentNamespace that run_check uses, over an in-process namespace."""

    deadline = None
    current_ns: dict[str, Any] = {}
    _student_names: set[str] = set()

    def __init__(self, ns: dict[str, Any]) -> None:
        self.ns = ns

    def namespace(self) -> dict[str, Any]:
        return self.ns


def test_scoring_a_partial_part_matches_calling_the_check_directly() -> None:
    variant = next(v for v in q3_variants.VARIANTS if v.name == "no_bias")
    ns = _namespace("q3_conv_architectures", variant.answers)
    expected = variant.expected_scores()
    for gid in ("q3_i_test", "q3_iv_test"):
        kernel = _grade(q3.CHECKS[gid], ns, _points("q3_conv_architectures")[gid])
        points, message, mistakes = score.run_check(
            _Space(ns), q3.CHECKS[gid], _points("q3_conv_architectures")[gid])
        assert points == pytest.approx(kernel[0]) == pytest.approx(expected[gid])
        assert message == kernel[1].strip()
        # the named mistake is recorded as data, also when the part keeps partial credit
        assert mistakes == (("q3.no_bias",) if gid == "q3_i_test" else ())
    assert "forget the bias" in score.run_check(_Space(ns), q3.check_part_i, 2)[1]


def test_partial_result_is_a_plain_float_nbgrader_can_parse() -> None:
    ns = {"conv_output_shape": conv.conv_output_shape,
          "conv_num_params": lambda c, f, k: f * f * c * k, "part_i": ((126, 126, 64), 1728)}
    with contextlib.redirect_stdout(io.StringIO()):
        result = q3.check_part_i(ns)
    assert type(result) is float and float(repr(result)) == q3.SPLIT["q3_i_test"]["volume"]


def test_summary_lists_every_sub_answer() -> None:
    score = credit.PartScore("iv", {"volume": 2, "count": 2}, q3.LABELS)
    with score.sub("count"):
        raise GradingError("the count is off")
    with score.sub("volume"):
        pass
    score.note(credit.carried_note("conv_num_params", "part i"))
    text = score.summary()
    assert text.splitlines()[0] == "Part iv: 2 of 4 points."
    assert "- the output volume (2 points): credited." in text
    assert "- the parameter count (2 points): not credited: the count is off" in text
    assert "your `conv_num_params` is wrong (see part i)" in text


def test_part_vii_carries_forward_only_a_clear_choice() -> None:
    """Volumes that tie (all wrong alike) make no architecture best: nothing to carry."""
    ns = _namespace("q3_conv_architectures", {})
    for p in ("iv", "v", "vi"):
        ns[f"part_{p}"] = ((1, 1, 1), 1)
    ns["part_vii"] = ("iv", 1)
    with pytest.raises(GradingError, match="another architecture"):
        q3.check_part_vii(ns)
    # the student's own (wrong) volumes make v the smallest: choosing v is credited
    ns["part_v"] = ((1, 1, 1), 1)
    ns["part_iv"] = ((9, 9, 64), 1)
    ns["part_vi"] = ((2, 2, 32), 1)
    ns["part_vii"] = ("v", conv.fc_num_params((1, 1, 1), 10))
    with contextlib.redirect_stdout(io.StringIO()) as said:
        assert q3.check_part_vii(ns) is None
    assert "error carried forward" in said.getvalue()


# --- named mistakes as data (issue 18) ------------------------------------------------------------
@pytest.mark.parametrize("notebook", sorted(VARIANTS))
def test_each_variant_records_exactly_its_named_mistakes(notebook: str) -> None:
    """The scoring pass's record of named mistakes, per part, is what the variant's
    phrases name (``Variant.expected_mistakes``): its mistake where it costs points, and no
    second record where the error is carried forward."""
    points = _points(notebook)
    checks = GRADERS[notebook].CHECKS
    wrong = []
    for variant in VARIANTS[notebook]:
        if variant.base != "solution":
            continue
        ns = _namespace(notebook, variant.answers)
        recorded = {(gid, m) for gid, check in checks.items()
                    for m in score.run_check(_Space(ns), check, points[gid]).mistakes}
        if recorded != variant.expected_mistakes():
            wrong.append(f"{variant.name}: recorded {sorted(recorded)}, "
                         f"expected {sorted(variant.expected_mistakes())}")
    assert not wrong, "\n".join(wrong)
