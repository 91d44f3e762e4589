"""Q3 helpers: visible self-checks and a live convolution explorer (student side).

The explorer computes everything with *your* functions, passed in as arguments,
so it shows what your code says, right or wrong. Until a function is written it
says which one to implement; a ``ValueError`` raised by your code is shown as a
message, not a traceback.

Usage (the notebook does this for you)::

    explorer = show_explorer(conv_output_shape, conv_num_params, maxpool_output_shape,
                             fc_num_params, network_output)

Stable CSS classes (for browser tests; each widget also has a fixed ``description``):

====================  ===========  ==============================================
class                 widget       what it is
====================  ===========  ==============================================
cs230-q3-explorer     VBox         the whole explorer
cs230-q3-height       IntSlider    input height H ("Input H")
cs230-q3-width        IntSlider    input width W ("Input W")
cs230-q3-channels     Dropdown     input channels C ("Input C")
cs230-q3-filter-size  Dropdown     filter size F ("Filter F")
cs230-q3-stride       IntSlider    stride of the Conv layers ("Stride")
cs230-q3-padding      IntSlider    zero padding of the Conv layers ("Padding")
cs230-q3-filters      Dropdown     number of filters K ("Filters K")
cs230-q3-modules      IntSlider    number of Conv-Pool-ReLU modules ("Modules")
cs230-q3-table        HTML         the per-layer table; inside it
                                   ``table.cs230-q3-layers``, one ``tr.cs230-q3-row``
                                   per layer and ``tr.cs230-q3-total`` for the total
cs230-q3-message      HTML         what to implement, or your function's error
cs230-q3-plot         Image        PNG drawing of the volumes through the network
====================  ===========  ==============================================

Under autograding (``NBGRADER_EXECUTION`` set) :func:`show_explorer` builds nothing.

Each test cell re-runs the self-checks of the functions its part uses (``check_conv_functions``
for parts i-iii, ``check_pool_and_network`` for iv-vi, ``check_fc_function`` for vii) through
``selfcheck.collect`` and asserts them, so nbgrader's Validate button fails with their message.
"""

from __future__ import annotations

import dataclasses
import html
import io
import math
import os
import time
from collections.abc import Callable
from typing import Any

from selfcheck import not_yet, report

Shape = tuple[int, int, int]
NUM_CLASSES = 10
_COLORS = {"input": "#c8d5b9", "conv": "#8fb8de", "max-pool": "#c8d5b9", "fully": "#f4c095"}


# -- Visible self-checks (small cases that are not exam items) -----------------------
def _self_check(func: Callable[..., Any], args: tuple, expected: Any) -> bool:
    call = f"{getattr(func, '__name__', 'function')}{args!r}"
    try:
        got = func(*args)
    except NotImplementedError:
        not_yet(f"{call}: not implemented yet (replace `raise NotImplementedError()`)")
        return False
    except Exception as exc:  # noqa: BLE001 - shown to the student
        return report(False, f"{call} raised {type(exc).__name__}: {exc}")
    ok = _plain(got) == _plain(expected)
    return report(ok, f"{call} returned {got!r}" + ("" if ok else f", expected {expected!r}"))


def _plain(value: Any) -> Any:
    if hasattr(value, "tolist"):  # NumPy arrays and scalars
        value = value.tolist()
    if isinstance(value, (tuple, list)):
        return tuple(_plain(v) for v in value)
    return value


def check_conv_functions(conv_output_shape: Callable, conv_num_params: Callable) -> bool:
    """Small known cases: a 7x7x3 input, 3x3 filters, stride 2 (CS231n's example)."""
    results = [
        _self_check(conv_output_shape, ((7, 7, 3), 3, 2, 0, 4), (3, 3, 4)),
        _self_check(conv_output_shape, ((7, 9, 3), 3, 1, 1, 2), (7, 9, 2)),
        _self_check(conv_num_params, (1, 1, 1), 2),
    ]
    return all(results)


def check_conv_output_shape(conv_output_shape: Callable) -> bool:
    """The conv_output_shape cases of :func:`check_conv_functions`."""
    return all([_self_check(conv_output_shape, ((7, 7, 3), 3, 2, 0, 4), (3, 3, 4)),
                _self_check(conv_output_shape, ((7, 9, 3), 3, 1, 1, 2), (7, 9, 2))])


def check_conv_num_params(conv_num_params: Callable) -> bool:
    """The conv_num_params case of :func:`check_conv_functions`."""
    return _self_check(conv_num_params, (1, 1, 1), 2)


def check_maxpool_output_shape(maxpool_output_shape: Callable) -> bool:
    """The maxpool_output_shape case of :func:`check_pool_and_network`."""
    return _self_check(maxpool_output_shape, ((4, 6, 2), 2, 2), (2, 3, 2))


def check_network_output(network_output: Callable) -> bool:
    """The network_output cases of :func:`check_pool_and_network`."""
    return all([_self_check(network_output, ((8, 8, 1), 1, 1, 0, 2, 1), ((4, 4, 2), 4)),
                _self_check(network_output, ((8, 8, 1), 1, 1, 0, 2, 2), ((2, 2, 2), 10))])


def check_network_functions(maxpool_output_shape: Callable, network_output: Callable,
                            fc_num_params: Callable) -> bool:
    """Small known cases: an 8x8x1 input through 1x1 convolutions with 2 filters."""
    results = [check_pool_and_network(maxpool_output_shape, network_output),
               check_fc_function(fc_num_params)]
    return all(results)


def check_pool_and_network(maxpool_output_shape: Callable, network_output: Callable) -> bool:
    """The part of :func:`check_network_functions` that parts iv-vi depend on."""
    results = [
        _self_check(maxpool_output_shape, ((4, 6, 2), 2, 2), (2, 3, 2)),
        _self_check(network_output, ((8, 8, 1), 1, 1, 0, 2, 1), ((4, 4, 2), 4)),
        _self_check(network_output, ((8, 8, 1), 1, 1, 0, 2, 2), ((2, 2, 2), 10)),
    ]
    return all(results)


def check_fc_function(fc_num_params: Callable) -> bool:
    """The part of :func:`check_network_functions` that part vii depends on."""
    return _self_check(fc_num_params, ((1, 1, 1), 3), 6)


# -- The explorer ---------------------------------------------------------------------
@dataclasses.dataclass
class Row:
    """One layer of the table: its name, output volume and parameter count (None: unknown)."""

    layer: str
    shape: Shape | None
    params: int | None


@dataclasses.dataclass
class Result:
    rows: list[Row]
    messages: list[str]
    network: str = ""


class _Stop(Exception):
    """A student function could not give a value; the message says why."""


def _student(func: Callable | None, name: str, part: str, *args: Any) -> Any:
    if func is None:
        raise _Stop(f"Pass <code>{name}</code> to the explorer to see this.")
    try:
        return func(*args)
    except NotImplementedError:
        raise _Stop(f"Implement <code>{name}</code> ({part}) to see the rest of the table.") \
            from None
    except ValueError as exc:
        raise _Stop(f"<code>{name}{html.escape(repr(args))}</code> says: "
                    f"{html.escape(str(exc))}") from None
    except Exception as exc:  # noqa: BLE001 - shown to the student as a message
        raise _Stop(f"<code>{name}{html.escape(repr(args))}</code> raised "
                    f"{type(exc).__name__}: {html.escape(str(exc))}") from None


def _fmt_shape(shape: Any) -> str:
    try:
        return " x ".join(str(_plain(v)) for v in shape)
    except TypeError:
        return html.escape(repr(shape))


def _drawable(shape: Any) -> Shape | None:
    """``shape`` as three positive numbers, or None when the student's value is not one."""
    try:
        size = tuple(_plain(v) for v in shape)
    except TypeError:
        return None
    ok = len(size) == 3 and all(isinstance(v, (int, float)) and v > 0 for v in size)
    return size if ok else None  # type: ignore[return-value]


class ConvExplorer:
    """Sliders and dropdowns, a per-layer table and a drawing, all from the student's code."""

    def __init__(self, conv_output_shape: Callable, conv_num_params: Callable,
                 maxpool_output_shape: Callable, fc_num_params: Callable | None = None,
                 network_output: Callable | None = None) -> None:
        import ipywidgets as w

        self.funcs = dict(conv_output_shape=conv_output_shape, conv_num_params=conv_num_params,
                          maxpool_output_shape=maxpool_output_shape,
                          fc_num_params=fc_num_params, network_output=network_output)
        style = {"description_width": "80px"}
        self.controls: dict[str, Any] = {
            "height": w.IntSlider(128, 1, 256, description="Input H"),
            "width": w.IntSlider(128, 1, 256, description="Input W"),
            "channels": w.Dropdown(options=[1, 3, 4, 8, 16], value=3, description="Input C"),
            "filter_size": w.Dropdown(options=[1, 2, 3, 4, 5, 7, 9, 11], value=3,
                                      description="Filter F"),
            "stride": w.IntSlider(1, 1, 5, description="Stride"),
            "padding": w.IntSlider(0, 0, 5, description="Padding"),
            "filters": w.Dropdown(options=[1, 2, 4, 8, 16, 32, 64, 128, 256], value=64,
                                  description="Filters K"),
            "modules": w.IntSlider(3, 1, 5, description="Modules"),
        }
        for key, control in self.controls.items():
            control.style = style
            control.add_class(f"cs230-q3-{key.replace('_', '-')}")
            if isinstance(control, w.IntSlider):
                control.continuous_update = False
            control.observe(self._on_change, names="value")
        self.table = w.HTML().add_class("cs230-q3-table")
        self.message = w.HTML().add_class("cs230-q3-message")
        self.plot = w.Image(format="png").add_class("cs230-q3-plot")
        controls = list(self.controls.values())
        self.widget = w.VBox([
            w.HBox([w.VBox(controls[:4]), w.VBox(controls[4:])]),
            self.message, self.table, self.plot,
        ]).add_class("cs230-q3-explorer")
        self._figure: Any = None
        self._artists: list[Any] = []
        self.last_update_seconds = 0.0
        self.update()

    # -- computation --------------------------------------------------------------
    def settings(self) -> dict[str, int]:
        return {key: int(control.value) for key, control in self.controls.items()}

    def compute(self) -> Result:
        """The table's rows from the student's functions, stopping at the first failure."""
        s = self.settings()
        f, stride, pad, k = s["filter_size"], s["stride"], s["padding"], s["filters"]
        shape: Any = (s["height"], s["width"], s["channels"])
        rows = [Row("input", shape, 0)]
        messages: list[str] = []
        fn = self.funcs
        try:
            for m in range(1, s["modules"] + 1):
                try:
                    params = _student(fn["conv_num_params"], "conv_num_params", "part i",
                                      shape[2], f, k)
                except _Stop as stop:
                    params = None
                    if str(stop) not in messages:
                        messages.append(str(stop))
                shape = _student(fn["conv_output_shape"], "conv_output_shape", "part i",
                                 shape, f, stride, pad, k)
                rows.append(Row(f"conv {m}: {f}x{f}, stride {stride}, pad {pad}, {k} filters",
                                shape, params))
                shape = _student(fn["maxpool_output_shape"], "maxpool_output_shape",
                                 "part iv", shape, 2, 2)
                rows.append(Row(f"max-pool {m}: 2x2, stride 2", shape, 0))
                rows.append(Row(f"ReLU {m}", shape, 0))
            fc = _student(fn["fc_num_params"], "fc_num_params", "part vii", shape, NUM_CLASSES)
            rows.append(Row(f"fully connected to {NUM_CLASSES} classes", (1, 1, NUM_CLASSES),
                            fc))
        except _Stop as stop:
            messages.append(str(stop))
        return Result(rows, messages, self._network_line(s, rows))

    def _network_line(self, s: dict[str, int], rows: list[Row]) -> str:
        """What the student's network_output says, compared with the table."""
        if self.funcs["network_output"] is None:
            return ""
        args = ((s["height"], s["width"], s["channels"]), s["filter_size"], s["stride"],
                s["padding"], s["filters"], s["modules"])
        try:
            out = _student(self.funcs["network_output"], "network_output", "part iv", *args)
        except _Stop as stop:
            return str(stop)
        line = (f"<code>network_output{html.escape(repr(args))}</code> returns "
                f"{html.escape(repr(out))}")
        convs = [r for r in rows if r.layer.startswith("conv")]
        if len(convs) == s["modules"] and all(r.params is not None for r in convs) \
                and rows[-1].layer.startswith(("ReLU", "fully")):
            last = [r for r in rows if r.layer.startswith("ReLU")][-1]
            table = (_plain(last.shape), sum(r.params for r in convs))
            agree = _plain(out) == table
            line += " (agrees with the table)" if agree else \
                " (<b>differs from the table above</b>: check how the layers are chained)"
        return line

    # -- display --------------------------------------------------------------------
    def _on_change(self, _change: Any) -> None:
        self.update()

    def update(self) -> None:
        start = time.perf_counter()
        result = self.compute()
        self.table.value = self._table_html(result)
        notes = result.messages + ([result.network] if result.network else [])
        self.message.value = "".join(f"<div>{m}</div>" for m in notes)
        self.plot.value = self._draw(result.rows)
        self.last_update_seconds = time.perf_counter() - start

    @staticmethod
    def _table_html(result: Result) -> str:
        head = ("<tr><th>layer</th><th>output volume (H x W x C)</th>"
                "<th>parameters</th><th>running total</th></tr>")
        body, total = [], 0
        for row in result.rows:
            if row.params is None or total is None:
                total = None
            else:
                total += int(_plain(row.params))
            params = "?" if row.params is None else f"{_plain(row.params):,}"
            running = "?" if total is None else f"{total:,}"
            body.append(f'<tr class="cs230-q3-row"><td>{html.escape(row.layer)}</td>'
                        f"<td>{_fmt_shape(row.shape)}</td><td>{params}</td>"
                        f"<td>{running}</td></tr>")
        body.append(f'<tr class="cs230-q3-total"><td><b>total</b></td><td></td><td></td>'
                    f"<td><b>{'?' if total is None else f'{total:,}'}</b></td></tr>")
        return f'<table class="cs230-q3-layers">{head}{"".join(body)}</table>'

    def _draw(self, rows: list[Row]) -> bytes:
        """Boxes whose height/depth follow H/W and whose thickness grows with log2(C)."""
        from matplotlib.collections import PolyCollection

        if self._figure is None:
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            self._figure = Figure(figsize=(7.5, 2.2), dpi=72)
            FigureCanvasAgg(self._figure)
            self._axes = self._figure.add_axes((0.01, 0.12, 0.98, 0.86))
            self._axes.set_axis_off()
            self._axes.set_ylim(-0.25, 1.45)
        ax = self._axes
        for artist in self._artists:  # cheaper than ax.clear()
            artist.remove()
        self._artists = []
        boxes = [(size, row) for row in rows if not row.layer.startswith("ReLU")
                 for size in [_drawable(row.shape)] if size is not None]
        biggest = max([max(h, w) for (h, w, _), _ in boxes] + [1])
        faces, colors, x = [], [], 0.0
        for (h, w, c), row in boxes:
            size = (h, w, c)
            height, depth = max(h / biggest, 0.02), max(w / biggest, 0.02) * 0.4
            thick = 0.08 + 0.05 * math.log2(max(c, 1))
            color = _COLORS.get(row.layer.split(" ")[0], "#f4c095")
            faces += [
                [(x, 0), (x + thick, 0), (x + thick, height), (x, height)],
                [(x, height), (x + thick, height), (x + thick + depth, height + depth),
                 (x + depth, height + depth)],
                [(x + thick, 0), (x + thick + depth, depth),
                 (x + thick + depth, height + depth), (x + thick, height)],
            ]
            colors += [color] * 3
            self._artists.append(ax.text(x + thick / 2, -0.08, "x".join(map(str, size)),
                                         ha="center", va="top", fontsize=7))
            x += thick + depth + 0.25
        collection = PolyCollection(faces, facecolors=colors, edgecolors="#333333",
                                    linewidths=0.6)
        ax.add_collection(collection)
        self._artists.append(collection)
        ax.set_xlim(-0.1, max(x, 1.0))
        buffer = io.BytesIO()
        self._figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def show_explorer(conv_output_shape: Callable, conv_num_params: Callable,
                  maxpool_output_shape: Callable, fc_num_params: Callable | None = None,
                  network_output: Callable | None = None) -> ConvExplorer | None:
    """Build and display the explorer; under autograding do nothing and return None."""
    if os.environ.get("NBGRADER_EXECUTION"):
        print("(The explorer is not built during autograding.)")
        return None
    explorer = ConvExplorer(conv_output_shape, conv_num_params, maxpool_output_shape,
                            fc_num_params, network_output)
    from IPython.display import display

    display(explorer.widget)
    return explorer
