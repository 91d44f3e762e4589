"""Helpers for the Q6 notebook (NumPy attention): the photo, the maps, a pixel explorer,
timing, and self-checks. Every function takes *your* functions as arguments; nothing here
computes attention itself.

Self-checks tell you whether an answer is well formed (type, shape, finite); the hidden
tests decide whether it is right. They print and never raise; each test cell asserts the
well-formedness of its own function (through ``selfcheck.collect``), so that nbgrader's
Validate button fails with the self-check's message. The comparison of your two versions
(:func:`compare_versions`) is shown only, never graded.

While nbgrader grades the notebook (``NBGRADER_EXECUTION`` set) the picture, the explorer
and the timing are skipped.

Stable selectors for browser tests (CSS classes added with ``add_class``):

* ``.cs230-q6-explorer``: the explorer (a VBox)
* ``.cs230-q6-row`` / ``.cs230-q6-col``: IntSliders choosing the output pixel (i, j), whose
  3x3 window covers input rows i..i+2 and columns j..j+2
* ``.cs230-q6-weights``: HTML with one 3x3 table of softmax weights per output channel;
  each cell's text is the weight with 3 decimals, each table has ``data-channel="o"``
* ``.cs230-q6-crop``: an Image widget showing the photo around the window (window outlined)
* ``.cs230-q6-status``: HTML saying which of your functions is used, or what to implement
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
from selfcheck import (
    FAIL,
    PASS,
    NotImplementedYet,
    check_finite,
    check_shape,
    not_yet,
    rel_error,
    report,
)
from selfcheck import try_call as _try_call

Attention = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]

IN_CHANNELS = 3  # RGB
OUT_CHANNELS = 5
CHANNEL_NAMES = (
    "0: brightest neighbour, row offset",
    "1: brightest neighbour, column offset",
    "2: darkest neighbour, row offset",
    "3: weight kept on the centre (keys: red minus blue)",
    "4: random keys and values",
)


def autograding() -> bool:
    """True while nbgrader executes the notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


# --- data --------------------------------------------------------------------------------
def load_photo(factor: int = 6) -> np.ndarray:
    """Grace Hopper's portrait from matplotlib's sample data, block-averaged by ``factor``.

    Returns an array of shape (H, W, 3) with values in [0, 1] (600 // factor rows).
    """
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    with cbook.get_sample_data("grace_hopper.jpg") as f:
        photo = mpimg.imread(f, format="jpg").astype(np.float64) / 255.0  # (600, 512, 3)
    height, width = (photo.shape[0] // factor) * factor, (photo.shape[1] // factor) * factor
    blocks = photo[:height, :width].reshape(height // factor, factor, width // factor, factor, 3)
    return blocks.mean(axis=(1, 3))


def demo_kernels(image_shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Hand-made keys k (3, 3, 3, 5) and values v (3, 3, 1, 5) for the pictures.

    After normalisation a pixel is about 1 / sqrt(H W), so the keys are scaled by
    sqrt(H W) to make the softmax choose, not average. Channel meanings: ``CHANNEL_NAMES``.
    """
    height, width = image_shape[0], image_shape[1]
    scale = 4.0 * np.sqrt(height * width)
    offsets = np.arange(3.0) - 1.0  # -1, 0, 1
    k = np.zeros((3, 3, IN_CHANNELS, OUT_CHANNELS))
    v = np.zeros((3, 3, 1, OUT_CHANNELS))
    k[:, :, :, 0] = k[:, :, :, 1] = scale  # attend to bright pixels
    k[:, :, :, 2] = -scale  # attend to dark pixels
    v[:, :, 0, 0] = v[:, :, 0, 2] = offsets[:, None]  # value = row offset
    v[:, :, 0, 1] = offsets[None, :]  # value = column offset
    k[:, :, 0, 3], k[:, :, 2, 3] = 3 * scale, -3 * scale  # red minus blue
    v[1, 1, 0, 3] = 1.0  # value 1 at the centre only
    rng = np.random.default_rng(seed)
    k[:, :, :, 4] = rng.normal(size=(3, 3, IN_CHANNELS)) * scale
    v[:, :, 0, 4] = rng.normal(size=(3, 3))
    return k, v


# --- calling your code ---------------------------------------------------------------------
@contextlib.contextmanager
def _guarded(what: str) -> Iterator[None]:
    """Print (never raise) what went wrong; keep stderr and numpy warnings out of the cell."""
    with np.errstate(all="ignore"), warnings.catch_warnings(), \
            contextlib.redirect_stderr(sys.stdout):
        warnings.simplefilter("ignore")
        try:
            yield
        except NotImplementedYet as exc:
            not_yet(str(exc))
        except Exception as exc:  # noqa: BLE001 - shown to the student
            report(False, f"{what} raised {type(exc).__name__}: {exc}")


def _pick(attention_vectorized: Attention, attention_loops: Attention,
          image: np.ndarray, k: np.ndarray, v: np.ndarray) -> tuple[str, Attention, np.ndarray]:
    """Run your vectorised version, or your loop version if the former is a stub."""
    for func in (attention_vectorized, attention_loops):
        try:
            return func.__name__, func, _try_call(func, image, k, v)
        except NotImplementedYet:
            continue
    raise NotImplementedYet("implement attention_loops (or attention_vectorized) first")


def softmax_weights_at(attention: Attention, image: np.ndarray, k: np.ndarray,
                       i: int, j: int) -> np.ndarray:
    """The 3x3 softmax weights of output pixel (i, j), for every output channel, from *your*
    attention function. Returns shape (3, 3, oC).

    y is a weighted sum of the values, so with v = 1 at window position p and 0 elsewhere,
    y equals the weight of p. Output channel p * oC + o repeats key o with that one-hot v,
    so a single call returns all 9 x oC weights. The call runs on a 3 x 4 image: the window
    plus one column whose values give every channel the norm it has in the whole image,
    so that the window is normalised exactly as in the full image.
    """
    out_c = k.shape[3]
    patch = np.empty((3, 4, image.shape[2]))
    patch[:, :3] = image[i:i + 3, j:j + 3]
    missing = np.sum(image**2, axis=(0, 1)) - np.sum(patch[:, :3] ** 2, axis=(0, 1))
    patch[:, 3] = np.sqrt(np.maximum(missing, 0.0) / 3.0)
    keys = np.tile(k, (1, 1, 1, 9))  # channel p * oC + o holds key o
    one_hot = np.repeat(np.eye(9), out_c, axis=1).reshape(3, 3, 1, 9 * out_c)
    y = np.asarray(attention(patch, keys, one_hot), dtype=np.float64)
    return y[0, 0].reshape(3, 3, out_c)


# --- pictures ------------------------------------------------------------------------------
def show_maps(image: np.ndarray, k: np.ndarray, v: np.ndarray,
              attention_vectorized: Attention, attention_loops: Attention) -> None:
    """Plot the photo and each output channel of your attention layer on it."""
    if autograding():
        print("(maps skipped while autograding)")
        return
    import matplotlib.pyplot as plt

    with _guarded("your attention function"):
        name, _, y = _pick(attention_vectorized, attention_loops, image, k, v)
        fig, axes = plt.subplots(1, 1 + y.shape[2], figsize=(3 * (1 + y.shape[2]), 3.6))
        axes[0].imshow(np.clip(image, 0, 1))
        axes[0].set_title(f"input {image.shape[0]}x{image.shape[1]}x{image.shape[2]}")
        for o, ax in enumerate(axes[1:]):
            shown = ax.imshow(y[:, :, o], cmap="coolwarm")
            ax.set_title(CHANNEL_NAMES[o] if o < len(CHANNEL_NAMES) else f"channel {o}",
                         fontsize=8, wrap=True)
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        for ax in axes:
            ax.axis("off")
        fig.suptitle(f"{name}: output {y.shape[0]}x{y.shape[1]}x{y.shape[2]}")
        fig.tight_layout()
        _display_figure(fig)


def _display_figure(fig: Any) -> None:
    """Show a figure as a PNG output whatever the backend (Agg included), then close it."""
    import matplotlib.pyplot as plt

    try:
        from IPython.display import Image, display
    except ImportError:  # plain Python: no notebook to show it in
        plt.show()
    else:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
        display(Image(data=buffer.getvalue(), format="png"))
    plt.close(fig)


def _crop_png(image: np.ndarray, i: int, j: int, half: int = 8, zoom: int = 12) -> bytes:
    """PNG of the photo around window (i, j), nearest-neighbour zoom, window outlined."""
    import matplotlib.image as mpimg

    top, left = max(i + 1 - half, 0), max(j + 1 - half, 0)
    crop = np.clip(image[top:i + 2 + half, left:j + 2 + half, :3], 0, 1).copy()
    r, c = i - top, j - left
    crop[r:r + 3, c:c + 3] = 0.6 * crop[r:r + 3, c:c + 3] + 0.4 * np.array([1.0, 1.0, 0.0])
    big = np.kron(crop, np.ones((zoom, zoom, 1)))
    buffer = io.BytesIO()
    mpimg.imsave(buffer, big, format="png")
    return buffer.getvalue()


def _weights_html(weights: np.ndarray, y_here: np.ndarray | None) -> str:
    tables = []
    for o in range(weights.shape[2]):
        rows = []
        for a in range(3):
            cells = "".join(
                f'<td style="background: rgba(220, 60, 40, {float(np.clip(w, 0, 1)):.3f}); '
                f'padding: 2px 6px; text-align: right">{w:.3f}</td>'
                for w in weights[a, :, o]
            )
            rows.append(f"<tr>{cells}</tr>")
        caption = CHANNEL_NAMES[o] if o < len(CHANNEL_NAMES) else f"channel {o}"
        value = "" if y_here is None else f"<br>y = {y_here[o]:.3f}"
        tables.append(
            f'<table data-channel="{o}" style="display: inline-table; margin-right: 12px; '
            f'font-family: monospace"><caption style="font-size: 80%">{caption}{value}'
            f'</caption>{"".join(rows)}</table>'
        )
    return "".join(tables)


def pixel_explorer(image: np.ndarray, k: np.ndarray, v: np.ndarray,
                   attention_vectorized: Attention, attention_loops: Attention) -> Any:
    """Sliders for an output pixel; shows your 3x3 softmax weights there, per output channel.

    Returns the widget (display it as a cell's last line), or None while autograding.
    """
    if autograding():
        print("(explorer skipped while autograding)")
        return None
    import ipywidgets as widgets

    status = widgets.HTML().add_class("cs230-q6-status")
    out_h, out_w = image.shape[0] - 2, image.shape[1] - 2
    row = widgets.IntSlider(value=out_h // 3, min=0, max=out_h - 1, description="row i",
                            continuous_update=True).add_class("cs230-q6-row")
    col = widgets.IntSlider(value=out_w // 2, min=0, max=out_w - 1, description="column j",
                            continuous_update=True).add_class("cs230-q6-col")
    weights_box = widgets.HTML().add_class("cs230-q6-weights")
    crop = widgets.Image(format="png").add_class("cs230-q6-crop")
    state: dict[str, Any] = {}
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer), _guarded("your attention function"):
        state["name"], state["func"], state["y"] = _pick(
            attention_vectorized, attention_loops, image, k, v)
    if "func" in state:
        status.value = (f"Weights and maps from your <code>{state['name']}</code>; "
                        "the yellow square on the photo is the 3x3 window.")
    else:
        status.value = f"<b>{FAIL}</b> {buffer.getvalue().strip()[2:]}"

    def update(_: Any = None) -> None:
        i, j = row.value, col.value
        crop.value = _crop_png(image, i, j)
        if "func" not in state:
            return
        message = io.StringIO()
        with contextlib.redirect_stdout(message), _guarded(state["name"]):
            weights = softmax_weights_at(state["func"], image, k, i, j)
            y = np.asarray(state["y"], dtype=np.float64)
            y_here = y[i, j] if y.ndim == 3 and y.shape[:2] == (out_h, out_w) else None
            weights_box.value = (f"<div>output pixel ({i}, {j}), window rows {i}..{i + 2}, "
                                 f"columns {j}..{j + 2}</div>" + _weights_html(weights, y_here))
        if message.getvalue():
            weights_box.value = f"<pre>{message.getvalue()}</pre>"

    row.observe(update, names="value")
    col.observe(update, names="value")
    update()
    return widgets.VBox([status, widgets.HBox([row, col]), widgets.HBox([crop, weights_box])]
                        ).add_class("cs230-q6-explorer")


# --- timing ---------------------------------------------------------------------------------
def time_best(func: Callable[..., Any], *args: Any, repeat: int = 3) -> float:
    """Best wall-clock time in seconds of ``repeat`` calls of ``func(*args)``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


def compare_timing(attention_loops: Attention, attention_vectorized: Attention,
                   image: np.ndarray, k: np.ndarray, v: np.ndarray, repeat: int = 3) -> None:
    """Time your two versions on the same input (best of ``repeat``), CS231n style."""
    if autograding():
        print("(timing skipped while autograding)")
        return
    with _guarded("timing"):
        y_loops = _try_call(attention_loops, image, k, v)
        y_vec = _try_call(attention_vectorized, image, k, v)
        t_loops = time_best(attention_loops, image, k, v, repeat=repeat)
        t_vec = time_best(attention_vectorized, image, k, v, repeat=repeat)
        print(f"input {image.shape}, k {k.shape}, v {v.shape}")
        print(f"attention_loops      took {t_loops:.4f} s (best of {repeat})")
        print(f"attention_vectorized took {t_vec:.4f} s (best of {repeat})")
        print(f"speed-up: {t_loops / max(t_vec, 1e-12):.0f}x")
        print(f"difference (relative error): {rel_error(y_loops, y_vec):.2e}")


# --- visible self-checks ----------------------------------------------------------------------
def _example(height: int = 5, width: int = 6) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.uniform(0, 1, size=(height, width, IN_CHANNELS))
    k = rng.normal(size=(3, 3, IN_CHANNELS, OUT_CHANNELS)) * 10
    v = rng.normal(size=(3, 3, 1, OUT_CHANNELS))
    return image, k, v


def selfcheck_num_params(num_params: Callable[[int, int], int]) -> None:
    with _guarded("num_params"):
        value = _try_call(num_params, IN_CHANNELS, OUT_CHANNELS)
        whole = (isinstance(value, (int, float, np.integer, np.floating))
                 and not isinstance(value, bool) and float(value).is_integer() and value > 0)
        report(whole, f"num_params(3, 5) is a positive whole number (got {type(value).__name__})")


def selfcheck_normalize(normalize_channels: Callable[[np.ndarray], np.ndarray]) -> None:
    with _guarded("normalize_channels"):
        image, _, _ = _example()
        image[:, :, 2] *= 100
        x = _try_call(normalize_channels, image)
        if check_shape(x, image.shape, "normalize_channels(image)") and check_finite(x, "it"):
            norms = np.sqrt(np.sum(np.asarray(x) ** 2, axis=(0, 1)))
            report(bool(np.allclose(norms, 1)), f"channel norms after normalising: {norms}")
        image[:, :, 1] = 0
        x = _try_call(normalize_channels, image)
        check_finite(x, "normalize_channels of an image with an all-zero channel")


def selfcheck_attention(attention: Attention) -> bool:
    """Shape and finiteness of ``attention`` on a 5x6x3 image; returns whether both hold."""
    name = getattr(attention, "__name__", "attention")
    ok = False
    with _guarded(name):
        image, k, v = _example()
        y = _try_call(attention, image, k, v)
        ok = check_shape(y, (3, 4, OUT_CHANNELS), f"{name} on a 5x6x3 image") and check_finite(
            y, "its output")
    return ok


def selfcheck_vectorized(attention_loops: Attention, attention_vectorized: Attention) -> None:
    if selfcheck_attention(attention_vectorized):
        compare_versions(attention_loops, attention_vectorized)


def compare_versions(attention_loops: Attention, attention_vectorized: Attention) -> None:
    """Print the relative error between your two versions (when both run and agree in shape)."""
    with _guarded("the comparison"):
        image, k, v = _example(9, 7)
        try:
            y_vec = _try_call(attention_vectorized, image, k, v)
        except NotImplementedYet:
            return
        try:
            y_loops = _try_call(attention_loops, image, k, v)
        except NotImplementedYet:
            print("(attention_loops is not implemented: nothing to compare with)")
            return
        if np.shape(y_loops) != np.shape(y_vec):
            return
        error = rel_error(y_loops, y_vec)
        report(error < 1e-7, f"relative error between your two versions: {error:.2e}")


__all__ = [
    "CHANNEL_NAMES",
    "PASS",
    "autograding",
    "compare_timing",
    "compare_versions",
    "demo_kernels",
    "load_photo",
    "pixel_explorer",
    "selfcheck_attention",
    "selfcheck_normalize",
    "selfcheck_num_params",
    "selfcheck_vectorized",
    "show_maps",
    "softmax_weights_at",
    "time_best",
]
