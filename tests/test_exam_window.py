"""The exam window and accommodations: each student's end time, and bad rows stopping a run.

Fast tests (no grading): the end times derived from the window and each kind of
accommodation, one clear line for every malformed or unknown row, and ``cs230-grade run``
stopping on such a row before anything is graded. The exchange round trip with real grading
is in tests/test_exam_day.py.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from cs230_grading import cli
from cs230_grading.course import Course
from cs230_grading.exam_clock import clock_data, student_key
from cs230_grading.exam_window import (
    ExamWindowError,
    apply_deadlines,
    deadline_inputs,
    load_window,
    parse_time,
)

PACIFIC = ZoneInfo("America/Los_Angeles")
START = dt.datetime(2021, 5, 7, 14, 0, tzinfo=PACIFIC)
DURATION = 180
WINDOW_CONFIG = (f'\nc.ExamWindow.start = "{START:%Y-%m-%d %H:%M} America/Los_Angeles"\n'
                 f"c.ExamWindow.duration_minutes = {DURATION}\n")


@pytest.fixture
def course_root(tmp_path: Path) -> Path:
    """A course folder with the repository's configuration plus an exam window."""
    course = Course.scratch(tmp_path / "course")
    with (course.root / "nbgrader_config.py").open("a") as fh:
        fh.write(WINDOW_CONFIG)
    (course.root / "roster.csv").write_text("id\nann\nbob\ncat\ndan\n")
    return course.root


def write_accommodations(root: Path, *rows: str,
                         header: str = "id,extra_minutes,time_multiplier,start") -> None:
    (root / "accommodations.csv").write_text("\n".join([header, *rows]) + "\n")


def test_no_start_means_no_window(tmp_path: Path) -> None:
    course = Course.scratch(tmp_path / "plain")
    assert load_window(course.root) is None


def test_each_students_end_follows_from_window_and_accommodations(course_root: Path) -> None:
    write_accommodations(course_root, "ann,30,,", "bob,,1.5,", "cat,15,2,",
                         "dan,,,2021-05-08 09:00")
    window = load_window(course_root)
    assert window is not None
    duration = dt.timedelta(minutes=DURATION)
    assert window.end == START + duration
    assert window.grace == dt.timedelta(minutes=5)  # CourseLatePenalty's grace in the config
    assert window.end_of("eve") == START + duration  # no accommodation
    assert window.end_of("ann") == START + duration + dt.timedelta(minutes=30)
    assert window.end_of("bob") == START + duration * 1.5
    assert window.end_of("cat") == START + duration * 2 + dt.timedelta(minutes=15)
    own_start = dt.datetime(2021, 5, 8, 9, 0, tzinfo=PACIFIC)  # the window's zone
    assert window.end_of("dan") == own_start + duration
    assert window.extension("eve") is None
    assert window.extension("bob") == duration * 0.5


@pytest.mark.parametrize(("rows", "header", "expected"), [
    (["ann,ten,,"], None, "accommodations.csv line 2: extra_minutes 'ten' is not a number"),
    (["ann,,0.5,"], None, "accommodations.csv line 2: time_multiplier '0.5' must be at least 1"),
    (["ann,-5,,"], None, "accommodations.csv line 2: extra_minutes '-5' must be at least 0"),
    (["ann,10,,", "zed,10,,"], None, "accommodations.csv line 3: 'zed' is not in roster.csv"),
    (["ann,10,,", "ann,,2,"], None, "accommodations.csv line 3: 'ann' is listed twice"),
    ([",10,,"], None, "accommodations.csv line 2: no student id"),
    (["bob,,,"], None, "accommodations.csv line 2: 'bob' has no extra_minutes"),
    (["bob,,,tomorrow"], None, "accommodations.csv line 2: start: 'tomorrow' is not a date"),
    (["bob,10,,,extra"], None, "accommodations.csv line 2: more values than columns"),
    (["bob,10"], "id,minutes", "the header must be id,extra_minutes,time_multiplier,start"),
])
def test_a_bad_row_is_one_line_naming_it(course_root: Path, rows: list[str],
                                        header: str | None, expected: str) -> None:
    if header:
        write_accommodations(course_root, *rows, header=header)
    else:
        write_accommodations(course_root, *rows)
    with pytest.raises(ExamWindowError) as info:
        load_window(course_root)
    message = str(info.value)
    assert expected in message
    assert "\n" not in message


def test_accommodations_without_a_window_stop(tmp_path: Path) -> None:
    course = Course.scratch(tmp_path / "plain")
    write_accommodations(course.root, "ann,10,,")
    with pytest.raises(ExamWindowError, match="sets no exam window"):
        load_window(course.root)


def test_times_need_a_zone() -> None:
    assert parse_time("2021-05-07 14:00 America/Los_Angeles") == START
    assert parse_time("2021-05-07T21:00:00Z") == START
    with pytest.raises(ValueError, match="no time zone"):
        parse_time("2021-05-07 14:00")
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_time("2021-05-07 14:00 Mars/Olympus")


def test_run_stops_before_grading_on_a_bad_row(course_root: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    write_accommodations(course_root, "ann,10,,", "zed,,1.5,")
    (course_root / "submitted" / "ann" / "midterm").mkdir(parents=True)
    code = cli.main(["--course", str(course_root), "run", "--no-progress", "--workers", "1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["cs230-grade: accommodations.csv line 3: 'zed' is not in roster.csv "
                   "(a typo, or add the student to the roster)"]
    assert not (course_root / "release").exists()  # stopped before anything else ran
    assert not (course_root / "autograded").exists()


def test_deadlines_become_nbgrader_due_date_and_extensions(course_root: Path) -> None:
    from nbgrader.api import Gradebook

    course = Course(course_root)
    course.generate_assignment()
    write_accommodations(course_root, "bob,,1.5,")
    window = load_window(course_root)
    assert window is not None
    created = apply_deadlines(course.db_url, window, ["ann", "bob"])
    assert created == {"bob"}  # ann needs no extension, so no row for her
    with Gradebook(course.db_url) as gb:
        due = gb.find_assignment("midterm").duedate
        assert due == window.end.astimezone(dt.timezone.utc).replace(tzinfo=None)
        bob = gb.find_submission("midterm", "bob")
        assert bob.extension == window.extension("bob")
        assert bob.duedate == due + window.extension("bob")


def test_a_new_accommodation_changes_what_the_ledger_compares(course_root: Path) -> None:
    before = deadline_inputs(course_root)
    write_accommodations(course_root, "bob,,1.5,")
    after = deadline_inputs(course_root)
    write_accommodations(course_root, "bob,,2,")
    assert before == () and after and after != deadline_inputs(course_root)


def test_clock_file_holds_own_end_under_a_hash(course_root: Path) -> None:
    write_accommodations(course_root, "bob,,1.5,")
    window = load_window(course_root)
    assert window is not None
    data = clock_data(window, "salt")
    assert data["end"] == window.end.isoformat()
    assert data["own_end"] == {student_key("salt", "bob"): window.end_of("bob").isoformat()}
    assert "bob" not in str(data)


def test_an_lms_late_mark_names_the_students_own_end(course_root: Path) -> None:
    from cs230_grading.exam_window import lms_late_note

    write_accommodations(course_root, "bob,,1.5,")
    assert lms_late_note(course_root, "ann") == ""
    note = lms_late_note(course_root, "bob")
    assert "this student's end time is 2021-05-07 18:30 PDT" in note


def test_exam_window_command_prints_end_times_and_publishes_the_clock(
        course_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    write_accommodations(course_root, "bob,,1.5,")
    out_dir = tmp_path / "outbound"
    out_dir.mkdir()
    assert cli.main(["--course", str(course_root), "exam-window", "--publish",
                     str(out_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ("Exam window: 2021-05-07 14:00 PDT to 2021-05-07 17:00 PDT (180 min), "
                        "then 5 min of grace")
    assert "  ann: 2021-05-07 14:00 to 2021-05-07 17:00 PDT" in lines
    assert "  bob: 2021-05-07 14:00 to 2021-05-07 18:30 PDT  (x1.5)" in lines
    published = json.loads((out_dir / "exam_window.json").read_text())
    assert published["end"] == "2021-05-07T17:00:00-07:00"
    assert len(published["own_end"]) == 1


def test_the_students_clock_finds_their_own_end(course_root: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """The student-side module (released) reads what the instructor side publishes."""
    import importlib.util

    from cs230_grading.exam_clock import publish

    spec = importlib.util.spec_from_file_location(
        "exam_clock_student", Path(__file__).parents[1] / "source/midterm/exam_clock.py")
    assert spec and spec.loader
    clock = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(clock)
    write_accommodations(course_root, "bob,,1.5,")
    window = load_window(course_root)
    assert window is not None
    folder = tmp_path / "midterm"
    folder.mkdir()
    assert clock.show(folder) is False  # nothing published: no clock
    import json

    data = json.loads(publish(window, folder).read_text())
    assert clock.your_end(data, "bob") == window.end_of("bob")
    assert clock.your_end(data, "ann") == window.end
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert clock.show(folder) is False  # never while a notebook is graded
