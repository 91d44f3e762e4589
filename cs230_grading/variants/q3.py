"""Q3 sample submissions: each listed mistake, and an unimplemented function.

With credit per sub-answer and errors carried forward (the default), each mistake costs the
sub-answers it breaks (``lost``) once; the strict switch is tested in process
(tests/test_credit_per_sub_answer.py).

``model`` (correct) and ``blank`` (as released) are added by the variants test.
"""

from __future__ import annotations

from . import Variant

NB = "q3_conv_architectures"
NETWORK_PARTS = ("q3_iv_test", "q3_v_test", "q3_vi_test")

CEIL_POOL = '''import math

def maxpool_output_shape(input_shape, pool_size=2, stride=2):
    height, width, channels = input_shape
    return (math.ceil((height - pool_size) / stride) + 1,
            math.ceil((width - pool_size) / stride) + 1, channels)'''

NO_BIAS = '''def conv_num_params(in_channels, filter_size, num_filters):
    return filter_size * filter_size * in_channels * num_filters'''

FIRST_CHANNELS = '''def network_output(input_shape, filter_size, stride, padding, num_filters,
                   num_modules=3):
    shape, total = input_shape, 0
    for _ in range(num_modules):
        total += conv_num_params(input_shape[2], filter_size, num_filters)
        shape = conv_output_shape(shape, filter_size, stride, padding, num_filters)
        shape = maxpool_output_shape(shape, 2, 2)
    return shape, total'''

FC_NO_BIAS = '''def fc_num_params(input_shape, num_classes):
    height, width, channels = input_shape
    return height * width * channels * num_classes'''

UNIMPLEMENTED = '''def network_output(input_shape, filter_size, stride, padding, num_filters,
                   num_modules=3):
    # YOUR CODE HERE
    raise NotImplementedError()'''

CONV_CEIL = '''import math

def conv_output_shape(input_shape, filter_size, stride, padding, num_filters):
    height, width, _ = input_shape
    return (math.ceil((height + 2 * padding - filter_size) / stride) + 1,
            math.ceil((width + 2 * padding - filter_size) / stride) + 1, num_filters)'''

CARRIED = "graded with a correct one"
BOTH = ("volume", "count")

#: Each mistake costs the sub-answers it breaks (``lost``), once: the later parts that use the
#: function are graded with the key's version swapped in and say so (``notes``).
VARIANTS: list[Variant] = [
    Variant(NB, "ceil_pooling", "rounds up in the pooling layers (part iv gives 15x15x64)",
            answers={"q3_maxpool_output_shape": CEIL_POOL},
            lost={"q3_iv_test": {"volume": "ceil mode"}},
            notes={"q3_v_test": CARRIED, "q3_vi_test": CARRIED}),
    Variant(NB, "no_bias", "forgets the Conv biases (1728 instead of 1792)",
            answers={"q3_conv_num_params": NO_BIAS},
            lost={gid: {"count": "forget the bias"}
                  for gid in ("q3_i_test", "q3_ii_test", "q3_iii_test")},
            notes={gid: "your `conv_num_params` is wrong" for gid in NETWORK_PARTS}),
    Variant(NB, "conv_ceil", "rounds up in the Conv layers (right whenever the stride divides)",
            answers={"q3_conv_output_shape": CONV_CEIL},
            lost={gid: {"volume": "round up (ceil)"}
                  for gid in ("q3_i_test", "q3_ii_test", "q3_iii_test")},
            notes={gid: "your `conv_output_shape` is wrong" for gid in NETWORK_PARTS}),
    Variant(NB, "first_layer_channels", "uses the image's 3 channels for every Conv layer",
            answers={"q3_network_output": FIRST_CHANNELS},
            lost={gid: {"count": "first layer's input channels"} for gid in NETWORK_PARTS}),
    Variant(NB, "fc_no_bias", "forgets the biases of the fully connected layer",
            answers={"q3_fc_num_params": FC_NO_BIAS},
            lost={"q3_vii_test": {"count": "forget the bias"}}),
    Variant(NB, "printed_key_i", "copies the printed key's 14x14x64 for part i (erratum E1)",
            answers={"q3_i_answer": "part_i = ((14, 14, 64), 1792)"},
            lost={"q3_i_test": {"volume": "erratum E1"}}),
    Variant(NB, "largest_fc", "picks the architecture with the largest last volume in part vii",
            answers={"q3_vii_answer": 'part_vii = ("iv", fc_num_params(part_iv[0], 10))'},
            lost={"q3_vii_test": {"architecture": "another architecture"}}),
    Variant(NB, "unimplemented", "leaves network_output as the stub",
            answers={"q3_network_output": UNIMPLEMENTED},
            lost={**{gid: dict.fromkeys(BOTH, "not implemented") for gid in NETWORK_PARTS},
                  "q3_vii_test": {"architecture": "not defined", "count": "not defined"}}),
]
