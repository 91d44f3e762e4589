"""One line for the instructor about one submission: what the report and the terminal show."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Finding:
    """Something an instructor should know about one submission."""

    student: str
    message: str
    notebook: str = ""
    severity: str = "error"  # "error" needs attention; "warning" is informational
    #: what kind of finding, for the summary's counts and the grouping of the report
    #: ("time budget", ...; "" for others: see :func:`cs230_grading.findings.kind_of`)
    kind: str = ""
    #: evidence shown folded under the report's line (e.g. the static scan's lines)
    evidence: tuple[str, ...] = ()

    def line(self) -> str:
        where = f"{self.student}/{self.notebook}" if self.notebook else self.student
        return f"[{self.severity}] {where}: {self.message}"
