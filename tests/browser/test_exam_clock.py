"""The student's exam clock in JupyterLab (headless Chromium).

The instructor publishes ``exam_window.json`` into the student's folder
(:func:`cs230_grading.exam_clock.publish`); the notebook's setup cell (through
``selfcheck``) shows a box with the student's own end time and the time left, which stays
in view while the notebook scrolls, and turns to a warning shortly before the end. The
windows are set relative to now so that one shows ~65 minutes left (the student's own
accommodation) and the other 5 (the common end, within the 10-minute warning).
"""

from __future__ import annotations

import datetime as dt
import os
import pwd

import pytest
from playwright.sync_api import expect

from cs230_grading.exam_clock import publish
from cs230_grading.exam_window import Accommodation, ExamWindow

pytestmark = pytest.mark.browser

NOTEBOOK = "q1_multiple_choice"


def _window(minutes_left: float, extra_for: str | None = None) -> ExamWindow:
    """A 180-minute window ending ``minutes_left`` from now; ``extra_for`` gets 60 more."""
    now = dt.datetime.now(dt.timezone.utc)
    extra = {extra_for: Accommodation(extra_for, extra_minutes=60)} if extra_for else {}
    return ExamWindow(start=now + dt.timedelta(minutes=minutes_left - 180),
                      duration=dt.timedelta(minutes=180), grace=dt.timedelta(minutes=5),
                      accommodations=extra)


def test_clock_shows_own_end_stays_in_view_and_warns(lab, student_copy) -> None:
    folder = student_copy("exam-clock")
    # the lab's kernels run with no USER or JUPYTERHUB_USER: the clock takes the login name
    me = pwd.getpwuid(os.getuid()).pw_name
    publish(_window(5, extra_for=me), folder)  # common end in 5 min, mine in 65
    lab.open_notebook(f"students/exam-clock/{NOTEBOOK}.ipynb")
    lab.run_cells("q1_setup")
    box = lab.page.locator("#cs230-exam-clock")
    expect(box).to_have_attribute("data-state", "running")
    expect(box).to_contain_text("Your exam ends at")
    text = box.inner_text()
    assert any(f"1 h {m:02d} min left" in text for m in range(0, 6)), text
    assert "what counts" in (box.get_attribute("title") or "")  # never the authority
    lab.cell_locator(len(lab.cells()) - 1)  # scroll to the end of the notebook
    expect(box).to_be_visible()
    assert box.bounding_box()["y"] < lab.page.viewport_size["height"]
    lab.screenshot("exam-clock-running")

    # another student (no accommodation): the common end, 5 minutes away. The clock is shown
    # when a kernel first imports selfcheck, so this is a fresh notebook and kernel.
    other = student_copy("exam-clock-common")
    publish(_window(5), other)
    lab.open_notebook(f"students/exam-clock-common/{NOTEBOOK}.ipynb")
    lab.run_cells("q1_setup")
    box = lab.page.locator("#cs230-exam-clock")
    expect(box).to_have_attribute("data-state", "warning")
    expect(box).to_contain_text("save and submit")
    assert box.count() == 1
    lab.screenshot("exam-clock-warning")
    assert lab.real_console_errors() == []
