"""The code base stays ruff clean (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

from cs230_grading.course import REPO_ROOT


def test_ruff_is_clean() -> None:
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=REPO_ROOT,
                          capture_output=True, text=True)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
