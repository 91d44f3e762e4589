"""A submission whose outputs and answers carry every kind of active content, and a checker.

Each payload, if a browser ran it, would set the page title to ``PWNED``, push its label
onto ``window.cs230Pwned`` and ``POST /api/kernels`` (a kernel, that is any code, as the
TA). :func:`payload_submission` builds a Q2 notebook (the TA's manual-grading page) with:

* Q2 answers typed as markdown with raw HTML, a ``javascript:`` link, SVG with a script,
  ``<style>`` and ``<iframe>``, a form and an object; two honest answers with math;
* a code cell the student added that displays each output payload of :data:`OUTPUTS`,
  the issue's ``display(HTML(...))`` / ``display(Javascript(...))``, and an ipywidgets
  ``HTML`` widget whose value carries a handler (a widget view plus widget state);
* a raw cell in HTML format and a markdown cell the student added.

:func:`active_labels` lists the payloads that would run in a page (by an HTML5 parse of it:
inline scripts, ``on*`` handlers, ``javascript:`` URLs, frames, objects, forms, ``<style>``,
``<base>``, SVG scripts).
"""

from __future__ import annotations

import base64
import copy
import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_output, new_raw_cell

from cs230_grading.notebooks import fill_answers
from cs230_grading.variants import model

Q2 = "q2_short_answers"
STUDENT = "adv-active-content"
MARK = "cs230Pwned"
#: 1x1 PNG
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


def js(label: str) -> str:
    """The payload: title, a global, and a request for a kernel."""
    return (f"document.title='PWNED';(window.{MARK}=window.{MARK}||[]).push('{label}');"
            "fetch('/api/kernels',{method:'POST'})")


#: label -> (mime bundle, output metadata) displayed by the student's code cell
OUTPUTS: dict[str, tuple[dict, dict]] = {
    "out-img-onerror": ({"text/html": f'<img src=x onerror="{js("out-img-onerror")}">'}, {}),
    "out-script": ({"text/html": f"<script>{js('out-script')}</script>"}, {}),
    "out-javascript": ({"application/javascript": js("out-javascript")}, {}),
    "out-svg-script": ({"image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg">'
                        f'<script>{js("out-svg-script")}</script></svg>'}, {}),
    "out-svg-onload": ({"text/html": f'<svg onload="{js("out-svg-onload")}"></svg>'}, {}),
    "out-iframe": ({"text/html": f'<iframe srcdoc="<script>parent.{js("out-iframe")}'
                    '</script>"></iframe>'}, {}),
    "out-object": ({"text/html": '<object data="javascript:' + js("out-object")
                    + '"></object><embed src="javascript:x">'}, {}),
    "out-form": ({"text/html": '<form action="/api/kernels" method="post">'
                  '<button>Submit</button></form>'}, {}),
    "out-link": ({"text/html": f'<a href="javascript:{js("out-link")}">details</a>'}, {}),
    "out-style-overlay": ({"text/html": "<style>body{display:none}</style><div style="
                           '"position:fixed;top:0;left:0;width:100%;height:100%">x</div>'}, {}),
    "out-base": ({"text/html": '<base href="https://evil.example/">'}, {}),
    "out-markdown": ({"text/markdown": f'**bold** <img src=x onerror="{js("out-markdown")}">'},
                     {}),
    "out-markdown-link": ({"text/markdown": "[details](javascript:"
                           f"window.{MARK}='out-markdown-link';document.title='PWNED')"}, {}),
    "out-metadata": ({"image/png": PNG, "text/plain": "<image>"},
                     {"image/png": {"width": f'1 onerror="{js("out-metadata")}"'}}),
    "out-widget-view": ({"application/vnd.jupyter.widget-view+json": {
        "version_major": 2, "version_minor": 0, "model_id": "0" * 32},
        "text/plain": "HTML(value='...')"}, {}),
}
#: label -> the Q2 answer typed as markdown
ANSWERS: dict[str, tuple[str, str]] = {
    "md-img-onerror": ("q2_a", "Pooling has no parameters. "
                       f'<img src=x onerror="{js("md-img-onerror")}">'),
    "md-link": ("q2_b", "The F1 score, see "
                f"[my notes](javascript:window.{MARK}='md-link';document.title='PWNED')."),
    "md-svg-script": ("q2_c", f"<svg><script>{js('md-svg-script')}</script></svg> Pooling."),
    "md-style-iframe": ("q2_d", "<style>body{display:none}</style>"
                        f'<iframe src="javascript:{js("md-style-iframe")}"></iframe> Overfits.'),
    "md-form-object": ("q2_e", '<form action="/api/kernels" method="post"><button>ok</button>'
                       '</form><object data="x"></object> Less memory.'),
}
#: honest answers in the same notebook: rendered as markdown (math, emphasis, a table)
HONEST = {
    "q2_f": "Softmax maps scores to probabilities: $p_i = e^{z_i} / \\sum_j e^{z_j}$, and "
            "$0 < p_i < 1$.",
    "q2_g": "**No.** With $\\lambda > 0$ a zero coefficient does *not* mean the covariate is "
            "unrelated.\n\n| penalty | sparse |\n|---|---|\n| L1 | yes |\n| L2 | no |",
}
#: honest outputs of the same code cell
HONEST_TABLE = ('<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
                "<th>layer</th><th>params</th></tr></thead><tbody><tr><td>conv1</td>"
                "<td>456</td></tr></tbody></table>")
HONEST_PLOT = "honest plot"
#: honest outputs of the same code cell
HONEST_TABLE = ('<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
                "<th>layer</th><th>params</th></tr></thead><tbody><tr><td>conv1</td>"
                "<td>456</td></tr></tbody></table>")
HONEST_PLOT = "honest plot"
RAW_LABEL, ADDED_MD_LABEL = "raw-html-cell", "md-added-cell"
WIDGET_LABEL = "widget-html"
ISSUE_LABELS = ("issue-html", "issue-javascript")
LABELS = (*OUTPUTS, *ANSWERS, RAW_LABEL, ADDED_MD_LABEL, WIDGET_LABEL, *ISSUE_LABELS)


def _img(label: str) -> str:
    return f"<img src=x onerror={js(label)!r}>"


def _payload_code() -> str:
    bundles = json.dumps([[b, m] for b, m in OUTPUTS.values()])
    return "\n".join([
        "import json",
        "from IPython.display import HTML, Javascript, display",
        f"for bundle, metadata in json.loads({bundles!r}):",
        "    display(bundle, raw=True, metadata=metadata)",
        f"display(HTML({_img('issue-html')!r}))",
        f"display(Javascript({js('issue-javascript')!r}))",
        "import ipywidgets",
        # honest outputs that must still render: a plot (PNG) and an HTML table
        "import io, matplotlib.pyplot as plt",
        "from IPython.display import Image",
        "fig, ax = plt.subplots(figsize=(2, 2)); ax.plot([0, 1], [1, 0]); buf = io.BytesIO()",
        "fig.savefig(buf, format='png'); plt.close(fig)",
        f"display(Image(data=buf.getvalue(), metadata={{'alt': {HONEST_PLOT!r}}}))",
        f"display(HTML({HONEST_TABLE!r}))",
        f"display(ipywidgets.HTML(value={_img(WIDGET_LABEL)!r}))",
    ])


def payload_notebook(source: Path, release: Path) -> NotebookNode:
    """The Q2 notebook with every payload (see the module's docstring)."""
    nb = fill_answers(model(Q2).build(source, release),
                      {**{gid: text for gid, text in ANSWERS.values()}, **HONEST})
    raw = new_raw_cell(f"<script>{js(RAW_LABEL)}</script>",
                       metadata={"format": "text/html", "raw_mimetype": "text/html"})
    added = new_markdown_cell(f'My notes <img src=x onerror="{js(ADDED_MD_LABEL)}">')
    nb.cells += [new_code_cell(_payload_code()), raw, added]
    return nb


def executed_payload_notebook(nb: NotebookNode) -> NotebookNode:
    """``nb`` with the outputs its student cell makes in a kernel (no kernel needed)."""
    nb = copy.deepcopy(nb)
    code = next(c for c in nb.cells if c.cell_type == "code" and "ipywidgets" in c.source)
    bundles = [(b, m) for b, m in OUTPUTS.values()]
    bundles += [({"text/html": f"<img src=x onerror={js('issue-html')!r}>",
                  "text/plain": "<IPython.core.display.HTML object>"}, {}),
                ({"application/javascript": js("issue-javascript"),
                  "text/plain": "<IPython.core.display.Javascript object>"}, {}),
                ({"image/png": PNG, "text/plain": "<IPython.core.display.Image object>"},
                 {"image/png": {"alt": HONEST_PLOT}}),
                ({"text/html": HONEST_TABLE, "text/plain": "<IPython.core.display.HTML object>"},
                 {})]
    code.outputs = [new_output("display_data", data=b, metadata=m) for b, m in bundles]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {"0" * 32: {"model_name": "HTMLModel", "state": {
            "value": f"<img src=x onerror={js(WIDGET_LABEL)!r}>"}}}}}
    return nb


def write_payload_submission(course, student: str = STUDENT) -> None:
    course.add_submission(student, {Q2: payload_notebook(course.source_dir, course.release_dir)})


# -- the checker --------------------------------------------------------------------
_URL_ATTRS = {"href", "src", "action", "data", "formaction", "xlink:href", "srcdoc"}
_ACTIVE_TAGS = {"iframe", "object", "embed", "form", "base", "frame", "frameset", "applet"}


class _Active(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: set[str] = set()
        self.tags: set[str] = set()
        self._script: list[str] | None = None
        self._style = False

    def _labels(self, text: str) -> None:
        hits = {label for label in LABELS if f"'{label}'" in text}
        self.found |= hits or ({"unlabelled"} if "PWNED" in text else set())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _ACTIVE_TAGS:
            self.tags.add(tag)
        for name, value in attrs:
            value = unquote(value or "") if name in _URL_ATTRS else value or ""
            if name.startswith("on") or (name in _URL_ATTRS and (
                    "javascript:" in value.lower() or name == "srcdoc")):
                self._labels(value)
        if tag == "script" and not dict(attrs).get("src"):
            self._script = []
        if tag == "style":
            self._style = True

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._script.append(data)
        if self._style and "body{display:none}" in data.replace(" ", ""):
            self.tags.add("style-overlay")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self._labels("".join(self._script))
            self._script = None
        if tag == "style":
            self._style = False


def active_labels(html: str) -> tuple[set[str], set[str]]:
    """(payload labels that would run, active elements present) in a rendered page."""
    parser = _Active()
    parser.feed(html)
    parser.close()
    return parser.found, parser.tags


def notebook_payloads(nb: NotebookNode) -> set[str]:
    """Payload labels still present in the notebook's outputs or markdown in active form."""
    from cs230_grading.sanitize import SAFE_OUTPUT_KEYS, is_inert, markdown_is_inert

    found: set[str] = set()
    if "widgets" in nb.metadata:
        found.add("widget-state")
    for cell in nb.cells:
        if cell.cell_type == "markdown" and not markdown_is_inert(cell.source):
            found |= {lb for lb in LABELS if f"'{lb}'" in cell.source} or {"markdown"}
        for output in cell.get("outputs", []):
            for key, value in output.get("data", {}).items():
                text = value if isinstance(value, str) else json.dumps(value)
                if key not in SAFE_OUTPUT_KEYS and not (key.startswith("text/")
                                                       and is_inert(text)):
                    found |= {lb for lb in LABELS if f"'{lb}'" in text} or {key}
            if "onerror" in json.dumps(output.get("metadata", {})):
                found.add("out-metadata")
    return found
