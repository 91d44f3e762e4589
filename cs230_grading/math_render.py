"""LaTeX math in rendered notebook pages, turned into MathML on the server.

nbconvert's pages (the feedback HTML, the formgrader's grading page) keep the notebook's
math as TeX between ``$...$`` and ``$$...$$`` and load MathJax from a CDN to typeset it in
the browser. Offline, or under a Content-Security-Policy that allows no other origin's
script (the formgrader's, :mod:`cs230_grading.lab_csp`), MathJax never runs and the reader
sees ``$\\partial L/\\partial W_d^l$``. :func:`render_math` converts the math of a page to
MathML with `latex2mathml <https://pypi.org/project/latex2mathml/>`_; browsers draw MathML
themselves (Chromium since version 109, Firefox, Safari), with no script and no network.
:func:`strip_mathjax` removes nbconvert's MathJax loader, which can only fail.

Math is found where MathJax would look for it: in text outside ``<pre>``, ``<code>``,
``<script>``, ``<style>``, ``<textarea>`` and existing ``<math>``. Outputs (printed text)
sit in ``<pre>``, so a message printing a dollar sign is never touched. Delimiters are
MathJax's as nbconvert configures them (``$``, ``$$``, ``\\(``, ``\\)``, ``\\[``, ``\\]``,
and ``\\$`` for a literal dollar). An inline ``$...$`` must not start or end with a space
and must not be followed by a digit, so "costs $5 and $10" stays text. TeX that
latex2mathml cannot convert, or that asks for a link (``\\href``, ``\\url``), stays as it
was written. The converter escapes text itself (a student's ``\\text{<b>}`` is text).
"""

from __future__ import annotations

import functools
import html
import re
import xml.etree.ElementTree as ET

from latex2mathml.converter import convert

#: elements whose text is never math
SKIP = frozenset({"pre", "code", "script", "style", "textarea", "math"})
#: a comment, a raw-text element whole, or one tag (quoted attribute values may hold ``>``)
_TOKEN = re.compile(
    r"""<!--.*?(?:-->|\Z)"""
    r"""|<(script|style|textarea)(?=[\s/>]).*?(?:</\1\s*>|\Z)"""
    r"""|<(/?)([A-Za-z][\w:-]*)((?:[^>"']|"[^"]*"|'[^']*')*)>""",
    re.IGNORECASE | re.DOTALL,
)
#: display math first, then inline math (MathJax's delimiters; ``\$`` is a dollar sign)
_MATH = re.compile(
    r"""(?<!\\)\$\$(?P<display>.+?)(?<!\\)\$\$"""
    r"""|\\\[(?P<display2>.+?)\\\]"""
    r"""|\\\((?P<inline2>.+?)\\\)"""
    r"""|(?<![\\$])\$(?![\s$])(?P<inline>(?:\\.|[^$\\])+?)(?<!\s)\$(?!\d)""",
    re.DOTALL,
)
#: MathML elements and attributes a converted formula may hold; anything else is refused
MATHML_ELEMENTS = frozenset("""
    math mrow mi mn mo ms mtext mspace msub msup msubsup mfrac msqrt mroot mstyle merror
    mpadded mphantom menclose munder mover munderover mtable mtr mtd mlabeledtr semantics
    annotation mmultiscripts mprescripts none
""".split())
MATHML_ATTRIBUTES = frozenset("""
    xmlns display mathvariant stretchy fence separator lspace rspace accent accentunder
    columnalign rowalign columnspacing rowspacing columnlines rowlines frame framespacing
    width height depth linethickness minsize maxsize movablelimits symmetric displaystyle
    scriptlevel notation encoding form largeop mathsize mathcolor mathbackground
""".split())
_MATHML_NS = "{http://www.w3.org/1998/Math/MathML}"
_UNSAFE = re.compile(r"\\(?:href|url)\b|javascript:", re.IGNORECASE)
#: nbconvert's MathJax loader (``base/mathjax.html.j2``), from its first comment to its last
_MATHJAX = re.compile(r"[ \t]*<!-- Load mathjax -->.*?<!-- End of mathjax configuration -->\n?",
                      re.DOTALL)


@functools.lru_cache(maxsize=4096)
def tex_to_mathml(tex: str, display: bool = False) -> str | None:
    """MathML for one TeX formula, or None when it cannot (or must not) be converted.

    Cached: a grading worker renders the same question text for every student."""
    if not tex.strip() or _UNSAFE.search(tex):
        return None
    try:
        mathml = convert(tex.strip(), display="block" if display else "inline")
    except Exception:  # noqa: BLE001 - latex2mathml raises many types; the TeX stays
        return None
    return mathml if is_plain_mathml(mathml) else None


def is_plain_mathml(mathml: str) -> bool:
    """Whether ``mathml`` is well-formed XML made only of the MathML elements and attributes
    above (latex2mathml copies ``\\text{...}`` into ``<mtext>`` unescaped: a formula holding
    markup of its own is refused, never passed on)."""
    try:
        root = ET.fromstring(mathml)
    except ET.ParseError:
        return False
    if root.tag != f"{_MATHML_NS}math":
        return False
    for element in root.iter():
        if element.tag.removeprefix(_MATHML_NS) not in MATHML_ELEMENTS:
            return False
        if any(name.split("}")[-1] not in MATHML_ATTRIBUTES for name in element.attrib):
            return False
    return True


def _text_math(text: str) -> tuple[str, int]:
    """A text node (HTML-escaped) with its formulas as MathML; and how many it converted."""
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        display = match.group("display") or match.group("display2")
        tex = display if display is not None else (match.group("inline")
                                                   or match.group("inline2"))
        mathml = tex_to_mathml(html.unescape(tex), display=display is not None)
        if mathml is None:
            return match.group(0)
        count += 1
        return mathml

    return _MATH.sub(replace, text), count


def _might_hold_math(text: str) -> bool:
    return "$" in text or "\\(" in text or "\\[" in text


def render_math(page: str) -> tuple[str, int]:
    """``page`` with the TeX math of its text as MathML, and how many formulas it converted."""
    out: list[str] = []
    skipping: list[str] = []  # open elements whose text is never math
    total, pos = 0, 0
    for token in _TOKEN.finditer(page):
        text = page[pos:token.start()]
        if not skipping and _might_hold_math(text):
            text, count = _text_math(text)
            total += count
        out += [text, token.group(0)]
        pos = token.end()
        name = (token.group(3) or "").lower()
        if name in SKIP and not token.group(4).rstrip().endswith("/"):
            if token.group(2):  # a closing tag
                if name in skipping:
                    del skipping[len(skipping) - 1 - skipping[::-1].index(name)]
            else:
                skipping.append(name)
    tail = page[pos:]
    if not skipping and _might_hold_math(tail):
        tail, count = _text_math(tail)
        total += count
    out.append(tail)
    return "".join(out), total


def strip_mathjax(page: str) -> str:
    """``page`` without nbconvert's MathJax loader (after :func:`render_math` it has no use)."""
    return _MATHJAX.sub("", page)


#: what nbgrader's formgrader script asks of MathJax (``formgrade.js``, ``configureScrolling``):
#: a stand-in that says typesetting has ended at once, since the math is MathML already
MATHJAX_STAND_IN = (
    "window.MathJax = {Hub: {Queue: function () {}, Typeset: function () {}, "
    "Startup: {signal: {Interest: function (f) { setTimeout(function () { f('End'); }, 0); "
    "}}}}};"
)
_HEAD = re.compile(r"<head(?:\s[^>]*)?>", re.IGNORECASE)


def with_mathjax_stand_in(page: str) -> str:
    """``page`` with :data:`MATHJAX_STAND_IN` as the first script of its head (a page whose
    own scripts call MathJax, as the formgrader's do, then runs without it)."""
    match = _HEAD.search(page)
    if match is None:
        return page
    return f"{page[:match.end()]}<script>{MATHJAX_STAND_IN}</script>{page[match.end():]}"


def render_page_math(page: str) -> str:
    """:func:`render_math`, then :func:`strip_mathjax`: the page as a reader should get it."""
    return strip_mathjax(render_math(page)[0])
