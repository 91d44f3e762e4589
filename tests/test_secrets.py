"""Student code never sees the grader's environment or its secrets.

A secret variable is planted in the grader's environment and a password in the PostgreSQL
gradebook URL; a student's submission then looks for them every way it can from inside a
grading kernel: it prints ``os.environ``, reads ``/proc/*/environ`` and ``/proc/*/cmdline``,
lists its open file descriptors and its working folder, and smuggles its environment into
an answer, whose check message (in the scoring pass) might echo it.
After grading on the default path and on the cluster path, neither the secret nor the
password may appear in any autograded notebook, feedback file or report.

The probe cannot pass by failing to run: the tests also read what it printed (its end
marker, and the allow-listed variables it must see).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cs230_grading.course import Course
from cs230_grading.pipeline import run_pipeline
from cs230_grading.sandbox import effective_mode
from cs230_grading.sandbox.environment import STUDENT_ENVIRONMENT, student_environment
from cs230_grading.variants import model

NOTEBOOK = "q1_multiple_choice"
SECRET_NAME = "CS230_TEST_INSTRUCTOR_TOKEN"
SECRET = "tok-" + secrets.token_hex(12)
PASSWORD = "pw-" + secrets.token_hex(12)
#: Variables the kernel sets for itself (ipykernel: colours, pagers, TERM; pydevd) and that
#: bubblewrap sets (PWD, from --chdir): none comes from the grader.
SET_INSIDE_THE_SANDBOX = {"CLICOLOR", "CLICOLOR_FORCE", "FORCE_COLOR", "GIT_PAGER", "PAGER",
                          "TERM", "PYDEVD_USE_FRAME_EVAL", "PWD"}

# What the student writes. It prints only what could be a leak (lines naming a secret-looking
# variable or a URL with credentials), so the output stays under the per-cell limits.
PROBE = r'''
import glob, os, re
_suspect = re.compile(r"TOKEN|SECRET|PASSWORD|GRADEBOOK|://[^/\s]*@")
_seen = []
for _pid in sorted(glob.glob("/proc/[0-9]*")):
    for _what in ("environ", "cmdline"):
        try:
            with open(f"{_pid}/{_what}", "rb") as _fh:
                _text = _fh.read().decode("utf-8", "replace")
        except OSError:
            continue
        _seen.append(_pid)
        for _item in _text.split("\0"):
            if _suspect.search(_item):
                print("LEAK?", _pid, _what, _item)
print("PROCESSES-VISIBLE", len(set(_seen)))
for _name, _value in sorted(os.environ.items()):
    print("ENV", _name, _value)
for _fd in sorted(os.listdir("/proc/self/fd"), key=int):
    try:
        print("FD", _fd, os.readlink(f"/proc/self/fd/{_fd}"))
    except OSError as _exc:
        print("FD", _fd, type(_exc).__name__)
print("CWD", os.getcwd(), sorted(os.listdir(".")))
answer_b = {"i", "env:" + ";".join(f"{k}={v}" for k, v in sorted(os.environ.items()))}
print("PROBE-END")
'''


def probe_submission(course: Course) -> nbformat.NotebookNode:
    """The model answers to Q1, with the probe after answer (a)'s cell."""
    nb = model(NOTEBOOK).build(course.source_dir, course.release_dir)
    after = next(i for i, c in enumerate(nb.cells)
                 if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "q1_b")
    nb.cells.insert(after + 1, nbformat.v4.new_code_cell(PROBE))
    return nb


def student_visible_text(course: Course) -> dict[Path, str]:
    """Every file a student can receive (autograded notebook, feedback) and the reports."""
    files = [*course.root.joinpath("autograded").rglob("*"),
             *course.root.joinpath("feedback").rglob("*"),
             *course.root.joinpath("reports").rglob("*")]
    return {p: p.read_text(errors="replace") for p in files if p.is_file()}


def probe_output(course: Course, student: str) -> str:
    nb = json.loads((course.autograded_dir(student) / f"{NOTEBOOK}.ipynb").read_text())
    cell = next(c for c in nb["cells"] if "PROBE-END" in "".join(c["source"]))
    return "".join("".join(o.get("text", "")) for o in cell["outputs"])


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch, postgres_server) -> str:
    """The secret in the grader's environment; returns a gradebook URL with a password."""
    monkeypatch.setenv(SECRET_NAME, SECRET)
    return postgres_server.create_database(f"leak_{secrets.token_hex(4)}", password=PASSWORD)


def test_grading_shows_students_no_secret(tmp_path: Path, planted: str) -> None:
    course = Course.scratch(tmp_path, db_url=planted)
    course.generate_assignment()
    course.add_submission("prober", {NOTEBOOK: probe_submission(course)})
    out = io.StringIO()
    result = run_pipeline(tmp_path, db_url=planted, workers=1, progress=False,
                          regenerate_release=False, out=out)
    assert result.graded == ["prober"], out.getvalue()

    printed = probe_output(course, "prober")
    assert "PROBE-END" in printed, printed[-2000:]
    assert "ENV NBGRADER_EXECUTION autograde" in printed
    names = {line.split()[1] for line in printed.splitlines() if line.startswith("ENV ")}
    assert names <= set(STUDENT_ENVIRONMENT) | SET_INSIDE_THE_SANDBOX, names
    assert "LEAK?" not in printed, printed
    if effective_mode() == "bwrap":  # its own PID namespace: the kernel sees only itself
        visible = int(printed.split("PROCESSES-VISIBLE")[1].split()[0])
        assert visible <= 4, printed
    fds = [line for line in printed.splitlines() if line.startswith("FD ")]
    assert fds and not [fd for fd in fds if "gradebook" in fd or ".db" in fd], fds

    files = student_visible_text(course)
    assert any(p.suffix == ".html" for p in files) and any(p.suffix == ".ipynb" for p in files)
    for path, text in files.items():
        assert SECRET not in text, path
        assert PASSWORD not in text, path


def test_selfgrade_shows_the_learner_no_secret(tmp_path: Path) -> None:
    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    learner = tmp_path / "learner"
    learner.mkdir()
    nbformat.write(probe_submission(course), learner / f"{NOTEBOOK}.ipynb")
    env = {**os.environ, SECRET_NAME: SECRET,
           "CS230_GRADEBOOK_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/none"}
    proc = subprocess.run([str(Path(sys.executable).parent / "cs230-selfgrade"),
                           f"{NOTEBOOK}.ipynb", "--out", str(tmp_path / "feedback")],
                          cwd=learner, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    feedback = list((tmp_path / "feedback").rglob("*.html"))
    assert feedback
    for text in (proc.stdout, proc.stderr, *(p.read_text() for p in feedback)):
        assert SECRET not in text and PASSWORD not in text


def test_allow_list_copies_only_what_it_names() -> None:
    grader = {"PATH": "/home/prof/private/bin:/usr/bin", "HOME": "/home/prof",
              SECRET_NAME: SECRET, "CS230_GRADEBOOK_URL": f"postgresql://u:{PASSWORD}@h/db",
              "CS230_PARTIAL_CREDIT": "1", "NBGRADER_EXECUTION": "autograde",
              "LANG": "en_GB.UTF-8", "PYTHONPATH": "/home/prof/secret-lib"}
    env = student_environment(grader)
    assert set(env) <= set(STUDENT_ENVIRONMENT)
    assert "CS230_PARTIAL_CREDIT" not in env  # a grading switch: the grader's, not the kernel's
    assert env["NBGRADER_EXECUTION"] == "autograde"
    assert env["LANG"] == "en_GB.UTF-8" and env["HOME"] == "/tmp"
    assert "/home/prof" not in " ".join(env.values())
    assert SECRET not in " ".join(env.values()) and PASSWORD not in " ".join(env.values())
    with pytest.raises(KeyError, match="allow-list"):
        student_environment(grader, CS230_GRADEBOOK_URL="x")


def test_a_password_on_the_command_line_is_warned_about(capsys: pytest.CaptureFixture) -> None:
    from cs230_grading.cli import _warn_if_password

    _warn_if_password(f"postgresql://postgres:{PASSWORD}@127.0.0.1/cs230")
    warning = capsys.readouterr().err
    assert "CS230_GRADEBOOK_URL" in warning and PASSWORD not in warning
    _warn_if_password("postgresql://postgres@127.0.0.1/cs230")
    _warn_if_password("sqlite:///gradebook.db")
    assert capsys.readouterr().err == ""
