"""Credit per sub-answer, and errors carried forward (the course switch ``CARRY_FORWARD_ERRORS``).

A TA marking the paper exam gives a part's volume its point and its parameter count its point,
and does not take points again in a later part for a slip already marked. The hidden tests do
the same:

* :class:`PartScore` splits a part's points over its sub-answers (``split``: sub-answer ->
  points, which add up to the test cell's points in the source metadata). Each sub-answer's
  checks run in ``with score.sub(name):``; a :class:`~cs230_grading.checks.GradingError`
  there costs that sub-answer only. :meth:`PartScore.result` returns ``None`` (full points),
  the points earned as a plain ``float`` (nbgrader's partial credit: the test cell's last
  expression), or raises one ``GradingError`` that lists every sub-answer when none is
  credited. What was and was not credited is printed (stdout: the feedback shows it).
* :func:`swapped_in` replaces functions of the notebook's namespace (the student's helpers)
  with the answer key's while a check runs, and puts the student's back afterwards: a later
  part is graded as if the earlier parts were right. The scoring pass sends the same swap
  (``grading.student_process.StudentNamespace.call`` sends it to the student process as
  overrides).
* :func:`carried_note` is the feedback line for a helper that was swapped in because the
  student's own is wrong.

``carry_forward()`` is the switch: ``CS230_CARRY_FORWARD=0`` (``CARRY_FORWARD_ERRORS = False``
in ``nbgrader_config.py``) restores the strict grading: every part all-or-nothing, the first
failing check's message, no helper swapped in (Q5's documented swap stays).
"""

from __future__ import annotations

import ast
import contextlib
import io
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from pathlib import Path
from typing import Any

from .checks import GradingError, not_recognising, recognise

__all__ = ["ENV", "PartScore", "adopt_config_switch", "carried_note", "carry_forward",
           "graded_with_key", "helper_is_wrong", "swapped_in"]

ENV = "CS230_CARRY_FORWARD"
#: the course switch in nbgrader_config.py that sets ENV
CONFIG_NAME = "CARRY_FORWARD_ERRORS"


def carry_forward() -> bool:
    """Per-sub-answer credit and errors carried forward (default on; ``CS230_CARRY_FORWARD=0``
    turns both off)."""
    return os.environ.get(ENV, "1").strip().lower() not in {"0", "false", "no", "off"}


def adopt_config_switch(course_root: str | Path) -> None:
    """Set ``CS230_CARRY_FORWARD`` from the course's ``nbgrader_config.py`` when it is unset.

    nbgrader loads that file (which sets the variable for its kernels) in its own process;
    the scoring pass calls this so that it grades with the same switch. A config without
    the switch, or one that cannot be read, leaves the default (on)."""
    if ENV in os.environ:
        return
    try:
        tree = ast.parse(Path(course_root, "nbgrader_config.py").read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, bool)
                and any(isinstance(t, ast.Name) and t.id == CONFIG_NAME for t in node.targets)):
            os.environ[ENV] = "1" if node.value.value else "0"


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


class PartScore:
    """The points of one part, sub-answer by sub-answer.

    ``split`` maps each sub-answer to its points; ``labels`` maps it to the words the
    feedback uses ("the output volume"). With the switch off, :meth:`sub` lets the first
    failure through (all-or-nothing, as before)."""

    def __init__(self, part: str, split: Mapping[str, float],
                 labels: Mapping[str, str] | None = None) -> None:
        self.part = part
        self.split = dict(split)
        self.labels = dict(labels or {})
        self.lenient = carry_forward()
        self.lost: dict[str, str] = {}
        #: ids of the named mistakes behind the lost sub-answers
        self.mistakes: list[str] = []
        self.notes: list[str] = []

    @contextlib.contextmanager
    def sub(self, name: str) -> Iterator[None]:
        """Run one sub-answer's checks; a GradingError costs this sub-answer only."""
        if name not in self.split:
            raise KeyError(f"part {self.part} has no sub-answer {name!r}")
        if not self.lenient:
            yield
            return
        try:
            yield
        except GradingError as exc:
            self.lost.setdefault(name, str(exc))
            self.mistakes += [m for m in exc.mistakes if m not in self.mistakes]

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)

    @property
    def earned(self) -> float:
        return float(sum(p for n, p in self.split.items() if n not in self.lost))

    @property
    def total(self) -> float:
        return float(sum(self.split.values()))

    def summary(self) -> str:
        """Per sub-answer: credited or not, and why; then the carried-forward notes."""
        lines = [f"Part {self.part}: {self.earned:g} of {_points(self.total)}."]
        for name, points in self.split.items():
            label = self.labels.get(name, name)
            if name in self.lost:
                lines.append(f"- {label} ({_points(points)}): not credited: {self.lost[name]}")
            else:
                lines.append(f"- {label} ({_points(points)}): credited.")
        lines += [f"Note: {text}" for text in self.notes]
        return "\n".join(lines)

    def result(self) -> float | None:
        """``None`` for full points, the points earned, or a GradingError when none are."""
        if not self.lost:
            if self.notes:
                print("\n".join(f"Note: {text}" for text in self.notes))
            return None
        if self.earned <= 0:  # first line: the first reason (what one-line readers show)
            raise GradingError(f"{next(iter(self.lost.values()))}\n{self.summary()}",
                               mistakes=self.mistakes)
        recognise(self.mistakes)
        print(self.summary())
        return float(self.earned)  # a plain float: its repr is what nbgrader parses


@contextlib.contextmanager
def swapped_in(ns: Mapping[str, Any], replacements: Mapping[str, Callable[..., Any]]
               ) -> Iterator[None]:
    """Put the answer key's ``replacements`` in the notebook's namespace while a check runs.

    The student's own functions come back afterwards (their notebook and explorers keep
    using them). A read-only namespace is left alone."""
    if not isinstance(ns, MutableMapping):
        yield
        return
    saved = {name: ns[name] for name in replacements if name in ns}
    try:
        for name, func in replacements.items():
            ns[name] = func
        yield
    finally:
        for name in replacements:
            if name in saved:
                ns[name] = saved[name]
            else:
                ns.pop(name, None)


def helper_is_wrong(check: Callable[[Mapping[str, Any]], Any], ns: Mapping[str, Any]) -> bool:
    """True when the student's helper fails the check of the part that grades it."""
    try:
        with contextlib.redirect_stdout(io.StringIO()), not_recognising():
            return check(ns) is not None  # partial credit: not right either
    except GradingError:
        return True


@contextlib.contextmanager
def graded_with_key(ns: Mapping[str, Any], key: Mapping[str, Callable[..., Any]],
                    graded: Mapping[str, tuple[Callable[[Mapping[str, Any]], Any], str]]
                    ) -> Iterator[None]:
    """Run a later part's check with the answer key's helpers ``key`` swapped in.

    ``graded`` maps each helper to the check of the part that grades it and that part's
    name. For each helper the student got wrong, the feedback says it was swapped in: printed
    when the check passes, added to its message when it fails."""
    wrong = [name for name, (check, _) in graded.items() if helper_is_wrong(check, ns)]
    notes = "\n".join(f"Note: {carried_note(name, graded[name][1])}" for name in wrong)
    try:
        with swapped_in(ns, key):
            yield
    except GradingError as exc:
        if notes:
            raise GradingError(f"{exc}\n{notes}", mistakes=exc.mistakes) from None
        raise
    if notes:
        print(notes)


def carried_note(name: str, where: str) -> str:
    """The feedback line for a key function swapped in because the student's is wrong."""
    return (f"your `{name}` is wrong (see {where}); this part was graded with a correct one, "
            "so that mistake costs points only once.")
