"""Execute the notebooks, then score them: nbgrader's autograde of one staged student.

``nbgrader autograde`` runs ``Autograde.autograde_preprocessors`` (``nbgrader_config.py``) on
each notebook: :class:`~cs230_grading.sandbox.kernel.SandboxedExecute` runs every cell in a
fresh sandboxed kernel that holds no key, then :class:`~cs230_grading.grading.score.ScoreParts`
scores every test cell in this process and ``SaveAutoGrades`` records the verdicts. Time
budgets hold throughout (:func:`cs230_grading.budget.student_clock`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..budget import Overrun, student_clock
from ..course import ASSIGNMENT
from ..folders import chdir
from .score import NotebookScore, take_scores
from .stage import PrivateCourse


@dataclasses.dataclass
class Executed:
    """What autograding one student gave."""

    success: bool
    log: str
    error: str
    #: the scoring pass's result per notebook
    scores: list[NotebookScore]
    #: notebooks that ran out of their time budget
    overruns: list[Overrun]


def autograde(course: PrivateCourse, student: str) -> Executed:
    """``nbgrader autograde midterm --student STUDENT`` in the private course."""
    with chdir(course.root), student_clock() as clock:
        take_scores(student)  # nothing left from an earlier, failed attempt
        result: dict[str, Any] = course.api.autograde(ASSIGNMENT, student, force=True,
                                                      create=True)
        scores = take_scores(student)
    return Executed(bool(result.get("success")), result.get("log", ""),
                    result.get("error", ""), scores, clock.overruns)
