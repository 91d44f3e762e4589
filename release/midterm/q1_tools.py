"""Helpers for the Q1 multiple-choice notebook (student side).

* :func:`check_answer` says whether an answer is *well formed* (a set of
  options i to iv, in one of the accepted forms). It never says whether the
  answer is right: the hidden tests decide that at grading time. Each test cell
  asserts it (through ``selfcheck.collect``), so nbgrader's Validate button fails
  on a malformed answer with this message.
* :func:`choice_widget` shows a question's options as checkboxes. Ticking them
  sets the answer variable (``answer_a`` ...) in the notebook and shows the
  line to put in the answer cell. Only the code in the answer cell is graded.

Browser selectors (JupyterLab, for Playwright):

* the whole widget: ``.cs230-q1-choice`` and ``.cs230-q1-choice-<letter>``
  (for example ``.cs230-q1-choice-c``);
* each checkbox: ``.cs230-q1-option`` with description ``(i)``, ``(ii)``,
  ``(iii)``, ``(iv)``;
* the line to copy into the answer cell: ``.cs230-q1-code``.

Under nbgrader (``NBGRADER_EXECUTION`` set) the widget is not built.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from selfcheck import report

OPTIONS: tuple[str, ...] = ("i", "ii", "iii", "iv")
ACCEPTED_FORMS = (
    'a set, list or tuple of roman numerals such as {"i", "ii"}, '
    'or a string such as "i, ii" (options i to iv, any case; set() for no option)'
)
_SPLIT = re.compile(r"[\s,;/]+")


def parse_choice(answer: Any) -> frozenset[str]:
    """The chosen options, canonical lower case, or ValueError naming the accepted forms.

    Accepted: a set, list or tuple of strings, or a string like ``"i, ii"``;
    any case and spacing. Numbers, ``None`` and unknown numerals are rejected.
    """
    if isinstance(answer, str):
        tokens: Iterable[Any] = [t for t in _SPLIT.split(answer) if t.strip("() ")]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        tokens = answer
    else:
        raise ValueError(
            f"the answer is {answer!r} ({type(answer).__name__}); expected {ACCEPTED_FORMS}"
        )
    chosen = set()
    for token in tokens:
        if not isinstance(token, str):
            raise ValueError(
                f"{token!r} ({type(token).__name__}) is not an option; expected {ACCEPTED_FORMS}"
            )
        text = token.strip().strip("()").strip().lower()
        if text not in OPTIONS:
            raise ValueError(f"unknown option {token!r}; expected {ACCEPTED_FORMS}")
        chosen.add(text)
    return frozenset(chosen)


def answer_line(question: str, chosen: Iterable[str]) -> str:
    """The answer cell's line for these options, e.g. ``answer_x = {"i", "ii"}``."""
    ordered = [o for o in OPTIONS if o in set(chosen)]
    body = "{" + ", ".join(f'"{o}"' for o in ordered) + "}" if ordered else "set()"
    return f"answer_{question} = {body}"


def check_answer(namespace: MutableMapping[str, Any], name: str) -> bool:
    """Print whether ``namespace[name]`` is a well-formed answer (never whether it is right)."""
    if name not in namespace:
        return report(False, f"`{name}` is not defined yet: write it in the answer cell and run it")
    try:
        chosen = parse_choice(namespace[name])
    except ValueError as exc:
        return report(False, f"`{name}` is not well formed: {exc}")
    listed = ", ".join(f"({o})" for o in OPTIONS if o in chosen) or "no option"
    return report(True, f"`{name}` is well formed: you chose {listed}")


def choice_widget(question: str, namespace: MutableMapping[str, Any]) -> Any:
    """Checkboxes for one question that keep ``answer_<question>`` in ``namespace`` up to date.

    Returns the widget (a ``VBox``), or ``None`` under nbgrader.
    """
    if os.environ.get("NBGRADER_EXECUTION"):
        return None
    import ipywidgets as widgets

    name = f"answer_{question}"
    try:
        start = parse_choice(namespace.get(name, ()))
    except ValueError:
        start = frozenset()
    boxes = []
    for option in OPTIONS:
        box = widgets.Checkbox(value=option in start, description=f"({option})", indent=False,
                               layout=widgets.Layout(width="auto"))
        box.add_class("cs230-q1-option")
        boxes.append(box)
    code = widgets.HTML()
    code.add_class("cs230-q1-code")

    def show(chosen: set[str]) -> None:
        code.value = (
            f"<code>{answer_line(question, chosen)}</code> &nbsp; (copy this line into the "
            "answer cell below: only the answer cell is graded)"
        )

    def update(_change: Any) -> None:
        chosen = {o for o, b in zip(OPTIONS, boxes, strict=True) if b.value}
        namespace[name] = chosen
        show(chosen)

    for box in boxes:
        box.observe(update, names="value")
    show(set(start))
    view = widgets.VBox([widgets.HBox(boxes), code])
    view.add_class("cs230-q1-choice")
    view.add_class(f"cs230-q1-choice-{question}")
    return view
