"""Q4 helpers (student side): visible self-checks and the L1 versus L2 explorer.

The explorer has three sliders (alpha, H, w*) and two linked plots:

* left: the one-weight objectives 1/2 H (w - w*)^2 + alpha |w| (L1) and
  1/2 H (w - w*)^2 + (alpha/2) w^2 (L2), each with its minimiser marked. The L1
  minimiser comes from *your* ``l1_solution``, the L2 one from ``l2_solution``;
  if your marker is not at the lowest point of the L1 curve, your function is wrong.
* right: the map w* -> w of both solutions over a range of w*; the band where
  your ``l1_solution`` returns exactly 0 is shaded.

Until ``l1_solution`` is written the L1 curves are missing and the plots say why.
Nothing here knows the answer: every L1 value shown is computed by your function.

The figure is drawn with Matplotlib's Agg canvas (no interactive backend or
front-end extension needed) and sent to an ``ipywidgets.Image`` as PNG. An update
redraws only the moving artists over a cached background (``set_data`` plus
blitting), well under 0.1 s. Under nbgrader autograding the explorer is not built.

Stable CSS classes, for browser tests (ipywidgets ``add_class``):

==========================  ====================================================
``.cs230-q4-explorer``      the whole explorer (a VBox)
``.cs230-q4-alpha``         the alpha slider (FloatSlider, description "alpha")
``.cs230-q4-H``             the H slider (FloatSlider, description "H")
``.cs230-q4-wstar``         the w* slider (FloatSlider, description "w*")
``.cs230-q4-plot``          the figure (Image widget, PNG)
``.cs230-q4-minimiser``     text "L1 minimiser w = 0.5000" (from your l1_solution),
                            or "L1 minimiser: l1_solution is not implemented yet"
``.cs230-q4-l2-minimiser``  text "L2 minimiser w = 0.7500"
``.cs230-q4-status``        why the L1 curve is missing (empty when it is shown)
==========================  ====================================================

Slider inputs in the DOM: ``.cs230-q4-alpha .widget-readout`` holds the value
(editable: type a number and press Enter).
"""

from __future__ import annotations

import html
import io
import os
import textwrap
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from PIL import Image
from selfcheck import check_finite, check_shape, try_call

Solver = Callable[[np.ndarray, np.ndarray, float], Any]

W_RANGE = 4.0  # both plots show w and w* in [-W_RANGE, W_RANGE]
N_GRID = 401
L1_COLOR, L2_COLOR = "tab:blue", "tab:orange"


def autograding() -> bool:
    """True while nbgrader autogrades or validates this notebook."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))


# -- visible self-checks (well-formedness only) ---------------------------------
def selfcheck_grad(l1_regularized_grad: Callable[..., Any]) -> bool:
    """Check that ``l1_regularized_grad`` returns a finite array of the input's shape."""
    rng = np.random.default_rng(0)
    grad_J, w = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    out = try_call(l1_regularized_grad, grad_J, w, 0.5)
    return check_shape(out, (2, 3), "gradient") and check_finite(out, "gradient")


def selfcheck_solution(l1_solution: Callable[..., Any]) -> bool:
    """Check that ``l1_solution`` returns a finite array of the input's shape."""
    rng = np.random.default_rng(1)
    w_star, H = rng.normal(size=(3, 4)), rng.uniform(0.5, 2.0, size=(3, 4))
    out = try_call(l1_solution, w_star, H, 0.5)
    return check_shape(out, (3, 4), "w") and check_finite(out, "w")


# -- the explorer ----------------------------------------------------------------
def _describe_failure(exc: BaseException) -> str:
    if isinstance(exc, NotImplementedError):
        return "l1_solution is not implemented yet: write it in part ii to see the L1 curves."
    return f"l1_solution raised {type(exc).__name__}: {exc}"


class L1Explorer:
    """Sliders for alpha, H and w*, and the two linked plots (see the module docstring).

    ``l1_solution(w_star, H_diag, alpha)`` and ``l2_solution`` are called with
    arrays of shape (N_GRID + 1,). After each update ``l1_value`` / ``l2_value``
    hold the marked minimisers (``l1_value`` is None when the L1 curve is missing),
    ``message`` the reason it is missing, ``last_update_seconds`` the time taken.
    """

    def __init__(self, l1_solution: Solver, l2_solution: Solver, *, alpha: float = 1.0,
                 H: float = 1.0, w_star: float = 1.5) -> None:
        import ipywidgets as widgets

        self.l1_solution = l1_solution
        self.l2_solution = l2_solution
        self.grid = np.linspace(-W_RANGE, W_RANGE, N_GRID)
        self.l1_value: float | None = None
        self.l2_value: float | None = None
        self.message = ""
        self.last_update_seconds = 0.0

        def slider(description: str, css: str, value: float, lo: float, hi: float
                   ) -> widgets.FloatSlider:
            s = widgets.FloatSlider(value=value, min=lo, max=hi, step=0.05,
                                    description=description, readout_format=".2f",
                                    continuous_update=True)
            s.add_class(css)
            s.observe(self.update, names="value")
            return s

        self.alpha_slider = slider("alpha", "cs230-q4-alpha", alpha, 0.0, 3.0)
        self.H_slider = slider("H", "cs230-q4-H", H, 0.2, 5.0)
        self.w_star_slider = slider("w*", "cs230-q4-wstar", w_star, -W_RANGE, W_RANGE)
        self.image = widgets.Image(format="png")
        self.image.add_class("cs230-q4-plot")
        self.minimiser = widgets.HTML()
        self.minimiser.add_class("cs230-q4-minimiser")
        self.l2_minimiser = widgets.HTML()
        self.l2_minimiser.add_class("cs230-q4-l2-minimiser")
        self.status = widgets.HTML()
        self.status.add_class("cs230-q4-status")
        self.widget = widgets.VBox([
            widgets.HBox([self.alpha_slider, self.H_slider, self.w_star_slider]),
            widgets.HBox([self.minimiser, widgets.HTML("&nbsp;|&nbsp;"), self.l2_minimiser]),
            self.status,
            self.image,
        ])
        self.widget.add_class("cs230-q4-explorer")
        self._build_figure()
        self.update()

    # -- figure ------------------------------------------------------------------
    def _build_figure(self) -> None:
        fig = Figure(figsize=(9.5, 3.8), dpi=80)
        self.canvas = FigureCanvasAgg(fig)
        self.fig = fig
        ax_obj, ax_map = fig.subplots(1, 2)
        self.ax_obj, self.ax_map = ax_obj, ax_map

        ax_obj.set_xlim(-W_RANGE, W_RANGE)
        ax_obj.set_yticks([])  # y moves with the sliders; only the minimiser matters
        ax_obj.set_xlabel("w")
        ax_obj.set_title("objective for one weight")
        self.obj_l1, = ax_obj.plot([], [], color=L1_COLOR, lw=2,
                                   label=r"$\frac{1}{2}H(w-w^*)^2+\alpha|w|$")
        self.obj_l2, = ax_obj.plot([], [], color=L2_COLOR, lw=2,
                                   label=r"$\frac{1}{2}H(w-w^*)^2+\frac{\alpha}{2}w^2$")
        self.obj_star = ax_obj.axvline(0.0, color="gray", ls=":", lw=1)
        self.obj_l1_min, = ax_obj.plot([], [], "o", color=L1_COLOR, ms=8)
        self.obj_l2_min, = ax_obj.plot([], [], "s", color=L2_COLOR, ms=7)

        ax_map.set_xlim(-W_RANGE, W_RANGE)
        ax_map.set_ylim(-W_RANGE, W_RANGE)
        ax_map.set_xlabel("w* (unregularised optimum)")
        ax_map.set_ylabel("w (regularised optimum)")
        ax_map.set_title("w* -> w")
        ax_map.plot([-W_RANGE, W_RANGE], [-W_RANGE, W_RANGE], color="gray", ls="--", lw=1,
                    label="no penalty")
        ax_map.axhline(0.0, color="lightgray", lw=0.8)
        self.zero_band = Rectangle((0.0, -W_RANGE), 0.0, 2 * W_RANGE, color=L1_COLOR,
                                   alpha=0.12, lw=0, label="your L1 w is exactly 0")
        ax_map.add_patch(self.zero_band)
        self.map_l1, = ax_map.plot([], [], color=L1_COLOR, lw=2, label="L1 (your l1_solution)")
        self.map_l2, = ax_map.plot([], [], color=L2_COLOR, lw=2, label="L2")
        self.map_star = ax_map.axvline(0.0, color="gray", ls=":", lw=1)
        self.map_l1_pt, = ax_map.plot([], [], "o", color=L1_COLOR, ms=8)
        self.map_l2_pt, = ax_map.plot([], [], "s", color=L2_COLOR, ms=7)

        text = {"ha": "center", "va": "center", "fontsize": 9,
                "bbox": {"boxstyle": "round", "fc": "lightyellow", "ec": "gray"}}
        self.obj_text = ax_obj.text(0.5, 0.55, "", transform=ax_obj.transAxes, **text)
        self.map_text = ax_map.text(0.5, 0.2, "", transform=ax_map.transAxes, **text)
        self.obj_legend = ax_obj.legend(loc="upper center", fontsize=8, framealpha=0.9)
        self.map_legend = ax_map.legend(loc="upper left", fontsize=8, framealpha=0.9)
        fig.tight_layout()

        self._moving = [
            (ax_obj, [self.obj_l1, self.obj_l2, self.obj_star, self.obj_l1_min,
                      self.obj_l2_min, self.obj_text]),
            (ax_map, [self.zero_band, self.map_l1, self.map_l2, self.map_star, self.map_l1_pt,
                      self.map_l2_pt, self.map_text]),
        ]
        for _, artists in self._moving:
            for artist in artists:
                artist.set_animated(True)
        # Cache the legends as pixels (drawing their text each time is the slow part),
        # then the static background without them; _render pastes the legends on top.
        self.canvas.draw()
        self._legends = [self.canvas.copy_from_bbox(legend.get_window_extent().padded(2))
                         for legend in (self.obj_legend, self.map_legend)]
        self.obj_legend.set_visible(False)
        self.map_legend.set_visible(False)
        self.canvas.draw()  # axes, ticks, labels, the diagonal
        self._background = self.canvas.copy_from_bbox(fig.bbox)

    # -- solutions ----------------------------------------------------------------
    def _solve(self, solver: Solver, w_star: np.ndarray, H: float, alpha: float
               ) -> np.ndarray:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = solver(w_star.copy(), np.full_like(w_star, H), alpha)
        values = np.asarray(out, dtype=np.float64)
        if values.shape != w_star.shape:
            raise ValueError(
                f"returned shape {values.shape} for inputs of shape {w_star.shape}; it must "
                "work element by element on arrays"
            )
        return values

    def update(self, change: Any = None) -> None:
        """Recompute both solutions for the slider values and redraw the moving parts."""
        start = time.perf_counter()
        alpha = float(self.alpha_slider.value)
        H = float(self.H_slider.value)
        w_star = float(self.w_star_slider.value)
        inputs = np.append(self.grid, w_star)

        l2 = self._solve(self.l2_solution, inputs, H, alpha)
        try:
            l1: np.ndarray | None = self._solve(self.l1_solution, inputs, H, alpha)
            self.message = ""
        except Exception as exc:  # noqa: BLE001 - shown to the student, never raised
            l1 = None
            self.message = _describe_failure(exc)
        self.l2_value = float(l2[-1])
        self.l1_value = None if l1 is None else float(l1[-1])
        self._set_artists(alpha, H, w_star, l1, l2)
        self._set_text()
        self._render()
        self.last_update_seconds = time.perf_counter() - start

    def _set_artists(self, alpha: float, H: float, w_star: float,
                     l1: np.ndarray | None, l2: np.ndarray) -> None:
        w = self.grid
        quad = 0.5 * H * (w - w_star) ** 2
        f1 = quad + alpha * np.abs(w)
        f2 = quad + 0.5 * alpha * w**2

        def f1_at(x: float) -> float:
            return 0.5 * H * (x - w_star) ** 2 + alpha * abs(x)

        def f2_at(x: float) -> float:
            return 0.5 * H * (x - w_star) ** 2 + 0.5 * alpha * x**2

        self.obj_l2.set_data(w, f2)
        self.obj_l2_min.set_data([self.l2_value], [f2_at(self.l2_value)])
        self.obj_star.set_xdata([w_star, w_star])
        self.map_star.set_xdata([w_star, w_star])
        self.map_l2.set_data(w, l2[:-1])
        self.map_l2_pt.set_data([w_star], [self.l2_value])

        shown = l1 is not None and bool(np.all(np.isfinite(l1)))
        for artist in (self.obj_l1, self.obj_l1_min, self.map_l1, self.map_l1_pt):
            artist.set_visible(shown)
        self.obj_l1.set_data(w, f1)
        self.obj_l1.set_visible(True)  # the L1 objective itself is part of the question
        if shown:
            assert l1 is not None and self.l1_value is not None
            self.obj_l1_min.set_data([self.l1_value], [f1_at(self.l1_value)])
            self.map_l1.set_data(w, l1[:-1])
            self.map_l1_pt.set_data([w_star], [self.l1_value])
        elif l1 is not None and not self.message:
            self.message = "l1_solution returned NaN or inf for some inputs."
        self._set_zero_band(l1[:-1] if shown and l1 is not None else None)

        # y range of the objective plot: from the lowest point to the values at 0 and w*
        lo = min(float(f1.min()), float(f2.min()))
        hi = max(f1_at(0.0), f1_at(w_star), f2_at(0.0), f2_at(w_star), lo + 0.5)
        pad = 0.15 * (hi - lo)
        self.ax_obj.set_ylim(lo - pad, hi + 2 * pad)

    def _set_zero_band(self, l1_map: np.ndarray | None) -> None:
        """Shade the interval of w* around 0 where the student's L1 map is exactly 0."""
        if l1_map is None:
            self.zero_band.set_visible(False)
            return
        zero = l1_map == 0.0
        centre = N_GRID // 2
        if not zero[centre]:
            self.zero_band.set_visible(False)
            return
        left = centre
        while left > 0 and zero[left - 1]:
            left -= 1
        right = centre
        while right < N_GRID - 1 and zero[right + 1]:
            right += 1
        self.zero_band.set_x(self.grid[left])
        self.zero_band.set_width(self.grid[right] - self.grid[left])
        self.zero_band.set_visible(True)

    def _set_text(self) -> None:
        plot_message = textwrap.fill(self.message, 42) + "\n(no L1 minimiser, no L1 curve)"
        self.obj_text.set_text(plot_message)
        self.map_text.set_text(plot_message)
        self.obj_text.set_visible(bool(self.message))
        self.map_text.set_visible(bool(self.message))
        self.status.value = (
            f"<span style='color:#a33'>{html.escape(self.message)}</span>" if self.message else ""
        )
        self.minimiser.value = (
            f"L1 minimiser w = {self.l1_value:.4f}" if self.l1_value is not None
            and not self.message else f"L1 minimiser: {html.escape(self.message)}"
        )
        self.l2_minimiser.value = f"L2 minimiser w = {self.l2_value:.4f}"

    def _render(self) -> None:
        self.canvas.restore_region(self._background)
        for ax, artists in self._moving:
            for artist in artists:
                if artist.get_visible() and artist is not self.obj_text \
                        and artist is not self.map_text:
                    ax.draw_artist(artist)
        for legend in self._legends:
            self.canvas.restore_region(legend)
        for ax, text in ((self.ax_obj, self.obj_text), (self.ax_map, self.map_text)):
            if text.get_visible():
                ax.draw_artist(text)
        rgba = np.asarray(self.canvas.buffer_rgba())
        buffer = io.BytesIO()
        Image.fromarray(rgba[..., :3]).save(buffer, format="png", compress_level=1)
        self.image.value = buffer.getvalue()


def show_explorer(l1_solution: Solver, l2_solution: Solver) -> L1Explorer | None:
    """Build and display the explorer; skipped (returns None) while autograding."""
    if autograding():
        print("The explorer is not built while autograding.")
        return None
    from IPython.display import display

    explorer = L1Explorer(l1_solution, l2_solution)
    display(explorer.widget)
    return explorer
