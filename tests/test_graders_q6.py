"""The Q6 hidden-test logic, without nbgrader: correct code passes, each mistake gets its message.

Student code is run the way a notebook runs it: compiled from a "cell" string into a
namespace named ``__main__`` with the kernel's input history ``In`` (``inspect.getsource``
cannot read such code, so the source check uses the history, as it would in a kernel whose
cell cache is missing). The reference module covers the ``inspect.getsource`` path.
"""

from __future__ import annotations

import linecache

import numpy as np
import pytest

from cs230_grading.checks import GradingError
from cs230_grading.graders import q6
from cs230_grading.notebooks import read_notebook, solution_sources
from cs230_grading.reference import attention as ref
from cs230_grading.variants import q6 as variants

SOURCE = q6.__file__.rsplit("/cs230_grading/", 1)[0] + "/source/midterm/q6_numpy_attention.ipynb"
MODEL = solution_sources(read_notebook(SOURCE))
ANSWER_IDS = ("q6_num_params", "q6_normalize_channels", "q6_attention_loops",
              "q6_attention_vectorized")


@pytest.fixture(autouse=True)
def small_speed_test(monkeypatch) -> None:
    """Time the extra credit on 20x20 instead of 64x64: same logic, a fraction of the CPU."""
    monkeypatch.setattr(q6, "SPEED_SHAPE", (20, 20, 3, 5))


def notebook_namespace(replacements: dict[str, str] | None = None, *,
                       cached: bool = False) -> dict:
    """Run the model answers (with ``replacements`` by grade id) like notebook cells.

    ``cached=True`` registers each cell in ``linecache`` under a file name, as IPython does,
    so that ``inspect.getsource`` works; otherwise only ``In`` holds the source.
    """
    answers = {**MODEL, **(replacements or {})}
    ns: dict = {"__name__": "__main__", "np": np, "In": [""]}
    for number, grade_id in enumerate(ANSWER_IDS, start=1):
        source = answers[grade_id]
        filename = f"<q6-test-cell-{number}-{abs(hash(source))}>"
        if cached:
            lines = [line + "\n" for line in source.split("\n")]
            linecache.cache[filename] = (len(source), None, lines, filename)
        ns["In"].append(source)
        exec(compile(source, filename, "exec"), ns)  # noqa: S102 - test of student code
    return ns


def reference_namespace() -> dict:
    return {name: getattr(ref, name) for name in
            ("num_params", "normalize_channels", "attention_loops", "attention_vectorized")}


@pytest.mark.parametrize("cached", [False, True])
def test_model_answers_pass_every_check(cached: bool) -> None:
    ns = notebook_namespace(cached=cached)
    for check in q6.CHECKS.values():
        assert check(ns) is None


def test_reference_functions_pass_through_getsource() -> None:
    ns = reference_namespace()
    for check in q6.CHECKS.values():
        assert check(ns) is None


def test_checks_cover_the_test_cells() -> None:
    assert set(q6.CHECKS) == {"q6_num_params_test", "q6_normalize_test", "q6_loops_test",
                              "q6_vectorized_test"}


@pytest.mark.parametrize("variant", variants.VARIANTS, ids=lambda v: v.name)
def test_each_variant_fails_its_cells_with_its_message(variant) -> None:
    """Each check as the scoring pass calls it: an untouched extra-credit stub scores 0 there
    as "not attempted" (grading/shortcuts.py), every other failure is a GradingError."""
    import contextlib
    import io

    from cs230_grading.grading.shortcuts import guarded_checks

    ns = notebook_namespace(dict(variant.answers))
    for grade_id, check in guarded_checks("q6_numpy_attention", q6.CHECKS).items():
        with contextlib.redirect_stdout(io.StringIO()) as said:
            try:
                got, message = check(ns), said.getvalue()
            except GradingError as exc:
                got, message = 0.0, str(exc)
        if grade_id in variant.failing:
            assert got == 0 and variant.failing[grade_id].lower() in message.lower(), message
        else:
            assert got is None, (grade_id, message)


def test_stubs_fail_saying_not_implemented() -> None:
    stubs = {gid: f"def {name}(*args):\n    raise NotImplementedError()\n"
             for gid, name in zip(ANSWER_IDS, ("num_params", "normalize_channels",
                                               "attention_loops", "attention_vectorized"),
                                  strict=True)}
    ns = notebook_namespace(stubs)
    for check in q6.CHECKS.values():
        with pytest.raises(GradingError, match="not implemented"):
            check(ns)


def test_missing_function_is_reported() -> None:
    with pytest.raises(GradingError, match="not defined"):
        q6.check_loops({})


def test_nan_for_a_zero_channel_is_named() -> None:
    unguarded = ("def normalize_channels(image):\n"
                 "    return image / np.sqrt(np.sum(image**2, axis=(0, 1), keepdims=True))\n")
    with pytest.raises(GradingError, match="all zeros"):
        q6.check_normalize(notebook_namespace({"q6_normalize_channels": unguarded}))


def test_forgetting_normalisation_is_named(monkeypatch) -> None:
    # Strict grading: the layer runs with the student's own normalize_channels.
    monkeypatch.setenv("CS230_CARRY_FORWARD", "0")
    identity = "def normalize_channels(image):\n    return image\n"
    ns = notebook_namespace({"q6_normalize_channels": identity})
    with pytest.raises(GradingError, match="forget to normalise"):
        q6.check_loops(ns)


def test_layer_without_normalisation_is_named() -> None:
    # Errors carried forward: a layer that never calls normalize_channels is still wrong.
    skipped = MODEL["q6_attention_loops"].replace("x = normalize_channels(image)", "x = image")
    assert skipped != MODEL["q6_attention_loops"]
    with pytest.raises(GradingError, match="forget to normalise"):
        q6.check_loops(notebook_namespace({"q6_attention_loops": skipped}))


def test_scale_dependent_answer_fails_scale_invariance(monkeypatch) -> None:
    monkeypatch.setenv("CS230_CARRY_FORWARD", "0")
    # Right on the graded images (values below 255), unnormalised for larger ones.
    drifting = ("def normalize_channels(image):\n"
                "    if image.max() > 1000:\n"
                "        return image\n"
                "    norms = np.sqrt(np.sum(image**2, axis=(0, 1), keepdims=True))\n"
                "    return image / norms\n")
    ns = notebook_namespace({"q6_normalize_channels": drifting})
    with pytest.raises(GradingError, match="not scale invariant"):
        q6.check_loops(ns)


@pytest.mark.parametrize("body,found", [
    ("    i = 0\n    while i < 1:\n        i += 1\n    return attention_loops(image, k, v)",
     "while loop"),
    ("    return attention_vectorized(image, k, v) if False else np.zeros(1)",
     "recursive call"),
    ("    f = np.vectorize(lambda a: a)\n    return f(image)", "vectorize()"),
    ("    return {a: a for a in range(2)}", "dict comprehension"),
    ("    return sum(a for a in range(2))", "generator expression"),
])
def test_loop_constructs_are_found(body: str, found: str) -> None:
    import ast

    tree = ast.parse(f"def attention_vectorized(image, k, v):\n{body}\n")
    assert any(found in item for item in q6.loop_constructs(tree, "attention_vectorized"))


def test_loop_free_code_has_no_loop_constructs() -> None:
    import ast

    tree = ast.parse(MODEL["q6_attention_vectorized"])
    assert q6.loop_constructs(tree, "attention_vectorized") == []


def test_helper_with_loops_is_found_and_mutual_recursion_is_named() -> None:
    helper = ("def windows_of(x):\n"
              "    return np.stack([x[i:i + 3] for i in range(len(x) - 2)])\n\n"
              + MODEL["q6_attention_vectorized"].replace("sliding_window_view(x, (3, 3), "
                                                         "axis=(0, 1))", "windows_of(x)"))
    with pytest.raises(GradingError, match="windows_of"):
        q6._check_no_loops(notebook_namespace({"q6_attention_vectorized": helper}),
                           "attention_vectorized")
    mutual = ("def helper(image, k, v):\n    return attention_vectorized(image, k, v)\n\n"
              "def attention_vectorized(image, k, v):\n    return helper(image, k, v)\n")
    with pytest.raises(GradingError, match="recursion"):
        q6._check_no_loops(notebook_namespace({"q6_attention_vectorized": mutual}),
                           "attention_vectorized")


def test_slow_loop_free_code_fails_the_speed_requirement(monkeypatch) -> None:
    monkeypatch.setattr(q6, "MIN_SPEEDUP", 1e9)
    with pytest.raises(GradingError, match="faster"):
        q6.check_vectorized(notebook_namespace())


def test_explorer_recovers_the_softmax_weights_from_an_attention_function() -> None:
    import sys

    sys.path.insert(0, SOURCE.rsplit("/", 1)[0])
    import q6_tools

    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, size=(9, 11, 3))
    k = rng.normal(size=(3, 3, 3, 5)) * 20
    x = ref.normalize_channels(image)
    for i, j in ((0, 0), (4, 7), (6, 8)):
        scores = np.einsum("abc,abco->abo", x[i:i + 3, j:j + 3], k)
        expected = np.exp(scores - scores.max(axis=(0, 1)))
        expected /= expected.sum(axis=(0, 1))
        for version in (ref.attention_loops, ref.attention_vectorized):
            got = q6_tools.softmax_weights_at(version, image, k, i, j)
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
