"""The TA's grading console: ipywidgets in a JupyterLab notebook (no web server of its own).

``instructor/grading_console.ipynb`` runs ``GradingConsole()``. The console shows one
hand-graded part (pick it, and type your name as the grader), its rubric items with the
number of answers each is applied to, one answer group at a time with its answers, and the
progress (answers graded / total, and per TA). Clicking an item applies it to every answer
of the group (or takes it off, when the whole group has it); "No item applies" records the
group as graded with no item. An answer can be pulled out of its group, and an item can be
re-pointed (every answer with it is re-scored).

Everything goes through :mod:`cs230_grading.manual`, one small transaction per click that
touches one part only, so TAs grading different parts at the same time never overwrite each
other. Student answers are untrusted: they are shown as escaped text (``html.escape``
inside ``<pre>``), never as HTML or markdown, so nothing a student typed runs in the TA's
browser (docs/security.md).
"""

from __future__ import annotations

import getpass
import html
import os
from pathlib import Path
from typing import Any

from . import manual


def find_course_root(start: str | Path | None = None) -> Path:
    """The nearest folder at or above ``start`` with ``nbgrader_config.py`` and ``source/``."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").is_file() and (folder / "source").is_dir():
            return folder
    raise manual.RubricError(f"no course root (nbgrader_config.py) at or above {here}")


def default_grader() -> str:
    """The JupyterHub user, else the login name ("" when unknown: the TA types it)."""
    try:
        return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()
    except (KeyError, OSError):
        return ""


def _answer_html(student: str, text: str, graded: manual.AnswerGrade | None) -> str:
    if graded is None:
        status = "not graded"
    else:
        items = ", ".join(graded.items) or "no item"
        status = f"{graded.score:g} points ({html.escape(items)}; {html.escape(graded.grader)})"
    return (f"<div class='cs230-answer' data-student='{html.escape(student, quote=True)}'>"
            f"<b>{html.escape(student)}</b> <i>{status}</i>"
            f"<pre style='white-space: pre-wrap; margin: 2px 0 8px 0'>{html.escape(text)}</pre>"
            "</div>")


class GradingConsole:
    """The console's widgets and state; display it (it is the notebook cell's last line)."""

    def __init__(self, course_root: str | Path | None = None, grade_id: str | None = None,
                 grader: str | None = None, *, db_url: str | None = None) -> None:
        import ipywidgets as w

        self.root = find_course_root(course_root)
        self.db_url = db_url
        self.parts = manual.load_rubric(self.root)
        self.groups: list[manual.AnswerGroup] = []
        self.index = 0

        self.part = w.Dropdown(options=list(self.parts), description="Part",
                               value=grade_id or next(iter(self.parts)))
        self.grader = w.Text(value=grader or default_grader(), description="Grader")
        self.header = w.HTML()
        self.progress = w.HTML()
        self.items = w.VBox()
        self.none_button = w.Button(description="No item applies",
                                    tooltip="record the group as graded, with no item")
        self.prev_button = w.Button(description="◀ Previous group")
        self.next_button = w.Button(description="Next group ▶")
        self.position = w.HTML()
        self.answers = w.HTML()
        self.pull_choice = w.Dropdown(description="Answer of")
        self.pull_button = w.Button(description="Pull out of group")
        self.point_item = w.Dropdown(description="Item")
        self.point_value = w.FloatText(description="Points")
        self.point_button = w.Button(description="Re-point item")
        self.status = w.HTML()
        for name in ("none_button", "prev_button", "next_button", "pull_button",
                     "point_button", "answers", "progress", "status", "position"):
            getattr(self, name).add_class(f"cs230-{name.replace('_', '-')}")

        self.part.observe(lambda change: self.load(), names="value")
        self.prev_button.on_click(lambda _: self.move(-1))
        self.next_button.on_click(lambda _: self.move(+1))
        self.none_button.on_click(lambda _: self._act(self._apply_none))
        self.pull_button.on_click(lambda _: self._act(self._pull_out))
        self.point_button.on_click(lambda _: self._act(self._repoint))
        self.widget = w.VBox([
            w.HBox([self.part, self.grader]), self.header, self.progress,
            w.HTML("<b>Rubric items</b> (click to apply to the whole group, or take off)"),
            self.items, self.none_button,
            w.HBox([self.prev_button, self.position, self.next_button]), self.answers,
            w.HBox([self.pull_choice, self.pull_button]),
            w.HBox([self.point_item, self.point_value, self.point_button]), self.status,
        ])
        self.widget.add_class("cs230-grading-console")
        self.load()
        from .regrade_panel import console_panel  # open regrade requests (docs/exam-day.md)

        self.widget.children = (*self.widget.children,
                                console_panel(self.root, db_url, lambda: self._grader()))

    # -- display ---------------------------------------------------------------------
    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    @property
    def group(self) -> manual.AnswerGroup | None:
        return self.groups[self.index] if self.groups else None

    def load(self, keep_index: bool = False) -> None:
        """Read the part's rubric, groups and grades again, and redraw."""
        self.parts = manual.load_rubric(self.root)
        if not keep_index:
            manual.rescore(self.root, self.part.value, db_url=self.db_url)  # items file edits
        self.groups = manual.answer_groups(self.root, self.part.value, db_url=self.db_url)
        self.index = min(self.index if keep_index else 0, max(len(self.groups) - 1, 0))
        self.redraw()

    def redraw(self) -> None:
        import ipywidgets as w

        part = self.parts[self.part.value]
        graded = manual.grades(self.root, part.grade_id, db_url=self.db_url)
        prog = manual.progress(self.root, part.grade_id, db_url=self.db_url)
        start = "0, items add" if part.scoring == "positive" else "full marks, items deduct"
        self.header.value = (f"<h3>{html.escape(part.grade_id)} "
                             f"({html.escape(part.notebook)}), {part.max_points:g} points</h3>"
                             f"<p>Scoring starts at {start}; the score stays within "
                             f"0..{part.max_points:g}.</p>")
        per_ta = ", ".join(f"{html.escape(t)} {n}" for t, n in prog.by_grader.items())
        self.progress.value = (f"Graded <b>{prog.graded} / {prog.total}</b> answers"
                               + (f" (by TA: {per_ta})" if per_ta else ""))
        group = self.group
        members = group.students if group else []
        rows = []
        for item in part.items:
            have = sum(1 for s in members if s in graded and item.id in graded[s].items)
            button = w.Button(description=f"{item.points:+g}  {item.id}",
                              button_style="success" if members and have == len(members)
                              else "", tooltip=item.description,
                              layout=w.Layout(width="auto", min_width="14em"))
            button.add_class(f"cs230-item-{item.id}")
            button.on_click(lambda _, i=item.id: self._act(lambda: self._toggle(i)))
            text = w.HTML(f"{html.escape(item.description)} "
                          f"<i>(applied to {prog.item_counts[item.id]} answers; "
                          f"{have} of this group)</i>")
            rows.append(w.HBox([button, text]))
        self.items.children = rows
        if group is None:
            self.position.value = "No answers to grade in this part."
            self.answers.value = ""
        else:
            self.position.value = (f"Group {self.index + 1} of {len(self.groups)}: "
                                   f"{len(group)} answer(s)")
            self.answers.value = "".join(_answer_html(s, group.answers[s], graded.get(s))
                                         for s in group.students)
        self.pull_choice.options = members
        self.point_item.options = [i.id for i in part.items]

    # -- actions ---------------------------------------------------------------------
    def move(self, step: int) -> None:
        if self.groups:
            self.index = (self.index + step) % len(self.groups)
        self.redraw()

    def _act(self, action: Any) -> None:
        """Run a change; show a one-line error instead of a traceback; redraw."""
        try:
            message = action()
            self.load(keep_index=True)
            self.status.value = html.escape(message or "")
        except (manual.RubricError, ValueError, OSError) as exc:
            self.status.value = f"<span style='color: #b00'>{html.escape(str(exc))}</span>"

    def _grader(self) -> str:
        name = self.grader.value.strip()
        if not name:
            raise manual.RubricError("type your name in the Grader box first")
        return name

    def _toggle(self, item_id: str) -> str:
        group, gid = self.group, self.part.value
        if group is None:
            return "nothing to grade"
        graded = manual.grades(self.root, gid, db_url=self.db_url)
        if all(s in graded and item_id in graded[s].items for s in group.students):
            manual.remove_items(self.root, gid, group.students, [item_id], self._grader(),
                                db_url=self.db_url)
            return f"took {item_id} off {len(group)} answer(s)"
        manual.apply_items(self.root, gid, group.students, [item_id], self._grader(),
                           db_url=self.db_url)
        return f"applied {item_id} to {len(group)} answer(s)"

    def _apply_none(self) -> str:
        group = self.group
        if group is None:
            return "nothing to grade"
        manual.apply_items(self.root, self.part.value, group.students, [], self._grader(),
                           db_url=self.db_url)
        return f"{len(group)} answer(s) graded"

    def _pull_out(self) -> str:
        student = self.pull_choice.value
        if not student:
            return "no answer chosen"
        manual.pull_out(self.root, self.part.value, student, db_url=self.db_url)
        return f"{student}'s answer is now a group of its own"

    def _repoint(self) -> str:
        item_id, points = self.point_item.value, float(self.point_value.value)
        changed = manual.set_item_points(self.root, self.part.value, item_id, points,
                                         db_url=self.db_url)
        return f"{item_id} is now worth {points:+g}; re-scored {len(changed)} answer(s)"
