"""The Q3 answer key, checked independently of its own formula.

Output sizes are counted by sliding a window over index ranges; parameter
counts by counting the entries of explicitly built weight and bias arrays.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from cs230_grading.reference import conv


def slide_positions(size: int, window: int, stride: int, padding: int) -> int:
    """Count the window positions literally: start at the top of the padded input, step by
    ``stride``, keep each position whose whole window lies inside the padded range."""
    first, last = -padding, size + padding - 1  # padded index range
    count, start = 0, first
    while start + window - 1 <= last:
        count += 1
        start += stride
    return count


def conv_by_sliding(shape, f, s, p, k):
    h, w, _ = shape
    return (slide_positions(h, f, s, p), slide_positions(w, f, s, p), k)


def pool_by_sliding(shape, size=2, stride=2):
    h, w, c = shape
    return (slide_positions(h, size, stride, 0), slide_positions(w, size, stride, 0), c)


def conv_params_by_arrays(c_in: int, f: int, k: int) -> int:
    weights = np.zeros((k, c_in, f, f))  # PyTorch layout: one F x F x C_in filter per output
    biases = np.zeros(k)
    return weights.size + biases.size


def test_hand_derived_single_layers():
    # 5x5 input, 3x3 filter, stride 1, no padding: 3 positions along each side.
    assert conv.conv_output_shape((5, 5, 1), 3, 1, 0, 1) == (3, 3, 1)
    # 7x7, 3x3, stride 2: positions 0, 2, 4 -> 3 (CS231n notes).
    assert conv.conv_output_shape((7, 7, 3), 3, 2, 0, 10) == (3, 3, 10)
    # 7 wide, 3x3, stride 3: positions 0, 3 (the last column is dropped).
    assert conv.conv_output_shape((7, 8, 3), 3, 3, 0, 2) == (2, 2, 2)
    # "same" padding keeps the size.
    assert conv.conv_output_shape((32, 20, 3), 5, 1, 2, 6) == (32, 20, 6)
    assert conv.conv_num_params(3, 5, 6) == 5 * 5 * 3 * 6 + 6
    assert conv.maxpool_output_shape((5, 4, 7)) == (2, 2, 7)
    assert conv.fc_num_params((2, 3, 4), 5) == 24 * 5 + 5


def test_values_in_the_notes():
    img = (128, 128, 3)
    assert conv.conv_output_shape(img, 3, 1, 0, 64) == (126, 126, 64)
    assert conv.conv_output_shape(img, 5, 1, 2, 16) == (128, 128, 16)
    assert conv.conv_output_shape(img, 2, 2, 0, 32) == (64, 64, 32)
    assert [conv.conv_num_params(3, f, k) for f, k in ((3, 64), (5, 16), (2, 32))] == [
        1792, 1216, 416]
    iv = conv.network_output(img, 3, 1, 0, 64)
    v = conv.network_output(img, 5, 1, 2, 16)
    vi = conv.network_output(img, 2, 2, 0, 32)
    assert iv == ((14, 14, 64), 75_648)
    assert v == ((16, 16, 16), 14_048)
    assert vi == ((2, 2, 32), 8_672)
    assert [conv.fc_num_params(out, 10) for out, _ in (iv, v, vi)] == [125_450, 40_970, 1_290]


def test_exam_network_layer_by_layer_sizes():
    """iv: conv 126, pool 63, conv 61, pool 30, conv 28, pool 14 (from the notes)."""
    sizes, shape = [], (128, 128, 3)
    for _ in range(3):
        shape = conv_by_sliding(shape, 3, 1, 0, 64)
        sizes.append(shape[0])
        shape = pool_by_sliding(shape)
        sizes.append(shape[0])
    assert sizes == [126, 63, 61, 30, 28, 14]


@pytest.mark.parametrize("seed", range(4))
def test_output_sizes_match_sliding_window(seed):
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(300):
        h, w, c = (int(v) for v in rng.integers(1, 60, size=3))
        f, s, p, k = (int(v) for v in (rng.integers(1, 8), rng.integers(1, 5),
                                       rng.integers(0, 4), rng.integers(1, 9)))
        expected = conv_by_sliding((h, w, c), f, s, p, k)
        if min(expected[:2]) == 0:
            with pytest.raises(ValueError, match="larger than"):
                conv.conv_output_shape((h, w, c), f, s, p, k)
            continue
        assert conv.conv_output_shape((h, w, c), f, s, p, k) == expected
        if min(h, w) >= 2:
            assert conv.maxpool_output_shape((h, w, c), 2, 2) == pool_by_sliding((h, w, c))
        checked += 1
    assert checked > 150


def test_parameter_counts_match_weight_arrays():
    for c_in, f, k in itertools.product((1, 3, 16), (1, 2, 3, 5), (1, 8, 64)):
        assert conv.conv_num_params(c_in, f, k) == conv_params_by_arrays(c_in, f, k)
    for shape, classes in (((2, 2, 32), 10), ((14, 14, 64), 10), ((3, 5, 7), 4)):
        weights, biases = np.zeros((classes, int(np.prod(shape)))), np.zeros(classes)
        assert conv.fc_num_params(shape, classes) == weights.size + biases.size


def test_network_matches_layer_by_layer_arrays():
    """Non-square input, stride that does not divide: chain layers by hand."""
    rng = np.random.default_rng(7)
    for _ in range(50):
        shape0 = (int(rng.integers(40, 120)), int(rng.integers(40, 120)), int(rng.integers(1, 5)))
        f, s, p, k = 3, int(rng.integers(1, 3)), int(rng.integers(0, 2)), int(rng.integers(1, 9))
        shape, total = shape0, 0
        for _ in range(2):
            total += conv_params_by_arrays(shape[2], f, k)
            shape = pool_by_sliding(conv_by_sliding(shape, f, s, p, k))
        assert conv.network_output(shape0, f, s, p, k, num_modules=2) == (shape, total)


def test_results_are_python_ints():
    shape, total = conv.network_output((128, 128, 3), 3, 1, 0, 64)
    assert all(type(v) is int for v in (*shape, total))


@pytest.mark.parametrize(
    "call, phrase",
    [
        (lambda: conv.conv_output_shape((4, 4, 3), 7, 1, 1, 8), "larger than its padded input"),
        (lambda: conv.conv_output_shape((0, 4, 3), 1, 1, 0, 8), "input height"),
        (lambda: conv.conv_output_shape((4, 4, 3), 3, 0, 0, 8), "stride"),
        (lambda: conv.conv_output_shape((4, 4, 3), 3, 1, -1, 8), "padding"),
        (lambda: conv.conv_output_shape((4, 4), 3, 1, 0, 8), r"\(H, W, C\)"),
        (lambda: conv.conv_num_params(3, 3, 0), "num_filters"),
        (lambda: conv.maxpool_output_shape((1, 5, 3)), "pooling window"),
        # 8 -> conv 6 -> pool 3 -> conv 1 -> pool: the 2x2 window no longer fits.
        (lambda: conv.network_output((8, 8, 3), 3, 1, 0, 4, 2), "pooling window"),
        (lambda: conv.fc_num_params((2, 2, 2), 0), "num_classes"),
    ],
)
def test_invalid_configurations_say_why(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call()
