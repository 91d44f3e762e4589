"""Q3 answer key: output volumes and parameter counts of convolutional networks.

Volumes are ``(H, W, C)`` tuples of Python ints. Sizes use floor division, as
PyTorch does by default: rows or columns that a window cannot cover whole are
dropped. A layer is::

    H_out = (H + 2 * padding - filter_size) // stride + 1

A configuration with no valid output (a non-positive size, a window larger
than its padded input) raises ``ValueError`` saying why.
"""

from __future__ import annotations

Shape = tuple[int, int, int]

__all__ = [
    "Shape",
    "conv_num_params",
    "conv_output_shape",
    "fc_num_params",
    "maxpool_output_shape",
    "network_output",
]


def _positive(value: int, name: str) -> int:
    if isinstance(value, bool) or int(value) != value or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _shape(input_shape: Shape) -> Shape:
    if len(input_shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape!r}")
    h, w, c = input_shape
    return (_positive(h, "input height"), _positive(w, "input width"),
            _positive(c, "input channels"))


def _sliding_size(size: int, window: int, stride: int, padding: int, what: str) -> int:
    """Number of positions of a ``window`` sliding by ``stride`` over ``size + 2*padding``."""
    padded = size + 2 * padding
    if window > padded:
        raise ValueError(
            f"the {what} window ({window}) is larger than its padded input "
            f"({size} + 2*{padding} = {padded}): there is no valid output"
        )
    return (padded - window) // stride + 1


def conv_output_shape(input_shape: Shape, filter_size: int, stride: int, padding: int,
                      num_filters: int) -> Shape:
    """Output volume of a convolution with ``num_filters`` square filters.

    Inputs:
    - input_shape: (H, W, C) of the input volume
    - filter_size: F, each filter is F x F x C
    - stride, padding: the same along height and width (zero padding on both sides)
    - num_filters: K

    Returns (H_out, W_out, K).
    """
    h, w, _ = _shape(input_shape)
    f = _positive(filter_size, "filter_size")
    s = _positive(stride, "stride")
    k = _positive(num_filters, "num_filters")
    if isinstance(padding, bool) or int(padding) != padding or padding < 0:
        raise ValueError(f"padding must be a non-negative integer, got {padding!r}")
    p = int(padding)
    return (_sliding_size(h, f, s, p, "filter"), _sliding_size(w, f, s, p, "filter"), k)


def conv_num_params(in_channels: int, filter_size: int, num_filters: int) -> int:
    """Weights (F * F * C_in per filter) plus one bias per filter: (F*F*C_in + 1) * K."""
    c = _positive(in_channels, "in_channels")
    f = _positive(filter_size, "filter_size")
    k = _positive(num_filters, "num_filters")
    return (f * f * c + 1) * k


def maxpool_output_shape(input_shape: Shape, pool_size: int = 2, stride: int = 2) -> Shape:
    """Output volume of max pooling (no padding, floor mode): (H_out, W_out, C)."""
    h, w, c = _shape(input_shape)
    size = _positive(pool_size, "pool_size")
    s = _positive(stride, "stride")
    return (_sliding_size(h, size, s, 0, "pooling"), _sliding_size(w, size, s, 0, "pooling"), c)


def network_output(input_shape: Shape, filter_size: int, stride: int, padding: int,
                   num_filters: int, num_modules: int = 3) -> tuple[Shape, int]:
    """Output volume and parameter count of ``num_modules`` Conv -> 2x2 MaxPool/2 -> ReLU modules.

    Every Conv layer has the same hyperparameters; each takes the channels of
    the volume before it (C for the first, ``num_filters`` for the others).
    Pooling and ReLU have no parameters.

    Returns ((H_out, W_out, num_filters), total_params).
    """
    shape = _shape(input_shape)
    total = 0
    for _ in range(_positive(num_modules, "num_modules")):
        total += conv_num_params(shape[2], filter_size, num_filters)
        shape = conv_output_shape(shape, filter_size, stride, padding, num_filters)
        shape = maxpool_output_shape(shape, 2, 2)
    return shape, total


def fc_num_params(input_shape: Shape, num_classes: int) -> int:
    """Parameters of a fully connected layer on the flattened volume: (H*W*C + 1) * classes."""
    h, w, c = _shape(input_shape)
    return (h * w * c + 1) * _positive(num_classes, "num_classes")
