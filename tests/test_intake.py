"""Intake takes only the student's own regular files, and says why it leaves one out.

The fast tests stage submissions without grading them (a submission is the source
notebooks, which intake accepts). One pipeline run grades an honest student next to one
whose notebooks are a symbolic link to the instructor's source, a symbolic link to the
honest student, a hard link to the source and an oversized output: the rejected notebooks
score 0 with their finding, and everything else scores what the honest student's
notebooks score.
(A hard link between two students is graded for neither: see the fast test.)
"""

from __future__ import annotations

import io
import os
import shutil
import stat
from pathlib import Path

import pytest
from nbformat.v4 import new_output

from cs230_grading.course import ASSIGNMENT, NOTEBOOKS, Course
from cs230_grading.intake import (
    STAGED_DIR,
    SUSPECTED,
    IntakeLimits,
    MiB,
    output_bytes,
    stage_submissions,
)
from cs230_grading.notebooks import read_notebook, write_notebook
from cs230_grading.pipeline import run_pipeline
from cs230_grading.samples import expected_scores
from cs230_grading.variants import model

Q1, Q3, Q5, Q6 = ("q1_multiple_choice", "q3_conv_architectures", "q5_gan_backprop",
                  "q6_numpy_attention")


@pytest.fixture
def course(tmp_path: Path) -> Course:
    return Course.scratch(tmp_path / "course")


def submit_source(course: Course, student: str) -> Path:
    """A submission whose notebooks are copies of the source notebooks."""
    folder = course.submission_dir(student)
    folder.mkdir(parents=True)
    for name in NOTEBOOKS:
        shutil.copyfile(course.source_dir / f"{name}.ipynb", folder / f"{name}.ipynb")
    return folder


def add_output(path: Path, size: int) -> None:
    """Give the notebook's first code cell ``size`` characters of printed output."""
    nb = read_notebook(path)
    code = next(c for c in nb.cells if c.cell_type == "code")
    code.outputs = [new_output("stream", name="stdout", text="x" * size)]
    write_notebook(nb, path)


def stage(course: Course, limits: IntakeLimits | None = None):
    return stage_submissions(course.root, course.source_dir, limits)


def lines_of(intake, student: str, notebook: str = "") -> list[str]:
    return [f.line() for f in intake.findings
            if f.student == student and (not notebook or f.notebook == notebook)]


def staged_names(course: Course, student: str) -> set[str]:
    return {p.stem for p in (course.root / STAGED_DIR / student / ASSIGNMENT).glob("*.ipynb")}


def test_honest_submission_is_staged_as_bytes_without_findings(course) -> None:
    folder = submit_source(course, "alice")
    (folder / "timestamp.txt").write_text("2021-05-07 12:00:00\n")
    intake = stage(course)
    assert intake.students == ["alice"]
    assert intake.findings == []
    staged = course.root / STAGED_DIR / "alice" / ASSIGNMENT
    for name in NOTEBOOKS:
        assert (staged / f"{name}.ipynb").read_bytes() == (folder / f"{name}.ipynb").read_bytes()
    assert (staged / "timestamp.txt").read_text() == "2021-05-07 12:00:00\n"


def test_symlink_to_the_instructors_source_is_not_graded_and_flagged(course) -> None:
    folder = submit_source(course, "mallory")
    (folder / f"{Q3}.ipynb").unlink()
    os.symlink(f"../../../source/midterm/{Q3}.ipynb", folder / f"{Q3}.ipynb")
    intake = stage(course)
    [line] = lines_of(intake, "mallory", Q3)
    assert line.startswith("[error]")
    assert f"symbolic link to ../../../source/midterm/{Q3}.ipynb" in line
    assert "the instructor's source/midterm" in line and SUSPECTED in line
    assert "scored 0" in line
    assert intake.students == ["mallory"]
    assert staged_names(course, "mallory") == set(NOTEBOOKS) - {Q3}


def test_symlink_to_another_student_is_not_graded_and_flagged(course) -> None:
    submit_source(course, "alice")
    folder = submit_source(course, "mallory")
    (folder / f"{Q6}.ipynb").unlink()
    os.symlink(f"../../alice/midterm/{Q6}.ipynb", folder / f"{Q6}.ipynb")
    intake = stage(course)
    [line] = lines_of(intake, "mallory", Q6)
    assert "another student's submission, alice" in line and SUSPECTED in line
    assert lines_of(intake, "alice") == []
    assert staged_names(course, "mallory") == set(NOTEBOOKS) - {Q6}
    assert staged_names(course, "alice") == set(NOTEBOOKS)


def test_hard_link_to_the_instructors_source_is_not_graded(course) -> None:
    folder = submit_source(course, "hardy")
    (folder / f"{Q1}.ipynb").unlink()
    os.link(course.source_dir / f"{Q1}.ipynb", folder / f"{Q1}.ipynb")
    intake = stage(course)
    [line] = lines_of(intake, "hardy", Q1)
    assert "a hard link: the same file as the instructor's source/midterm" in line
    assert SUSPECTED in line
    assert staged_names(course, "hardy") == set(NOTEBOOKS) - {Q1}


def test_hard_link_between_two_students_is_graded_for_neither(course) -> None:
    """One file with two names: nothing tells whose it is, so a person decides."""
    alice = submit_source(course, "alice")
    folder = submit_source(course, "hardy")
    (folder / f"{Q1}.ipynb").unlink()
    os.link(alice / f"{Q1}.ipynb", folder / f"{Q1}.ipynb")
    intake = stage(course)
    for student, other in (("hardy", "alice"), ("alice", "hardy")):
        [line] = lines_of(intake, student, Q1)
        assert f"a hard link: the same file as another student's submission, {other}" in line
        assert SUSPECTED in line and "neither student's copy is graded" in line
        assert staged_names(course, student) == set(NOTEBOOKS) - {Q1}


def test_hard_links_inside_the_own_folder_are_fine(course) -> None:
    folder = submit_source(course, "alice")
    os.link(folder / f"{Q1}.ipynb", folder / "backup.ipynb.bak")
    intake = stage(course)
    assert intake.findings == []
    assert staged_names(course, "alice") == set(NOTEBOOKS)


def test_fifo_and_folder_in_place_of_a_notebook(course) -> None:
    folder = submit_source(course, "pipe")
    (folder / f"{Q1}.ipynb").unlink()
    os.mkfifo(folder / f"{Q1}.ipynb")
    (folder / f"{Q3}.ipynb").unlink()
    (folder / f"{Q3}.ipynb").mkdir()
    intake = stage(course)  # a FIFO would block a plain open(); this must return
    assert "a FIFO (named pipe), not a regular file" in lines_of(intake, "pipe", Q1)[0]
    assert "a folder, not a regular file" in lines_of(intake, "pipe", Q3)[0]
    assert staged_names(course, "pipe") == set(NOTEBOOKS) - {Q1, Q3}


def test_folders_that_leave_the_students_own_are_not_graded(course) -> None:
    submit_source(course, "alice")
    (course.submitted_root / "eve").mkdir()
    os.symlink("../alice/midterm", course.submitted_root / "eve" / ASSIGNMENT)
    os.symlink("alice", course.submitted_root / "trudy")
    intake = stage(course)
    assert intake.students == ["alice"]
    [eve] = lines_of(intake, "eve")
    assert "eve/midterm/ is a symbolic link to ../alice/midterm" in eve
    assert "another student's submission, alice" in eve and "not graded" in eve
    [trudy] = lines_of(intake, "trudy")
    assert "trudy/ is a symbolic link to alice" in trudy and SUSPECTED in trudy
    assert not (course.root / STAGED_DIR / "eve").exists()


def test_oversized_file_and_oversized_outputs(course) -> None:
    folder = submit_source(course, "big")
    add_output(folder / f"{Q5}.ipynb", 2 * MiB)
    with (folder / f"{Q6}.ipynb").open("ab") as fh:  # valid JSON may end in whitespace
        fh.write(b" " * (3 * MiB))
    limits = IntakeLimits(file_bytes=3 * MiB, output_bytes=1 * MiB)
    intake = stage(course, limits)
    [outputs] = lines_of(intake, "big", Q5)
    assert "its outputs take 2.0 MiB, over the limit of 1.0 MiB" in outputs
    [size] = lines_of(intake, "big", Q6)
    assert "over the limit of 3.0 MiB (CS230_LIMIT_SUBMISSION_MB)" in size
    assert staged_names(course, "big") == set(NOTEBOOKS) - {Q5, Q6}


def test_links_among_other_files_are_noted_not_followed(course) -> None:
    folder = submit_source(course, "alice")
    os.symlink("/etc/passwd", folder / "notes.txt")
    intake = stage(course)
    [line] = lines_of(intake, "alice", "notes.txt")
    assert line.startswith("[warning]") and "symbolic link to /etc/passwd" in line
    staged = course.root / STAGED_DIR / "alice" / ASSIGNMENT
    assert not (staged / "notes.txt").exists()


def test_nothing_in_staged_is_a_link(course) -> None:
    submit_source(course, "alice")
    folder = submit_source(course, "mallory")
    for name in (Q3, Q6):
        (folder / f"{name}.ipynb").unlink()
        os.symlink(f"../../alice/midterm/{name}.ipynb", folder / f"{name}.ipynb")
    os.symlink("../../alice/midterm/timestamp.txt", folder / "timestamp.txt")
    stage(course)
    for path in (course.root / STAGED_DIR).rglob("*"):
        info = os.lstat(path)
        assert stat.S_ISREG(info.st_mode) or stat.S_ISDIR(info.st_mode), path
        assert not stat.S_ISREG(info.st_mode) or info.st_nlink == 1, path


def test_limits_come_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CS230_LIMIT_SUBMISSION_MB", "1.5")
    monkeypatch.setenv("CS230_LIMIT_SUBMISSION_OUTPUT_MB", "0.5")
    assert IntakeLimits.from_env() == IntakeLimits(int(1.5 * MiB), int(0.5 * MiB))
    monkeypatch.setenv("CS230_LIMIT_SUBMISSION_MB", "lots")
    with pytest.raises(ValueError, match="CS230_LIMIT_SUBMISSION_MB='lots' is not a number"):
        IntakeLimits.from_env()


def test_default_limits_are_well_above_the_model_notebooks() -> None:
    """The model answers as built for grading are far below both limits."""
    limits = IntakeLimits()
    for name in NOTEBOOKS:
        nb = model(name).build()
        assert len(str(nb)) < limits.file_bytes / 20
        assert output_bytes(nb) < limits.output_bytes / 20


# -- one graded run: the honest student and the rejected notebooks ------------------------

@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("intake-course")
    course = Course.scratch(root)
    course.generate_assignment()
    plan = {"alice": {nb: model(nb) for nb in NOTEBOOKS}}
    course.add_submission("alice", {nb: v.build(course.source_dir, course.release_dir)
                                    for nb, v in plan["alice"].items()})
    alice = course.submission_dir("alice")
    mallory = course.submission_dir("mallory")
    shutil.copytree(alice, mallory)
    for name, target in ((Q3, f"../../../source/midterm/{Q3}.ipynb"),
                         (Q6, f"../../alice/midterm/{Q6}.ipynb")):
        (mallory / f"{name}.ipynb").unlink()
        os.symlink(target, mallory / f"{name}.ipynb")
    (mallory / f"{Q1}.ipynb").unlink()
    os.link(course.source_dir / f"{Q1}.ipynb", mallory / f"{Q1}.ipynb")
    add_output(mallory / f"{Q5}.ipynb", 2 * MiB)
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CS230_LIMIT_SUBMISSION_OUTPUT_MB", "1")
        result = run_pipeline(root, workers=2, feedback=False, progress=False,
                              regenerate_release=False, out=out)
    return course, expected_scores(plan, course.source_dir)["alice"], result, out.getvalue()


REJECTED = {"mallory": {Q3: ("symbolic link", "instructor's source/midterm", SUSPECTED),
                        Q6: ("symbolic link", "another student's submission, alice", SUSPECTED),
                        Q1: ("a hard link", "instructor's source/midterm", SUSPECTED),
                        Q5: ("its outputs take 2.0 MiB",)}}


def test_rejected_notebooks_score_zero_and_the_rest_as_before(graded) -> None:
    _, expected, result, _ = graded
    got = result.grades.by_student()
    assert got["alice"].notebook_scores == pytest.approx(expected)
    assert expected[Q3] > 0 and expected[Q6] > 0  # what the links would have scored
    for student, rejected in REJECTED.items():
        scores = got[student].notebook_scores
        for name in NOTEBOOKS:
            assert scores[name] == (0 if name in rejected else pytest.approx(expected[name])), \
                (student, name)


def test_each_rejection_is_one_line_in_terminal_and_report(graded) -> None:
    _, _, result, terminal = graded
    report = result.report.read_text()
    import html

    report = html.unescape(report)
    for student, rejected in REJECTED.items():
        for name, phrases in rejected.items():
            lines = [f.line() for f in result.findings
                     if f.student == student and f.notebook == name]
            assert len(lines) == 1, lines
            assert lines[0].startswith("[error]")
            assert all(p in lines[0] for p in phrases), lines[0]
            assert lines[0] in report
        # the terminal: one line for the student's rejected files, naming each notebook
        printed = [ln for ln in terminal.splitlines() if ln.startswith(f"[error] {student}:")]
        assert len(printed) == 1 and all(name in printed[0] for name in rejected), printed
    assert not [f for f in result.findings if f.student == "alice"]
    assert result.exit_code == 1
