"""The feedback page's HTML exporter: nbconvert's ``HTMLExporter`` without its second parse.

nbconvert's :class:`~nbconvert.exporters.HTMLExporter` renders the page with its templates,
then parses the whole page again with BeautifulSoup's pure-Python ``html.parser`` to do two
things, and serialises it back:

* give every ``<img>`` without an ``alt`` attribute the text ``"No description has been
  provided for this image"``;
* make the input and output areas of JupyterLab's template (``.jp-Notebook``) focusable.

The feedback template (nbgrader's, built on nbconvert's classic template) has no
``.jp-Notebook``, so only the first applies. On a grading worker that second parse took a
third of the feedback's time (about 25 ms of 70 per notebook), for pages whose images are the
template's own plot outputs. :class:`FeedbackHTMLExporter` does the same as
``HTMLExporter`` and adds the missing ``alt`` attributes with one scan of the page's
``<img`` tags instead. A page with ``.jp-Notebook`` in it gets ``HTMLExporter``'s own pass.

The scan skips comments, scripts and style sheets, and reads each tag's attributes as an
HTML tokenizer does (names up to ``=``, ``/``, ``>`` or a space; quoted or unquoted values).
It only ever inserts ``alt="..."`` right after ``<img``, where an attribute list begins, so
it cannot open or close a tag, an attribute or a comment: the pages are the same documents
(tests/test_feedback_html.py parses both, for the payload notebook of every kind of active
content too). Student HTML has been through
:class:`cs230_grading.sanitize.SanitizeStudentContent` before it reaches the page.
"""

from __future__ import annotations

import re
from typing import Any

from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbformat import NotebookNode

#: the text nbconvert's HTMLExporter gives an image that has none
MISSING_ALT = "No description has been provided for this image"

#: an ``<img`` start tag, up to its end (attribute values may hold ``>`` when quoted); or
#: text that holds no tag, which is left as it is: a comment, a script, a style sheet
_IMG_TAG = re.compile(
    r"""<!--.*?(?:-->|\Z)"""
    r"""|<(script|style)(?=[\s/>]).*?(?:</\1\s*>|\Z)"""
    r"""|<img(?=[\s/>])((?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.IGNORECASE | re.DOTALL,
)
#: one attribute of a start tag (HTML's tokenizer: a name, then an optional value)
_ATTRIBUTE = re.compile(
    r"""[\s/]*([^\s"'>/=][^\s"'>/=]*)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]*))?""",
)


def _has_alt(attributes: str) -> bool:
    return any(m.group(1).lower() == "alt" for m in _ATTRIBUTE.finditer(attributes))


def add_missing_alt(html: str) -> tuple[str, int]:
    """``html`` with ``alt="..."`` (:data:`MISSING_ALT`) on every ``<img>`` that has no
    ``alt``, and how many were added."""
    added = 0

    def fix(tag: re.Match[str]) -> str:
        nonlocal added
        if tag.group(2) is None or _has_alt(tag.group(2)):  # not an image, or has an alt
            return tag.group(0)
        added += 1
        return f'{tag.group(0)[:4]} alt="{MISSING_ALT}"{tag.group(0)[4:]}'

    return _IMG_TAG.sub(fix, html), added


class KeptHighlight:
    """nbconvert's :class:`~nbconvert.filters.highlight.Highlight2HTML`, remembering what it
    rendered: most code cells of a feedback page (the exam's own code, the test cells) are the
    same for every student, and Pygments took a fifth of a page's time to colour them again.

    The result depends on the source, the language and, of the cell's metadata, only
    ``magics_language`` (``nbconvert.filters.highlight._pygments_highlight``).
    """

    LIMIT = 4096

    def __init__(self, highlight: Any) -> None:
        self.highlight = highlight
        self.kept: dict[tuple[str, str | None, str | None], str] = {}

    def __call__(self, source: str, language: str | None = None,
                 metadata: Any = None) -> str:
        magics = metadata.get("magics_language") if isinstance(metadata, dict) else None
        key = (source, language, None if magics is None else str(magics))
        html = self.kept.get(key)
        if html is None:
            html = self.highlight(source, language, metadata)
            if len(self.kept) >= self.LIMIT:
                self.kept.clear()
            self.kept[key] = html
        return html


class FeedbackHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose image ``alt`` texts are added without re-parsing the page."""

    #: one kept highlighter per Pygments lexer (a notebook run without a kernel keeps the
    #: release's language_info, which names none)
    _kept_highlight: dict[str | None, KeptHighlight] | None = None

    def from_notebook_node(  # type: ignore[override]
        self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any
    ) -> tuple[str, dict[str, Any]]:
        # HTMLExporter.from_notebook_node up to its template render (nbconvert 7) ...
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        highlight_code = self.filters.get("highlight_code")
        if highlight_code is None:  # nbconvert's, kept for every page of this exporter
            if self._kept_highlight is None:
                self._kept_highlight = {}
            highlight_code = self._kept_highlight.get(lexer)
            if highlight_code is None:
                highlight_code = self._kept_highlight[lexer] = KeptHighlight(
                    Highlight2HTML(pygments_lexer=lexer, parent=self))
        resources = self._init_resources(resources)
        filter_data_type = WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", filter_data_type)
        html, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "jp-Notebook" in html:  # JupyterLab's template: let nbconvert do all of it
            return super().from_notebook_node(nb, resources, **kw)
        # ... and then its alt texts, without the BeautifulSoup round trip
        html, added = add_missing_alt(html)
        if added:
            self.log.warning("Alternative text is missing on %s image(s).", added)
        return html, resources
