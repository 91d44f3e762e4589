"""A TA in the grading console (``instructor/grading_console.ipynb``) in JupyterLab.

A small Q2 class (:mod:`cs230_grading.variants.hand_graded`) is autograded in its own
scratch course, with its own ``jupyter lab`` started as a newcomer would (``.venv/bin``,
nothing activated). In the browser the TA opens the console notebook, runs it, picks a part,
clicks a rubric item for the first (largest) answer group, and the exported grades
(``nbgrader export``) show the derived score for exactly the students of that group. A
student's answer made of active HTML is shown as text and does not run.
"""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from cs230_grading import manual
from cs230_grading.course import REPO_ROOT, Course
from cs230_grading.variants.hand_graded import ACTIVE, ANSWERS, build_hand_graded_class

pytestmark = pytest.mark.browser

CONSOLE = "instructor/grading_console.ipynb"
PART, ITEM, GRADER = "q2_b", "f1-justified", "ta-browser"


@pytest.fixture(scope="module")
def console_course(tmp_path_factory: pytest.TempPathFactory) -> Course:
    course = build_hand_graded_class(tmp_path_factory.mktemp("console-class"))
    shutil.copy(REPO_ROOT / CONSOLE, course.root / CONSOLE)
    return course


@pytest.fixture(scope="module")
def browser_helpers(request: pytest.FixtureRequest) -> Any:
    """This folder's conftest module (``start_lab``, ``Lab``...), as pytest loaded it."""
    here = str(Path(__file__).with_name("conftest.py"))
    return next(p for p in request.config.pluginmanager.get_plugins()
                if getattr(p, "__file__", None) == here)


@pytest.fixture(scope="module")
def console_lab(console_course: Course, tmp_path_factory: pytest.TempPathFactory,
                newcomer_env: dict[str, str], browser_helpers: Any) -> Iterator[Any]:
    """``jupyter lab`` rooted at the hand-graded class (the session's server is not)."""
    home = tmp_path_factory.mktemp("console-home")
    server = browser_helpers.start_lab(console_course, home, newcomer_env)
    yield server
    browser_helpers.stop_lab(server)


@pytest.fixture
def console(browser_context: Any, console_lab: Any, browser_helpers: Any) -> Iterator[Any]:
    with browser_helpers.open_lab(browser_context, console_lab) as helper:
        yield helper


def _export(course: Course) -> dict[str, float]:
    path = course.root / "export.csv"
    course.nbgrader("export", "--to", str(path))
    with path.open(newline="") as fh:
        return {r["student_id"]: float(r["score"]) for r in csv.DictReader(fh)}


def test_ta_applies_an_item_to_a_group_and_the_export_shows_it(
        console: Any, console_course: Course) -> None:
    root = console_course.root
    part = manual.load_part(root, PART)
    group = manual.answer_groups(root, PART)[0]
    assert len(group) > 1
    expected = part.score([ITEM])
    before = _export(console_course)

    console.open_notebook(CONSOLE)
    console.run_all()
    page = console.page
    app = page.locator(".cs230-grading-console")
    expect(app).to_be_visible(timeout=60_000)
    app.locator("select").first.select_option(PART)
    app.locator("input[type=text]").first.fill(GRADER)
    app.locator("input[type=text]").first.press("Tab")
    expect(app.locator(".cs230-position")).to_contain_text(f"{len(group)} answer(s)")
    for student in group.students:
        expect(app.locator(f".cs230-answer[data-student='{student}']")).to_be_visible()
    expect(app.locator(".cs230-progress")).to_contain_text(f"0 / {len(ANSWERS[PART])}")
    console.screenshot("grading-console-1-group")

    app.locator(f".cs230-item-{ITEM}").click()
    expect(app.locator(".cs230-progress")).to_contain_text(
        f"{len(group)} / {len(ANSWERS[PART])}", timeout=30_000)
    expect(app.locator(".cs230-progress")).to_contain_text(f"{GRADER} {len(group)}")
    console.screenshot("grading-console-2-applied")

    after = _export(console_course)
    for student, score in after.items():
        gained = expected if student in group.students else 0.0
        assert score == pytest.approx(before[student] + gained), student
    assert not console.real_console_errors(), console.real_console_errors()


def test_an_answer_made_of_html_is_shown_as_text(console: Any) -> None:
    gid, student = ACTIVE
    console.open_notebook(CONSOLE)
    console.run_all()
    app = console.page.locator(".cs230-grading-console")
    expect(app).to_be_visible(timeout=60_000)
    app.locator("select").first.select_option(gid)
    answer = app.locator(f".cs230-answer[data-student='{student}']")
    for _ in range(len(ANSWERS[gid])):  # step through the groups to the student's answer
        if answer.count():
            break
        app.locator(".cs230-next-button").click()
        console.page.wait_for_timeout(500)
    expect(answer).to_contain_text("<img src=")
    expect(answer).to_contain_text("<script>")
    assert answer.locator("img, script").count() == 0
    assert console.page.evaluate("() => window.cs230Pwned") is None
