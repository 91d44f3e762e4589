"""A TA opens a submission full of active content in the formgrader: nothing of it runs.

The payload student of :mod:`adversarial.active_content` (answers with raw HTML, a
``javascript:`` link, SVG scripts; outputs with scripts, handlers, iframes, objects, forms,
``<style>``, JavaScript and a widget) is graded in the browser session's course, then opened
as a TA opens it: Nbgrader -> Formgrader -> Manual Grading -> midterm -> q2_short_answers.
Every payload would set the title to ``PWNED``, push onto ``window.cs230Pwned`` and
``POST /api/kernels``; none may happen. The honest plot and table of the same submission
still show, and grading still works under the page's Content-Security-Policy.

Then the same page is opened over the notebook that stock nbgrader would have written (the
payload outputs unsanitised): the Content-Security-Policy alone must stop every payload.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from adversarial.active_content import (
    Q2,
    STUDENT,
    executed_payload_notebook,
    payload_notebook,
    write_payload_submission,
)
from playwright.sync_api import expect

from cs230_grading.course import Course
from cs230_grading.grading.driver import grade_class
from cs230_grading.notebooks import write_notebook

pytestmark = pytest.mark.browser

SUBMISSION_PAGE = "/formgrader/submissions/"
#: the answer a TA grades on the page (an honest one, so its score box is there)
GRADED_ID = "q2_f"


@pytest.fixture(scope="module")
def payload_graded(sample_class: Any, course: Course) -> Course:
    """The payload student graded in the session's course (after the sample class)."""
    sample_class.wait()
    write_payload_submission(course)
    run = grade_class(course, [STUDENT], workers=1, feedback=False, progress=False,
                      submitted="submitted")
    assert run.results[STUDENT].success, run.results[STUDENT].error
    return course


@pytest.fixture
def watched(lab: Any) -> Iterator[dict[str, list]]:
    """What the page asks of the server (kernel starts) and its submission pages' headers."""
    seen: dict[str, list] = {"kernel_posts": [], "policies": []}

    def on_request(request: Any) -> None:
        if "/api/kernels" in request.url and request.method == "POST":
            seen["kernel_posts"].append(request.url)

    def on_response(response: Any) -> None:
        if SUBMISSION_PAGE in response.url and response.request.resource_type == "document":
            seen["policies"].append(response.headers.get("content-security-policy", ""))

    lab.page.on("request", on_request)
    lab.page.on("response", on_response)
    yield seen


def _open_as_ta(lab: Any, student: str) -> tuple[Any, Any]:
    """Nbgrader -> Formgrader -> Manual Grading -> midterm -> Q2 -> the student's row."""
    page = lab.page
    page.goto(lab.server.url("lab", reset=""))
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel:visible", has_text="Formgrader").first.click()
    frame = page.frame_locator("#formgrader iframe")
    frame.locator("a", has_text="Manual Grading").click()
    frame.locator("a", has_text="midterm").click()
    frame.locator("a", has_text=Q2).click()
    row = frame.locator("tr").filter(has=frame.locator("a.name-shown", has_text=student))
    row.locator("a.name-hidden").click()
    # attached, not visible: stock nbgrader's page is hidden by the student's <style>
    frame.locator(f"input.score#{GRADED_ID}").wait_for(state="attached")
    time.sleep(2)  # image errors, loads and timers of any payload have fired by now
    submission = next(f for f in page.frames if SUBMISSION_PAGE in f.url)
    return frame, submission


def _nothing_ran(lab: Any, submission: Any, seen: dict[str, list]) -> None:
    assert lab.page.title() != "PWNED"
    assert submission.evaluate("() => document.title") == Q2
    assert submission.evaluate("() => window.cs230Pwned === undefined"), \
        submission.evaluate("() => window.cs230Pwned")
    assert lab.page.evaluate("() => window.cs230Pwned === undefined")
    assert seen["kernel_posts"] == [], seen["kernel_posts"]


def _csp_reports(lab: Any) -> list[str]:
    """The policy's refusals, but MathJax's (nbgrader loads it from a CDN: refused, as
    every script from another origin is; offline it fails anyway)."""
    return [m for m in lab.console_errors
            if "Content Security Policy" in m and "mathjax" not in m.lower()]


def test_the_sanitised_submission_runs_nothing_and_still_grades(
        lab: Any, payload_graded: Course, watched: dict[str, list]) -> None:
    frame, submission = _open_as_ta(lab, STUDENT)
    lab.screenshot("active-content-1-sanitised")
    _nothing_ran(lab, submission, watched)
    # the policy is on, and nothing of the page needed it: no violation was reported
    assert watched["policies"] and "script-src 'self'" in watched["policies"][-1]
    assert not _csp_reports(lab), _csp_reports(lab)
    # honest outputs show: the plot (a PNG) and the table; the attempt reads as text
    plots = frame.locator(".output_png img")
    expect(plots.first).to_be_visible()
    widths = plots.evaluate_all("imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)")
    assert max(widths) >= 100, widths  # the honest 2-inch plot (and the 1-pixel image)
    expect(frame.locator("th", has_text="layer")).to_be_visible()
    expect(frame.locator("body")).to_contain_text("onerror=")
    # the formgrader's own scripts run under the policy: names toggle, a score is saved
    frame.locator("span.glyphicon-eye-open").first.click()
    expect(frame.locator("a.name-shown").first).to_be_visible()
    lab.save_formgrader_score(frame.locator(f"input.score#{GRADED_ID}"), 2)


def test_the_policy_alone_stops_stock_nbgraders_notebook(
        lab: Any, payload_graded: Course, watched: dict[str, list]) -> None:
    course = payload_graded
    target = course.autograded_dir(STUDENT) / f"{Q2}.ipynb"
    kept = target.with_suffix(".sanitised")
    shutil.copy(target, kept)
    try:
        stock = executed_payload_notebook(payload_notebook(course.source_dir, course.release_dir))
        target.chmod(0o644)  # nbgrader leaves autograded notebooks read-only
        write_notebook(stock, target)
        _, submission = _open_as_ta(lab, STUDENT)
        lab.screenshot("active-content-2-stock-under-csp")
        _nothing_ran(lab, submission, watched)
        # the payloads were on the page, and the policy refused them
        assert _csp_reports(lab), lab.console_errors
        assert "onerror=" in submission.content()
        # the policy leaves CSS alone: the student's <style> still hides the page (the
        # sanitiser is what removes it)
        assert not submission.locator(f"input.score#{GRADED_ID}").is_visible()
    finally:
        shutil.move(kept, target)

