"""What one student's grading gives the pipeline.

The grading itself runs on Dask workers in :mod:`cs230_grading.grading` (the one
grading path): each worker keeps nbgrader's API and a private course, and every notebook
still runs in a fresh sandboxed kernel, exactly as ``nbgrader autograde`` does, before the
scoring pass (:mod:`cs230_grading.grading.score`) scores its test cells.
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class StudentResult:
    student: str
    success: bool
    seconds: float
    log: str = ""
    error: str = ""
    #: lines for the report: scoring failures, limit breaches, the static scan's evidence
    findings: list = dataclasses.field(default_factory=list)
    #: seconds spent in the scoring pass
    scoring_seconds: float = 0.0
