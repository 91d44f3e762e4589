"""Q3 hidden-test logic, in process (no nbgrader): the model answers pass every check,
each sample mistake fails exactly its cells with the named message, stubs say "not
implemented", and the source notebook keeps its points, ids and hidden content in place."""

from __future__ import annotations

import math
from typing import Any

import pytest

from cs230_grading.checks import GradingError
from cs230_grading.graders import q3
from cs230_grading.notebooks import (
    grade_cells,
    nbgrader_meta,
    read_notebook,
    solution_sources,
    strip_hidden_tests,
)
from cs230_grading.reference import conv
from cs230_grading.variants import q3 as variants

SOURCE = q3.__file__.rsplit("cs230_grading", 1)[0] + "source/midterm/q3_conv_architectures.ipynb"
POINTS = {"q3_i_test": 2, "q3_ii_test": 2, "q3_iii_test": 2, "q3_iv_test": 4,
          "q3_v_test": 4, "q3_vi_test": 4, "q3_vii_test": 2}


@pytest.fixture(scope="module")
def source_nb():
    return read_notebook(SOURCE)


def run_answers(nb, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute the answer cells in notebook order, like a kernel that keeps going on errors."""
    answers = {**solution_sources(nb), **(overrides or {})}
    ns: dict[str, Any] = {}
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if cell.cell_type == "code" and gid in answers:
            try:
                exec(answers[gid], ns)  # noqa: S102 - the notebook's own answer cells
            except Exception:  # noqa: BLE001, S110 - a failing cell is what is being tested
                pass
    return ns


def grade(ns: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """``{grade_id: (points, what the check said)}``, as nbgrader would score each cell."""
    import contextlib
    import io

    graded = {}
    for gid, check in q3.CHECKS.items():
        printed = io.StringIO()
        try:
            with contextlib.redirect_stdout(printed):
                result = check(ns)
            graded[gid] = (POINTS[gid] if result is None else result, printed.getvalue())
        except GradingError as exc:
            graded[gid] = (0.0, str(exc))
    return graded


def failures(ns: dict[str, Any]) -> dict[str, str]:
    """The cells that do not get full points, with what their check said."""
    return {gid: text for gid, (points, text) in grade(ns).items() if points < POINTS[gid]}


def test_notebook_points_and_ids(source_nb):
    cells = grade_cells(source_nb)
    assert {gid: nbgrader_meta(c)["points"] for gid, c in cells.items()
            if nbgrader_meta(c).get("grade")} == POINTS
    assert set(q3.CHECKS) == set(POINTS)
    assert all(gid.startswith("q3_") for gid in cells)
    for cell in source_nb.cells:
        assert cell.get("outputs", []) == [] and cell.get("execution_count") is None
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            assert "BEGIN HIDDEN TESTS" in cell.source
            assert "q3." not in strip_hidden_tests(cell.source)


def test_model_answers_pass_every_check(source_nb, capsys):
    ns = run_answers(source_nb)
    assert ns["part_i"] == ((126, 126, 64), 1792)
    assert ns["part_vii"] == ("vi", 1290)
    assert failures(ns) == {}
    assert capsys.readouterr().err == ""


def test_reference_functions_pass_every_check(source_nb):
    ns = run_answers(source_nb)
    ns.update({name: getattr(conv, name) for name in conv.__all__ if name != "Shape"})
    assert failures(ns) == {}


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.name)
def test_each_mistake_costs_its_sub_answers_once(source_nb, variant):
    """Scores derived from the points metadata and the split (Variant.expected_scores)."""
    graded = grade(run_answers(source_nb, dict(variant.answers)))
    expected = variant.expected_scores()
    assert {gid: points for gid, (points, _) in graded.items()} == pytest.approx(expected)
    for gid, subs in variant.lost.items():
        for phrase in subs.values():
            assert phrase.lower() in graded[gid][1].lower(), graded[gid][1]
    for gid, phrase in {**variant.failing, **variant.notes}.items():
        assert phrase.lower() in graded[gid][1].lower(), graded[gid][1]


def test_ceil_pooling_is_named_on_part_iv(source_nb):
    ceil = next(v for v in variants.VARIANTS if v.name == "ceil_pooling")
    ns = run_answers(source_nb, dict(ceil.answers))
    assert ns["part_iv"][0] == (15, 15, 64)
    message = failures(ns)["q3_iv_test"]
    assert "maxpool_output_shape(" in message and "ceil" in message


def test_no_bias_names_1728(source_nb):
    ns = run_answers(source_nb, {"q3_conv_num_params": variants.NO_BIAS})
    assert ns["part_i"][1] == 1728
    assert "forget the bias" in failures(ns)["q3_i_test"]


def test_stubs_say_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    ns = {name: stub for name in ("conv_output_shape", "conv_num_params",
                                  "maxpool_output_shape", "network_output", "fc_num_params")}
    failed = failures(ns)
    assert set(failed) == set(POINTS)
    assert all("not implemented" in message for message in failed.values())


def test_missing_part_answer_is_named(source_nb):
    ns = run_answers(source_nb)
    del ns["part_v"]
    failed = failures(ns)
    assert "`part_v` is not defined" in failed.pop("q3_v_test")
    assert failed == {}  # part_vii was computed before part_v went missing


@pytest.mark.parametrize("label", ["vi", "VI", "part vi", "(vi)", 6])
def test_part_vii_accepts_spellings(source_nb, label):
    ns = run_answers(source_nb)
    ns["part_vii"] = (label, 1290)
    assert q3.check_part_vii(ns) is None


def test_float_division_is_named():
    def conv_output_shape(shape, f, s, p, k):
        return ((shape[0] + 2 * p - f) / s + 1, (shape[1] + 2 * p - f) / s + 1, k)

    ns = {"conv_output_shape": conv_output_shape, "conv_num_params": conv.conv_num_params,
          "part_iii": ((64, 64, 32), 416)}
    points, said = grade(ns)["q3_iii_test"]
    assert points == q3.SPLIT["q3_iii_test"]["count"]
    assert "instead of floor division" in said


def test_ceil_conv_is_named():
    def conv_output_shape(shape, f, s, p, k):
        return (math.ceil((shape[0] + 2 * p - f) / s) + 1,
                math.ceil((shape[1] + 2 * p - f) / s) + 1, k)

    ns = {"conv_output_shape": conv_output_shape, "conv_num_params": conv.conv_num_params,
          "part_iii": ((64, 64, 32), 416)}
    assert "round up" in grade(ns)["q3_iii_test"][1]


@pytest.mark.parametrize("modules", [0, 1, 3])
def test_random_configs_are_valid_nonsquare_and_often_uneven(modules):
    configs = q3.random_configs(42, modules=modules)
    assert configs == q3.random_configs(42, modules=modules)  # seeded
    assert len(configs) == q3.NUM_RANDOM
    uneven = 0
    for (h, w, c), f, s, p, k in configs:
        assert h != w
        uneven += (h + 2 * p - f) % s != 0 or (w + 2 * p - f) % s != 0
        if modules:
            conv.network_output((h, w, c), f, s, p, k, num_modules=modules)
        else:
            conv.conv_output_shape((h, w, c), f, s, p, k)
    assert uneven >= q3.NUM_RANDOM // 2


