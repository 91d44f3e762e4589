"""Hidden tests of Q1 (multiple choice), one per question a to h.

A test cell's hidden part is::

    from cs230_grading.graders import q1
    q1.check("a", globals())

The call is the cell's last line. All-or-nothing mode (the default): the check
returns ``None`` for a right answer and raises :class:`GradingError` otherwise.
Partial mode (``cs230_grading.settings.partial_credit()``): it returns the
points as a float, which the cell displays and nbgrader records as partial
credit. A malformed answer fails in both modes with a message naming the
accepted forms. Messages never say which option is wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from ..checks import GradingError, hidden_test
from ..reference.multiple_choice import POINTS, QUESTIONS, score
from ..settings import partial_credit

__all__ = ["CHECKS", "check"]


@hidden_test
def check(question: str, ns: Mapping[str, Any]) -> float | None:
    """Score ``answer_<question>`` from the notebook namespace ``ns``."""
    name = f"answer_{question}"
    if name not in ns:
        raise GradingError(
            f"`{name}` is not defined: write your answer to ({question}) in its answer cell, "
            f'for example `{name} = {{"i", "ii"}}`, and run that cell.'
        )
    if ns[name] is None:  # released as `answer_x = None  # YOUR ANSWER HERE`
        raise GradingError(f"`{name}` is not answered yet: set it to your options, for example "
                           f'`{name} = {{"i", "ii"}}`.')
    partial = partial_credit()
    try:
        points = score(question, ns[name], partial=partial)
    except ValueError as exc:
        raise GradingError(f"`{name}` is not well formed: {exc}.") from None
    if partial:
        if points < POINTS:
            print(
                f"({question}): {points:.2f} of {POINTS:g} points. Each option that the key "
                "treats as strictly true or false is worth an equal share; options accepted "
                "either way do not count."
            )
        return points
    if points < POINTS:
        raise GradingError(
            f"`{name}` is not right: at least one option you chose is false, or you left out "
            "a true one. Options that the key accepts either way were not counted (the notes "
            "at the end of the feedback list them)."
        )
    return None


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {
    f"q1_{q}_test": functools.partial(check, q) for q in QUESTIONS
}
