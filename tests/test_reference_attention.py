"""The Q6 answer key, checked against itself only through independent implementations.

Loop, per-position and vectorised versions against a scalar evaluation of the definition
(:func:`attention_at`, pure Python arithmetic), a case derived by hand, scale invariance,
the zero-channel guard, the shapes, the parameter count of the notes (180 for iC=3, oC=5).
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from cs230_grading.reference import attention as ref

VERSIONS = (ref.attention_loops, ref.attention_per_position, ref.attention_vectorized)


def random_case(height: int, width: int, in_c: int, out_c: int, seed: int, key_scale: float = 5.0
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.uniform(-1, 2, size=(height, width, in_c))
    k = rng.normal(size=(3, 3, in_c, out_c)) * key_scale * np.sqrt(height * width)
    v = rng.normal(size=(3, 3, 1, out_c))
    return image, k, v


@pytest.mark.parametrize("shape", [(3, 3, 1, 1), (5, 8, 3, 5), (7, 4, 2, 6), (6, 6, 4, 1)])
def test_versions_agree_with_the_scalar_definition(shape: tuple[int, int, int, int]) -> None:
    image, k, v = random_case(*shape, seed=sum(shape))
    expected = np.array([[[ref.attention_at(image, k, v, i, j, o) for o in range(shape[3])]
                          for j in range(shape[1] - 2)] for i in range(shape[0] - 2)])
    assert expected.shape == (shape[0] - 2, shape[1] - 2, shape[3])
    for version in VERSIONS:
        np.testing.assert_allclose(version(image, k, v), expected, rtol=1e-10, atol=1e-12)


def test_hand_derived_case() -> None:
    # 3x3 single-channel image: the only window is the whole image. Pixel (0, 0) is 3, (2, 2)
    # is 4, the rest 0, so the norm is 5 and x_hat is 0.6 and 0.8 there. With k = ln(2) / 0.6
    # at (0, 0), ln(3) / 0.8 at (2, 2) and 0 elsewhere the scores are ln 2, ln 3 and seven 0s:
    # weights 2/12, 3/12 and 1/12 each. v = 12 at (0, 0), 0 elsewhere, gives y = 2.
    image = np.zeros((3, 3, 1))
    image[0, 0, 0], image[2, 2, 0] = 3.0, 4.0
    k = np.zeros((3, 3, 1, 2))
    k[0, 0, 0, :], k[2, 2, 0, :] = math.log(2) / 0.6, math.log(3) / 0.8
    v = np.zeros((3, 3, 1, 2))
    v[0, 0, 0, 0] = 12.0  # channel 0: the weight of (0, 0) times 12
    v[:, :, 0, 1] = 12.0  # channel 1: every value 12, so y = 12 whatever the weights
    for version in VERSIONS:
        np.testing.assert_allclose(version(image, k, v), [[[2.0, 12.0]]], rtol=1e-12)


def test_zero_keys_average_the_values() -> None:
    image, _, v = random_case(6, 5, 3, 2, seed=1)
    k = np.zeros((3, 3, 3, 2))
    for version in VERSIONS:
        y = version(image, k, v)
        np.testing.assert_allclose(y, np.broadcast_to(v.mean(axis=(0, 1, 2)), y.shape))


def test_positive_per_channel_scaling_changes_nothing() -> None:
    image, k, v = random_case(7, 9, 3, 5, seed=2)
    factors = np.array([1e-4, 3.0, 1e5])
    for version in VERSIONS:
        np.testing.assert_allclose(version(image * factors, k, v), version(image, k, v),
                                   rtol=1e-9, atol=1e-12)


def test_flipping_a_channel_sign_does_change_the_output() -> None:
    image, k, v = random_case(7, 9, 3, 5, seed=2)
    flipped = image * np.array([1.0, -1.0, 1.0])
    assert np.abs(ref.attention_vectorized(flipped, k, v)
                  - ref.attention_vectorized(image, k, v)).max() > 1e-3


def test_global_norm_differs_from_per_channel_norm() -> None:
    # The notes: a global norm changes the output by up to about 0.3, so tests can tell.
    image, k, v = random_case(8, 8, 3, 5, seed=3)
    image[:, :, 2] *= 20
    per_channel = ref.attention_vectorized(image, k, v)
    x = image / np.linalg.norm(image)  # what a global norm feeds the layer
    windows = np.lib.stride_tricks.sliding_window_view(x, (3, 3), axis=(0, 1))
    scores = np.einsum("hwcab,abco->hwabo", windows, k)
    weights = np.exp(scores - scores.max(axis=(2, 3), keepdims=True))
    weights /= weights.sum(axis=(2, 3), keepdims=True)
    global_norm = np.einsum("hwabo,abo->hwo", weights, v[:, :, 0, :])
    assert np.abs(global_norm - per_channel).max() > 1e-2


def test_normalize_channels_gives_unit_norms_and_guards_a_zero_channel() -> None:
    rng = np.random.default_rng(4)
    image = rng.normal(size=(4, 7, 3)) * np.array([1.0, 100.0, 0.01])
    x = ref.normalize_channels(image)
    np.testing.assert_allclose(np.sqrt((x**2).sum(axis=(0, 1))), 1.0)
    np.testing.assert_allclose(x * np.linalg.norm(image, axis=(0, 1)), image)
    image[:, :, 1] = 0.0
    x = ref.normalize_channels(image)
    assert np.all(np.isfinite(x)) and np.all(x[:, :, 1] == 0)
    for version in VERSIONS:  # the zero channel contributes nothing to the scores
        img, k, v = random_case(5, 6, 3, 2, seed=5)
        img[:, :, 0] = 0.0
        k_without = k.copy()
        k_without[:, :, 0, :] = 123.0
        y = version(img, k, v)
        assert np.all(np.isfinite(y))
        np.testing.assert_allclose(version(img, k_without, v), y, rtol=1e-12)


def test_large_scores_do_not_overflow() -> None:
    image, k, v = random_case(6, 7, 3, 5, seed=6, key_scale=1e4)
    for version in VERSIONS:
        y = version(image, k, v)
        assert np.all(np.isfinite(y))
        # With huge scores the softmax picks one position: y is one of the nine values.
        values = v[:, :, 0, :].reshape(9, 5)
        assert np.abs(y[:, :, None, :] - values).min(axis=2).max() < 1e-9


def test_num_params_matches_the_notes() -> None:
    assert ref.num_params(3, 5) == 180  # the printed key's bare number, for RGB and oC = 5
    assert ref.num_params(3, 5) == 3 * 3 * 3 * 5 + 3 * 3 * 1 * 5
    assert ref.num_params(1, 1) == 18
    assert ref.num_params(64, 32) == 9 * 32 * 65
    assert isinstance(ref.num_params(np.int64(2), 4), int)


@pytest.mark.parametrize("args", [(0, 5), (3, -1), (2.5, 3), (True, 3)])
def test_num_params_rejects_bad_sizes(args: tuple) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        ref.num_params(*args)


@pytest.mark.parametrize("image_shape,k_shape,v_shape", [
    ((5, 5), (3, 3, 3, 5), (3, 3, 1, 5)),  # image not 3-D
    ((2, 5, 3), (3, 3, 3, 5), (3, 3, 1, 5)),  # too small for one window
    ((5, 5, 3), (3, 3, 2, 5), (3, 3, 1, 5)),  # k's iC differs from the image's
    ((5, 5, 3), (5, 5, 3, 5), (5, 5, 1, 5)),  # 5x5 kernels
    ((5, 5, 3), (3, 3, 3, 5), (3, 3, 3, 5)),  # v with iC channels
    ((5, 5, 3), (3, 3, 3, 5), (3, 3, 1, 4)),  # oC differs between k and v
])
def test_wrong_shapes_raise_value_error_naming_the_expected_shapes(image_shape, k_shape,
                                                                   v_shape) -> None:
    image, k, v = np.ones(image_shape), np.ones(k_shape), np.ones(v_shape)
    for version in VERSIONS:
        with pytest.raises(ValueError, match=r"k \(3, 3, iC, oC\) and v \(3, 3, 1, oC\)"):
            version(image, k, v)
    with pytest.raises(ValueError, match=r"\(H, W, C\)"):
        ref.normalize_channels(np.ones((4, 4)))


def test_inputs_are_not_modified() -> None:
    image, k, v = random_case(6, 6, 3, 5, seed=7)
    copies = [a.copy() for a in (image, k, v)]
    for version in VERSIONS:
        version(image, k, v)
    for original, copy in zip((image, k, v), copies, strict=True):
        np.testing.assert_array_equal(original, copy)


def test_vectorized_allocates_only_a_few_window_sized_arrays() -> None:
    image, k, v = random_case(96, 80, 3, 5, seed=8)
    window_bytes = (94 * 78) * 9 * 3 * 8  # the (H-2, W-2, iC, 3, 3) window tensor, float64
    ref.attention_vectorized(image, k, v)  # warm up (einsum path caches)
    tracemalloc.start()
    ref.attention_vectorized(image, k, v)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4 * window_bytes, f"peak {peak / window_bytes:.1f} window tensors"
