"""The students' clock, instructor side: ``exam_window.json`` for ``exam_clock.py``.

``cs230-grade exam-window --publish DIR`` writes the file into the folder students get the
exam from (the exchange's ``outbound/midterm/`` after ``nbgrader release_assignment``, or
the folder handed out). The notebooks' setup cells (through ``selfcheck.py``) then show each
student, in JupyterLab, when their exam ends and how long is left, with a warning shortly
before the end.

The file holds the common window and, for students with accommodations, their own end time
under a salted SHA-256 of their id (not the id itself). It keeps the list from being read at
a glance; a classmate who knows an id can still test it, so an instructor who wants no trace
of accommodations in the file passes ``--publish`` with an empty ``accommodations.csv`` and
tells those students their end time directly. The clock never decides lateness: the time
nbgrader's exchange (or the LMS) records is the only authority.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .exam_window import ExamWindow

CLOCK_FILE = "exam_window.json"
#: minutes before the end at which the clock turns to a warning
WARN_MINUTES = 10.0


def student_key(salt: str, student: str) -> str:
    """What the clock looks a student up by (``exam_clock.py`` computes the same)."""
    return hashlib.sha256(f"{salt}:{student}".encode()).hexdigest()[:24]


def clock_data(window: ExamWindow, salt: str, warn_minutes: float = WARN_MINUTES) -> dict:
    own = {student_key(salt, s): window.end_of(s).isoformat()
           for s in sorted(window.accommodations) if window.end_of(s) != window.end}
    return {"start": window.start.isoformat(), "end": window.end.isoformat(),
            "grace_minutes": window.grace.total_seconds() / 60, "warn_minutes": warn_minutes,
            "salt": salt, "own_end": own}


def publish(window: ExamWindow, folder: Path, salt: str = "cs230-midterm") -> Path:
    """Write ``exam_window.json`` into ``folder``; returns its path."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: no such folder (publish into the folder students get "
                         "the exam from)")
    path = folder / CLOCK_FILE
    path.write_text(json.dumps(clock_data(window, salt), indent=2) + "\n", encoding="utf-8")
    return path
