"""Sample submissions of Q6 (NumPy attention), each with the messages it must get.

The model answers (added by the variants test) are the correct loop version and the
correct vectorised one. Every variant below starts from them and replaces some answer cells.
"""

from __future__ import annotations

from . import Variant

NB = "q6_numpy_attention"

_VECTORIZED_HEAD = '''def attention_vectorized(image, k, v):
    from numpy.lib.stride_tricks import sliding_window_view

    x = normalize_channels(image)
    windows = sliding_window_view(x, (3, 3), axis=(0, 1))
    scores = np.einsum("hwcab,abco->hwabo", windows, k, optimize=True)
'''

_LOOPS_HEAD = '''def attention_loops(image, k, v):
    x = normalize_channels(image)
    out_h, out_w, out_c = x.shape[0] - 2, x.shape[1] - 2, k.shape[3]
    y = np.zeros((out_h, out_w, out_c))
    for i in range(out_h):
        for j in range(out_w):
            window = x[i:i + 3, j:j + 3, :]
            for o in range(out_c):
                scores = np.sum(window * k[:, :, :, o], axis=2)
'''

GLOBAL_NORM = '''def normalize_channels(image):
    return image / np.sqrt(np.sum(image**2))
'''

LOOPS_SOFTMAX_ONE_AXIS = _LOOPS_HEAD + '''\
                weights = np.exp(scores - np.max(scores, axis=0))
                weights /= np.sum(weights, axis=0)
                y[i, j, o] = np.sum(weights * v[:, :, 0, o])
    return y
'''

VECTORIZED_SOFTMAX_OVER_CHANNELS = _VECTORIZED_HEAD + '''\
    weights = np.exp(scores - scores.max(axis=-1, keepdims=True))
    weights /= weights.sum(axis=-1, keepdims=True)
    return np.einsum("hwabo,abo->hwo", weights, v[:, :, 0, :])
'''

LOOPS_KEEP_HW = '''def attention_loops(image, k, v):
    x = np.pad(normalize_channels(image), ((1, 1), (1, 1), (0, 0)))  # "same" padding
    height, width, out_c = image.shape[0], image.shape[1], k.shape[3]
    y = np.zeros((height, width, out_c))
    for i in range(height):
        for j in range(width):
            window = x[i:i + 3, j:j + 3, :]
            for o in range(out_c):
                scores = np.sum(window * k[:, :, :, o], axis=2)
                weights = np.exp(scores - np.max(scores))
                y[i, j, o] = np.sum(weights * v[:, :, 0, o]) / np.sum(weights)
    return y
'''

LOOPS_NO_MAX = _LOOPS_HEAD + '''\
                weights = np.exp(scores)
                weights /= np.sum(weights)
                y[i, j, o] = np.sum(weights * v[:, :, 0, o])
    return y
'''

VECTORIZED_NO_MAX = _VECTORIZED_HEAD + '''\
    weights = np.exp(scores)
    weights /= weights.sum(axis=(2, 3), keepdims=True)
    return np.einsum("hwabo,abo->hwo", weights, v[:, :, 0, :])
'''

VECTORIZED_COMPREHENSION = '''def attention_vectorized(image, k, v):
    x = normalize_channels(image)
    out_h, out_w = x.shape[0] - 2, x.shape[1] - 2

    def at(i, j):
        scores = np.einsum("abc,abco->abo", x[i:i + 3, j:j + 3], k)
        weights = np.exp(scores - scores.max(axis=(0, 1)))
        return np.sum(weights * v[:, :, 0, :], axis=(0, 1)) / np.sum(weights, axis=(0, 1))

    return np.array([[at(i, j) for j in range(out_w)] for i in range(out_h)])
'''

VECTORIZED_CALLS_LOOPS = '''def attention_vectorized(image, k, v):
    return attention_loops(image, k, v)
'''

VECTORIZED_STUB = '''def attention_vectorized(image, k, v):
    # YOUR CODE HERE
    raise NotImplementedError()
'''

NUM_PARAMS_KEYS_ONLY = '''def num_params(in_channels, out_channels):
    return 9 * in_channels * out_channels
'''

VARIANTS: list[Variant] = [
    Variant(
        NB, "global_norm", "one norm for the whole image instead of one per channel",
        answers={"q6_normalize_channels": GLOBAL_NORM},
        failing={"q6_normalize_test": "divide by one global norm"},
        # errors carried forward: the layers are graded with the key's normalize_channels
        notes={"q6_loops_test": "your `normalize_channels` is wrong",
               "q6_vectorized_test": "your `normalize_channels` is wrong"},
    ),
    Variant(
        NB, "loops_softmax_one_axis", "softmax over the rows of the window only",
        answers={"q6_attention_loops": LOOPS_SOFTMAX_ONE_AXIS},
        failing={"q6_loops_test": "not over one row or one column"},
    ),
    Variant(
        NB, "vectorized_softmax_over_channels", "softmax over the output channels",
        answers={"q6_attention_vectorized": VECTORIZED_SOFTMAX_OVER_CHANNELS},
        failing={"q6_vectorized_test": "not over the output channels"},
    ),
    Variant(
        NB, "keep_hw", "zero padding keeps the printed H x W x oC (erratum E9)",
        answers={"q6_attention_loops": LOOPS_KEEP_HW},
        failing={"q6_loops_test": "E9"},
    ),
    Variant(
        NB, "no_max_subtraction", "softmax without subtracting the maximum, in both versions",
        answers={"q6_attention_loops": LOOPS_NO_MAX,
                 "q6_attention_vectorized": VECTORIZED_NO_MAX},
        failing={"q6_loops_test": "subtract the maximum",
                 "q6_vectorized_test": "subtract the maximum"},
    ),
    Variant(
        NB, "loops_in_comprehension", "the per-pixel loop hidden in a list comprehension",
        answers={"q6_attention_vectorized": VECTORIZED_COMPREHENSION},
        failing={"q6_vectorized_test": "list comprehension"},
    ),
    Variant(
        NB, "vectorized_calls_loops", "the 'vectorised' function calls the loop version",
        answers={"q6_attention_vectorized": VECTORIZED_CALLS_LOOPS},
        failing={"q6_vectorized_test": "attention_vectorized -> attention_loops"},
    ),
    Variant(
        NB, "vectorized_unimplemented", "the extra credit left as released",
        answers={"q6_attention_vectorized": VECTORIZED_STUB},
        failing={"q6_vectorized_test": "not attempted (extra credit, optional)"},
    ),
    Variant(
        NB, "num_params_keys_only", "counts k but forgets the value kernel v",
        answers={"q6_num_params": NUM_PARAMS_KEYS_ONLY},
        failing={"q6_num_params_test": "forget the value kernel"},
    ),
]
