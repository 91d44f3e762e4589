"""The pipeline benchmark runs both sides and agrees with stock nbgrader (timings printed,
never asserted: speed is the benchmark's printout, not a test)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from cs230_grading.course import REPO_ROOT
from cs230_grading.grading.kit import PHASES


def _run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "benchmarks" / "bench_pipeline.py"), *args],
        capture_output=True, text=True, timeout=3600, cwd=REPO_ROOT,
    )
    print(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    return proc.stdout


@pytest.mark.slow
def test_quick_benchmark_totals_match_stock_and_break_time_down() -> None:
    out = _run("--students", "3")
    assert "(3 tampering)" in out
    assert "totals identical for the 3 students who do not tamper: True" in out
    assert "ratio stock/pipeline:" in out
    assert all(phase in out for phase in PHASES)
    rows = [ln for ln in out.splitlines() if ln.startswith(("sample-", "adv-"))]
    assert len(rows) == 6, out


@pytest.mark.slow
def test_full_benchmark_19_students() -> None:
    out = _run()
    assert "totals identical for the 19 students who do not tamper: True" in out
