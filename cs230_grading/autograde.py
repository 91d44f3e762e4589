"""Grading one student in-process with nbgrader's Python API (runs on a worker).

A worker keeps one :class:`nbgrader.apps.NbGraderAPI` per course, so nbgrader
and its configuration load once per worker process. Each call still runs
every notebook in a fresh kernel, exactly as ``nbgrader autograde`` does.
"""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path
from typing import Any

from .budget import overrun_findings, student_clock
from .course import ASSIGNMENT
from .folders import last_good_copy, restore

_APIS: dict[tuple[str, str, str], Any] = {}


@dataclasses.dataclass(frozen=True)
class StudentJob:
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


def worker_api(course_root: str, db_url: str, submitted: str = "submitted") -> Any:
    """The cached NbGraderAPI for a course, configured from its nbgrader_config.py."""
    key = (course_root, db_url, submitted)
    if key not in _APIS:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        os.environ["CS230_GRADEBOOK_URL"] = db_url
        config = PyFileConfigLoader("nbgrader_config.py", path=course_root).load_config()
        config.CourseDirectory.root = course_root
        config.CourseDirectory.db_url = db_url
        config.CourseDirectory.submitted_directory = submitted
        coursedir = CourseDirectory(config=config)
        _APIS[key] = NbGraderAPI(coursedir, config=config)
    return _APIS[key]


def grade_student(job: StudentJob) -> StudentResult:
    """Autograde (and, if asked, generate feedback for) one student's midterm."""
    start = time.perf_counter()
    _quiet_sqlalchemy()
    api = worker_api(job.course_root, job.db_url, job.submitted)
    root = Path(job.course_root)
    autograded = root / "autograded" / job.student / ASSIGNMENT
    feedback = root / "feedback" / job.student / ASSIGNMENT
    findings: list = []
    pass_seconds = 0.0
    cwd = os.getcwd()
    os.chdir(job.course_root)
    # nbgrader rewrites both folders in place, and deletes them when it fails: the last
    # good copies are kept until this student's grading has succeeded.
    try:
        with (student_clock() as clock,
              last_good_copy(autograded, *([feedback] if job.feedback else []))):
            result = api.autograde(ASSIGNMENT, job.student, force=True, create=True)
            log = result.get("log", "")
            if result.get("success") and second_pass_enabled():
                from .second_pass import check_student

                findings, pass_seconds = check_student(job)
            if result.get("success") and job.feedback:
                fb = api.generate_feedback(ASSIGNMENT, job.student, force=True)
                log += fb.get("log", "")
                if not fb.get("success"):
                    result = {"success": False, "error": fb.get("error", "feedback failed")}
            if not result.get("success"):
                restore(autograded)
                restore(feedback)  # no-op when feedback was not asked for
    finally:
        os.chdir(cwd)
    return StudentResult(
        student=job.student,
        success=bool(result.get("success")),
        seconds=time.perf_counter() - start,
        log=log,
        error=_last_line(result.get("error", "")),
        findings=(findings + overrun_findings(job.student, clock.overruns)
                  if result.get("success") else []),
        second_pass_seconds=pass_seconds if result.get("success") else 0.0,
    )


def _quiet_sqlalchemy() -> None:
    """nbgrader's gradebook triggers harmless SQLAlchemy autoflush warnings; hide them."""
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _last_line(text: str) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""

