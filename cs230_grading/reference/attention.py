"""Q6 answer key: 3x3 windowed attention on an image (CS230 Spring 2021 midterm).

The definition (the reading in the answer-key notes; the exam's wording is ambiguous):

1. Normalise each input channel by its own Frobenius norm,
   ``x_hat[:, :, c] = x[:, :, c] / ||x[:, :, c]||_F``. A channel that is all zeros has norm 0;
   it is **guarded**, not rejected: it stays all zeros (no NaN, no error).
2. Slide a 3x3 window over ``x_hat`` like a convolution, stride 1, no padding. At window
   position (i, j), output channel o and offset (a, b) in {0, 1, 2}^2 the score is
   ``s[a, b] = x_hat[i + a, j + b, :] . k[a, b, :, o]``.
3. ``alpha = softmax(s)`` over the 9 offsets (numerically stable: the maximum is subtracted).
4. ``y[i, j, o] = sum_ab alpha[a, b] * v[a, b, 0, o]``.

Shapes: image (H, W, iC) with H, W >= 3; k (3, 3, iC, oC); v (3, 3, 1, oC);
output (H - 2, W - 2, oC). Trainable parameters: 9 iC oC + 9 oC.

Four implementations of the same layer: :func:`attention_loops` (Python loops over
positions and output channels, the reference that students' vectorised code is timed against),
:func:`attention_per_position` (one loop over positions, NumPy across channels),
:func:`attention_vectorized` (no Python loops) and the scalar :func:`attention_at`.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "attention_at",
    "attention_loops",
    "attention_per_position",
    "attention_vectorized",
    "check_shapes",
    "normalize_channels",
    "num_params",
]

WINDOW = 3


def num_params(in_channels: int, out_channels: int) -> int:
    """Trainable parameters of the layer: the key and the value kernels.

    k has 3 * 3 * iC * oC entries and v has 3 * 3 * 1 * oC; there are no biases.
    For an RGB input (iC = 3) and oC = 5 this is 180, the printed key's bare number.
    """
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(WINDOW * WINDOW * in_channels * out_channels + WINDOW * WINDOW * out_channels)


def normalize_channels(image: np.ndarray) -> np.ndarray:
    """Divide each channel by its Frobenius norm.

    Inputs:
    - image: array of shape (H, W, C)

    Returns an array of shape (H, W, C), float64, in which every channel that is not all
    zeros has Frobenius norm 1. An all-zero channel is guarded: it stays zero (no NaN).
    Raises ValueError if ``image`` is not 3-D.
    """
    image = np.asarray(image, dtype=np.float64)
    if image.ndim != 3:
        raise ValueError(f"image must have shape (H, W, C), got shape {image.shape}")
    norms = np.sqrt(np.sum(image * image, axis=(0, 1), keepdims=True))  # (1, 1, C)
    return image / np.where(norms > 0, norms, 1.0)


def check_shapes(image: np.ndarray, k: np.ndarray, v: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate the shapes and return float64 arrays (image, k, v).

    Raises ValueError naming the expected shapes: image (H, W, iC) with H, W >= 3,
    k (3, 3, iC, oC) and v (3, 3, 1, oC).
    """
    image, k, v = (np.asarray(a, dtype=np.float64) for a in (image, k, v))
    expected = "image (H, W, iC) with H, W >= 3, k (3, 3, iC, oC) and v (3, 3, 1, oC)"
    ok = (
        image.ndim == 3 and image.shape[0] >= WINDOW and image.shape[1] >= WINDOW
        and k.ndim == 4 and k.shape[:2] == (WINDOW, WINDOW) and k.shape[2] == image.shape[2]
        and v.ndim == 4 and v.shape[:3] == (WINDOW, WINDOW, 1) and v.shape[3] == k.shape[3]
    )
    if not ok:
        raise ValueError(
            f"expected {expected}; got image {image.shape}, k {k.shape}, v {v.shape}"
        )
    return image, k, v


def _softmax_weighted_value(scores: np.ndarray, values: np.ndarray) -> float:
    """sum(softmax(scores) * values) for two arrays of the same shape (stable)."""
    weights = np.exp(scores - scores.max())
    return float(np.sum(weights * values) / np.sum(weights))


def attention_at(image: np.ndarray, k: np.ndarray, v: np.ndarray, i: int, j: int, o: int
                 ) -> float:
    """y[i, j, o] computed from the definition with scalar Python arithmetic.

    Independent of the other versions (it does its own normalisation); used by the tests.
    """
    image, k, v = check_shapes(image, k, v)
    height, width, channels = image.shape
    norms = [
        sum(image[r, c, ch] ** 2 for r in range(height) for c in range(width)) ** 0.5
        for ch in range(channels)
    ]
    scores = []
    for a in range(WINDOW):
        for b in range(WINDOW):
            s = 0.0
            for ch in range(channels):
                if norms[ch] > 0:
                    s += image[i + a, j + b, ch] / norms[ch] * k[a, b, ch, o]
            scores.append(s)
    top = max(scores)
    weights = [float(np.exp(s - top)) for s in scores]
    total = sum(weights)
    values = [v[a, b, 0, o] for a in range(WINDOW) for b in range(WINDOW)]
    return sum(w * val for w, val in zip(weights, values, strict=True)) / total


def attention_loops(image: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Attention with Python loops over positions and output channels.

    Inputs:
    - image: (H, W, iC)
    - k: key kernels, (3, 3, iC, oC)
    - v: value kernels, (3, 3, 1, oC)

    Returns y of shape (H - 2, W - 2, oC). Raises ValueError for other shapes.
    """
    image, k, v = check_shapes(image, k, v)
    x = normalize_channels(image)
    out_h, out_w = x.shape[0] - WINDOW + 1, x.shape[1] - WINDOW + 1
    out_c = k.shape[3]
    y = np.zeros((out_h, out_w, out_c))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i:i + WINDOW, j:j + WINDOW, :]  # (3, 3, iC)
            for o in range(out_c):
                scores = np.sum(window * k[:, :, :, o], axis=2)  # (3, 3)
                y[i, j, o] = _softmax_weighted_value(scores, v[:, :, 0, o])
    return y


def attention_per_position(image: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Attention with one Python loop over window positions, NumPy across channels.

    Same inputs, output and errors as :func:`attention_loops`.
    """
    image, k, v = check_shapes(image, k, v)
    x = normalize_channels(image)
    out_h, out_w = x.shape[0] - WINDOW + 1, x.shape[1] - WINDOW + 1
    values = v[:, :, 0, :]  # (3, 3, oC)
    y = np.zeros((out_h, out_w, k.shape[3]))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i:i + WINDOW, j:j + WINDOW, :]  # (3, 3, iC)
            scores = np.einsum("abc,abco->abo", window, k)  # (3, 3, oC)
            weights = np.exp(scores - scores.max(axis=(0, 1)))
            y[i, j] = np.sum(weights * values, axis=(0, 1)) / np.sum(weights, axis=(0, 1))
    return y


def attention_vectorized(image: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Attention without Python loops.

    ``sliding_window_view`` gives every 3x3 window as a view (no copy); one ``einsum``
    computes all scores, shape (H - 2, W - 2, 3, 3, oC), the only window-sized array
    this function allocates besides einsum's temporary. The softmax runs in place on it.

    Same inputs, output and errors as :func:`attention_loops`.
    """
    image, k, v = check_shapes(image, k, v)
    x = normalize_channels(image)
    out_h, out_w = x.shape[0] - WINDOW + 1, x.shape[1] - WINDOW + 1
    out_c = k.shape[3]
    windows = sliding_window_view(x, (WINDOW, WINDOW), axis=(0, 1))  # (H-2, W-2, iC, 3, 3)
    scores = np.einsum("hwcab,abco->hwabo", windows, k, optimize=True)
    scores = scores.reshape(out_h, out_w, WINDOW * WINDOW, out_c)  # (H-2, W-2, 9, oC)
    scores -= scores.max(axis=2, keepdims=True)
    np.exp(scores, out=scores)  # unnormalised softmax weights
    weighted = np.einsum("hwpo,po->hwo", scores, v.reshape(WINDOW * WINDOW, out_c))
    return weighted / scores.sum(axis=2)
