"""Findings grouped for people: one line per student and kind of finding.

A student can get several findings of one kind (a static-scan hit per notebook, a limit per
cell); the instructor needs one line per student and kind with the evidence underneath.
:func:`group_findings` makes those groups; the terminal prints :func:`terminal_lines` and the
report folds each group's findings under its :meth:`Group.headline`.

Kinds come from the finding's ``kind`` when its producer set one (the scoring pass's
outcome, the time budgets); :func:`kind_of` names the rest by where they come from (the
cover, a failed grading job, intake).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from .budget import KIND as BUDGET
from .cover import COVER
from .finding import Finding
from .intake import SUSPECTED

CRASHED = "crashed"
LIMIT = "resource limit"
SCAN = "static scan"
SUBMISSION = "submission"
HONOUR_CODE = "honour code"

#: Every kind, in the order the report and the terminal list a student's groups.
KINDS = (CRASHED, SUBMISSION, BUDGET, LIMIT, SCAN, HONOUR_CODE)

#: Prefixes of the messages of a grading job that failed (pipeline, scoring pass).
_CRASH_PREFIXES = ("grading failed", "scoring failed")
#: Pseudo-students of findings about the class or an archive, not about one student.
NOT_A_STUDENT = ("(class)", "(archive)")


def kind_of(finding: Finding) -> str:
    """The finding's kind: its own ``kind``, else named by the module that made it."""
    if finding.kind:
        return finding.kind
    if finding.notebook == COVER:
        return HONOUR_CODE
    if finding.message.startswith(_CRASH_PREFIXES):
        return CRASHED
    return SUBMISSION


@dataclasses.dataclass
class Group:
    """The findings of one kind about one student, in the order they were made."""

    student: str
    kind: str
    findings: list[Finding]

    @property
    def severity(self) -> str:
        return "error" if any(f.severity == "error" for f in self.findings) else "warning"

    @property
    def notebooks(self) -> list[str]:
        return list(dict.fromkeys(f.notebook for f in self.findings if f.notebook))

    @property
    def evidence(self) -> list[str]:
        """Every evidence line of the group, once each."""
        return list(dict.fromkeys(e for f in self.findings for e in f.evidence))

    def headline(self) -> str:
        """What happened, in one line (a single finding's own message when it says it)."""
        n = len(self.findings)
        where = count(len(self.notebooks), "notebook")
        if n == 1:
            return self.findings[0].message
        messages = list(dict.fromkeys(f.message for f in self.findings))
        if len(messages) == 1 and len(self.notebooks) == n:
            return f"{messages[0]} ({where}: {', '.join(self.notebooks)})"
        if self.kind == BUDGET:
            return f"ran out of a time budget {n} times in {where}: the cells not run scored 0"
        if self.kind == LIMIT:
            return f"hit a resource limit in {count(n, 'cell')} of {where}"
        if self.kind == SCAN:
            return f"static scan flagged {where} (no score depends on it)"
        if self.kind == CRASHED:
            return (f"crashed in {where}: {self.findings[0].message} "
                    f"(+{count(n - 1, 'more line')})")
        if self.kind == SUBMISSION:
            names = ", ".join(self.notebooks) or "the folder"
            suspected = any(SUSPECTED in f.message for f in self.findings)
            return (f"{count(n, 'problem')} with the submitted files ({names})"
                    + (f"; {SUSPECTED}" if suspected else ""))
        return f"{count(n, self.kind + ' finding')} in {where}"

    def where(self) -> str:
        """``student/notebook`` when the group is about one notebook, else ``student``."""
        notebooks = self.notebooks
        single = len(notebooks) == 1 and all(f.notebook for f in self.findings)
        return f"{self.student}/{notebooks[0]}" if single else self.student

    def line(self) -> str:
        """The group as the terminal prints it (a lone finding prints as before)."""
        return f"[{self.severity}] {self.where()}: {self.headline()}"


def count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def group_findings(findings: Iterable[Finding]) -> list[Group]:
    """One :class:`Group` per (student, kind): students in order of their first finding,
    each student's groups in the order of :data:`KINDS` (others last)."""
    groups: dict[tuple[str, str], Group] = {}
    order: dict[str, int] = {}
    for f in findings:
        key = (f.student, kind_of(f))
        order.setdefault(f.student, len(order))
        groups.setdefault(key, Group(*key, [])).findings.append(f)
    rank = {k: i for i, k in enumerate(KINDS)}
    return sorted(groups.values(), key=lambda g: (order[g.student], rank.get(g.kind, len(rank))))


def students_with(groups: Sequence[Group], kind: str) -> list[str]:
    """The students with a group of this kind, in the groups' order."""
    return list(dict.fromkeys(g.student for g in groups if g.kind == kind))


def terminal_lines(findings: Iterable[Finding]) -> list[str]:
    """One line per student and kind, as the pipeline prints them."""
    return [g.line() for g in group_findings(findings)]
