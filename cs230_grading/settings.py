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


def limit_from_env(name: str, default: float) -> float:
    """``CS230_LIMIT_<name>`` as a positive number, or ``default`` when it is unset.

    A value that is not a positive number raises ``ValueError`` with a message that names
    the variable (the command line prints it as one line).
    """
    variable = f"CS230_LIMIT_{name}"
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{variable}={raw!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"{variable}={raw!r} must be more than 0")
    return value
