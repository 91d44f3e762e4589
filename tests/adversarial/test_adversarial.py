"""The adversarial suite: every attack of :mod:`attacks` graded in one pipeline run.

Each attack's notebook must end with the scores its honest code deserves, its report
lines must say what happened, the honest students graded in the same run must get full
marks, and nothing may be read or written outside the attacker's own folder (bwrap mode).
"""

from __future__ import annotations

import io

import pytest

from cs230_grading.course import Course, source_points
from cs230_grading.notebooks import read_notebook
from cs230_grading.pipeline import run_pipeline
from cs230_grading.sandbox import effective_mode
from cs230_grading.variants import model

from .attacks import Q3, Q5, Q6, attacks, write_submission

CONTROLS = {"adv-control-q3": Q3, "adv-control-q6": Q6}
#: the released notebooks, unanswered: what a blank submission earns, graded in the same run
BLANKS = {f"adv-blank-{nb.split('_')[0]}": nb for nb in (Q3, Q5, Q6)}
ATTACKS = attacks()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("adversarial")
    course = Course.scratch(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CS230_EXECUTE_TIMEOUT", "10")
        course.generate_assignment()
        for student, notebook in CONTROLS.items():
            course.add_submission(student, {notebook: model(notebook).build(
                course.source_dir, course.release_dir)})
        for student, notebook in BLANKS.items():
            course.add_submission(student, {notebook: read_notebook(
                course.release_dir / f"{notebook}.ipynb")})
        for attack in ATTACKS:
            write_submission(course, attack)
        out = io.StringIO()
        result = run_pipeline(root, workers=2, feedback=True, progress=False,
                              regenerate_release=False, out=out)
    return course, result, out.getvalue()


def _lines(result, student: str) -> list[str]:
    return [f.line() for f in result.findings if f.student == student]


def test_suite_is_large_enough() -> None:
    assert len(ATTACKS) >= 25
    assert len({a.student for a in ATTACKS}) == len(ATTACKS)


@pytest.mark.parametrize("attack", ATTACKS, ids=[a.student for a in ATTACKS])
def test_attack_scores_what_its_honest_code_deserves(graded, attack) -> None:
    course, result, _ = graded
    points = source_points(course.source_dir)[attack.notebook]
    scores = course.scores(attack.student).get(attack.notebook, {})
    lines = _lines(result, attack.student)
    if attack.rejected:
        assert all(v == 0 for v in scores.values()), scores
        total = result.grades.by_student().get(attack.student)
        assert total is None or total.notebook_scores[attack.notebook] == 0
        points = {}
    if attack.blank:
        blank = next(s for s, nb in BLANKS.items() if nb == attack.notebook)
        assert scores == course.scores(blank)[attack.notebook], (scores, lines)
        points = {}
    for grade_id, full in points.items():
        if not grade_id.endswith("_test"):
            continue
        expected = attack.final.get(grade_id, full)
        got = scores.get(grade_id)
        assert got == pytest.approx(expected), (grade_id, got, expected, lines)
    for phrase in attack.flags:
        assert any(phrase in line for line in lines), (phrase, lines)


def test_honest_students_graded_in_the_same_run(graded) -> None:
    course, result, _ = graded
    for student, notebook in CONTROLS.items():
        points = source_points(course.source_dir)[notebook]
        scores = course.scores(student)[notebook]
        assert scores == {gid: pytest.approx(p) for gid, p in points.items()
                          if gid.endswith("_test")}, student
        # a one-notebook submission: the other notebooks and the cover are missing, no more
        noise = [ln for ln in _lines(result, student)
                 if "missing notebook" not in ln and "no cover notebook" not in ln]
        assert not noise, noise


@pytest.mark.skipif(effective_mode() != "bwrap", reason="needs bubblewrap")
def test_private_files_are_out_of_reach(graded) -> None:
    course, _, _ = graded
    for attack in ATTACKS:
        if not attack.probes:
            continue
        nb = read_notebook(course.autograded_dir(attack.student) / f"{attack.notebook}.ipynb")
        text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code"
                       for o in c.get("outputs", []))
        assert "LEAKED" not in text, text
        for label in attack.probes:
            assert f"BLOCKED {label} " in text, (label, text)
    stray = [p for p in course.root.rglob("pwned.txt")]
    assert not stray, stray


def _key_fingerprints() -> list[str]:
    """Lines that only the answer key, the graders and the hidden tests' marker contain."""
    import inspect

    from cs230_grading import graders, reference
    from cs230_grading.graders import q3 as q3_graders
    from cs230_grading.reference import conv

    found = []
    for module in (reference, conv, graders, q3_graders):
        doc = inspect.getdoc(module) or ""
        found.append(doc.splitlines()[0])
    found += ["def _sliding_size(", "HELPER_CHECKS", "def check_part_i(ns"]
    return [f for f in found if len(f) > 12]


def test_nothing_of_the_key_reaches_the_student(graded) -> None:
    """A cell that imports or reads the key, the graders or the hidden tests finds nothing:
    neither the autograded notebook nor the feedback the student receives holds any of it."""
    course, _, _ = graded
    student = "adv-read-key"
    texts = {path: path.read_text(encoding="utf-8", errors="replace")
             for folder in (course.autograded_dir(student), course.feedback_dir(student))
             for path in folder.rglob("*") if path.suffix in (".ipynb", ".html")}
    assert len(texts) >= 2, texts.keys()
    assert any("failed: ModuleNotFoundError" in t for t in texts.values())
    for fingerprint in _key_fingerprints():
        for path, text in texts.items():
            assert fingerprint not in text, (fingerprint, path)
