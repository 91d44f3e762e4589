"""The pipeline benchmark runs and agrees with serial nbgrader (timings printed, not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cs230_grading.course import REPO_ROOT


def _run(students: int) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_pipeline.py"),
         "--students", str(students)],
        capture_output=True, text=True, timeout=3600, cwd=REPO_ROOT,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_quick_benchmark_scores_match_serial() -> None:
    out = _run(3)
    assert "scores identical: True" in out
    assert "ratio pipeline/serial:" in out


@pytest.mark.slow
def test_full_benchmark_40_students() -> None:
    out = _run(40)
    assert "scores identical: True" in out
