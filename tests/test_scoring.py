"""The scoring pass (issue 30): the one pass that gives points, in the grader's process.

* It fails closed: a notebook it cannot score gets 0 for its parts and a finding.
* A busy machine (every core taken by other work) changes no score and makes no finding.
* The key stays in the grader: the kernel cannot import it (see also the adversarial suite).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from nbgrader.utils import determine_grade

from cs230_grading.course import NOTEBOOKS, Course, source_points
from cs230_grading.grading import score
from cs230_grading.grading.outcome import scoring_findings
from cs230_grading.notebooks import nbgrader_meta, read_notebook
from cs230_grading.pipeline import run_pipeline
from cs230_grading.variants import model

Q3 = "q3_conv_architectures"


def _test_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code" and nbgrader_meta(c).get("grade")
            and not nbgrader_meta(c).get("solution")]


def test_a_notebook_that_cannot_be_scored_scores_zero_with_a_finding(tmp_path: Path) -> None:
    """No source notebook to score against: every part with points scores 0 (never full
    marks), each test cell says why, and the worker reports it as an error."""
    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    nb = model(Q3).build(course.source_dir, course.release_dir)
    broken = tmp_path / "broken"  # a course whose source/ is gone
    folder = broken / "autograded" / "someone" / "midterm"
    folder.mkdir(parents=True)
    (broken / "nbgrader_config.py").write_text("")
    resources = {"nbgrader": {"notebook": Q3, "student": "someone", "assignment": "midterm"},
                 "metadata": {"path": str(folder)}}
    score.take_scores("someone")
    nb, _ = score.ScoreParts().preprocess(nb, resources)
    cells = _test_cells(nb)
    assert cells
    for cell in cells:
        points, max_points = determine_grade(cell)
        assert max_points > 0 and points == 0, (nbgrader_meta(cell)["grade_id"], points)
        assert "not scored" in cell.outputs[0]["evalue"]
    [scored] = score.take_scores("someone")
    assert scored.error and all(o.points == 0 for o in scored.outcomes)
    findings, _ = scoring_findings("someone", [scored], folder, folder, folder)
    assert [f.severity for f in findings if "scoring failed" in f.message] == ["error"]


def test_the_verdict_is_what_nbgrader_records() -> None:
    """Full marks, partial credit and no credit, read back by nbgrader's own rule."""
    from nbformat.v4 import new_code_cell

    for points in (0.0, 1.5, 4.0):
        outcome = score.CheckOutcome(Q3, "q3_iv_test", points, 4.0, "why")
        cell = new_code_cell("", metadata={"nbgrader": {"grade": True, "solution": False,
                                                        "grade_id": "q3_iv_test",
                                                        "points": 4}})
        cell.outputs = score.verdict_outputs(outcome)
        assert determine_grade(cell) == (points, 4.0)
        text = str(cell.outputs[0].get("text", "")) + str(cell.outputs[0].get("evalue", ""))
        assert "why" in text


@pytest.fixture()
def hogs():
    """Three processes that spin on two cores for as long as the test runs."""
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(3)]
    try:
        yield procs
    finally:
        for proc in procs:
            proc.kill()
            proc.wait()


def test_honest_students_keep_full_marks_on_a_busy_machine(tmp_path: Path, hogs) -> None:
    """Four students with the model answers, graded while three CPU hogs run on two cores:
    every autograded part at full marks (extra credit included), exit status 0, no finding."""
    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    for i in range(4):
        course.add_submission(f"honest-{i}", {
            nb: model(nb).build(course.source_dir, course.release_dir) for nb in NOTEBOOKS})
    assert all(proc.poll() is None for proc in hogs)
    result = run_pipeline(course.root, workers=2, progress=False, regenerate_release=False,
                          feedback=False)
    assert all(proc.poll() is None for proc in hogs)  # the machine stayed busy throughout
    assert result.exit_code == 0, [f.line() for f in result.findings]
    assert not result.findings, [f.line() for f in result.findings]
    points = source_points(course.source_dir)
    for i in range(4):
        scores = course.scores(f"honest-{i}")
        for nb in NOTEBOOKS:
            checked = score.graders_for(nb)
            expected = {gid: p for gid, p in points[nb].items() if gid in checked}
            got = {gid: scores[nb][gid] for gid in expected}
            assert got == pytest.approx(expected), (f"honest-{i}", nb)


def test_kernels_cannot_import_the_kit(tmp_path: Path) -> None:
    """The kernel a notebook executes in holds no key: importing the kit, its answer key or
    its graders fails there (bubblewrap hides the package; see docs/security.md)."""
    from nbformat.v4 import new_code_cell

    from cs230_grading.sandbox import effective_mode

    if effective_mode() != "bwrap":
        pytest.skip("needs bubblewrap: without it only the resource limits apply")
    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    nb = read_notebook(course.release_dir / f"{Q3}.ipynb")
    nb.cells = [new_code_cell(
        "for name in ('cs230_grading', 'cs230_grading.reference.conv', "
        "'cs230_grading.graders.q3'):\n"
        "    try:\n        __import__(name)\n        print('IMPORTED', name)\n"
        "    except ImportError as exc:\n        print('REFUSED', name)\n")]
    course.add_submission("prober", {Q3: nb})
    course.autograde(["prober"])
    out = read_notebook(course.autograded_dir("prober") / f"{Q3}.ipynb")
    text = "".join(o.get("text", "") for c in out.cells for o in c.get("outputs", []))
    assert "IMPORTED" not in text, text
    assert text.count("REFUSED") == 3, text
