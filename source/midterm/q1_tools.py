"""Helpers for the Q1 multiple-choice notebook (student side).

:func:`check_answer` says whether an answer is *well formed* (a set of options i to iv, in
one of the accepted forms) and shows the options that the answer cell holds as ticked
boxes, ``[x] (i)  [ ] (ii)  [x] (iii)  [ ] (iv)``. It never says whether the answer is
right: the hidden tests decide that at grading time. Each test cell asserts it (through
``selfcheck.collect``), so nbgrader's Validate button fails on a malformed answer with
this message.

There are no clickable checkboxes: the answer cell is the only place an answer is given,
and the boxes shown are read from the variable that the answer cell sets, so what is shown
is what is graded. (Checkboxes in the kernel could set the variable but never write the
answer cell, which is what nbgrader grades: a student who ticked them without copying the
line into the cell had answered nothing.)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any

from selfcheck import not_yet, report

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


def ticked(chosen: Iterable[str]) -> str:
    """The four options as boxes, ticked where chosen: ``[x] (i)  [ ] (ii)  [x] (iii)``..."""
    chosen = set(chosen)
    return "  ".join(f"[{'x' if o in chosen else ' '}] ({o})" for o in OPTIONS)


def check_answer(namespace: MutableMapping[str, Any], name: str) -> bool | None:
    """Print whether ``namespace[name]`` is a well-formed answer (never whether it is right).

    ``None`` (the answer cell as released) is "not answered yet": no verdict at all.
    """
    if name not in namespace:
        return report(False, f"`{name}` is not defined yet: write it in the answer cell and run it")
    if namespace[name] is None:
        not_yet(f"`{name}` is not answered yet: set it in the answer cell and run it")
        return None
    try:
        chosen = parse_choice(namespace[name])
    except ValueError as exc:
        return report(False, f"`{name}` is not well formed: {exc}")
    listed = ", ".join(f"({o})" for o in OPTIONS if o in chosen) or "no option"
    return report(True, f"`{name}` is well formed: you chose {listed}   {ticked(chosen)}")
