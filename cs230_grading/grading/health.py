"""A grading worker whose private course is damaged is replaced, not trusted.

A worker grades every student in a private course of its own (``/dev/shm/cs230-worker-*``:
``source/``, ``release/``, a SQLite gradebook, the fork servers' folders). Seen once: that
folder disappeared in the middle of a run, and every student the worker graded afterwards
failed with "attempt to write a readonly database", although nothing was wrong with them.

:func:`course_damage` looks at a private course before and after each student (a few
``stat`` calls and an empty write transaction on the gradebook: well under a millisecond).
:func:`grade_on_sound_course` (called by :func:`cs230_grading.grading.worker.grade_submission`)
retires a damaged course (its fork servers stopped, its gradebook engine closed, what is
left of its folder removed) and builds a fresh one from the same kit; a student whose
grading failed on a course found damaged afterwards is graded again on the fresh one. A
student fails only for a reason of its own; a fresh course that is damaged at once raises
:class:`WorkerBroken`, which reports the machine's problem instead of a student's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

#: folders and files a worker's private course cannot grade without
NEEDED = ("nbgrader_config.py", "source/midterm", "release/midterm", "autograded",
          "gradebook.db")


class WorkerBroken(RuntimeError):
    """The worker's private course is damaged even when freshly built: the machine's fault."""


def course_damage(root: Path) -> str | None:
    """Why the private course at ``root`` cannot be trusted, or None when it is sound."""
    root = Path(root)
    for rel in NEEDED:
        if not (root / rel).exists():
            return f"{rel} of the worker's private course {root} is gone"
    from ..sandbox import forkserver

    served = forkserver._SERVED.get("folder")
    if served is not None and not Path(served).is_dir():
        return f"the fork servers' folder {served} is gone"
    for rundir in forkserver._SERVED.get("rundirs", {}).values():
        if not Path(rundir).is_dir():
            return f"the fork server's run folder {rundir} is gone"
    try:
        conn = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=rw", uri=True, timeout=5)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return f"the private gradebook cannot be written ({exc})"
    return None


def grade_on_sound_course(courses: MutableMapping[str, Any], kit: Any, task: Any,
                          build: Callable[[Any], Any], retire: Callable[[Any], None]) -> Any:
    """``course.grade(task)`` on this worker's course for ``kit``, replacing the course first
    if it is damaged, and grading again on a fresh one if it was damaged during the task."""
    course = courses.get(kit.sha)
    if course is not None and course_damage(course.root) is not None:
        retire(courses.pop(kit.sha))
        course = None
    if course is None:
        course = courses[kit.sha] = build(kit)
    try:
        result = course.grade(task)
    except Exception:
        if course_damage(course.root) is None:
            raise  # the student's own failure
        result = None
    if result is not None and (result.success or course_damage(course.root) is None):
        return result
    why = course_damage(course.root)
    retire(courses.pop(kit.sha))
    fresh = courses[kit.sha] = build(kit)
    if (broken := course_damage(fresh.root)) is not None:
        raise WorkerBroken(f"a fresh private course is damaged at once: {broken}")
    result = fresh.grade(task)
    result.log += f"\n[cs230] graded again on a fresh private course: {why}\n"
    return result
