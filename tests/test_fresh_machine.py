"""The kit's entry points as a newcomer runs them: ``.venv/bin/...``, nothing activated.

Every command here starts with :func:`newcomer_env` (an empty ``HOME``, ``LANG`` and the
bare system ``PATH``), in a scratch copy of the course, so nothing installed outside
``.venv`` (a global ``alembic``, a Jupyter under ``$HOME``) can stand in for a missing step.

* ``cs230-grade demo`` writes the sample class, grades it, and exports grades whose totals
  are derived from the sample plan; ``cs230-grade report`` rebuilds the reports; in a
  fresh clone of the repository, ``git status`` shows nothing afterwards (everything a run
  writes is ignored by git);
* a broken source notebook stops ``cs230-grade run`` with one line naming it, while
  ``release/`` and ``reports/`` stay byte for byte as they were;
* ``nbgrader`` creates a new gradebook (nbgrader runs ``alembic`` by name for that);
* ``jupyter lab`` serves the formgrader, which creates its gradebook, and the Validate
  button's endpoint.

``cs230-selfgrade`` runs the same way in ``test_selfgrade.py``, and the browser tests start
``.venv/bin/jupyter lab`` and ``.venv/bin/cs230-grade`` with the same environment.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from cs230_grading.course import RELEASE_STAGING, REPO_ROOT, Course
from cs230_grading.samples import expected_mistakes, expected_scores, sample_plan

BROKEN = "q3_conv_architectures"


def run(cmd: list[str | Path], env: dict[str, str], cwd: Path, timeout: float = 1200
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def tree_digest(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` with the SHA-256 of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def _is_git_checkout(folder: Path) -> bool:
    proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "--git-dir"],
                          capture_output=True, check=False)
    return proc.returncode == 0


@pytest.fixture(scope="module")
def demo(tmp_path_factory, venv_bin, newcomer_env):
    """``.venv/bin/cs230-grade demo`` in a fresh clone of the repository (its committed
    state), as a newcomer; in a scratch copy of the course when this is no git checkout."""
    folder = tmp_path_factory.mktemp("course")
    if _is_git_checkout(REPO_ROOT):
        subprocess.run(["git", "clone", "--quiet", str(REPO_ROOT), str(folder / "clone")],
                       check=True, capture_output=True)
        course = Course(folder / "clone")
    else:
        course = Course.scratch(folder)
    proc = run([venv_bin / "cs230-grade", "demo"], newcomer_env, course.root)
    return course, proc


def test_demo_grades_the_sample_class_with_nothing_activated(demo) -> None:
    course, proc = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    plan = sample_plan()
    expected = expected_scores(plan, course.source_dir)
    rows = list(csv.DictReader((course.root / "reports" / "grades.csv").open()))
    totals = {row["student_id"]: float(row["score"]) for row in rows}
    assert len(totals) == len(plan) == 12
    assert totals == pytest.approx({s: sum(nbs.values()) for s, nbs in expected.items()})
    # and per notebook: every sample student's every notebook at its derived score
    per_question = csv.DictReader((course.root / "reports" / "scores_by_question.csv").open())
    got = {row["student_id"]: {nb: float(row[nb]) for nb in expected[row["student_id"]]}
           for row in per_question}
    assert set(got) == set(expected)
    for student, notebooks in expected.items():
        assert got[student] == pytest.approx(notebooks), student
    for name in ("report.html", "rubric.md", "scores_by_question.csv"):
        assert (course.root / "reports" / name).is_file(), name
    # the sample class leaves hand grading and unaffirmed honour codes to the staff
    pending = sum(score is None for nbs in plan.values() for variant in nbs.values()
                  for score in variant.expected_scores(course.source_dir).values())
    assert pending and f"{pending} answers to grade by hand" in proc.stdout
    assert "Nothing needs attention." not in proc.stdout
    # what the class got wrong: every named mistake in the samples, counted per student
    mistakes = csv.DictReader((course.root / "reports" / "mistakes.csv").open())
    assert {(r["notebook"], r["grade_id"], r["mistake_id"]): set(r["student_ids"].split())
            for r in mistakes} == expected_mistakes(plan)


def test_the_demo_leaves_the_course_folder_clean(demo) -> None:
    """Everything ``cs230-grade demo`` writes is ignored by git (README's first command)."""
    course, proc = demo
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    if not (course.root / ".git").exists():
        pytest.skip(f"{REPO_ROOT} is not a git checkout: nothing to compare with")
    status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=all"],
                            cwd=course.root, capture_output=True, text=True, check=True)
    assert status.stdout == "", status.stdout


def test_report_rebuilds_with_nothing_activated(demo, venv_bin, newcomer_env) -> None:
    course, _ = demo
    before = (course.root / "reports" / "grades.csv").read_text()
    proc = run([venv_bin / "cs230-grade", "report"], newcomer_env, course.root)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert (course.root / "reports" / "grades.csv").read_text() == before
    assert (course.root / "reports" / "rubric.md").is_file()


def test_broken_source_notebook_leaves_release_and_reports_as_they_were(
        demo, venv_bin, newcomer_env) -> None:
    course, _ = demo
    release = tree_digest(course.root / "release")
    reports = tree_digest(course.root / "reports")
    assert release and reports
    path = course.source_dir / f"{BROKEN}.ipynb"
    nb = json.loads(path.read_text())
    cell = next(c for c in nb["cells"] if "### END SOLUTION" in "".join(c["source"]))
    cell["source"] = "".join(cell["source"]).replace("### END SOLUTION", "")
    path.write_text(json.dumps(nb))

    proc = run([venv_bin / "cs230-grade", "run"], newcomer_env, course.root)

    assert proc.returncode != 0
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines()
             if f"source/midterm/{BROKEN}.ipynb" in ln]
    assert len(lines) == 1, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "no end solution" in lines[0] and "left as it was" in lines[0]
    assert "Traceback" not in proc.stderr
    assert tree_digest(course.root / "release") == release
    assert tree_digest(course.root / "reports") == reports
    assert not list(course.root.glob(f"{RELEASE_STAGING}*"))


def test_nbgrader_creates_a_gradebook_with_nothing_activated(
        tmp_path, venv_bin, newcomer_env) -> None:
    course = Course.scratch(tmp_path)
    proc = run([venv_bin / "nbgrader", "db", "student", "add", "ada", "--last-name=Lovelace"],
               newcomer_env, course.root, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    proc = run([venv_bin / "nbgrader", "db", "student", "list"], newcomer_env, course.root,
               timeout=300)
    assert proc.returncode == 0 and "ada" in proc.stdout, proc.stdout + proc.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_jupyter_lab_formgrader_and_validate_with_nothing_activated(
        tmp_path, venv_bin, newcomer_env) -> None:
    course = Course.scratch(tmp_path / "course")
    course.generate_assignment()
    (course.root / "gradebook.db").unlink()  # the formgrader must create it (alembic)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    cmd = [venv_bin / "jupyter", "lab", "--no-browser", "--allow-root",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course.root}"]
    with log.open("wb") as out:
        server = subprocess.Popen([str(c) for c in cmd], cwd=course.root, env=newcomer_env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"token {token}"}

    def call(path: str, data: dict[str, str] | None = None) -> dict:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        request = urllib.request.Request(base + path, data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=240) as response:
            return json.loads(response.read())

    try:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            with contextlib.suppress(OSError, ValueError):
                call("/api/status")
                break
            assert time.monotonic() < deadline, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        assignments = call("/formgrader/api/assignments")
        assert [a["name"] for a in assignments] == ["midterm"], assignments
        assert (course.root / "gradebook.db").is_file()
        result = call("/assignments/validate",
                      {"path": "release/midterm/q1_multiple_choice.ipynb"})
        assert result["success"], result
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

