"""Two sample students who copied Q3's code: one wrote it, the other renamed the variables.

The code is correct and is not the model answer's (a student's own style: ``int(x /
stride)`` for the floor, ``volume`` and ``params`` for the running shape and count), so both
score full marks on Q3, derived from the points metadata like every variant. The copy keeps
the original's structure and renames every local variable and rewrites the comments, which
MOSS-style winnowing sees through (:mod:`cs230_grading.similarity`): the report's similar
answers then show code, as they would for a real class.
"""

from __future__ import annotations

import re

from . import Variant

NOTEBOOK = "q3_conv_architectures"

ORIGINAL: dict[str, str] = {
    "q3_conv_output_shape": '''def conv_output_shape(input_shape, filter_size, stride, padding,
                      num_filters):
    h, w, c = input_shape
    # the filter has to fit inside the padded image
    if filter_size > h + 2 * padding or filter_size > w + 2 * padding:
        raise ValueError("the filter is bigger than the padded input")
    out_h = int((h + 2 * padding - filter_size) / stride) + 1
    out_w = int((w + 2 * padding - filter_size) / stride) + 1
    return (out_h, out_w, num_filters)''',
    "q3_conv_num_params": '''def conv_num_params(in_channels, filter_size, num_filters):
    weights = filter_size ** 2 * in_channels * num_filters
    biases = num_filters  # one bias per filter
    return weights + biases''',
    "q3_maxpool_output_shape": '''def maxpool_output_shape(input_shape, pool_size=2, stride=2):
    h, w, c = input_shape
    if pool_size > h or pool_size > w:
        raise ValueError("the pooling window does not fit")
    out_h = int((h - pool_size) / stride) + 1
    out_w = int((w - pool_size) / stride) + 1
    return (out_h, out_w, c)''',
    "q3_network_output": '''def network_output(input_shape, filter_size, stride, padding,
                   num_filters, num_modules=3):
    volume = input_shape
    params = 0
    for i in range(num_modules):
        # conv, then 2x2 max pool with stride 2 (relu keeps the shape)
        params = params + conv_num_params(volume[2], filter_size, num_filters)
        volume = conv_output_shape(volume, filter_size, stride, padding, num_filters)
        volume = maxpool_output_shape(volume, 2, 2)
    return volume, params''',
    "q3_fc_num_params": '''def fc_num_params(input_shape, num_classes):
    h, w, c = input_shape
    inputs = h * w * c
    return inputs * num_classes + num_classes  # weights + biases''',
}

#: the copier's renames (local variables only: the graders call the functions by keyword)
RENAMES = {"h": "rows", "w": "cols", "c": "depth", "out_h": "new_rows", "out_w": "new_cols",
           "weights": "n_w", "biases": "n_b", "volume": "current", "params": "total",
           "i": "layer", "inputs": "flat"}
COMMENTS = {"# the filter has to fit inside the padded image": "# check that it fits",
            "# one bias per filter": "# bias for each filter",
            "# conv, then 2x2 max pool with stride 2 (relu keeps the shape)":
                "# each module: conv -> pool -> relu",
            "# weights + biases": "# plus bias"}


def renamed(source: str) -> str:
    """The copy: every local variable renamed and every comment reworded."""
    for old, new in COMMENTS.items():
        source = source.replace(old, new)
    return re.sub(r"\b(" + "|".join(map(re.escape, RENAMES)) + r")\b",
                  lambda m: RENAMES[m.group(1)], source)


def original() -> Variant:
    return Variant(NOTEBOOK, "own_style", "correct code in a student's own style",
                   answers=ORIGINAL)


def copy() -> Variant:
    return Variant(NOTEBOOK, "own_style_copied", "the same code, variables renamed",
                   answers={gid: renamed(src) for gid, src in ORIGINAL.items()})
