"""What one student's grading takes and gives, and the switch of the out-of-kernel pass.

The grading itself runs on Dask workers in :mod:`cs230_grading.distributed` (the one
grading path): each worker keeps nbgrader's API and a private course, and every notebook
still runs in a fresh sandboxed kernel, exactly as ``nbgrader autograde`` does.
"""

from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class StudentJob:
    """Where one student's graded notebooks are: the arguments of
    :func:`cs230_grading.second_pass.check_student`."""

    course_root: str
    db_url: str
    student: str
    feedback: bool = True
    #: folder (relative to the course root) that nbgrader reads submissions from
    submitted: str = "submitted"


@dataclasses.dataclass
class StudentResult:
    student: str
    success: bool
    seconds: float
    log: str = ""
    error: str = ""
    #: lines for the report: score disagreements, limit breaches, tampering evidence
    findings: list = dataclasses.field(default_factory=list)
    #: seconds spent in the out-of-kernel pass
    second_pass_seconds: float = 0.0


def second_pass_enabled() -> bool:
    """``CS230_SECOND_PASS=0`` turns the out-of-kernel pass off (on by default)."""
    return os.environ.get("CS230_SECOND_PASS", "1").strip().lower() not in {"0", "off", "no"}
