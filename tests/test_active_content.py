"""No student content runs as the course staff (issue 21; docs/security.md).

The payload submission of :mod:`tests.adversarial.active_content` carries every kind of
active content in its outputs and answers. Stock nbconvert (what the formgrader and the
feedback use) renders most of it live; the kit's :class:`SanitizeStudentContent` leaves none
of it, on the pipeline's (shared-nothing) grading path, in the autograded
notebook and in the feedback HTML, while honest answers, plots and tables still render.
"""

from __future__ import annotations

import copy
import io
import json

import nbformat
import pytest
from adversarial.active_content import (
    ANSWERS,
    Q2,
    STUDENT,
    active_labels,
    executed_payload_notebook,
    notebook_payloads,
    payload_notebook,
    write_payload_submission,
)
from nbconvert import HTMLExporter

from cs230_grading.course import Course
from cs230_grading.notebooks import read_notebook
from cs230_grading.pipeline import run_pipeline
from cs230_grading.sanitize import SanitizeStudentContent, as_typed, clean_html, is_inert

#: What stock nbconvert's classic HTML (the formgrader's base template) renders live: all but
#: the raw cell (escaped), the SVG (an ``<img>``), the form and the ``<base>`` (no script of
#: their own; the checker lists them as elements).
STOCK_LIVE = {
    "out-img-onerror", "out-script", "out-javascript", "out-svg-onload", "out-iframe",
    "out-object", "out-link", "out-markdown", "out-markdown-link", "out-metadata",
    "md-img-onerror", "md-link", "md-svg-script", "md-style-iframe", "md-added-cell",
    "issue-html", "issue-javascript", "widget-html",
}


def _render(nb: nbformat.NotebookNode) -> str:
    html, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)
    return html


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> nbformat.NotebookNode:
    course = Course.scratch(tmp_path_factory.mktemp("payload"))
    course.generate_assignment()
    return executed_payload_notebook(payload_notebook(course.source_dir, course.release_dir))


def _sanitised(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    clean, _ = SanitizeStudentContent()(copy.deepcopy(nb), {})  # as nbconvert calls it
    return clean


def test_stock_nbconvert_renders_the_payloads_live(executed) -> None:
    labels, tags = active_labels(_render(executed))
    assert STOCK_LIVE <= labels, STOCK_LIVE - labels
    assert {"iframe", "object", "form", "base", "style-overlay"} <= tags
    assert {"out-img-onerror", "out-script", "out-javascript", "out-metadata", "md-img-onerror",
            "md-link", "widget-state"} <= notebook_payloads(executed)


def test_the_sanitiser_leaves_nothing_live(executed) -> None:
    clean = _sanitised(executed)
    assert notebook_payloads(clean) == set()
    labels, tags = active_labels(_render(clean))
    assert labels == set() and tags == set(), (labels, tags)
    assert "PWNED" not in json.dumps(clean.metadata)


def test_honest_content_still_renders(executed) -> None:
    clean = _sanitised(executed)
    page = _render(clean)
    assert 'src="data:image/png;base64,' in page  # the plot and the 1x1 image
    assert "<th>layer</th>" in page  # an honest HTML table (kept as HTML)
    honest = {c.metadata["nbgrader"]["grade_id"]: c.source for c in clean.cells
              if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") in ("q2_f", "q2_g")}
    assert all("[cs230]" not in s for s in honest.values()), honest  # left as typed
    assert "<td>yes</td>" in page  # the markdown table of q2_g
    # the course's own (locked) text is left as it is
    original = {i: c.source for i, c in enumerate(executed.cells)
                if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                and c.metadata.nbgrader.get("locked")}
    assert original and all(clean.cells[i].source == s for i, s in original.items())


def test_dangerous_answers_are_shown_as_typed(executed) -> None:
    clean = _sanitised(executed)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in clean.cells}
    for grade_id, typed in ANSWERS.values():
        assert by_id[grade_id] == as_typed(typed)
    assert "&lt;img src=x onerror=" in _render(clean)  # the TA can read the attempt


def test_as_typed_fence_cannot_be_closed_by_the_student() -> None:
    typed = "~~~~\n<img src=x onerror=alert(1)>\n~~~~~~"
    from nbconvert.filters.markdown import markdown2html

    assert is_inert(markdown2html(as_typed(typed)))


def test_clean_html_keeps_tables_and_escapes_the_rest() -> None:
    out = clean_html('<table class="dataframe"><tr style="text-align: right;"><td>1</td></tr>'
                     '</table><script>x()</script><a href="javascript:x">y</a>')
    assert '<tr style="text-align: right;">' in out and "&lt;script&gt;" in out
    assert "javascript:" not in out


# -- graded for real, on the pipeline's (shared-nothing) grading path ----------------
@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Course:
    course = Course.scratch(tmp_path_factory.mktemp("active"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CS230_EXECUTE_TIMEOUT", "30")
        course.generate_assignment()
        write_payload_submission(course)
        run_pipeline(course.root, workers=1, feedback=True, progress=False,
                     regenerate_release=False, out=io.StringIO())
    return course


def test_graded_payload_holds_nothing_live(graded: Course) -> None:
    nb = read_notebook(graded.autograded_dir(STUDENT) / f"{Q2}.ipynb")
    assert notebook_payloads(nb) == set()
    # the payload did run in the sandboxed kernel: its outputs are there, made inert
    code = next(c for c in nb.cells if c.cell_type == "code" and "ipywidgets" in c.source)
    kinds = {k for o in code.outputs for k in o.get("data", {})}
    assert {"text/html", "image/png", "text/plain"} <= kinds
    assert not kinds & {"application/javascript", "image/svg+xml",
                        "application/vnd.jupyter.widget-view+json"}
    for page in (_render(nb), (graded.feedback_dir(STUDENT) / f"{Q2}.html").read_text()):
        labels, tags = active_labels(page)
        assert labels == set() and tags == set(), (labels, tags)
    feedback = (graded.feedback_dir(STUDENT) / f"{Q2}.html").read_text()
    assert 'src="data:image/png;base64,' in feedback and "<th>layer</th>" in feedback
    assert "onerror=" in feedback  # the typed attempts read as text


# -- the instructor's report and the terminal ---------------------------------------------
MARKUP = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_report_shows_student_text_as_text(tmp_path) -> None:
    from cs230_grading.intake import Finding
    from cs230_grading.report import write_report
    from cs230_grading.results import ClassGrades, StudentGrades

    student = f"s{MARKUP}"
    grades = ClassGrades([StudentGrades(student, {}, [f"q2_a{MARKUP}"])])
    findings = [Finding(student, f"tampering: {MARKUP}"),
                Finding(student, f"note {MARKUP}", severity="warning")]
    page = write_report(grades, findings, tmp_path, notes=[MARKUP]).read_text()
    labels, tags = active_labels(page)
    assert "<script>alert" not in page and "onerror=" not in page.replace("onerror=&quot;", "")
    assert page.count("&lt;img src=x onerror=&quot;alert(1)&quot;&gt;") >= 4
    assert labels == set() and tags == set()


def test_terminal_lines_show_escape_sequences_as_text() -> None:
    from cs230_grading.pipeline import _printer

    out = io.StringIO()
    _printer(out)("[error] s: NameError: \x1b]52;c;cm0gLXJmIH4=\x07\x1b[2J\rfake\u202eline")
    printed = out.getvalue()
    assert "\x1b" not in printed and "\r" not in printed and "\u202e" not in printed
    assert "\\x1b]52;c;cm0gLXJmIH4=\\x07" in printed and printed.endswith("line\n")


def test_the_course_text_passes_unchanged() -> None:
    """Every markdown cell of the six notebooks is inert: sanitising never rewrites it."""
    from cs230_grading.course import REPO_ROOT
    from cs230_grading.sanitize import markdown_is_inert

    cells = [(path.name, c.source) for path in sorted((REPO_ROOT / "release" / "midterm")
                                                       .glob("*.ipynb"))
             for c in read_notebook(path).cells if c.cell_type == "markdown"]
    assert len(cells) > 50
    rewritten = [(name, source[:80]) for name, source in cells if not markdown_is_inert(source)]
    assert not rewritten, rewritten
