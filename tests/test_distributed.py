"""Shared-nothing grading on a real multi-process LocalCluster, and the faults it survives.

A small class (3 students) is graded once with stock serial ``nbgrader autograde``;
every distributed run below must end with exactly that gradebook: with a worker
killed mid-run, with the driver killed mid-run and re-run, and next to a
submission that kills every worker it runs on.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from cs230_grading.course import NOTEBOOKS, Course
from cs230_grading.grading.driver import grade_all_distributed, grade_class
from cs230_grading.grading.record import gradebook_snapshot, read_ledger
from cs230_grading.intake import stage_submissions
from cs230_grading.samples import sample_plan, write_sample_class

CLASS = ("sample-blank", "sample-full", "sample-partial")

#: a "kernel bomb that slipped past the limits": the kernel kills the Dask worker
#: process that started it (the nearest ancestor that is a multiprocessing child)
BOMB = """import os, signal
_pid = os.getppid()
while _pid > 1:
    with open(f"/proc/{_pid}/cmdline", "rb") as _fh:
        if b"spawn_main" in _fh.read():
            os.kill(_pid, signal.SIGKILL)
            break
    with open(f"/proc/{_pid}/stat") as _fh:
        _pid = int(_fh.read().rsplit(")", 1)[1].split()[1])
"""


def _copy(src: Path, dest: Path) -> Course:
    shutil.copytree(src, dest)
    return Course(dest)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """A generated course with the class submitted and staged, not graded yet."""
    root = tmp_path_factory.mktemp("dist") / "pristine"
    course = Course.scratch(root)
    course.generate_assignment()
    plan = {k: v for k, v in sample_plan().items() if k in CLASS}
    write_sample_class(root, plan)
    stage_submissions(course.root, course.source_dir)
    return root


@pytest.fixture(scope="module")
def serial(pristine: Path) -> dict:
    """The class graded by plain serial ``nbgrader autograde``: the reference gradebook."""
    course = _copy(pristine, pristine.with_name("serial"))
    course.autograde()
    snap = gradebook_snapshot(course.db_url)
    assert set(snap) == set(CLASS)
    return snap


def _workers_grading() -> list[psutil.Process]:
    """Dask worker processes of this test run that are running a kernel right now.

    A kernel is either started the ordinary way (``python -m ipykernel_launcher``) or forked
    by a worker's fork server: a child of the kernel zygote, which carries the zygote's
    command line (the zygote itself, always there between notebooks, is not a kernel).
    """
    def cmdline(proc: psutil.Process) -> str:
        return " ".join(proc.cmdline())

    def is_kernel(proc: psutil.Process) -> bool:
        argv = proc.cmdline()
        if not argv or "python" not in Path(argv[0]).name:
            return False  # bubblewrap's own processes carry the zygote's command in theirs
        line = " ".join(argv)
        if " -m ipykernel_launcher " in f"{line} ":
            return True
        parent = proc.parent()
        return ("ipykernel.kernelapp" in line and parent is not None
                and cmdline(parent) == line)

    found = []
    for proc in psutil.Process().children(recursive=True):
        try:
            if "spawn_main" in cmdline(proc) and any(
                    is_kernel(c) for c in proc.children(recursive=True)):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def test_cluster_matches_serial_with_a_worker_killed_mid_run(pristine, serial) -> None:
    course = _copy(pristine, pristine.with_name("killed-worker"))
    killed: list[int] = []

    def kill_one_worker() -> None:
        deadline = time.monotonic() + 400
        # wait until one student is written, then kill a worker in the middle of a notebook
        while time.monotonic() < deadline and not killed:
            if (course.root / "gradebook.db").exists() and read_ledger_safe(course.db_url):
                for proc in _workers_grading():
                    proc.kill()
                    killed.append(proc.pid)
                    break
            time.sleep(0.3)

    killer = threading.Thread(target=kill_one_worker, daemon=True)
    killer.start()
    out = io.StringIO()
    run = grade_class(course, list(CLASS), workers=2, progress=False, out=out)
    killer.join(timeout=5)

    assert killed, "no worker was killed: the run finished before a kernel was seen"
    assert all(r.success for r in run.results.values()), run.results
    assert gradebook_snapshot(course.db_url) == serial
    assert sum(run.retried.values()) >= 1, "the report must say what was retried"
    retried = next(iter(run.retried))
    assert "retried after 1 worker death" in run.results[retried].log
    assert any(line.startswith(f"retried {retried}") for line in run.summary())
    ledger = read_ledger(course.db_url)
    assert {s: row["writes"] for s, row in ledger.items()} == dict.fromkeys(CLASS, 1)
    assert ledger[retried]["retries"] >= 1
    for student in CLASS:  # the driver wrote the files the workers produced
        assert len(list(course.autograded_dir(student).glob("*.ipynb"))) == len(NOTEBOOKS)
        assert len(list(course.feedback_dir(student).glob("*.html"))) == len(NOTEBOOKS)


def read_ledger_safe(db_url: str) -> dict:
    try:
        return read_ledger(db_url)
    except Exception:  # noqa: BLE001 - the driver may be creating the table
        return {}


DRIVER = """
import sys
from cs230_grading.course import NOTEBOOKS, Course
from cs230_grading.grading.driver import grade_class
if __name__ == "__main__":
    grade_class(Course(sys.argv[1]), sys.argv[2:], workers=2, progress=False)
"""


def test_driver_killed_mid_run_resumes_to_the_same_gradebook(pristine, serial, tmp_path) -> None:
    course = _copy(pristine, pristine.with_name("killed-driver"))
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(script), str(course.root), *CLASS],
                            start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        deadline = time.monotonic() + 400
        while time.monotonic() < deadline and proc.poll() is None:
            if read_ledger_safe(course.db_url):
                break
            time.sleep(0.2)
    finally:  # the driver, its workers and their kernels: one process group, all ours
        with_group = proc.poll() is None
        if with_group:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert with_group, "the driver finished before it could be killed"
    before = read_ledger(course.db_url)
    assert 1 <= len(before) < len(CLASS)

    run = grade_class(course, list(CLASS), workers=2, progress=False, out=io.StringIO())
    assert sorted(run.skipped) == sorted(before)
    assert sorted(run.graded) == sorted(set(CLASS) - set(before))
    assert gradebook_snapshot(course.db_url) == serial
    after = read_ledger(course.db_url)
    assert {s: row["writes"] for s, row in after.items()} == dict.fromkeys(CLASS, 1)
    for student in before:  # untouched by the second run
        assert after[student]["updated"] == before[student]["updated"]


def test_a_submission_that_kills_its_worker_is_marked_and_the_class_goes_on(
        pristine, serial, monkeypatch) -> None:
    # the bomb "slips past the limits": kernels run unconfined, so it can reach its worker
    monkeypatch.setenv("CS230_SANDBOX", "off")
    course = _copy(pristine, pristine.with_name("bomb"))
    bomb = course.root / "staged" / "bomb" / "midterm"
    shutil.copytree(course.root / "staged" / "sample-full" / "midterm", bomb)
    path = bomb / "q1_multiple_choice.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"]
                if c["metadata"].get("nbgrader", {}).get("grade_id") == "q1_a")
    cell["source"] = BOMB + "".join(cell["source"])
    path.write_text(json.dumps(nb))

    out = io.StringIO()
    start = time.monotonic()
    results = grade_all_distributed(course, ["bomb", "sample-full", "sample-blank"],
                                    workers=2, progress=False, out=out)
    assert time.monotonic() - start < 420
    assert not results["bomb"].success
    assert "crashed its worker 3 times" in results["bomb"].error
    assert "crashed bomb" in out.getvalue()
    assert results["sample-full"].success and results["sample-blank"].success
    snap = gradebook_snapshot(course.db_url)
    assert "bomb" not in snap
    assert {s: snap[s] for s in ("sample-full", "sample-blank")} == {
        s: serial[s] for s in ("sample-full", "sample-blank")}
    assert read_ledger(course.db_url)["bomb"]["status"] == "crashed"

    # a re-run does not send the marked submission to the workers again
    again = grade_class(course, ["bomb", "sample-full", "sample-blank"], progress=False)
    assert again.crashed == ["bomb"] and sorted(again.skipped) == ["sample-blank", "sample-full"]
    assert "marked in an earlier run" in again.results["bomb"].error
    assert again.seconds < 30


def test_driver_keeps_a_tas_grade_and_the_report_lines(pristine, serial) -> None:
    """Recording a graded submission writes the scoring pass's scores and never replaces a
    manual grade a TA set (nbgrader's rule: the cell stays flagged for review); the report
    lines travel with the ledger row (a resumed run reports them)."""
    from nbgrader.api import Gradebook

    from cs230_grading.grading.kit import GradedSubmission, SubmissionTask
    from cs230_grading.grading.record import findings_of_note, record_graded
    from cs230_grading.intake import Finding

    course = _copy(pristine.with_name("serial"), pristine.with_name("rule"))
    student, nb = "sample-full", "q3_conv_architectures"
    cells = serial[student]
    tests = sorted(g for (n, g), v in cells.items() if n == nb and g.endswith("_test"))
    mine, theirs = tests[0], tests[1]
    with Gradebook(course.db_url) as gb:  # a TA grades `theirs` by hand in the formgrader
        gb.find_grade(theirs, nb, "midterm", student).manual_score = 0.5
        gb.db.commit()
    graded = GradedSubmission(
        student, True, 1.0, submitted=list(NOTEBOOKS),
        grades=[(n, g, 0.0 if g == mine else v[0], v[2]) for (n, g), v in cells.items()
                if not g.startswith("comment:") and g != "late_penalty"],
        findings=[Finding(student, f"{mine}: a line for the report", nb)])
    record_graded(course, "kit", SubmissionTask(student, {}, "sha"), graded, 0, "worker")
    with Gradebook(course.db_url) as gb:
        ours = gb.find_grade(mine, nb, "midterm", student)
        assert (ours.auto_score, ours.manual_score, ours.needs_manual_grade) == (0.0, None,
                                                                                 False)
        ta = gb.find_grade(theirs, nb, "midterm", student)
        assert (ta.manual_score, ta.needs_manual_grade) == (0.5, True)
    row = read_ledger(course.db_url)[student]
    assert findings_of_note(row["note"]) == graded.findings
