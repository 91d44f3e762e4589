"""Reading the class's grades out of the nbgrader gradebook.

A hand-graded part that awaits its TA is *pending*: the notebook's points so far leave it
out, and :meth:`StudentGrades.pending` says so, so that nothing shows it as 0.
"""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

from .course import ASSIGNMENT, EXAM_POINTS, EXTRA_CREDIT, NOTEBOOKS


@dataclasses.dataclass
class StudentGrades:
    student: str
    #: notebook -> points so far (manual items awaiting a grade count 0)
    notebook_scores: dict[str, float]
    #: grade ids of manually graded items that still await a grade
    awaiting_manual: list[str]
    #: seconds after the due date (with any extension) the submission was made; 0 when on
    #: time or when no due date is set
    seconds_late: float = 0.0
    #: points nbgrader's late-penalty hook took off (``nbgrader export`` subtracts them)
    late_penalty: float = 0.0
    #: the submission time and the due date, when known
    submitted_at: str = ""
    due: str = ""

    @property
    def total(self) -> float:
        """Points so far (a pending part adds nothing yet)."""
        return sum(self.notebook_scores.values())

    def pending(self, notebook: str) -> bool:
        """Whether a hand-graded part of ``notebook`` still awaits a TA."""
        return any(_question_of(gid) == _question_of(notebook) for gid in self.awaiting_manual)

    @property
    def complete(self) -> bool:
        """Every part is graded: the total is final."""
        return not self.awaiting_manual

    @property
    def percent(self) -> float:
        """The total as a percentage of the exam's points (extra credit can take it past 100)."""
        return 100.0 * self.total / EXAM_POINTS


def _question_of(name: str) -> str:
    """``q2`` of ``q2_short_answers`` or of the grade id ``q2_a``."""
    return name.split("_", 1)[0]


@dataclasses.dataclass
class ClassGrades:
    students: list[StudentGrades]

    def by_student(self) -> dict[str, StudentGrades]:
        return {s.student: s for s in self.students}

    @property
    def late(self) -> list[StudentGrades]:
        """Students who submitted after the due date, latest first."""
        return sorted((s for s in self.students if s.seconds_late > 0),
                      key=lambda s: -s.seconds_late)

    @property
    def awaiting_manual(self) -> dict[str, list[str]]:
        return {s.student: s.awaiting_manual for s in self.students if s.awaiting_manual}


def collect_grades(db_url: str, students: list[str] | None = None) -> ClassGrades:
    """Per-student, per-notebook scores of the midterm from the gradebook."""
    from nbgrader.api import Gradebook, MissingEntry

    rows: list[StudentGrades] = []
    with Gradebook(db_url) as gb:
        ids = students if students is not None else sorted(s.id for s in gb.students)
        for student in ids:
            try:
                submission = gb.find_submission(ASSIGNMENT, student)
            except MissingEntry:
                continue
            scores = {name: 0.0 for name in NOTEBOOKS}
            pending: list[str] = []
            for nb in submission.notebooks:
                for grade in nb.grades:
                    if grade.needs_manual_grade:
                        pending.append(grade.name)
                    else:
                        scores[nb.name] = scores.get(nb.name, 0.0) + float(grade.score or 0)
            rows.append(StudentGrades(
                student, scores, sorted(pending),
                seconds_late=float(submission.total_seconds_late or 0),
                late_penalty=float(submission.late_submission_penalty or 0),
                submitted_at=str(submission.timestamp or ""),
                due=str(submission.duedate or "")))
    return ClassGrades(rows)


def write_scores_csv(grades: ClassGrades, path: Path) -> None:
    """One row per student: a column per question (points so far), the total, the exam's
    points and its extra credit stated apart (``cs230_grading/questions.py``), the percentage
    of the exam's points (empty while a part is pending), and the pending manual items."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student_id", *NOTEBOOKS, "total", "max_total", "extra_credit_max",
                         "percent", "awaiting_manual", "seconds_late", "late_penalty"])
        for s in grades.students:
            writer.writerow([
                s.student,
                *(f"{s.notebook_scores.get(n, 0.0):g}" for n in NOTEBOOKS),
                f"{s.total:g}",
                f"{EXAM_POINTS:g}",
                f"{EXTRA_CREDIT:g}",
                f"{s.percent:.1f}" if s.complete else "",
                " ".join(s.awaiting_manual),
                f"{s.seconds_late:g}",
                f"{s.late_penalty:g}",
            ])
