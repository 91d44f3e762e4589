"""Course switches that reach the grading kernel through the environment.

``nbgrader_config.py`` sets them for the nbgrader process; kernels it starts
inherit the environment.
"""

from __future__ import annotations

import os


def partial_credit() -> bool:
    """Q1 per-option partial credit (``CS230_PARTIAL_CREDIT=1``); off by default."""
    return os.environ.get("CS230_PARTIAL_CREDIT", "0").strip().lower() in {"1", "true", "yes"}


def autograding() -> bool:
    """True inside nbgrader's autograde or validate runs (NBGRADER_EXECUTION set)."""
    return bool(os.environ.get("NBGRADER_EXECUTION"))
