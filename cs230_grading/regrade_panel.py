"""The grading console's regrade panel: open requests beside the answer, the grade, the
rubric items applied and the history of the part's requests; Accept or Decline with a reply.

Every piece of student or TA text is escaped (``html.escape``): nothing a student wrote runs
in the TA's browser. Decisions go through :func:`cs230_grading.regrades.decide`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from .course import ASSIGNMENT
from .notebooks import grade_cells, read_notebook
from .regrades import (
    OPEN,
    Request,
    all_requests,
    current_points,
    decide,
    graded_parts,
    points_text,
    read_requests,
    rubric_parts,
    short_part,
)


def answer_text(course_root: Path, student: str, part: str) -> str:
    """The student's answer to ``part`` as graded (the autograded notebook's answer cell)."""
    notebook = graded_parts(course_root)[part][0]
    path = Path(course_root) / "autograded" / student / ASSIGNMENT / f"{notebook}.ipynb"
    if not path.is_file():
        return "(no autograded notebook)"
    cells = grade_cells(read_notebook(path))
    cell = cells.get(short_part(part)) or cells.get(part)
    return str(cell.source) if cell is not None else "(no answer cell)"


def request_html(course_root: Path, request: Request, db_url: str | None = None) -> str:
    """One request as the console shows it: the answer, the grade, the rubric items applied
    and the history of requests for the part. Every piece of text is escaped."""
    from . import manual

    root = Path(course_root)
    points = current_points(root, request.student, request.part, db_url)
    answer = answer_text(root, request.student, request.part)
    items = ""
    if request.part in rubric_parts(root):
        graded = manual.grades(root, request.part, db_url=db_url).get(request.student)
        items = (f"<p>Rubric items applied: {html.escape(', '.join(graded.items) or 'none')} "
                 f"(by {html.escape(graded.grader)})</p>" if graded
                 else "<p>Rubric items applied: not graded by hand yet</p>")
    history = "".join(
        f"<li>{html.escape(r.received)}: {html.escape(r.status)}"
        + (f" by {html.escape(r.decided_by)} at {html.escape(r.decided_at)}: "
           f"{points_text(r.points_before)} → {points_text(r.points_after)}, "
           f"“{html.escape(r.reply)}”"
           if r.decided_by else "") + "</li>"
        for r in read_requests(root, request.student) if r.part == request.part)
    return (f"<div class='cs230-regrade' data-student='{html.escape(request.student, True)}'>"
            f"<h4>{html.escape(request.student)}: {html.escape(short_part(request.part))}, "
            f"{points_text(points)} of {points_text(request.max_points)} points</h4>"
            f"<p>Reason:</p><pre>{html.escape(request.reason)}</pre>"
            f"<p>Answer as graded:</p><pre>{html.escape(answer)}</pre>"
            f"{items}<p>History of this part's requests:</p><ul>{history}</ul></div>")


class RegradePanel:
    """The console's regrade panel: open requests, one at a time, accept or decline."""

    def __init__(self, course_root: Path, db_url: str | None, grader: Any) -> None:
        import ipywidgets as w

        self.root, self.db_url, self.grader = Path(course_root), db_url, grader
        self.choice = w.Dropdown(description="Request")
        self.detail = w.HTML()
        self.points = w.FloatText(description="New points")
        self.reply = w.Textarea(description="Reply", placeholder="to the student")
        self.accept = w.Button(description="Accept (new points)")
        self.decline = w.Button(description="Decline")
        self.status = w.HTML()
        self.accept.on_click(lambda _: self._decide(True))
        self.decline.on_click(lambda _: self._decide(False))
        self.choice.observe(lambda _: self._show(), names="value")
        self.widget = w.VBox([w.HTML("<h3>Regrade requests</h3>"), self.choice, self.detail,
                              w.HBox([self.points, self.accept]), self.reply, self.decline,
                              self.status])
        self.widget.add_class("cs230-regrades")
        self.load()

    def load(self) -> None:
        waiting = [r for r in all_requests(self.root) if r.status == OPEN]
        self.requests = {f"{r.student} {short_part(r.part)}": r for r in waiting}
        self.choice.options = list(self.requests)
        self.choice.value = next(iter(self.requests), None)
        self._show()

    def _show(self) -> None:
        request = self.requests.get(self.choice.value or "")
        self.detail.value = (request_html(self.root, request, self.db_url) if request
                             else "<p>No open regrade requests.</p>")

    def _decide(self, accept: bool) -> None:
        request = self.requests.get(self.choice.value or "")
        if request is None:
            return
        try:
            done = decide(self.root, request.student, request.part, accept=accept,
                          points=float(self.points.value) if accept else None,
                          reply=self.reply.value, grader=self.grader(), db_url=self.db_url)
        except (ValueError, OSError) as exc:
            self.status.value = f"<span style='color: #b00'>{html.escape(str(exc))}</span>"
            return
        self.status.value = html.escape(f"{done.student} {short_part(done.part)}: {done.status}; "
                                        "feedback generated again")
        self.reply.value = ""
        self.load()


def console_panel(course_root: Path, db_url: str | None, grader: Any) -> Any:
    """The widget the grading console shows under its own (``grader``: returns the TA's name)."""
    return RegradePanel(course_root, db_url, grader).widget
