"""The class in numbers: what the top of the report and the end of the terminal say.

Everything here is derived from the gradebook's grades and the findings of the run: who was
graded, who was not and why, what awaits hand grading (items per part), who did not affirm
the honour code, whom the static scan flagged, whose grading crashed, who was late, and the
mean and median of the totals that are final (a total with a pending part is not one).

"Needs attention" is true when anything is left to do: an error, hand grading pending, or
an honour code not affirmed (:meth:`ClassSummary.needs_attention`).

The formgrader's address comes from the configuration (:func:`formgrader_url`), never a
fixed host and port.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from .budget import KIND as BUDGET
from .finding import Finding
from .findings import (
    CRASHED,
    HONOUR_CODE,
    LIMIT,
    NOT_A_STUDENT,
    SCAN,
    Group,
    count,
    group_findings,
    students_with,
)
from .results import ClassGrades

#: the formgrader's page of the midterm, under a Jupyter server's base URL
FORMGRADER_PATH = "formgrader/gradebook/midterm"
#: how to open the formgrader when no address is configured
FORMGRADER_HOWTO = ("start jupyter lab from the course root, then Nbgrader > Formgrader "
                    "(or set CS230_FORMGRADER_URL)")


def formgrader_url(course_root: str | Path | None = None) -> str | None:
    """The midterm's page in the formgrader, from the configuration; ``None`` when unknown.

    ``CS230_FORMGRADER_URL`` when set (the course's JupyterHub address, say); else the
    Jupyter server running from the course root, as it describes itself in its runtime file
    (without its token); else ``None``.
    """
    configured = os.environ.get("CS230_FORMGRADER_URL", "").strip()
    if configured:
        return configured
    if course_root is None:
        return None
    try:
        from jupyter_server.serverapp import list_running_servers
    except ImportError:
        return None
    root = Path(course_root).resolve()
    for server in list_running_servers():
        with contextlib.suppress(OSError, KeyError, ValueError):
            if Path(server["root_dir"]).resolve() == root:
                return server["url"].rstrip("/") + "/" + FORMGRADER_PATH
    return None


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
    crashed: list[str]
    late: list[str]
    time_budget: list[str]
    resource_limit: list[str]
    static_scan: list[str]
    honour_code: list[str]
    #: students with at least one error (a line of the report's "Needs attention")
    attention: list[str]
    #: mean and median of the final totals (students with nothing pending)
    mean: float | None
    median: float | None
    groups: list[Group]
    #: students whose total waits for hand grading (not in the mean and median)
    pending_totals: list[str] = dataclasses.field(default_factory=list)

    @property
    def needs_attention(self) -> bool:
        """An error, hand grading pending, or an honour code not affirmed."""
        return bool(self.attention or self.awaiting or self.honour_code)

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
    totals = [s.total for s in grades.students if s.complete]
    return ClassSummary(
        graded=graded,
        not_graded=not_graded,
        class_problems=[f.line() for f in findings if f.student in NOT_A_STUDENT],
        awaiting=awaiting,
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
        pending_totals=[s.student for s in grades.students if not s.complete],
    )


def _names(students: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(students[:limit])
    return shown + (f" and {len(students) - limit} more" if len(students) > limit else "")


def summary_lines(summary: ClassSummary, formgrader: str | None = None) -> list[str]:
    """The summary as the terminal prints it (plain text; student ids are the only
    student-derived text, and the printer makes them safe for a terminal)."""
    lines = [f"Graded: {count(len(summary.graded), 'student')}."]
    if summary.not_graded:
        lines.append(f"Not graded: {len(summary.not_graded)} ("
                     + "; ".join(f"{s}: {', '.join(why)}"
                                 for s, why in list(summary.not_graded.items())[:8])
                     + (" ..." if len(summary.not_graded) > 8 else "") + ").")
    pending = (f"; {count(len(summary.pending_totals), 'total')} pending hand grading, "
               "not counted" if summary.pending_totals else "")
    if summary.mean is not None:
        final = count(len(summary.graded) - len(summary.pending_totals), "final total")
        lines.append(f"Totals: mean {summary.mean:.1f}, median {summary.median:g} "
                     f"(of {final}{pending}).")
    elif summary.pending_totals:
        lines.append(f"Totals: all {len(summary.pending_totals)} pending hand grading.")
    if summary.awaiting:
        parts = "; ".join(f"{gid}: {n}" for items in summary.awaiting_by_question().values()
                          for gid, n in items.items())
        lines.append(f"Awaiting hand grading: {count(len(summary.awaiting_students), 'student')}"
                     f", {count(summary.awaiting_items, 'item')} ({parts}) in the formgrader "
                     f"({formgrader or FORMGRADER_HOWTO}).")
    if summary.honour_code:
        lines.append(f"Honour code not affirmed: {len(summary.honour_code)} "
                     f"({_names(summary.honour_code)}).")
    for label, students in (("Flagged by the static scan (evidence only)", summary.static_scan),
                            ("Crashed", summary.crashed),
                            ("Late", summary.late),
                            ("Out of a time budget (cells not run scored 0)",
                             summary.time_budget)):
        if students:
            lines.append(f"{label}: {len(students)} ({_names(students)}).")
    return lines


def attention_line(summary: ClassSummary) -> str:
    """The terminal's last word: what is left to do, or that nothing is."""
    if not summary.needs_attention:
        return "Nothing needs attention."
    left = []
    if summary.attention:
        left.append(f"{count(len(summary.attention), 'student')} with a problem (one line per "
                    "student and kind above; the evidence is in the report)")
    if summary.awaiting:
        left.append(f"{count(summary.awaiting_items, 'answer')} to grade by hand")
    if summary.honour_code:
        left.append(f"{count(len(summary.honour_code), 'honour code')} not affirmed")
    return "Needs attention: " + "; ".join(left) + "."
