"""Hidden tests of Q6 (NumPy attention), against :mod:`cs230_grading.reference.attention`.

Inputs are seeded and random, images are not square and iC != oC in most cases. Messages
name the likely mistake: a global instead of a per-channel norm, a softmax over the wrong
axis, an H x W output (erratum E9), a softmax without the max subtraction (overflow).

Errors carried forward (:mod:`cs230_grading.credit`): the layer's tests (loops and
vectorised) run with the answer key's ``normalize_channels`` swapped in, so a wrong
normalisation costs its own 3 points once; the feedback says so. ``CS230_CARRY_FORWARD=0``
grades the layers with the student's own ``normalize_channels`` (the strict behaviour).
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import textwrap
import time
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..checks import GradingError, Mistake, call_student, check_close, check_equal, hidden_test
from ..credit import carry_forward, graded_with_key
from ..reference import attention as ref

__all__ = [
    "CHECKS",
    "check_loops",
    "check_normalize",
    "check_num_params",
    "check_vectorized",
    "loop_constructs",
]

SEED = 2306
#: (H, W, iC, oC) of the random cases: non-square, iC != oC except in the exam's RGB case.
ATTENTION_CASES = ((6, 8, 3, 5), (9, 5, 2, 4), (5, 7, 4, 1))
SPEED_SHAPE = (64, 64, 3, 5)
MIN_SPEEDUP = 10.0
#: Calls that run a Python-level loop per element however they are spelled.
LOOPING_CALLS = {"vectorize", "apply_along_axis", "apply_over_axes", "frompyfunc", "map"}


# --- inputs ----------------------------------------------------------------------------
def _case(shape: tuple[int, int, int, int], seed: int, key_scale: float = 3.0
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random image in [0, 255) and kernels; keys scaled so the softmax is not uniform."""
    height, width, in_c, out_c = shape
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 255, size=(height, width, in_c))
    k = rng.normal(size=(3, 3, in_c, out_c)) * key_scale * np.sqrt(height * width)
    v = rng.normal(size=(3, 3, 1, out_c))
    return image, k, v


# --- what the named mistakes produce ---------------------------------------------------
def _global_norm(image: np.ndarray) -> np.ndarray:
    return image / np.linalg.norm(image)


def _attention(x_hat: np.ndarray, k: np.ndarray, v: np.ndarray, softmax_axes: tuple[int, ...]
               ) -> np.ndarray:
    """Attention on an already normalised image, with the softmax over ``softmax_axes``.

    Scores have shape (H-2, W-2, 3, 3, oC): the right axes are (2, 3).
    """
    windows = sliding_window_view(x_hat, (3, 3), axis=(0, 1))
    scores = np.einsum("hwcab,abco->hwabo", windows, k)
    weights = np.exp(scores - scores.max(axis=softmax_axes, keepdims=True))
    weights /= weights.sum(axis=softmax_axes, keepdims=True)
    return np.einsum("hwabo,abo->hwo", weights, v[:, :, 0, :])


ATTENTION_GLOBAL_NORM = Mistake("q6.attention_global_norm", (
    'did you normalise by one global norm of the whole image instead of each channel by its'
    ' own Frobenius norm?'))
NOT_NORMALISED = Mistake("q6.not_normalised", (
    'did you forget to normalise each channel by its Frobenius norm first?'))
SOFTMAX_CHANNELS = Mistake("q6.softmax_channels", (
    'the softmax runs over the wrong axis: it should run over the 9 positions of the 3x3 '
    'window, not over the output channels.'))
SOFTMAX_ONE_AXIS = Mistake("q6.softmax_one_axis", (
    'the softmax runs over the wrong axis: it should run over all 9 positions of the 3x3 '
    'window together, not over one row or one column of it.'))


def _attention_mistakes(image: np.ndarray, k: np.ndarray, v: np.ndarray
                        ) -> list[tuple[str, np.ndarray]]:
    x_hat = ref.normalize_channels(image)
    per_window = (2, 3)
    one_axis = (SOFTMAX_ONE_AXIS)
    return [
        (ATTENTION_GLOBAL_NORM, _attention(_global_norm(image), k, v, per_window)),
        (NOT_NORMALISED,
         _attention(image, k, v, per_window)),
        (SOFTMAX_CHANNELS, _attention(x_hat, k, v, (4,))),
        (one_axis, _attention(x_hat, k, v, (2,))),
        (one_axis, _attention(x_hat, k, v, (3,))),
    ]


# --- num_params ------------------------------------------------------------------------
NO_VALUE_KERNEL = Mistake("q6.no_value_kernel", (
    'did you forget the value kernel v (3 x 3 x 1 per output channel)?'))
VALUE_CHANNELS = Mistake("q6.value_channels", (
    'v has one channel per output channel (3 x 3 x 1 x oC), not iC.'))
ONE_KERNEL_PAIR = Mistake("q6.one_kernel_pair", (
    'there is one key kernel and one value kernel per output channel.'))
BIASES = Mistake("q6.biases", 'the layer has no biases: count only the entries of k and v.')


@hidden_test
def check_num_params(ns: Mapping[str, Any]) -> None:
    """num_params for the exam's RGB sizes and for others (iC != oC)."""
    for in_c, out_c in ((3, 5), (1, 1), (4, 7), (64, 32), (3, 1)):
        got = call_student(ns, "num_params", in_c, out_c)
        check_equal(
            got, ref.num_params(in_c, out_c), f"num_params({in_c}, {out_c})",
            context=f"iC={in_c}, oC={out_c}",
            mistakes={
                NO_VALUE_KERNEL:
                    9 * in_c * out_c,
                VALUE_CHANNELS:
                    18 * in_c * out_c,
                ONE_KERNEL_PAIR: 9 * in_c + 9,
                BIASES:
                    9 * out_c * (in_c + 1) + out_c,
            },
        )


# --- normalize_channels ----------------------------------------------------------------
GLOBAL_NORM = Mistake("q6.global_norm", (
    "did you divide by one global norm of the whole image instead of each channel's own "
    'Frobenius norm?'))
PIXEL_NORM = Mistake("q6.pixel_norm", (
    'did you normalise each pixel (axis=2) instead of each channel (axes 0 and 1)?'))
NO_SQRT = Mistake("q6.no_sqrt", 'the Frobenius norm is the square root of the sum of squares.')
L1_NORM = Mistake("q6.l1_norm", (
    'use the Frobenius norm (square root of the sum of squares), not the sum of absolute '
    'values.'))


@hidden_test
def check_normalize(ns: Mapping[str, Any]) -> None:
    """Per-channel Frobenius normalisation, including a guarded all-zero channel."""
    rng = np.random.default_rng(SEED)
    for shape in ((7, 11, 4), (5, 3, 3), (8, 6, 1)):
        image = rng.normal(size=shape) * rng.uniform(0.5, 50, size=shape[2])
        got = call_student(ns, "normalize_channels", image)
        check_close(
            got, ref.normalize_channels(image), "normalize_channels(image)",
            context=f"image of shape {shape}",
            mistakes={
                GLOBAL_NORM: _global_norm(image),
                PIXEL_NORM:
                    image / np.linalg.norm(image, axis=2, keepdims=True),
                NO_SQRT:
                    image / np.sum(image**2, axis=(0, 1), keepdims=True),
                L1_NORM: image / np.sum(np.abs(image), axis=(0, 1), keepdims=True),
            },
        )
    image = rng.uniform(0, 1, size=(4, 6, 3))
    image[:, :, 1] = 0.0
    got = call_student(ns, "normalize_channels", image)
    if not np.all(np.isfinite(np.asarray(got, dtype=np.float64))):
        raise GradingError(
            "normalize_channels returned NaN or inf for an image whose channel 1 is all zeros: "
            "its norm is 0, so leave that channel at zero instead of dividing by 0."
        )
    check_close(got, ref.normalize_channels(image), "normalize_channels(image)",
                context="channel 1 all zeros: it should stay all zeros")


# --- attention (loops and vectorised) --------------------------------------------------
def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradingError(
            f"{name} should return a NumPy array, got {type(value).__name__}."
        ) from None


def _check_attention(ns: Mapping[str, Any], name: str) -> None:
    for index, shape in enumerate(ATTENTION_CASES):
        image, k, v = _case(shape, SEED + index)
        height, width, _, out_c = shape
        got = _as_array(call_student(ns, name, image, k, v), name)
        if np.shape(got) == (height, width, out_c):
            raise GradingError(
                f"{name} returned shape {np.shape(got)}, the input's H x W: a 3x3 window with "
                f"stride 1 and no padding fits (H-2) x (W-2) times, so the output is "
                f"{(height - 2, width - 2, out_c)} (the printed 'H x W x oC' is wrong, "
                "erratum E9). Do not pad."
            )
        check_close(got, ref.attention_vectorized(image, k, v), f"{name}(image, k, v)",
                    context=f"image {image.shape}, iC={shape[2]}, oC={out_c}",
                    mistakes=_attention_mistakes(image, k, v))
        # Scale invariance: a positive factor per channel must not change the output.
        factors = np.geomspace(1e-3, 1e3, shape[2])
        scaled = _as_array(call_student(ns, name, image * factors, k, v), name)
        if scaled.shape != got.shape or not np.allclose(scaled, got, rtol=1e-6, atol=1e-9):
            raise GradingError(
                f"{name} is not scale invariant: scaling each channel of the image by a "
                f"positive factor ({', '.join(f'{f:g}' for f in factors)}) changed the output. "
                "Normalise each channel by its own Frobenius norm."
            )
    # Large scores: exp overflows unless the maximum is subtracted first.
    image, k, v = _case(ATTENTION_CASES[0], SEED + 99, key_scale=1e3)
    got = _as_array(call_student(ns, name, image, k, v), name)
    if got.shape == (image.shape[0] - 2, image.shape[1] - 2, k.shape[3]) and not np.all(
        np.isfinite(got)
    ):
        raise GradingError(
            f"{name} returned NaN or inf when the scores are large (keys scaled up, scores "
            "of several hundred): np.exp overflows. Did you forget to subtract the maximum "
            "score of each window before np.exp? The softmax does not change."
        )
    check_close(got, ref.attention_vectorized(image, k, v), f"{name}(image, k, v)",
                context="large keys, scores of several hundred")


#: Where the student's normalize_channels is graded (named in the carried-forward note).
NORMALIZE_PART = "Part 2, the test of `normalize_channels`"


def _key_normalize(ns: Mapping[str, Any]) -> Any:
    """The key's normalize_channels while a layer is graded (errors carried forward)."""
    if not carry_forward():
        return contextlib.nullcontext()
    return graded_with_key(ns, {"normalize_channels": ref.normalize_channels},
                           {"normalize_channels": (check_normalize, NORMALIZE_PART)})


@hidden_test
def check_loops(ns: Mapping[str, Any]) -> None:
    """attention_loops against the reference: random cases, scale invariance, large scores."""
    with _key_normalize(ns):
        _check_attention(ns, "attention_loops")


# --- the extra credit: no loops, and fast ----------------------------------------------
def _function_source(func: Callable[..., Any], ns: Mapping[str, Any]) -> ast.AST:
    """The syntax tree of ``func``'s definition.

    ``inspect.getsource`` works for functions defined in notebook cells because IPython
    keeps every cell's code in ``linecache`` under the cell's file name. When it does not
    (code run with ``exec``, a kernel without that cache), the last input cell in the
    kernel's history (``In``) that defines the function is used instead.
    """
    name = getattr(func, "__name__", "")
    sources: list[str] = []
    try:
        sources.append(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError):
        pass
    history = ns.get("In") or ns.get("_ih") or []
    sources += [cell for cell in reversed(list(history))
                if isinstance(cell, str) and f"def {name}" in cell]
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        defs = [node for node in ast.walk(tree)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                and node.name == name]
        return defs[-1] if defs else tree
    raise GradingError(
        f"could not read the source of `{name}` to check it has no loops: define it with "
        "`def` in a notebook cell and run that cell."
    )


def loop_constructs(tree: ast.AST, name: str) -> list[str]:
    """Python-level loops in a function's syntax tree, described for the student."""
    kinds = {
        ast.For: "a for loop", ast.AsyncFor: "a for loop", ast.While: "a while loop",
        ast.ListComp: "a list comprehension", ast.SetComp: "a set comprehension",
        ast.DictComp: "a dict comprehension", ast.GeneratorExp: "a generator expression "
        "(a comprehension)",
    }
    found: list[str] = []
    for node in ast.walk(tree):
        line = getattr(node, "lineno", None)
        where = f" (line {line} of the function)" if line else ""
        if type(node) in kinds:
            found.append(kinds[type(node)] + where)
        elif isinstance(node, ast.Call):
            callee = node.func
            called = callee.id if isinstance(callee, ast.Name) else (
                callee.attr if isinstance(callee, ast.Attribute) else "")
            if called == name:
                found.append(f"a recursive call to {name}{where}")
            elif called in LOOPING_CALLS:
                found.append(f"{called}(), a Python loop in disguise{where}")
    return found


def _check_no_loops(ns: Mapping[str, Any], name: str) -> None:
    """No loops in ``ns[name]`` nor in the notebook functions it calls (but normalize_channels).

    A call chain that comes back to a function already being checked is recursion.
    """
    module = ns.get("__name__", "__main__")
    pending: list[tuple[str, list[str]]] = [(name, [name])]
    checked: set[str] = set()
    while pending:
        current, chain = pending.pop()
        checked.add(current)
        tree = _function_source(ns[current], ns)
        via = "" if current == name else f" (through {' -> '.join(chain)})"
        problems = loop_constructs(tree, current)
        if problems:
            raise GradingError(
                f"{name} must not use Python loops, comprehensions or recursion{via}; "
                f"found {', '.join(problems)}. Use NumPy operations on whole arrays "
                "(hint: numpy.lib.stride_tricks.sliding_window_view and np.einsum)."
            )
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)):
                continue
            helper = ns.get(node.id)
            if (node.id == "normalize_channels" or not isinstance(helper, types.FunctionType)
                    or helper.__module__ != module):
                continue
            if node.id in chain:
                raise GradingError(
                    f"{name} must not use recursion; found the call chain "
                    f"{' -> '.join([*chain, node.id])}."
                )
            if node.id not in checked:
                pending.append((node.id, [*chain, node.id]))


def cpu_seconds(func: Callable[..., Any], args: tuple[Any, ...], repeat: int) -> float:
    """The least CPU time one call of ``func(*args)`` took in ``repeat`` calls.

    CPU time, not wall-clock time: what the call itself computed, whatever else the machine
    is doing (grading workers fill every core). A student's function seen through the
    scoring pass is measured where it runs, in the student's process
    (``StudentNamespace.cpu_seconds``: all its threads and waited-for children, with clocks
    taken before the student's code ran); a plain function (self-grading, tests) here.
    """
    measured = getattr(func, "cpu_seconds", None)
    if callable(measured):
        return float(measured(args, repeat))
    best = float("inf")
    for _ in range(max(1, repeat)):
        start = time.process_time()
        func(*args)
        best = min(best, time.process_time() - start)
    return best


@functools.lru_cache(maxsize=1)
def _loop_reference() -> tuple[float, np.ndarray]:
    """The key's loop version on the speed case: the least CPU time of two calls in this
    thread, and its (read-only) result. Measured once per grading process: CPU time does
    not depend on how busy the machine is, so every student is held to the same figure."""
    image, k, v = _case(SPEED_SHAPE, SEED + 7)
    best, expected = float("inf"), None
    for _ in range(2):
        start = time.thread_time()
        expected = ref.attention_loops(image, k, v)
        best = min(best, time.thread_time() - start)
    expected = np.array(expected)
    expected.setflags(write=False)
    return best, expected


@hidden_test
def check_vectorized(ns: Mapping[str, Any]) -> None:
    """No loops (checked on the source), equal to the reference, >= 10x faster than loops."""
    with _key_normalize(ns):
        _check_vectorized(ns)


def _check_vectorized(ns: Mapping[str, Any]) -> None:
    image, k, v = _case(ATTENTION_CASES[0], SEED)
    call_student(ns, "attention_vectorized", image, k, v)  # exists, implemented, runs
    if not isinstance(ns.get("attention_vectorized"), types.FunctionType):
        raise GradingError("attention_vectorized should be a function defined with `def`.")
    _check_no_loops(ns, "attention_vectorized")
    _check_attention(ns, "attention_vectorized")

    image, k, v = _case(SPEED_SHAPE, SEED + 7)
    got = call_student(ns, "attention_vectorized", image, k, v)
    t_loops, expected = _loop_reference()
    check_close(got, expected, "attention_vectorized(image, k, v)",
                context=f"image {image.shape}, compared with the loop version")
    t_student = cpu_seconds(ns["attention_vectorized"], (image, k, v), repeat=5)
    ratio = t_loops / max(t_student, 1e-9)
    if ratio < MIN_SPEEDUP:
        raise GradingError(
            f"attention_vectorized used {t_student * 1e3:.1f} ms of CPU time on a 64x64x3 "
            f"image, only {ratio:.1f}x less than the loop version ({t_loops * 1e3:.0f} ms); "
            f"it must be at least {MIN_SPEEDUP:.0f}x faster. Avoid per-pixel Python work "
            "(np.vectorize, map, building arrays element by element)."
        )


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "q6_num_params_test": check_num_params,
    "q6_normalize_test": check_normalize,
    "q6_loops_test": check_loops,
    "q6_vectorized_test": check_vectorized,
}
