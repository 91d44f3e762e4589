"""The feedback exporter renders the same documents as nbconvert's HTMLExporter (issue 15).

:class:`cs230_grading.feedback_html.FeedbackHTMLExporter` adds the images' missing ``alt``
texts with a scan of the ``<img`` tags instead of nbconvert's BeautifulSoup round trip. Both
pages are parsed with BeautifulSoup here and must be the same document: for tricky tags one
by one, and for the payload notebook of :mod:`tests.adversarial.active_content` (every kind
of active content, before and after the sanitiser) on nbgrader's feedback template.
"""

from __future__ import annotations

import copy
import re

import nbformat
import pytest
from adversarial.active_content import executed_payload_notebook, payload_notebook
from bs4 import BeautifulSoup
from nbconvert import HTMLExporter
from nbgrader.converters import GenerateFeedback
from traitlets.config import Config

from cs230_grading.course import Course
from cs230_grading.feedback_html import MISSING_ALT, FeedbackHTMLExporter, add_missing_alt
from cs230_grading.sanitize import SanitizeStudentContent

#: nbconvert's HTML outputs carry a fresh random id per render
_RANDOM_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _document(html: str) -> str:
    return _RANDOM_ID.sub("<id>", str(BeautifulSoup(html, "html.parser")))


def _nbconvert_alt(html: str) -> str:
    """What nbconvert's HTMLExporter does to a rendered page (nbconvert 7)."""
    soup = BeautifulSoup(html, features="html.parser")
    for elem in soup.select("img:not([alt])"):
        elem.attrs["alt"] = MISSING_ALT
    return str(soup)


TAGS = [
    '<img src="a.png">',
    '<img src="a.png" alt="">',
    '<img alt src="a.png">',
    '<IMG SRC="a.png" ALT="plot">',
    "<img src='a.png' title='alt=\"x\"'>",
    '<img src="a.png" title="x > alt=y">',
    '<img data-alt="x" src="a.png">',
    '<img src=a.png alt=x>',
    '<img/src="a.png"/>',
    '<img\nsrc="a.png"\n>',
    '<img src="data:image/png;base64,iVBORw0KGgo=" width="10" height="10">',
    '<imgx src="a.png">',
    '<p>text &lt;img src=x&gt; and <code>&lt;img&gt;</code></p>',
    '<!-- <img src="a.png"> --><img src="b.png">',
    '<!-- unterminated <img src="a.png">',
    '<script>var s = "<img src=x>";</script><img src="b.png">',
    '<style>p::after { content: "<img src=x>"; }</style><img src="b.png">',
    '<div><img src="1.png"><span>x</span><img alt="two" src="2.png"><img src="3.png"></div>',
]


@pytest.mark.parametrize("html", TAGS)
def test_same_document_as_nbconvert(html: str) -> None:
    fast, _ = add_missing_alt(html)
    assert _document(fast) == _document(_nbconvert_alt(html)), fast


def test_counts_and_inserts_only_where_alt_is_missing() -> None:
    html, added = add_missing_alt('<img src="1.png"><img alt="kept" src="2.png"><IMG SRC=3>')
    assert added == 2
    assert html == (f'<img alt="{MISSING_ALT}" src="1.png"><img alt="kept" src="2.png">'
                    f'<IMG alt="{MISSING_ALT}" SRC=3>')
    assert add_missing_alt("<p>no images</p>") == ("<p>no images</p>", 0)


@pytest.fixture(scope="module")
def payload(tmp_path_factory) -> nbformat.NotebookNode:
    course = Course.scratch(tmp_path_factory.mktemp("feedback-html"))
    course.generate_assignment()
    nb = executed_payload_notebook(payload_notebook(course.source_dir, course.release_dir))
    for cell in nb.cells:  # what nbgrader's GetGrades gives the feedback template
        meta = cell.metadata.get("nbgrader")
        if meta:
            meta.setdefault("score", 1.0)
            meta.setdefault("points", 2.0)
            meta.setdefault("comment", 'a comment with an image <img src="c.png">')
    return nb


@pytest.mark.parametrize("sanitised", [False, True], ids=["as-submitted", "sanitised"])
def test_feedback_pages_are_the_same_documents(payload, sanitised: bool) -> None:
    nb = SanitizeStudentContent()(copy.deepcopy(payload), {})[0] if sanitised else payload
    config = GenerateFeedback(config=Config({"HTMLExporter": {"template_name": "feedback"}})
                              ).config  # nbgrader's feedback template and its paths
    resources = {"nbgrader": {"notebook": "q2", "score": 1.0, "max_score": 2.0,
                              "student": "s", "timestamp": None, "late_penalty": 0}}
    stock, _ = HTMLExporter(config=config).from_notebook_node(nb, copy.deepcopy(resources))
    fast, _ = FeedbackHTMLExporter(config=config).from_notebook_node(
        nb, copy.deepcopy(resources))
    assert "feedback" in fast and fast.count("<img") >= 3
    assert MISSING_ALT in fast
    assert _document(fast) == _document(stock)
