"""A slow submission costs its own points, not the class's time.

Three submissions whose Q3 ``conv_output_shape`` is right but slow are graded beside an
honest student: one sleeps (no CPU), one spins (CPU), one is fast for its first calls and
sleeps after. The budgets are set from the honest student's own time, measured first in the
same test, so the assertions are ratios against the honest run, not absolute times:

* each slow student's grading ends within its student budget plus a margin of twice the
  honest student's time, with a "time budget" finding and "not run" cells;
* the honest student's scores are the same as in the honest-only run;
* the whole class's wall time exceeds the honest-only run by no more than the budgets allow.
"""

from __future__ import annotations

import io
import math
import shutil
import time
from pathlib import Path

import pytest

from cs230_grading.budget import KIND, NOT_RUN
from cs230_grading.course import Course, source_points
from cs230_grading.notebooks import nbgrader_meta
from cs230_grading.pipeline import run_pipeline
from cs230_grading.variants import model

NOTEBOOK = "q3_conv_architectures"
FUNCTION_CELL = "q3_conv_output_shape"
SLOW_CALL = 50  # seconds a slow call would take: far beyond every budget below

SLOWDOWNS = {
    "sleeper": f"""
import time as _t
_right = conv_output_shape
def conv_output_shape(*args, **kwargs):
    _t.sleep({SLOW_CALL})
    return _right(*args, **kwargs)
""",
    "spinner": f"""
import time as _t
_right = conv_output_shape
def conv_output_shape(*args, **kwargs):
    _end = _t.monotonic() + {SLOW_CALL}
    while _t.monotonic() < _end:
        pass
    return _right(*args, **kwargs)
""",
    "slow-later": f"""
import time as _t
_right = conv_output_shape
_calls = [0]
def conv_output_shape(*args, **kwargs):
    _calls[0] += 1
    if _calls[0] > 20:
        _t.sleep({SLOW_CALL})
    return _right(*args, **kwargs)
""",
}


def submission(course: Course, slowdown: str = ""):
    nb = model(NOTEBOOK).build(course.source_dir, course.release_dir)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") == FUNCTION_CELL:
            cell.source += "\n" + slowdown
    return nb


def grade(root: Path, monkeypatch: pytest.MonkeyPatch, **limits: float):
    for name, value in limits.items():
        monkeypatch.setenv(name, f"{value:g}")
    start = time.perf_counter()
    result = run_pipeline(root, workers=2, progress=False, feedback=False,
                          regenerate_release=False, out=io.StringIO())
    return result, time.perf_counter() - start


def test_slow_submissions_cost_their_own_points(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    course = Course.scratch(tmp_path)
    course.generate_assignment()
    course.add_submission("honest", {NOTEBOOK: submission(course)})
    full = sum(source_points(course.source_dir)[NOTEBOOK].values())

    alone, alone_wall = grade(tmp_path, monkeypatch)
    assert alone.grades.by_student()["honest"].notebook_scores[NOTEBOOK] == full
    honest_time = alone.student_seconds["honest"]
    print(f"\nhonest student alone: {honest_time:.1f} s per student, {alone_wall:.1f} s wall")

    # budgets that the honest run is far below, yet small enough for a quick test
    cell = 4.0
    notebook = max(8.0, 2.5 * honest_time)
    student = 1.6 * notebook
    for name, slowdown in SLOWDOWNS.items():
        course.add_submission(name, {NOTEBOOK: submission(course, slowdown)})
    result, wall = grade(tmp_path, monkeypatch, CS230_EXECUTE_TIMEOUT=cell,
                         CS230_LIMIT_NOTEBOOK_SECONDS=notebook,
                         CS230_LIMIT_STUDENT_SECONDS=student)
    times = result.student_seconds
    print(f"budgets: cell {cell:g} s, notebook {notebook:.0f} s, student {student:.0f} s; "
          f"per student {', '.join(f'{s} {t:.1f} s' for s, t in sorted(times.items()))}; "
          f"class wall {wall:.1f} s")

    got = result.grades.by_student()
    assert got["honest"].notebook_scores == alone.grades.by_student()["honest"].notebook_scores
    budget_findings = {f.student for f in result.findings if f.kind == KIND}
    assert budget_findings == set(SLOWDOWNS), [f.line() for f in result.findings]
    margin = 2 * honest_time
    for name in SLOWDOWNS:
        assert got[name].notebook_scores[NOTEBOOK] < full, name
        assert times[name] <= student + margin, (name, times[name], student, margin)
        graded = (course.autograded_dir(name) / f"{NOTEBOOK}.ipynb").read_text()
        assert NOT_RUN in graded, name
    # two workers, four students: the class costs at most two slow students in a row more
    rounds = math.ceil(len(SLOWDOWNS) / 2)
    assert wall <= alone_wall + rounds * (student + margin), (wall, alone_wall)


def test_a_check_gets_one_cell_timeout_however_many_calls(tmp_path: Path) -> None:
    """Each call is well under the time limit, but a check makes many calls: the check as a
    whole gets the limit of a test cell, and scores 0 with a message naming it."""
    from cs230_grading.budget import TimeBudget, student_clock
    from cs230_grading.grading.score import score_notebook
    from cs230_grading.notebooks import read_notebook, write_notebook

    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    folder = tmp_path / "submission"
    shutil.copytree(course.release_dir, folder)
    per_call, limit = 0.5, 3.0
    write_notebook(submission(course, SLOWDOWNS["sleeper"].replace(str(SLOW_CALL),
                                                                   str(per_call))),
                   folder / f"{NOTEBOOK}.ipynb")
    with student_clock(TimeBudget(notebook_seconds=600, student_seconds=600)) as clock:
        result = score_notebook(NOTEBOOK, read_notebook(folder / f"{NOTEBOOK}.ipynb"),
                                read_notebook(course.source_dir / f"{NOTEBOOK}.ipynb"),
                                folder, course.root, timeout=limit)
    over = [o for o in result.outcomes if "over the time limit" in o.message]
    # every check that calls conv_output_shape makes more than limit / per_call calls
    assert over and all(o.points == 0 for o in over)
    assert all(f"{limit:g} s, the time limit of a test cell" in o.message for o in over)
    assert not clock.overruns  # the notebook's budget was not the limit here
    # part vii (fc_num_params and the final answer) makes no such call: it keeps its points
    rest = [o for o in result.outcomes if o not in over]
    assert rest and all(o.points == o.max_points for o in rest), rest
