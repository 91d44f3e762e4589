"""Q2 manual grading round-trips: gradebook API -> ``nbgrader export`` CSV.

A scratch course holding Q1 and Q2 is generated; one student submits the Q1
model answers (16 autograded points) and three Q2 answers. Q2 awaits manual
grading after autograding; a TA's grades entered through nbgrader's Gradebook
API (as formgrader does) then show up in the exported total.
"""

from __future__ import annotations

import csv
import shutil

import pytest
from nbgrader.api import Gradebook

from cs230_grading.course import REPO_ROOT, Course
from cs230_grading.notebooks import grade_cells, read_notebook, solution_sources
from cs230_grading.variants import model
from cs230_grading.variants.q2 import VARIANTS

FILES = ("q1_multiple_choice.ipynb", "q2_short_answers.ipynb", "q1_tools.py", "selfcheck.py")
STUDENT = "ta-sample"
MANUAL = {"q2_a": 2.0, "q2_c": 1.5, "q2_f": 1.0}


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Course:
    src = tmp_path_factory.mktemp("source")
    (src / "midterm").mkdir()
    for name in FILES:
        shutil.copy(REPO_ROOT / "source" / "midterm" / name, src / "midterm" / name)
    course = Course.scratch(tmp_path_factory.mktemp("course"), source=src)
    course.generate_assignment()
    return course


def test_release_shows_no_model_answer_or_rubric(course: Course) -> None:
    source = read_notebook(course.source_dir / "q2_short_answers.ipynb")
    path = course.release_dir / "q2_short_answers.ipynb"
    text = path.read_text()
    assert "Rubric" not in text and "Model answer" not in text and "TA only" not in text
    for gid, answer in solution_sources(source).items():
        for line in answer.split("\n"):
            if len(line) > 25:   # every substantial line of the answer and rubric
                assert line not in text, f"{gid} leaks {line!r}"
        assert grade_cells(read_notebook(path))[gid].source.strip() == "YOUR ANSWER HERE"


def test_manual_grades_reach_the_exported_total(course: Course) -> None:
    q2 = next(v for v in VARIANTS if v.name == "some_answered")
    assert set(MANUAL) == set(q2.answers)
    q1 = model("q1_multiple_choice")
    course.add_submission(STUDENT, {
        q1.notebook: q1.build(course.source_dir, course.release_dir),
        q2.notebook: q2.build(course.source_dir, course.release_dir),
    })
    course.autograde([STUDENT])

    before = {g.grade_id: g for g in course.cell_grades(STUDENT, with_output=False)}
    auto = sum(g.score for g in before.values() if g.notebook == "q1_multiple_choice")
    assert auto == 16
    for q in "abcdefgh":
        grade = before[f"q2_{q}"]
        # Answered cells await the TA; cells left as released score 0 automatically.
        assert grade.needs_manual_grade == (grade.grade_id in MANUAL)
        assert grade.score == (None if grade.grade_id in MANUAL else 0)

    with Gradebook(course.db_url) as gb:   # what formgrader's grade handler does
        for gid, points in MANUAL.items():
            grade = gb.find_grade(gid, "q2_short_answers", "midterm", STUDENT)
            grade.manual_score = points
            grade.needs_manual_grade = False
        gb.db.commit()
        assert gb.find_submission("midterm", STUDENT).needs_manual_grade is False

    out = course.root / "grades.csv"
    course.nbgrader("export", "--to", str(out))
    rows = [r for r in csv.DictReader(out.open()) if r["student_id"] == STUDENT]
    assert len(rows) == 1
    assert float(rows[0]["score"]) == pytest.approx(auto + sum(MANUAL.values()))
    assert float(rows[0]["max_score"]) == 32   # Q1 16 + Q2 16 in this scratch course
