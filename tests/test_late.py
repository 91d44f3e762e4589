"""Late submissions: the course policy, nbgrader's late-penalty hook, and the report.

One scratch course, a due date in its gradebook, three students whose ``timestamp.txt``
says on time, 40 minutes late and 3.5 hours late, graded by real ``nbgrader autograde``
(one notebook each, to keep it short). The penalties are derived from the policy function
and the notebook's points metadata, never typed in.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from cs230_grading.course import Course
from cs230_grading.late import (
    GRACE_MINUTES,
    PERCENT_PER_HOUR,
    CourseLatePenalty,
    late_by,
    penalty_points,
)
from cs230_grading.report import write_report
from cs230_grading.results import collect_grades, write_scores_csv
from cs230_grading.variants import model

DUE = dt.datetime(2021, 5, 7, 17, 0, 0)
NOTEBOOK = "q3_conv_architectures"
#: student -> seconds after the due date in timestamp.txt (negative: early)
SUBMITTED = {"on-time": -600.0, "late-40min": 40 * 60.0, "late-3h30": 3.5 * 3600}


@pytest.mark.parametrize(
    ("seconds", "hours_charged"),
    [(0, 0), (GRACE_MINUTES * 60, 0), (GRACE_MINUTES * 60 + 1, 1), (3600, 1), (3601, 2),
     (9.5 * 3600, 10), (30 * 3600, 10)],
)
def test_policy_charges_started_hours_after_the_grace(seconds: float, hours_charged: int
                                                      ) -> None:
    fraction = min(1.0, hours_charged * PERCENT_PER_HOUR / 100)
    assert penalty_points(20.0, seconds) == pytest.approx(20.0 * fraction)
    assert penalty_points(0.0, seconds) == 0.0


def test_plugin_is_the_policy_and_configured_in_the_course() -> None:
    plugin = CourseLatePenalty()
    assert plugin.late_submission_penalty("s", 13.0, 7200) == penalty_points(13.0, 7200)
    assert plugin.late_submission_penalty("s", 13.0, 60) is None
    config = (Path(__file__).parents[1] / "nbgrader_config.py").read_text()
    assert 'c.AssignLatePenalties.plugin_class = "cs230_grading.late.CourseLatePenalty"' in config
    assert f"c.CourseLatePenalty.grace_minutes = {GRACE_MINUTES:g}" in config
    assert f"c.CourseLatePenalty.percent_per_hour = {PERCENT_PER_HOUR:g}" in config
    assert "AssignLatePenalties," in config  # the preprocessor runs while autograding


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> Course:
    from nbgrader.api import Gradebook

    course = Course.scratch(tmp_path_factory.mktemp("late"))
    course.generate_assignment()
    with Gradebook(course.db_url) as gb:
        gb.update_or_create_assignment("midterm", duedate=DUE)
    for student, offset in SUBMITTED.items():
        folder = course.add_submission(
            student, {NOTEBOOK: model(NOTEBOOK).build(course.source_dir, course.release_dir)})
        stamp = DUE + dt.timedelta(seconds=offset)
        (folder / "timestamp.txt").write_text(stamp.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    course.autograde()  # every student (`--student` takes one id)
    return course


def test_gradebook_holds_lateness_and_the_course_penalty(graded: Course) -> None:
    points = sum(v for v in model(NOTEBOOK).expected_scores().values() if v is not None)
    grades = collect_grades(graded.db_url, list(SUBMITTED)).by_student()
    for student, offset in SUBMITTED.items():
        late = max(0.0, offset)
        assert grades[student].seconds_late == pytest.approx(late), student
        assert grades[student].notebook_scores[NOTEBOOK] == pytest.approx(points)
        assert grades[student].late_penalty == pytest.approx(penalty_points(points, late))
    assert grades["late-3h30"].late_penalty > grades["late-40min"].late_penalty > 0


def test_export_subtracts_the_penalty(graded: Course, tmp_path: Path) -> None:
    out = tmp_path / "grades.csv"
    graded.nbgrader("export", f"--to={out}")
    rows = {r["student_id"]: r for r in csv.DictReader(out.open())}
    grades = collect_grades(graded.db_url, list(SUBMITTED)).by_student()
    for student in SUBMITTED:
        row = rows[student]
        assert float(row["late_submission_penalty"]) == pytest.approx(
            grades[student].late_penalty)
        assert float(row["score"]) == pytest.approx(
            grades[student].total - grades[student].late_penalty)


def test_report_lists_late_students_and_by_how_much(graded: Course, tmp_path: Path) -> None:
    grades = collect_grades(graded.db_url, list(SUBMITTED))
    assert [s.student for s in grades.late] == ["late-3h30", "late-40min"]
    page = write_report(grades, [], tmp_path).read_text()
    section = page.split("<h2>Late submissions</h2>")[1].split("<h2>")[0]
    for student in ("late-40min", "late-3h30"):
        s = grades.by_student()[student]
        assert student in section and late_by(s.seconds_late) in section
        assert f"<td>{s.late_penalty:g}</td>" in section
    assert "on-time" not in section
    assert late_by(3.5 * 3600) == "3 h 30 min" and late_by(40 * 60) == "40 min"
    write_scores_csv(grades, tmp_path / "scores.csv")
    rows = {r["student_id"]: r for r in csv.DictReader((tmp_path / "scores.csv").open())}
    assert float(rows["late-40min"]["seconds_late"]) == 2400
