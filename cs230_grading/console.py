"""The TA's grading console: ipywidgets in a JupyterLab notebook (no web server of its own).

``instructor/grading_console.ipynb`` runs ``GradingConsole()``. The console shows one
hand-graded part (pick it, and type your name as the grader: nothing is written without
it). Beside one answer group at a time it shows the part's question, its model answer and
rubric, and its rubric items with the number of answers each is applied to; above, the
progress (answers graded / total, and per TA). Each answer shows how it is graded now,
including a score or comment typed in the formgrader, and has its own adjustment and
comment. Clicking an item applies it to every answer of the group (or takes it off, when the
whole group has it); "No item applies" records the group as graded with no item. An answer
can be pulled out of its group, and an item can be re-pointed (every answer with it is
re-scored).

A grade or comment typed in the formgrader is never replaced unseen: actions keep it and
say so, unless the TA ticks "Replace hand grades" for that action (:mod:`manual`). Every
change goes to the audit log (:mod:`cs230_grading.audit`) with the TA's name.

Rendering: each change (a part picked, a click) reads the part once
(:func:`manual.snapshot`) and redraws once (:meth:`GradingConsole.redraw`); the pieces of
the page are built by the ``*_html`` functions and :meth:`GradingConsole.answer_row`, so a
panel can be added beside an answer. Student answers are untrusted: they are shown as
escaped text (``html.escape`` inside ``<pre>``), never as HTML or markdown, so nothing a
student typed runs in the TA's browser (docs/security.md).
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

from . import manual
from .course import ASSIGNMENT
from .rubric import part_text

TOOL = "console"
REPLACE_LABEL = "Replace hand grades"


def find_course_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with ``nbgrader_config.py`` and ``source/``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    raise manual.RubricError(f"no course root (nbgrader_config.py) at or above {here}")


def default_grader() -> str:
    """The JupyterHub user (a person), else "": the TA types a name (never the login name,
    which on a shared machine is ``root`` or ``jovyan`` for everybody)."""
    return os.environ.get("JUPYTERHUB_USER", "").strip()


# -- pieces of the page (HTML strings; every student-derived value escaped) ------------------
def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def status_html(student: str, state: manual.PartState) -> str:
    """How an answer is graded now: a hand grade, the console's items, or not graded."""
    hand = state.hand.get(student)
    if hand is not None:
        text = (f"<b>{_e(hand.describe())}</b>: kept; tick &laquo;{REPLACE_LABEL}&raquo; to "
                "grade it here instead")
        if hand.comment.strip():
            text += f"<pre class='cs230-comment'>{_e(hand.comment)}</pre>"
        return f"<span class='cs230-hand'>{text}</span>"
    graded = state.grades.get(student)
    if graded is None:
        return "<i>not graded</i>"
    items = ", ".join(graded.items) or "no item"
    text = f"<b>{graded.score:g} points</b> ({_e(items)}; {_e(graded.grader)})"
    if graded.adjustment or graded.comment:
        text += (f"<pre class='cs230-comment'>[{graded.adjustment:+g}] "
                 f"{_e(graded.comment)}</pre>")
    return text


def answer_html(student: str, text: str, state: manual.PartState) -> str:
    """One answer: the student, how it is graded, and the answer as escaped text."""
    return (f"<div class='cs230-answer' data-student='{_e(student)}'>"
            f"<b>{_e(student)}</b> {status_html(student, state)}"
            "<pre style='white-space: pre-wrap; margin: 2px 0 4px 0; padding: 4px; "
            f"background: #f6f6f6'>{_e(text)}</pre></div>")


def header_html(part: manual.Part) -> str:
    start = "0, items add" if part.scoring == "positive" else "full marks, items deduct"
    return (f"<h3 class='cs230-part' data-part='{_e(part.grade_id)}'>{_e(part.grade_id)} "
            f"({_e(part.notebook)}), {part.max_points:g} points</h3>"
            f"<p>Scoring starts at {start}; the score stays within 0..{part.max_points:g}.</p>")


def progress_html(state: manual.PartState) -> str:
    prog = state.progress
    per_ta = ", ".join(f"{_e(t)} {n}" for t, n in prog.by_grader.items())
    return (f"Graded <b>{prog.graded} / {prog.total}</b> answers"
            + (f" (by TA: {per_ta})" if per_ta else ""))


def reference_html(question: str, model: str) -> str:
    """The question and the model answer with its rubric (from ``source/``, instructor side)."""
    pre = "white-space: pre-wrap; word-break: normal; font-size: 90%; margin: 0 0 8px 0"
    return ("<div class='cs230-reference'>"
            f"<b>Question</b><pre style='{pre}'>{_e(question) or '(not found)'}</pre>"
            f"<b>Model answer and rubric</b><pre style='{pre}'>{_e(model) or '(not found)'}"
            "</pre></div>")


class GradingConsole:
    """The console's widgets and state; display it (it is the notebook cell's last line)."""

    def __init__(self, course_root: str | Path | None = None, grade_id: str | None = None,
                 grader: str | None = None, *, db_url: str | None = None) -> None:
        import ipywidgets as w

        self.root = find_course_root(course_root)
        self.db_url = db_url
        self.parts = manual.load_rubric(self.root)
        self.state: manual.PartState | None = None
        #: the part's answer groups, kept between clicks that do not regroup
        self._groups: list[manual.AnswerGroup] | None = None
        self.index = 0
        #: how many times the console has drawn itself (once per change)
        self.renders = 0

        self.part = w.Dropdown(options=list(self.parts), description="Part",
                               value=grade_id or next(iter(self.parts)))
        self.grader = w.Text(value=grader if grader is not None else default_grader(),
                             description="Grader", placeholder="your name (required)")
        self.replace = w.Checkbox(value=False, description=REPLACE_LABEL, indent=False,
                                  tooltip="let the next action replace scores and comments "
                                          "typed in the formgrader (it is recorded)")
        self.header = w.HTML()
        self.who = w.HTML()
        self.progress = w.HTML()
        self.items = w.VBox()
        self.none_button = w.Button(description="No item applies",
                                    tooltip="record the group as graded, with no item")
        self.prev_button = w.Button(description="◀ Previous group")
        self.next_button = w.Button(description="Next group ▶")
        self.position = w.HTML()
        self.answers = w.VBox()
        self.reference = w.HTML(layout=w.Layout(width="40%", overflow="auto"))
        self.pull_choice = w.Dropdown(description="Answer of")
        self.pull_button = w.Button(description="Pull out of group")
        self.point_item = w.Dropdown(description="Item")
        self.point_value = w.FloatText(description="Points")
        self.point_button = w.Button(description="Re-point item")
        self.status = w.HTML()
        for name in ("none_button", "prev_button", "next_button", "pull_button",
                     "point_button", "answers", "progress", "status", "position", "replace",
                     "reference", "header", "who"):
            getattr(self, name).add_class(f"cs230-{name.replace('_', '-')}")

        self.part.observe(lambda change: self._act(self.load), names="value")
        self.grader.observe(lambda change: self._show_who(), names="value")
        self.replace.observe(lambda change: self._show_who(), names="value")
        self.prev_button.on_click(lambda _: self._act(lambda: self.move(-1)))
        self.next_button.on_click(lambda _: self._act(lambda: self.move(+1)))
        self.none_button.on_click(lambda _: self._act(self._apply_none))
        self.pull_button.on_click(lambda _: self._act(self._pull_out))
        self.point_button.on_click(lambda _: self._act(self._repoint))
        grading = w.VBox([
            w.HTML("<b>Rubric items</b> (click to apply to the whole group, or take off)"),
            self.items, w.HBox([self.none_button, self.replace]),
            w.HBox([self.prev_button, self.position, self.next_button]), self.answers,
        ], layout=w.Layout(width="60%"))
        self.widget = w.VBox([
            w.HBox([self.part, self.grader, self.who]), self.header, self.progress,
            w.HBox([grading, self.reference]),
            w.HBox([self.pull_choice, self.pull_button]),
            w.HBox([self.point_item, self.point_value, self.point_button]), self.status,
        ])
        self.widget.add_class("cs230-grading-console")
        self._show_who()
        self.load()
        from .regrade_panel import console_panel  # open regrade requests (docs/exam-day.md)

        self.widget.children = (*self.widget.children,
                                console_panel(self.root, db_url, lambda: self._grader()))
        self.redraw()

    # -- display ---------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def groups(self) -> list[manual.AnswerGroup]:
        return self.state.groups if self.state else []

    @property
    def group(self) -> manual.AnswerGroup | None:
        return self.groups[self.index] if self.groups else None

    def load(self) -> str:
        """A part was picked: re-derive its scores from the items file, start at group 1."""
        self.parts = manual.load_rubric(self.root)
        manual.rescore(self.root, self.part.value, db_url=self.db_url,
                       grader=self.grader.value.strip() or "rubric file", tool=TOOL)
        self.index = 0
        self._groups = None
        return ""

    def read(self) -> manual.PartState:
        """Read the part once (groups, grades, hand grades, progress)."""
        if self._groups is None or (self._groups and
                                    self._groups[0].grade_id != self.part.value):
            self._groups = manual.answer_groups(self.root, self.part.value, db_url=self.db_url)
        self.state = manual.snapshot(self.root, self.part.value, db_url=self.db_url,
                                     groups=self._groups)
        self.index = min(self.index, max(len(self.state.groups) - 1, 0))
        return self.state

    def answer_row(self, student: str, text: str, state: manual.PartState) -> Any:
        """One answer with its own adjustment and comment (a panel can go beside it)."""
        import ipywidgets as w

        graded = state.grades.get(student)
        points = w.FloatText(value=graded.adjustment if graded else 0.0,
                             description="Adjust", layout=w.Layout(width="11em"))
        comment = w.Text(value=graded.comment if graded else "", placeholder="comment",
                         layout=w.Layout(width="50%"))
        save = w.Button(description="Save", tooltip="save the adjustment and the comment")
        save.add_class("cs230-save")
        points.add_class("cs230-adjust")
        comment.add_class("cs230-comment-input")
        save.on_click(lambda _: self._act(
            lambda: self._adjust(student, points.value, comment.value)))
        row = w.VBox([w.HTML(answer_html(student, text, state)),
                      w.HBox([points, comment, save])])
        row.add_class("cs230-answer-row")
        return row

    def redraw(self) -> None:
        """Draw the part once, from one read of the gradebook."""
        import ipywidgets as w

        state = self.read()
        part = state.part
        group = self.group
        members = group.students if group else []
        graded = state.grades
        rows = []
        for item in part.items:
            have = sum(1 for s in members if s in graded and item.id in graded[s].items)
            button = w.Button(description=f"{item.points:+g}  {item.id}",
                              button_style="success" if members and have == len(members)
                              else "", tooltip=item.description,
                              layout=w.Layout(width="auto", min_width="14em"))
            button.add_class(f"cs230-item-{item.id}")
            button.on_click(lambda _, i=item.id: self._act(lambda: self._toggle(i)))
            text = w.HTML(f"{_e(item.description)} "
                          f"<i>(applied to {state.progress.item_counts[item.id]} answers; "
                          f"{have} of this group)</i>")
            rows.append(w.HBox([button, text]))
        question, model = part_text(self.root / "source" / ASSIGNMENT, part.grade_id)
        self.header.value = header_html(part)
        self.progress.value = progress_html(state)
        self.items.children = rows
        self.reference.value = reference_html(question, model)
        if group is None:
            self.position.value = "No answers to grade in this part."
            self.answers.children = []
        else:
            self.position.value = (f"<span class='cs230-where' data-part='{_e(part.grade_id)}'"
                                   f" data-group='{self.index + 1}'>Group {self.index + 1} of "
                                   f"{len(self.groups)}: {len(group)} answer(s)</span>")
            self.answers.children = [self.answer_row(s, group.answers[s], state)
                                     for s in group.students]
        self.pull_choice.options = members
        self.point_item.options = [i.id for i in part.items]
        self.renders += 1

    # -- actions ---------------------------------------------------------------------
    def move(self, step: int) -> str:
        if self.groups:
            self.index = (self.index + step) % len(self.groups)
        return ""

    def _act(self, action: Any) -> None:
        """Run a change, then redraw once; a one-line error instead of a traceback."""
        try:
            message = action()
            self.status.value = _e(message or "")
        except (manual.RubricError, ValueError, OSError) as exc:
            self.status.value = f"<span style='color: #b00'>{_e(exc)}</span>"
        finally:
            self.replace.value = False  # the choice holds for one action
        self.redraw()

    def _show_who(self) -> None:
        """Who the next change is recorded for, and whether it replaces hand grades (what
        the kernel has, so a TA sees that the typed name arrived)."""
        name = self.grader.value.strip()
        text = (f"grading as <b class='cs230-grader-name'>{_e(name)}</b>" if name
                else "<span style='color: #b00'>type your name to grade</span>")
        if self.replace.value:
            text += "; <b>the next action replaces hand grades</b>"
        self.who.value = text

    def _grader(self) -> str:
        return manual.require_grader(self.grader.value)

    def _kept(self, students: list[str]) -> str:
        """The end of a message naming the hand grades an action kept ("" when none)."""
        if self.replace.value or not self.state:
            return ""
        kept = [self.state.hand[s] for s in students if s in self.state.hand]
        if not kept:
            return ""
        names = "; ".join(f"{h.student} ({h.describe()})" for h in kept)
        return (f"; kept the hand grade of {names}: tick '{REPLACE_LABEL}' to replace "
                f"{'it' if len(kept) == 1 else 'them'}")

    def _toggle(self, item_id: str) -> str:
        group, gid = self.group, self.part.value
        if group is None or self.state is None:
            return "nothing to grade"
        grader = self._grader()
        graded = self.state.grades
        mine = [s for s in group.students if self.replace.value or s not in self.state.hand]
        kept = self._kept(group.students)
        if mine and all(s in graded and item_id in graded[s].items for s in mine):
            done = manual.remove_items(self.root, gid, group.students, [item_id], grader,
                                       db_url=self.db_url, replace=self.replace.value,
                                       tool=TOOL)
            return f"took {item_id} off {len(done)} answer(s){kept}"
        done = manual.apply_items(self.root, gid, group.students, [item_id], grader,
                                  db_url=self.db_url, replace=self.replace.value, tool=TOOL)
        return f"applied {item_id} to {len(done)} answer(s){kept}"

    def _apply_none(self) -> str:
        group = self.group
        if group is None:
            return "nothing to grade"
        kept = self._kept(group.students)
        done = manual.apply_items(self.root, self.part.value, group.students, [],
                                  self._grader(), db_url=self.db_url,
                                  replace=self.replace.value, tool=TOOL)
        return f"{len(done)} answer(s) graded{kept}"

    def _adjust(self, student: str, points: float, comment: str) -> str:
        kept = self._kept([student])
        score = manual.adjust(self.root, self.part.value, student, float(points), comment,
                              self._grader(), db_url=self.db_url,
                              replace=self.replace.value, tool=TOOL)
        if score is None:
            return f"nothing written{kept}"
        return f"{student}: {score:g} points, comment saved"

    def _pull_out(self) -> str:
        student = self.pull_choice.value
        if not student:
            return "no answer chosen"
        manual.pull_out(self.root, self.part.value, student, db_url=self.db_url)
        self._groups = None  # regroup
        return f"{student}'s answer is now a group of its own"

    def _repoint(self) -> str:
        item_id, points = self.point_item.value, float(self.point_value.value)
        changed = manual.set_item_points(self.root, self.part.value, item_id, points,
                                         db_url=self.db_url, grader=self._grader(),
                                         tool=TOOL)
        return f"{item_id} is now worth {points:+g}; re-scored {len(changed)} answer(s)"
