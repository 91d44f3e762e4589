"""A TA in the grading console (``instructor/grading_console.ipynb``) in JupyterLab.

A small Q2 class (:mod:`cs230_grading.variants.hand_graded`) is autograded in its own
scratch course, with its own ``jupyter lab`` started as a newcomer would (``.venv/bin``,
nothing activated). In the browser the TA opens the console notebook, runs it, picks a part,
clicks a rubric item for the first (largest) answer group, and the exported grades
(``nbgrader export``) show the derived score for exactly the students of that group. A
student's answer made of active HTML is shown as text and does not run. A grade and comment
typed in the formgrader (with the rubric shown under the answer) are kept when a rubric
item is applied to the answer's group in the console, replaced only after the TA ticks
"Replace hand grades", and the audit log has every change.

The console draws itself once per change and says which part and group it shows
(``.cs230-where``'s ``data-part`` and ``data-group``): every step waits for the drawing it
expects before looking, never for a fixed time.
"""

from __future__ import annotations

import csv
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from cs230_grading import audit, manual
from cs230_grading.course import ASSIGNMENT, REPO_ROOT, Course
from cs230_grading.variants.hand_graded import ACTIVE, ANSWERS, build_hand_graded_class

pytestmark = pytest.mark.browser

CONSOLE = "instructor/grading_console.ipynb"
PART, ITEM, GRADER = "q2_b", "f1-justified", "ta-browser"
#: the part a TA grades in the formgrader first; the name the formgrader's server records
HAND_PART, FORMGRADER_TA = "q2_d", "ta-formgrader"


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
    env = {**newcomer_env, "CS230_TA": FORMGRADER_TA}
    server = browser_helpers.start_lab(console_course, home, env)
    yield server
    browser_helpers.stop_lab(server)


@pytest.fixture
def console(browser_context: Any, console_lab: Any, browser_helpers: Any) -> Iterator[Any]:
    with browser_helpers.open_lab(browser_context, console_lab) as helper:
        yield helper


def _open_console(console: Any, part: str, grader: str = "") -> Any:
    """Run the console notebook, pick ``part`` and wait until it is drawn."""
    console.open_notebook(CONSOLE)
    console.run_all()
    app = console.page.locator(".cs230-grading-console")
    expect(app).to_be_visible(timeout=60_000)
    app.locator("select").first.select_option(part)
    expect(app.locator(f".cs230-where[data-part='{part}'][data-group='1']")).to_be_visible(
        timeout=30_000)
    if grader:  # the kernel has the name once the console shows it
        app.locator("input[type=text]").first.fill(grader)
        app.locator("input[type=text]").first.press("Tab")
        expect(app.locator(".cs230-who")).to_contain_text(f"grading as {grader}",
                                                          timeout=30_000)
    return app


def _go_to_group(app: Any, part: str, index: int) -> None:
    """Step to group ``index`` (0-based), waiting for each step to be drawn."""
    for n in range(index):
        app.locator(".cs230-next-button").click()
        expect(app.locator(f".cs230-where[data-part='{part}'][data-group='{n + 2}']")
               ).to_be_visible(timeout=30_000)


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

    app = _open_console(console, PART, GRADER)
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


def test_an_answer_made_of_html_is_shown_as_text(console: Any, console_course: Course
                                                 ) -> None:
    gid, student = ACTIVE
    groups = manual.answer_groups(console_course.root, gid)
    index = next(n for n, g in enumerate(groups) if student in g.students)
    app = _open_console(console, gid)
    _go_to_group(app, gid, index)
    answer = app.locator(f".cs230-answer[data-student='{student}']")
    expect(answer).to_contain_text("<img src=")
    expect(answer).to_contain_text("<script>")
    assert answer.locator("img, script").count() == 0
    assert console.page.evaluate("() => window.cs230Pwned") is None


def _stored(course: Course, student: str) -> tuple[float | None, str | None]:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        grade = gb.find_grade(HAND_PART, manual.load_part(course.root, HAND_PART).notebook,
                              ASSIGNMENT, student)
        comment = gb.find_comment(grade.name, grade.notebook.name, ASSIGNMENT, student)
        return grade.manual_score, comment.manual_comment


def _wait_stored(course: Course, student: str, expected: tuple[float | None, str | None],
                 timeout: float = 30) -> None:
    """Wait until the gradebook holds ``expected`` (the formgrader saves asynchronously)."""
    deadline = time.monotonic() + timeout
    while _stored(course, student) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"the gradebook has {_stored(course, student)}, "
                                 f"not {expected}, after {timeout} s")
        time.sleep(0.1)


def test_a_formgrader_grade_survives_the_console_until_replaced(
        console: Any, console_course: Course) -> None:
    from nbgrader.api import Gradebook

    root = console_course.root
    part = manual.load_part(root, HAND_PART)
    groups = manual.answer_groups(root, HAND_PART)
    index, group = next((n, g) for n, g in enumerate(groups) if len(g) > 1)
    student = group.students[0]
    score, comment = part.max_points / 4, "Names overfitting; the remedy is vague."
    with Gradebook(console_course.db_url) as gb:
        notebook_id = gb.find_submission_notebook(part.notebook, ASSIGNMENT, student).id

    # the formgrader: the answer, its rubric under the comment box, a score and a comment
    page = console.page
    page.goto(console.server.url("formgrader"))  # logs the browser in (its cookie)
    expect(page.locator("body")).to_contain_text(ASSIGNMENT, timeout=30_000)
    page.goto(console.server.url(f"formgrader/submissions/{notebook_id}/"))
    rubric = page.locator(f"details.cs230-rubric[data-part='{HAND_PART}']")
    expect(rubric).to_contain_text(part.items[0].id)
    console.save_formgrader_score(page.locator(f"input.score#{HAND_PART}"), f"{score:g}")
    _wait_stored(console_course, student, (score, None))
    text = page.locator(f"textarea#{HAND_PART}-comment")
    text.fill(comment)
    text.press("Tab")
    _wait_stored(console_course, student, (score, comment))
    console.screenshot("grading-console-3-formgrader")

    # the console shows it, and applying an item to the group keeps it
    app = _open_console(console, HAND_PART, GRADER)
    _go_to_group(app, HAND_PART, index)
    answer = app.locator(f".cs230-answer[data-student='{student}']")
    expect(answer).to_contain_text(f"{score:g} points and a comment, typed in the "
                                   f"formgrader by {FORMGRADER_TA}")
    expect(answer).to_contain_text(comment)
    item = part.items[0]
    app.locator(f".cs230-item-{item.id}").click()
    expect(app.locator(".cs230-status")).to_contain_text(f"kept the hand grade of {student}",
                                                         timeout=30_000)
    assert _stored(console_course, student) == (score, comment)
    console.screenshot("grading-console-4-kept")

    # ticking "Replace hand grades", then the item again, replaces it (the tick is undone)
    app.locator(".cs230-replace input[type=checkbox]").check()
    expect(app.locator(".cs230-who")).to_contain_text("the next action replaces hand grades")
    app.locator(f".cs230-item-{item.id}").click()
    expect(app.locator(".cs230-progress")).to_contain_text(f"{GRADER} {len(group)}",
                                                           timeout=30_000)
    expect(answer).to_contain_text(f"{part.score([item.id]):g} points ({item.id}; {GRADER})")
    expect(app.locator(".cs230-replace input[type=checkbox]")).not_to_be_checked()
    expect(app.locator(".cs230-who")).not_to_contain_text("replaces")
    new_score, new_comment = _stored(console_course, student)
    assert new_score == part.score([item.id]) != score and item.description in new_comment

    log = [(c.field, c.old, c.new, c.who, c.tool)
           for c in audit.history(console_course.db_url, student=student,
                                  grade_id=HAND_PART)]
    assert log == [
        (audit.SCORE, None, f"{score:g}", FORMGRADER_TA, audit.FORMGRADER),
        (audit.COMMENT, None, comment, FORMGRADER_TA, audit.FORMGRADER),
        (audit.SCORE, f"{score:g}", f"{new_score:g}", GRADER, "console"),
        (audit.COMMENT, comment, new_comment, GRADER, "console"),
    ]
