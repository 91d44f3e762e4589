"""The feedback page a student can read offline: :class:`ReadableFeedbackExporter`.

nbgrader's feedback page shows the notebook's math as TeX (``$\\partial L/\\partial W_d^l$``)
unless MathJax arrives from a CDN, lists every test cell as "Test cell", and lets a long
message run off the page. The exporter renders the page as
:class:`~cs230_grading.feedback_html.FeedbackHTMLExporter` does, then:

* turns its math into MathML, which the browser draws with no script and no network, and
  drops the MathJax loader (:mod:`cs230_grading.math_render`);
* names each test cell of the score list by its part and what it grades
  (:mod:`cs230_grading.feedback_labels`);
* wraps outputs at the page's width.

``nbgrader_config.py`` makes it ``GenerateFeedback``'s exporter, so the pipeline's workers
(:mod:`cs230_grading.grading.feedback`) and ``cs230-selfgrade`` write the same page.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode

from .feedback_html import FeedbackHTMLExporter
from .feedback_labels import label_score_list, test_cell_labels
from .math_render import render_page_math

#: long messages wrap instead of running off the page (outputs are ``<pre>``)
WRAP_STYLE = ("<style>div.output_area pre, div.output_subarea pre, .jp-OutputArea-output pre"
              " { white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere; }</style>\n")


def readable_page(html: str, nb: NotebookNode) -> str:
    """The rendered page with its math as MathML, its test cells named, its outputs wrapped."""
    html = label_score_list(render_page_math(html), test_cell_labels(nb))
    return html.replace("</head>", WRAP_STYLE + "</head>", 1)


class ReadableFeedbackExporter(FeedbackHTMLExporter):
    """:class:`FeedbackHTMLExporter`, then :func:`readable_page`."""

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        html, resources = super().from_notebook_node(nb, resources, **kw)
        return readable_page(html, nb), resources
