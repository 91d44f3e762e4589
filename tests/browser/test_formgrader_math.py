"""The formgrader's grading page draws the notebook's math (issue 32, item 6).

nbgrader's grading page loads MathJax from a CDN, which the page's Content-Security-Policy
(cs230_grading/lab_csp.py) refuses: the TA saw raw TeX and "MathJax is not defined". The
policy's transform now renders the math as MathML on the server and drops the loader. The
sample class graded by ``cs230-grade run`` (conftest ``sample_class``) gives the page.
"""

from __future__ import annotations

import pytest
from nbgrader.api import Gradebook

from cs230_grading.course import Course

pytestmark = pytest.mark.browser

NOTEBOOK = "q5_gan_backprop"
STUDENT = "sample-full"  # conftest.SAMPLE_STUDENTS


def test_grading_page_math_is_mathml_under_the_policy(lab, course: Course, sample_class
                                                      ) -> None:
    sample_class.wait()
    with Gradebook(course.db_url) as gradebook:
        submission = gradebook.find_submission_notebook(NOTEBOOK, "midterm", STUDENT).id
    page = lab.page
    response = page.goto(lab.server.url(f"formgrader/submissions/{submission}/"))
    assert response is not None and response.ok
    assert "script-src 'self'" in response.headers.get("content-security-policy", "")
    page.locator(".nbgrader_cell").first.wait_for()

    maths = page.evaluate("""() => [...document.querySelectorAll('math')].map(m => ({
        mathml: m instanceof MathMLElement, width: m.getBoundingClientRect().width}))""")
    assert len(maths) >= 5, maths
    assert all(m["mathml"] and m["width"] > 0 for m in maths), maths
    text = page.evaluate("() => document.body.innerText")
    assert "\\partial" not in text and "$\\" not in text
    lab.screenshot("formgrader-math")
    # nothing failed in the console: no MathJax to load, nothing refused by the policy
    assert not lab.real_console_errors(), lab.real_console_errors()
