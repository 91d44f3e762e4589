"""The instructor in the browser: the formgrader of the course served by ``jupyter lab``.

Two students of the sample class (:mod:`cs230_grading.samples`) are graded by
``cs230-grade run`` in the session's scratch course, in the background while the
student tests run (``conftest.sample_class``). Then, in JupyterLab: the Nbgrader menu
opens the formgrader from the course root; it lists the midterm and the sample students;
a manual grade typed for a Q2 answer is saved, and re-exporting the grades
(``rebuild_report``: ``nbgrader export`` plus the per-question CSV) shows it.
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from cs230_grading.course import Course
from cs230_grading.pipeline import rebuild_report
from cs230_grading.samples import expected_scores

pytestmark = pytest.mark.browser

STUDENTS = ("sample-full", "sample-blank")  # conftest.SAMPLE_STUDENTS
MANUAL_ID, MANUAL_SCORE = "q2_a", 1.5


@pytest.fixture(scope="module")
def graded_class(sample_class) -> dict:
    """Wait for the pipeline that conftest started on the sample class at the first test."""
    sample_class.wait()
    assert sorted(sample_class.plan) == sorted(STUDENTS)
    return sample_class.plan


def _rows(path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_formgrader_manual_grade_reaches_export(lab, course: Course, graded_class) -> None:
    page = lab.page
    page.goto(lab.server.url("lab", reset=""))
    page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").click()
    page.locator(".lm-Menu-itemLabel:visible", has_text="Formgrader").first.click()
    frame = page.frame_locator("#formgrader iframe")

    # the midterm, from this course's root
    expect(frame.locator("#main-table")).to_contain_text("midterm", timeout=30_000)
    lab.screenshot("formgrader-1-assignments")

    # the sample class
    frame.locator("a", has_text="Manage Students").click()
    for student in STUDENTS:
        expect(frame.locator("body")).to_contain_text(student)
    lab.screenshot("formgrader-2-students")

    # a manual grade for a Q2 answer of sample-full
    frame.locator("a", has_text="Manual Grading").click()
    frame.locator("a", has_text="midterm").click()
    frame.locator("a", has_text="q2_short_answers").click()
    row = frame.locator("tr").filter(has=frame.locator("a.name-shown", has_text="sample-full"))
    row.locator("a.name-hidden").click()
    score = frame.locator(f"input.score#{MANUAL_ID}")
    lab.save_formgrader_score(score, MANUAL_SCORE)
    lab.screenshot("formgrader-3-manual-grade")
    # nbgrader's grading page loads MathJax from a CDN: offline, that fails and nothing else;
    # the page's Content-Security-Policy refuses it anyway (docs/security.md)
    offline = ("ERR_NAME_NOT_RESOLVED", "MathJax is not defined", "/ajax/libs/mathjax/")
    errors = [e for e in lab.real_console_errors() if not any(o in e for o in offline)]
    assert not errors, errors

    # the exported grades show it
    rebuild_report(course.root, out=io.StringIO())
    by_question = {r["student_id"]: r for r in _rows(course.root / "reports"
                                                     / "scores_by_question.csv")}
    assert float(by_question["sample-full"]["q2_short_answers"]) == MANUAL_SCORE
    assert float(by_question["sample-blank"]["q2_short_answers"]) == 0
    exported = {r["student_id"]: r for r in _rows(course.root / "reports" / "grades.csv")}
    derived = sum(expected_scores(graded_class, course.source_dir)["sample-full"].values())
    assert float(exported["sample-full"]["raw_score"]) == pytest.approx(derived + MANUAL_SCORE)
