"""Hidden tests for Q3 (convolutional architectures).

Each part checks the student's functions on the exam's configuration and on
seeded random configurations (non-square inputs, strides that do not divide
the padded input evenly), then the part's answer variable (``part_i`` ...
``part_vii``). Wrong answers that match a known mistake get a message naming
it: rounding up (ceil) instead of floor, forgetting the bias, forgetting the
+1, padding one side only, using the first layer's input channels for the
later layers, and the printed key's 14x14x64 for part i (erratum E1).

Credit per sub-answer (:mod:`cs230_grading.credit`, ``SPLIT``): parts i-vi give the output
volume and the parameter count their own points, part vii the architecture and its count.
Errors carried forward: parts iv-vi call the student's ``network_output`` with the answer
key's ``conv_output_shape``, ``conv_num_params`` and ``maxpool_output_shape`` swapped in
(pooling is graded in part iv, the Conv helpers in parts i-iii), and accept an answer value
that is right given the student's own helpers; part vii accepts the architecture that is best
for the student's own volumes. ``CS230_CARRY_FORWARD=0`` restores all-or-nothing parts.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np

from ..checks import GradingError, Mistake, call_student, check_equal, hidden_test
from ..credit import PartScore, carried_note, carry_forward, helper_is_wrong, swapped_in
from ..reference import conv as ref

Shape = tuple[int, int, int]
Config = tuple[Shape, int, int, int, int]  # input_shape, filter_size, stride, padding, filters

INPUT: Shape = (128, 128, 3)
#: The exam's three convolution settings: parts i-iii (one layer) and iv-vi (three modules).
EXAM: dict[str, Config] = {
    "i": (INPUT, 3, 1, 0, 64),
    "ii": (INPUT, 5, 1, 2, 16),
    "iii": (INPUT, 2, 2, 0, 32),
}
NETWORK_PART = {"iv": "i", "v": "ii", "vi": "iii"}
NUM_CLASSES = 10
NUM_RANDOM = 12

MSG_CEIL = Mistake("q3.ceil_conv", (
    "did you round up (ceil) instead of down? Windows that do not fit whole are "
    "dropped: use floor division `//`."))
MSG_TRUEDIV = Mistake(
    "q3.true_division", "did you use `/` instead of floor division `//`? Sizes are whole numbers.")
MSG_PLUS_ONE = Mistake(
    "q3.plus_one", "did you forget the +1 (the window's first position counts too)?")
MSG_ONE_SIDE = Mistake(
    "q3.one_side", "did you pad only one side? Padding is added on both sides (2 * padding).")
MSG_NO_STRIDE = Mistake("q3.no_stride", "did you forget to divide by the stride?")
MSG_CHANNELS_OUT = Mistake(
    "q3.channels_out",
    "the output has one channel per filter (num_filters), not the input's channels.")
MSG_E1 = Mistake("q3.printed_key_e1", (
    "14x14x64 is the printed key's value, which is wrong for part i (erratum E1): it is "
    "the volume after part iv's three modules, not after one convolution."))
MSG_NO_BIAS = Mistake(
    "q3.no_bias", "did you forget the bias? Each filter (or output unit) has one bias.")
MSG_ONE_BIAS = Mistake(
    "q3.one_bias", "each filter has its own bias: add num_filters biases, not one per layer.")
MSG_NO_IN_CHANNELS = Mistake("q3.no_in_channels", (
    "each filter spans all input channels: it has F * F * C_in weights, "
    "not F * F."))
MSG_CEIL_POOL = Mistake("q3.ceil_pooling", (
    "did you round up (ceil mode) in the pooling layers? The pools use floor "
    "division (PyTorch's default): an odd row or column left over is dropped."))
MSG_FIRST_CHANNELS = Mistake("q3.first_channels", (
    "did you use the first layer's input channels for every Conv layer? "
    "Layers 2 and 3 see the num_filters channels of the layer before them."))
MSG_NO_POOL = Mistake(
    "q3.no_pool", "did you forget the 2x2 max pooling (stride 2) after each Conv layer?")
MSG_FLATTEN = Mistake("q3.flatten", (
    "the FC layer takes the whole flattened volume (H * W * C inputs), plus one "
    "bias per class."))


# -- Mistake models -------------------------------------------------------------------
def _size(n: int, f: int, s: int, p: int, mode: str = "floor") -> float:
    """One spatial size under the correct rule (``floor``) or a named mistake."""
    if mode == "ceil":
        return math.ceil((n + 2 * p - f) / s) + 1
    if mode == "truediv":
        return (n + 2 * p - f) / s + 1
    if mode == "no_plus_one":
        return (n + 2 * p - f) // s
    if mode == "one_side":
        return (n + p - f) // s + 1
    if mode == "no_stride":
        return n + 2 * p - f + 1
    return (n + 2 * p - f) // s + 1


def _conv_shape(cfg: Config, mode: str = "floor") -> tuple:
    (h, w, _), f, s, p, k = cfg
    return (_size(h, f, s, p, mode), _size(w, f, s, p, mode), k)


def _conv_shape_mistakes(cfg: Config) -> list[tuple[str, Any]]:
    (h, w, c), _, _, _, _ = cfg
    items = [(msg, _conv_shape(cfg, mode)) for mode, msg in
             (("ceil", MSG_CEIL), ("truediv", MSG_TRUEDIV), ("no_plus_one", MSG_PLUS_ONE),
              ("one_side", MSG_ONE_SIDE), ("no_stride", MSG_NO_STRIDE))]
    items.append((MSG_CHANNELS_OUT, _conv_shape(cfg)[:2] + (c,)))
    if cfg == EXAM["i"]:
        items.insert(0, (MSG_E1, (14, 14, 64)))
    return items


def _param_mistakes(c: int, f: int, k: int) -> list[tuple[str, int]]:
    return [(MSG_NO_BIAS, f * f * c * k), (MSG_ONE_BIAS, f * f * c * k + 1),
            (MSG_NO_IN_CHANNELS, (f * f + 1) * k)]


def _network(cfg: Config, modules: int = 3, *, pool_mode: str = "floor", bias: bool = True,
             chain_channels: bool = True, pool: bool = True) -> tuple[Shape, int]:
    """The network under the correct rules or one named mistake."""
    (h, w, c), f, s, p, k = cfg
    total, channels = 0, c
    for _ in range(modules):
        total += (f * f * channels + int(bias)) * k
        h, w = _size(h, f, s, p), _size(w, f, s, p)
        if pool:
            h, w = _size(h, 2, 2, 0, pool_mode), _size(w, 2, 2, 0, pool_mode)
        channels = k if chain_channels else c
    return (h, w, k), total


# -- Seeded random configurations ---------------------------------------------------
def random_configs(seed: int, count: int = NUM_RANDOM, modules: int = 1) -> list[Config]:
    """Valid configurations for ``modules`` Conv-Pool modules (``modules=0``: one Conv layer).

    Inputs are never square, and at least half of the configurations have a stride
    that leaves a remainder (so floor and ceil differ)."""
    rng = np.random.default_rng(seed)
    configs: list[Config] = []
    while len(configs) < count:
        h, w = (int(v) for v in rng.integers(3 if modules == 0 else 8 * modules, 160, size=2))
        if h == w:
            continue
        cfg = ((h, w, int(rng.integers(1, 17))), int(rng.choice([1, 2, 3, 4, 5, 7])),
               int(rng.integers(1, 5)), int(rng.integers(0, 4)), int(rng.integers(1, 129)))
        (_, _, _), f, s, p, _ = cfg
        uneven = (h + 2 * p - f) % s != 0 or (w + 2 * p - f) % s != 0
        if len(configs) < count // 2 and not uneven:
            continue
        try:
            if modules:
                ref.network_output(*cfg, num_modules=modules)
            else:
                ref.conv_output_shape(*cfg)
        except ValueError:
            continue
        configs.append(cfg)
    return configs


def _odd_pool_inputs(seed: int, count: int = 6) -> Iterator[Shape]:
    rng = np.random.default_rng(seed)
    for _ in range(count):
        h, w = (int(v) for v in rng.integers(2, 100, size=2))
        yield (h | 1, w, int(rng.integers(1, 65)))  # at least one odd side


def _describe(cfg: Config) -> str:
    shape, f, s, p, k = cfg
    return f"input {shape}, filter {f}, stride {s}, padding {p}, {k} filters"


# -- Function checks ----------------------------------------------------------------
def _check_maxpool(ns: Mapping[str, Any], seed: int) -> None:
    for shape in (*_odd_pool_inputs(seed), (126, 126, 64), (61, 61, 64)):
        got = call_student(ns, "maxpool_output_shape", shape, 2, 2)
        h, w, c = shape
        check_equal(got, ref.maxpool_output_shape(shape, 2, 2),
                    f"maxpool_output_shape({shape}, 2, 2)", show_expected=True,
                    mistakes=[(MSG_CEIL_POOL, (_size(h, 2, 2, 0, "ceil"),
                                               _size(w, 2, 2, 0, "ceil"), c)),
                              (MSG_TRUEDIV, (h / 2, w / 2, c))])


def _network_mistakes(cfg: Config, modules: int) -> tuple[list, list]:
    shape_mistakes = [(MSG_CEIL_POOL, _network(cfg, modules, pool_mode="ceil")[0]),
                      (MSG_NO_POOL, _network(cfg, modules, pool=False)[0])]
    param_mistakes = [(MSG_NO_BIAS, _network(cfg, modules, bias=False)[1]),
                      (MSG_FIRST_CHANNELS, _network(cfg, modules, chain_channels=False)[1])]
    return shape_mistakes, param_mistakes


def _answer(ns: Mapping[str, Any], name: str) -> Any:
    if name not in ns:
        raise GradingError(f"`{name}` is not defined: run its answer cell (and keep its name).")
    return ns[name]


def _pair(value: Any, name: str) -> tuple[Any, Any]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise GradingError(f"`{name}` should be a pair (shape, number of parameters), "
                           f"got {value!r}.")
    return value[0], value[1]


# -- Parts --------------------------------------------------------------------------
#: Each part's points split over its sub-answers. They add up to the test cell's points in the
#: source metadata, and each part's heading in the notebook states the split (both checked by
#: tests/test_credit_per_sub_answer.py).
SPLIT: dict[str, dict[str, float]] = {
    **{f"q3_{p}_test": {"volume": 1, "count": 1} for p in ("i", "ii", "iii")},
    **{f"q3_{p}_test": {"volume": 2, "count": 2} for p in ("iv", "v", "vi")},
    "q3_vii_test": {"architecture": 1, "count": 1},
}
LABELS = {"volume": "the output volume", "count": "the parameter count",
          "architecture": "the architecture"}
#: The functions graded in parts i-iv that parts iv-vii use, and where each is graded.
HELPERS = {"conv_output_shape": "part i", "conv_num_params": "part i",
           "maxpool_output_shape": "part iv"}


def _key_helpers(ns: Mapping[str, Any]) -> Any:
    """The answer key's helpers in the namespace (errors carried forward), or nothing."""
    if not carry_forward():
        return contextlib.nullcontext()
    return swapped_in(ns, {name: getattr(ref, name) for name in HELPERS})


def _check_conv_shapes(ns: Mapping[str, Any], cfg: Config, seed: int) -> None:
    for case in (cfg, *random_configs(seed, modules=0)):
        shape, f, s, p, k = case
        got = call_student(ns, "conv_output_shape", shape, f, s, p, k)
        check_equal(got, ref.conv_output_shape(*case), f"conv_output_shape{case}",
                    mistakes=_conv_shape_mistakes(case), show_expected=True)


def _check_conv_params(ns: Mapping[str, Any], cfg: Config, seed: int) -> None:
    for case in (cfg, *random_configs(seed, modules=0)):
        shape, f, _, _, k = case
        got = call_student(ns, "conv_num_params", shape[2], f, k)
        check_equal(got, ref.conv_num_params(shape[2], f, k),
                    f"conv_num_params({shape[2]}, {f}, {k})",
                    mistakes=_param_mistakes(shape[2], f, k), show_expected=True)


#: How each helper is graded (the checks of part i, and part iv's pooling check).
HELPER_CHECKS: dict[str, Callable[[Mapping[str, Any]], None]] = {
    "conv_output_shape": lambda ns: _check_conv_shapes(ns, EXAM["i"], 3001),
    "conv_num_params": lambda ns: _check_conv_params(ns, EXAM["i"], 3001),
    "maxpool_output_shape": lambda ns: _check_maxpool(ns, 3004),
}


def _note_wrong_helpers(ns: Mapping[str, Any], score: PartScore) -> None:
    """A note for each helper graded in an earlier part that the student got wrong."""
    if not carry_forward():
        return
    for name, where in HELPERS.items():
        if where != f"part {score.part}" and helper_is_wrong(HELPER_CHECKS[name], ns):
            score.note(carried_note(name, where))


def _single_layer_part(part: str, seed: int) -> Callable[[Mapping[str, Any]], float | None]:
    cfg = EXAM[part]

    @hidden_test
    def check(ns: Mapping[str, Any]) -> float | None:
        score = PartScore(part, SPLIT[f"q3_{part}_test"], LABELS)
        with score.sub("volume"):
            _check_conv_shapes(ns, cfg, seed)
            shape, _ = _pair(_answer(ns, f"part_{part}"), f"part_{part}")
            check_equal(shape, ref.conv_output_shape(*cfg), f"the shape in part_{part}",
                        mistakes=_conv_shape_mistakes(cfg), show_expected=True)
        with score.sub("count"):
            _check_conv_params(ns, cfg, seed)
            _, params = _pair(_answer(ns, f"part_{part}"), f"part_{part}")
            check_equal(params, ref.conv_num_params(cfg[0][2], cfg[1], cfg[4]),
                        f"the parameter count in part_{part}",
                        mistakes=_param_mistakes(cfg[0][2], cfg[1], cfg[4]),
                        show_expected=True)
        return score.result()

    check.__name__ = f"check_part_{part}"
    return check


def _own_network(ns: Mapping[str, Any], cfg: Config, modules: int = 3) -> tuple[Any, Any] | None:
    """The network computed the key's way with the student's own helpers (what a correct
    ``network_output`` gives on top of them), or None when they cannot compute it."""
    (shape, f, s, p, k), total = cfg, 0
    try:
        for _ in range(modules):
            total += call_student(ns, "conv_num_params", shape[2], f, k)
            shape = call_student(ns, "conv_output_shape", shape, f, s, p, k)
            shape = call_student(ns, "maxpool_output_shape", shape, 2, 2)
    except (GradingError, TypeError, IndexError):
        return None
    return shape, total


def _answer_value(value: Any, expected: Any, carried: Any, name: str, mistakes: list) -> None:
    """An answer value is right, or right given the student's own (already marked) helpers."""
    if carried is not None and _same(value, carried) and not _same(carried, expected):
        return
    check_equal(value, expected, name, mistakes=mistakes, show_expected=True)


def _same(a: Any, b: Any) -> bool:
    try:
        check_equal(a, b, "")
    except GradingError:
        return False
    return True


def _check_network_result(got: Any, case: Config, modules: int, index: int) -> None:
    """One ``network_output`` result: its volume (``index`` 0) or its count (1)."""
    if isinstance(got, GradingError):
        raise got
    name = f"network_output{case[:5]} with num_modules={modules}"
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        raise GradingError(f"{name} should be a pair ((H, W, C), total_params), got {got!r}.")
    expected = ref.network_output(*case, num_modules=modules)
    what = ("the output volume", "the parameter count")[index]
    check_equal(got[index], expected[index], f"{what} of {name}",
                mistakes=_network_mistakes(case, modules)[index], show_expected=True)


def _network_cases(seed: int) -> list[tuple[Config, int]]:
    cases = [(case, 3) for case in random_configs(seed, modules=3)]
    for modules in (1, 2):
        cases += [(case, modules) for case in random_configs(seed + modules, count=3,
                                                              modules=modules)]
    return cases


def _network_part(part: str, seed: int) -> Callable[[Mapping[str, Any]], float | None]:
    cfg = EXAM[NETWORK_PART[part]]

    @hidden_test
    def check(ns: Mapping[str, Any]) -> float | None:
        score = PartScore(part, SPLIT[f"q3_{part}_test"], LABELS)
        lenient = carry_forward()
        carried = _own_network(ns, cfg) if lenient else None
        _note_wrong_helpers(ns, score)
        results: list[tuple[Config, int, Any]] = []
        with _key_helpers(ns):
            for case, modules in [(cfg, 3), *_network_cases(seed)]:
                try:
                    results.append((case, modules, call_student(
                        ns, "network_output", *case, num_modules=modules)))
                except GradingError as exc:
                    if not lenient:
                        raise
                    results.append((case, modules, exc))
        shape_mistakes, param_mistakes = _network_mistakes(cfg, 3)
        with score.sub("volume"):
            if part == "iv" or not lenient:  # with errors carried forward, pooling is graded once
                _check_maxpool(ns, seed)
            for case, modules, got in results:
                _check_network_result(got, case, modules, 0)
            first, _ = _pair(_answer(ns, f"part_{part}"), f"part_{part}")
            _answer_value(first, ref.network_output(*cfg)[0],
                          None if carried is None else carried[0],
                          f"the output volume of part_{part}", shape_mistakes)
        with score.sub("count"):
            for case, modules, got in results:
                _check_network_result(got, case, modules, 1)
            _, second = _pair(_answer(ns, f"part_{part}"), f"part_{part}")
            _answer_value(second, ref.network_output(*cfg)[1],
                          None if carried is None else carried[1],
                          f"the parameter count of part_{part}", param_mistakes)
        return score.result()

    check.__name__ = f"check_part_{part}"
    return check


check_part_i = _single_layer_part("i", 3001)
check_part_ii = _single_layer_part("ii", 3002)
check_part_iii = _single_layer_part("iii", 3003)
check_part_iv = _network_part("iv", 3004)
check_part_v = _network_part("v", 3005)
check_part_vi = _network_part("vi", 3006)


def _architecture_label(value: Any) -> str:
    """'vi', 'VI', 'part vi', '(vi)' and 6 all mean part vi."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {4: "iv", 5: "v", 6: "vi"}.get(int(value), str(value))
    text = str(value).strip().lower().replace("part", "").strip(" ().")
    return text


def _own_volumes(ns: Mapping[str, Any]) -> dict[str, Shape]:
    """The final volumes the student found in parts iv-vi (well-formed ones only)."""
    volumes: dict[str, Shape] = {}
    for p in NETWORK_PART:
        value = ns.get(f"part_{p}")
        try:
            shape = tuple(int(v) for v in value[0])
            if len(shape) == 3 and all(v > 0 for v in shape):
                volumes[p] = shape  # type: ignore[assignment]
        except (TypeError, ValueError, IndexError, KeyError):
            continue
    return volumes


def _check_fc(ns: Mapping[str, Any]) -> None:
    rng = np.random.default_rng(3007)
    for _ in range(NUM_RANDOM):
        shape = tuple(int(v) for v in rng.integers(1, 40, size=3))
        classes = int(rng.integers(2, 1001))
        h, w, c = shape
        got = call_student(ns, "fc_num_params", shape, classes)
        check_equal(got, ref.fc_num_params(shape, classes),
                    f"fc_num_params({shape}, {classes})", show_expected=True,
                    mistakes=[(MSG_NO_BIAS, h * w * c * classes),
                              (MSG_FLATTEN, (h * w + 1) * classes),
                              (MSG_FLATTEN, (c + 1) * classes)])


@hidden_test
def check_part_vii(ns: Mapping[str, Any]) -> float | None:
    """fc_num_params on random volumes, then ``part_vii = (architecture, params)``.

    Errors carried forward: the architecture that is best for the student's own volumes of
    parts iv-vi is accepted too, and the count of the architecture named (on the key's volume
    or on the student's) is credited even when that architecture is not the best."""
    score = PartScore("vii", SPLIT["q3_vii_test"], LABELS)
    lenient = carry_forward()
    fc = {p: ref.fc_num_params(ref.network_output(*EXAM[NETWORK_PART[p]])[0], NUM_CLASSES)
          for p in NETWORK_PART}
    best = min(fc, key=fc.__getitem__)
    own = _own_volumes(ns) if lenient else {}
    own_fc = {p: ref.fc_num_params(v, NUM_CLASSES) for p, v in own.items()}
    # carried forward only when the student's own volumes single out one architecture
    smallest = [p for p in own_fc if own_fc[p] == min(own_fc.values(), default=0)]
    own_best = smallest[0] if len(own_fc) == len(fc) and len(smallest) == 1 else best
    with score.sub("architecture"):
        label, _ = _pair(_answer(ns, "part_vii"), "part_vii")
        chosen = _architecture_label(label)
        if chosen not in fc:
            raise GradingError(f"part_vii should name one of the architectures 'iv', 'v' or "
                               f"'vi', got {label!r}.")
        if chosen != best and not (chosen == own_best and own_best != best):
            raise GradingError(
                f"part_vii names architecture {chosen}, whose FC layer has {fc[chosen]:,} "
                f"parameters; another architecture's last volume is smaller (architecture "
                f"{best}: {fc[best]:,}).")
        if chosen != best:
            score.note("your volumes of parts iv-vi make architecture "
                       f"{chosen} the smallest; that choice is credited (error carried forward).")
    with score.sub("count"):
        _check_fc(ns)
        label, params = _pair(_answer(ns, "part_vii"), "part_vii")
        named = _architecture_label(label)
        target = named if lenient and named in fc else best
        carried = own_fc.get(target)
        if not (carried is not None and carried != fc[target] and _same(params, carried)):
            h, w, c = ref.network_output(*EXAM[NETWORK_PART[target]])[0]
            check_equal(params, fc[target], "the parameter count in part_vii",
                        show_expected=True,
                        mistakes=[(MSG_NO_BIAS, h * w * c * NUM_CLASSES),
                                  (MSG_FLATTEN, (h * w + 1) * NUM_CLASSES)])
    return score.result()


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    "q3_i_test": check_part_i,
    "q3_ii_test": check_part_ii,
    "q3_iii_test": check_part_iii,
    "q3_iv_test": check_part_iv,
    "q3_v_test": check_part_v,
    "q3_vi_test": check_part_vi,
    "q3_vii_test": check_part_vii,
}
