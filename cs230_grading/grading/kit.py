"""What travels between the driver and the workers: the course kit (sent once per worker),
one student's task, and what the worker sends back.

The driver (the machine running the pipeline) sends each worker, once, a :class:`CourseKit`:
``nbgrader_config.py``, ``source/`` and the course switches. A task, :class:`SubmissionTask`,
carries one student's submitted files plus the central gradebook rows grading needs (the due
date, the student's extension, a TA's manual grades for the feedback). The worker returns a
:class:`GradedSubmission`: the autograded notebooks, the feedback HTML, per-cell scores and
comments, findings, named mistakes and the log.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import os
import tarfile
from pathlib import Path
from typing import Any

from ..budget import Overrun
from ..course import Course
from ..exam_window import deadline_inputs
from ..folders import content_sha, tree_files

#: environment switches that change how a notebook grades, and so travel with the kit
SWITCH_PREFIX = "CS230_"

_NOT_SWITCHES = {"CS230_GRADEBOOK_URL", "CS230_DASK_SCHEDULER"}

@dataclasses.dataclass(frozen=True)
class CourseKit:
    """Everything a worker needs to build its private course (sent once per worker)."""

    #: hash of the inputs below: a change regrades the class on the next run
    sha: str
    #: tar.gz of ``nbgrader_config.py`` and ``source/``
    archive: bytes
    #: course switches (``CS230_*``, ``MPLBACKEND``) for nbgrader and its kernels
    env: dict[str, str]
    #: the central gradebook's schema version: a worker stamps its private gradebook with
    #: it instead of asking alembic (a ~5 s subprocess nbgrader runs for a new database)
    alembic: str | None = None

@dataclasses.dataclass(frozen=True)
class SubmissionTask:
    """One student's submission and the central gradebook rows grading it needs."""

    student: str
    #: path relative to ``<student>/midterm/`` -> file contents
    files: dict[str, bytes]
    sha: str
    feedback: bool = True
    duedate: dt.datetime | None = None
    extension: dt.timedelta | None = None
    #: the central gradebook's manual scores and comments of this student: the feedback
    #: rendered on the worker shows them (a TA's grade of Q2, say)
    manual_scores: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    manual_comments: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)

#: the phases of one student's grading that :attr:`GradedSubmission.timings` reports
PHASES = ("kernel_start", "execution", "kernel_stop", "scoring", "bookkeeping", "feedback",
          "driver_write")

@dataclasses.dataclass
class GradedSubmission:
    """What a worker sends back; the driver writes it to the central gradebook."""

    student: str
    success: bool
    seconds: float
    log: str = ""
    error: str = ""
    host: str = ""
    timestamp: dt.datetime | None = None
    #: notebooks present in the submission (nbgrader zeroes the others)
    submitted: list[str] = dataclasses.field(default_factory=list)
    #: (notebook, grade id, auto score, needs manual grade)
    grades: list[tuple[str, str, float | None, bool]] = dataclasses.field(default_factory=list)
    #: (notebook, cell id, auto comment)
    comments: list[tuple[str, str, str | None]] = dataclasses.field(default_factory=list)
    #: notebook -> late penalty
    penalties: dict[str, float | None] = dataclasses.field(default_factory=dict)
    #: zlib-compressed files relative to ``autograded/<student>/midterm`` and ``feedback/...``
    autograded: dict[str, bytes] = dataclasses.field(default_factory=dict)
    feedback: dict[str, bytes] = dataclasses.field(default_factory=dict)
    #: notebooks that ran out of their time budget in the kernel
    overruns: list[Overrun] = dataclasses.field(default_factory=list)
    #: report lines of the worker (scoring, static scan, limits, time budgets)
    findings: list[Any] = dataclasses.field(default_factory=list)
    #: (notebook, grade id, mistake id): the named mistakes the scoring pass recognised
    mistakes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    #: seconds by phase (see :data:`PHASES`); the driver adds ``driver_write``
    timings: dict[str, float] = dataclasses.field(default_factory=dict)

def course_switches() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.startswith(SWITCH_PREFIX) and k not in _NOT_SWITCHES}
    env.setdefault("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    return env

def build_kit(course: Course) -> CourseKit:
    """Pack the course's configuration and ``source/`` for the workers."""
    files = {"nbgrader_config.py": (course.root / "nbgrader_config.py").read_bytes()}
    files.update({f"source/{k}": v for k, v in tree_files(course.root / "source").items()})
    env = course_switches()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sha = content_sha(files, *(f"{k}={v}" for k, v in sorted(env.items())),
                      *deadline_inputs(course.root))  # new accommodations: grade again
    return CourseKit(sha, buf.getvalue(), env, _alembic_version(course.db_url))

def _alembic_version(db_url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no stamp: the worker lets nbgrader ask alembic
        return None
    finally:
        engine.dispose()


def unpack_kit(archive: bytes, dest: Path) -> None:
    """Unpack a course kit: regular files inside ``dest`` only.

    By hand rather than ``extractall(filter="data")``, which Python gained in 3.11.4 and
    3.10.12: Debian 12's Python 3.11.2 does not have it.
    """
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = (root / member.name).resolve()
            if not member.isfile() or not target.is_relative_to(root):
                raise ValueError(f"course kit: refusing {member.name!r} (not a file inside "
                                 "the course)")
            source = tar.extractfile(member)
            if source is None:
                raise ValueError(f"course kit: cannot read {member.name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())
