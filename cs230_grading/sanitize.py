"""Student content that reaches staff is inert: no script of a student runs as the course staff.

nbgrader's formgrader renders each autograded notebook with nbconvert, in the TA's logged-in
Jupyter origin, and the feedback HTML is the same notebook rendered again. Both pass a cell's
``text/html``, SVG and ``application/javascript`` outputs through as they are, and render
markdown with mistune, which keeps raw HTML and ``javascript:`` links. A student who displays
``<img onerror=...>`` (or just types it into a Q2 answer) would run code as the TA: start a
kernel through ``/api/kernels``, read the answer key and the gradebook through
``/api/contents``.

:class:`SanitizeStudentContent` is an nbconvert preprocessor (built on nbconvert's own
:class:`~nbconvert.preprocessors.SanitizeHTML`, which uses ``bleach``) that the course runs
last in ``Autograde.autograde_preprocessors`` (so the autograded notebook that the formgrader
reads is clean, on the default path and on cluster workers alike) and again in
``GenerateFeedback.preprocessors``. It keeps text, PNG/JPEG/GIF images, LaTeX, JSON and plain
HTML (tables, lists, emphasis, links to http/https/mailto) and drops:

* every output type outside that list (``application/javascript``, ``image/svg+xml``,
  ``application/vnd.jupyter.widget-view+json``, ``text/vnd.*`` ...); the ``text/plain``
  fallback stays, so the TA still sees that something was displayed;
* in ``text/html`` outputs: scripts, event-handler attributes,
  ``javascript:``/``data:`` URLs, iframes, objects, embeds, forms, ``<style>``, ``<base>``,
  ``<meta>``, inline styles beyond a few harmless properties (escaped, so they show as text);
* ``text/markdown`` outputs that are not inert (see markdown cells below) are shown as typed;
* output metadata other than a numeric width or height (nbconvert writes it into ``<img>``);
* the notebook's widget state (nbconvert would load the widget manager from a CDN and let
  it render the student's widget models as HTML).

Every markdown cell is rendered with nbconvert's own ``markdown2html``, as the formgrader
renders it, and checked with the same allow-list, whatever its metadata says (the course's
own text passes unchanged, so no metadata a student can edit is trusted). If anything would be
removed, the cell is replaced by its text in a fenced code block with a one-line note: the
TA reads exactly what the student typed, as text.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bleach.linkifier import Linker
from nbconvert.preprocessors.sanitize import SanitizeHTML
from traitlets import Bool, Set

#: Plain HTML that a table, a formatted message or a markdown answer needs.
ALLOWED_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "code", "col", "colgroup",
    "dd", "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q",
    "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "tt", "u", "ul", "var",
})
_HEADINGS = {f"h{n}": ["id", "class", "title", "style"] for n in range(1, 7)}
ALLOWED_ATTRIBUTES: dict[str, list[str]] = {
    "*": ["class", "title", "style", "align"],
    "a": ["href", "title", "class"],
    "img": ["src", "alt", "title", "width", "height"],
    "table": ["border", "class", "style"],
    "td": ["colspan", "rowspan", "align", "valign", "class", "style"],
    "th": ["colspan", "rowspan", "align", "valign", "class", "style"],
    "ol": ["start", "type"],
    **_HEADINGS,
}
#: Inline CSS properties kept (pandas tables use text-align); nothing that positions or
#: sizes an element, so a student's output cannot cover the grading page.
ALLOWED_CSS = frozenset({
    "text-align", "vertical-align", "color", "background-color", "font-weight", "font-style",
    "text-decoration", "white-space", "border", "border-collapse", "padding",
})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
#: Output types rendered as they are (binary images and text are escaped or base64 by
#: nbconvert); ``text/markdown`` is made inert first, as a markdown cell is.
SAFE_OUTPUT_KEYS = frozenset({
    "metadata", "text/plain", "text/latex", "application/json",
    "image/png", "image/jpeg", "image/gif", "text/markdown",
})
#: Output types kept after cleaning with the allow-list.
CLEANED_OUTPUT_KEYS = frozenset({"text/html"})
#: The note above a markdown answer that had to be shown as typed.
AS_TYPED_NOTE = ("*[cs230] This answer contained HTML or links that could run code in a "
                 "browser; it is shown as the student typed it.*")

_cleaner = bleach.Cleaner(
    tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, protocols=ALLOWED_PROTOCOLS,
    strip=False, strip_comments=True,
    css_sanitizer=CSSSanitizer(allowed_css_properties=ALLOWED_CSS),
)
#: Parses and re-serialises HTML as the cleaner does, changing nothing (never links text).
_normaliser = Linker(url_re=re.compile(r"(?!)"), email_re=re.compile(r"(?!)"), callbacks=[])


def clean_html(markup: str) -> str:
    """``markup`` with everything outside the allow-list escaped (it shows as text)."""
    return _cleaner.clean(markup)


#: a comment as html5lib serialises it (its text cannot hold "-->")
_COMMENT = re.compile(r"<!--.*?-->", re.S)


def is_inert(markup: str) -> bool:
    """True when cleaning ``markup`` would change nothing but drop its HTML comments (both
    parse it as HTML5 does; a comment runs nothing, such as the generated-table markers of the
    cover)."""
    return _cleaner.clean(markup) == _COMMENT.sub("", _normaliser.linkify(markup))


@functools.lru_cache(maxsize=4096)
def markdown_is_inert(source: str) -> bool:
    """True when the HTML that nbconvert (so the formgrader) renders from ``source`` is inert.

    Cached by source: the release's markdown cells are the same in every submission, and each
    is checked when autograding and again when rendering the feedback."""
    from nbconvert.filters.markdown import markdown2html

    return is_inert(markdown2html(source))


def as_typed(source: str) -> str:
    """Markdown that shows ``source`` verbatim in a code block, under :data:`AS_TYPED_NOTE`."""
    longest = max((len(run) for run in re.findall(r"~+", source)), default=0)
    fence = "~" * max(3, longest + 1)
    return f"{AS_TYPED_NOTE}\n\n{fence} text\n{source}\n{fence}\n"


def terminal_text(text: str) -> str:
    """``text`` safe to print: control characters (terminal escape sequences, carriage
    returns, bidirectional overrides) are shown as ``\\x1b``-style escapes; newlines and
    tabs are kept."""
    def shown(char: str) -> str:
        if char in "\n\t" or unicodedata.category(char) not in ("Cc", "Cf"):
            return char
        code = ord(char)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return "".join(shown(c) for c in text)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def clean_output_metadata(metadata: dict) -> dict:
    """Keep only numeric ``width``/``height`` per mimetype (nbconvert puts them in ``<img>``)."""
    kept: dict = {}
    for key, value in metadata.items():
        if isinstance(value, dict):
            sizes = {k: v for k, v in value.items() if k in ("width", "height") and _number(v)}
            if sizes:
                kept[key] = sizes
        elif key in ("width", "height") and _number(value):
            kept[key] = value
    return kept


class SanitizeStudentContent(SanitizeHTML):
    """nbconvert's ``SanitizeHTML`` with the course's allow-list, for student notebooks."""

    #: nbconvert's preprocessors are off unless enabled; this one is on wherever it is listed
    enabled = Bool(True).tag(config=True)
    safe_output_keys = Set(default_value=set(SAFE_OUTPUT_KEYS)).tag(config=True)
    sanitized_output_types = Set(default_value=set(CLEANED_OUTPUT_KEYS)).tag(config=True)

    def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: Any, resources: dict, index: int) -> tuple[Any, dict]:
        if cell.cell_type == "markdown":
            # every markdown cell, whatever its metadata says (the course's own text is inert)
            if not markdown_is_inert(cell.source):
                cell.source = as_typed(cell.source)
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
        elif cell.cell_type == "code":
            cell.outputs = self.sanitize_code_outputs(cell.outputs)
            for output in cell.outputs:
                if "metadata" in output:
                    output["metadata"] = clean_output_metadata(output["metadata"])
        return cell, resources

    def sanitize_code_outputs(self, outputs: list) -> list:
        """Clean each output; one left with no data says what was removed, as text."""
        kept = self.safe_output_keys | self.sanitized_output_types
        removed = [sorted(set(o.get("data", {})) - kept) for o in outputs]
        for output in outputs:
            data = output.get("data", {})
            if "text/markdown" in data and not markdown_is_inert(data["text/markdown"]):
                data["text/markdown"] = as_typed(data["text/markdown"])
        outputs = super().sanitize_code_outputs(outputs)
        for output, gone in zip(outputs, removed, strict=True):
            if gone and "text/plain" not in output.get("data", {}):
                output["data"]["text/plain"] = f"[cs230] output removed: {', '.join(gone)}"
        return outputs

    def sanitize_html_tags(self, html_str: str) -> str:
        return clean_html(html_str)
