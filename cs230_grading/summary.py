"""The class in numbers: what the top of the report and the end of the terminal say.

Everything here is derived from the gradebook's grades and the findings of the run: who was
graded, who was not and why, what awaits hand grading (items per part), who is suspected of
tampering, whose grading crashed, who was late, and the mean and median totals.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Sequence

from .budget import KIND as BUDGET
from .finding import Finding
from .findings import (
    CRASHED,
    HONOUR_CODE,
    LIMIT,
    NOT_A_STUDENT,
    SCAN,
    TAMPERING,
    Group,
    count,
    group_findings,
    students_with,
)
from .results import ClassGrades

#: Where ``jupyter lab`` started from the course root serves nbgrader's formgrader (the
#: default port; the manual-grading page of the midterm is under it).
FORMGRADER_URL = "http://localhost:8888/formgrader/gradebook/midterm"


@dataclasses.dataclass
class ClassSummary:
    """The numbers of one grading run (lists of students, so counts and names agree)."""

    graded: list[str]
    #: student -> why they have no grades (their error groups' headlines)
    not_graded: dict[str, list[str]]
    #: findings about the class or an archive rather than one student
    class_problems: list[str]
    #: grade id of a hand-graded part -> students whose answer awaits a grade
    awaiting: dict[str, list[str]]
    tampering: list[str]
    crashed: list[str]
    late: list[str]
    time_budget: list[str]
    resource_limit: list[str]
    static_scan: list[str]
    honour_code: list[str]
    #: students with at least one error (a line of the report's "Needs attention")
    attention: list[str]
    mean: float | None
    median: float | None
    groups: list[Group]

    @property
    def awaiting_students(self) -> list[str]:
        return sorted({s for students in self.awaiting.values() for s in students})

    @property
    def awaiting_items(self) -> int:
        return sum(len(v) for v in self.awaiting.values())

    def awaiting_by_question(self) -> dict[str, dict[str, int]]:
        """``{question prefix ("q2"): {grade id: items}}``, in grade-id order."""
        out: dict[str, dict[str, int]] = {}
        for grade_id in sorted(self.awaiting):
            out.setdefault(grade_id.split("_")[0], {})[grade_id] = len(self.awaiting[grade_id])
        return out


def summarise(grades: ClassGrades, findings: Sequence[Finding]) -> ClassSummary:
    """The numbers of the run, derived from ``grades`` and ``findings``."""
    groups = group_findings(findings)
    graded = [s.student for s in grades.students]
    graded_set = set(graded)
    not_graded: dict[str, list[str]] = {}
    for g in groups:
        if g.student not in graded_set and g.student not in NOT_A_STUDENT \
                and g.severity == "error":
            not_graded.setdefault(g.student, []).append(g.headline())
    awaiting: dict[str, list[str]] = {}
    for s in grades.students:
        for grade_id in s.awaiting_manual:
            awaiting.setdefault(grade_id, []).append(s.student)
    totals = [s.total for s in grades.students]
    return ClassSummary(
        graded=graded,
        not_graded=not_graded,
        class_problems=[f.line() for f in findings if f.student in NOT_A_STUDENT],
        awaiting=awaiting,
        tampering=students_with(groups, TAMPERING),
        crashed=students_with(groups, CRASHED),
        late=[s.student for s in grades.late],
        time_budget=students_with(groups, BUDGET),
        resource_limit=students_with(groups, LIMIT),
        static_scan=students_with(groups, SCAN),
        honour_code=students_with(groups, HONOUR_CODE),
        attention=list(dict.fromkeys(g.student for g in groups if g.severity == "error")),
        mean=statistics.fmean(totals) if totals else None,
        median=statistics.median(totals) if totals else None,
        groups=groups,
    )


def _names(students: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(students[:limit])
    return shown + (f" and {len(students) - limit} more" if len(students) > limit else "")


def summary_lines(summary: ClassSummary) -> list[str]:
    """The summary as the terminal prints it (plain text; student ids are the only
    student-derived text, and the printer makes them safe for a terminal)."""
    lines = [f"Graded: {count(len(summary.graded), 'student')}."]
    if summary.not_graded:
        lines.append(f"Not graded: {len(summary.not_graded)} ("
                     + "; ".join(f"{s}: {', '.join(why)}"
                                 for s, why in list(summary.not_graded.items())[:8])
                     + (" ..." if len(summary.not_graded) > 8 else "") + ").")
    if summary.mean is not None:
        lines.append(f"Totals: mean {summary.mean:.1f}, median {summary.median:g}.")
    if summary.awaiting:
        parts = "; ".join(f"{q}: {count(sum(items.values()), 'item')}" for q, items
                          in summary.awaiting_by_question().items())
        lines.append(f"Awaiting hand grading: {count(len(summary.awaiting_students), 'student')}"
                     f", {count(summary.awaiting_items, 'item')} ({parts}) in the formgrader "
                     f"({FORMGRADER_URL}).")
    for label, students in (("Tampering suspected", summary.tampering),
                            ("Crashed", summary.crashed),
                            ("Late", summary.late),
                            ("Out of a time budget (cells not run scored 0)",
                             summary.time_budget)):
        if students:
            lines.append(f"{label}: {len(students)} ({_names(students)}).")
    return lines
