"""Q1 multiple choice: the verified key and its scoring rule.

Each of the eight questions (a to h) has four options, ``"i"`` to ``"iv"``.
The verified key (``/work/shared/answer-key-notes.md``) splits the options of
a question into three groups:

* ``true``: must be chosen;
* ``false``: must not be chosen;
* ``either``: genuinely debatable; whatever the student says on them is accepted.

An answer is right when it agrees with the key on every strict (true or false)
option. All-or-nothing scoring gives the exam's 2 points for a right answer;
partial scoring spreads the 2 points evenly over the strict options.

Deviation noted for the lead: the notes leave (f)(iv) "None of the above" out
of their table; since (f)(iii) is true, (iv) is false and is scored as such.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import Any

__all__ = [
    "ACCEPTED_FORMS",
    "KEY",
    "OPTIONS",
    "POINTS",
    "QUESTIONS",
    "QuestionKey",
    "is_right",
    "parse_answer",
    "score",
]

OPTIONS: tuple[str, ...] = ("i", "ii", "iii", "iv")
QUESTIONS: tuple[str, ...] = ("a", "b", "c", "d", "e", "f", "g", "h")
POINTS = 2.0
ACCEPTED_FORMS = (
    'a set, list or tuple of roman numerals such as {"i", "ii"}, '
    'or a string such as "i, ii" (options i to iv, any case; set() for no option)'
)


@dataclasses.dataclass(frozen=True)
class QuestionKey:
    """The key of one question: which options are true, false, or accepted either way."""

    true: frozenset[str]
    false: frozenset[str]
    either: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        groups = (self.true, self.false, self.either)
        if sorted(o for g in groups for o in g) != sorted(OPTIONS):
            raise ValueError("every option must be in exactly one of true, false, either")

    @property
    def strict(self) -> frozenset[str]:
        """Options that count: the true and the false ones."""
        return self.true | self.false


def _key(true: str, false: str, either: str = "") -> QuestionKey:
    return QuestionKey(frozenset(true.split()), frozenset(false.split()),
                       frozenset(either.split()))


#: The verified key. "either" options are never counted (see the module docstring).
KEY: dict[str, QuestionKey] = {
    "a": _key("i iii", "ii iv"),
    "b": _key("iii", "i", "ii iv"),    # BN can cause explosion; residual nets: both readings
    "c": _key("iv", "i ii", "iii"),    # 3W: true without a separate bias, false with one
    "d": _key("", "i iii iv", "ii"),   # BN as a regulariser: debatable
    "e": _key("iv", "i ii iii"),
    "f": _key("iii", "i iv", "ii"),    # momentum and local minima: debatable
    "g": _key("i iv", "ii iii"),
    "h": _key("ii iv", "i iii"),
}

_TOKEN_SPLIT = re.compile(r"[\s,;/]+")


def _option(token: Any) -> str:
    """One option as a canonical lower-case numeral, or ValueError."""
    if not isinstance(token, str):
        raise ValueError(
            f"{token!r} ({type(token).__name__}) is not an option; expected {ACCEPTED_FORMS}"
        )
    text = token.strip().strip("()").strip().lower()
    if text not in OPTIONS:
        raise ValueError(f"unknown option {token!r}; expected {ACCEPTED_FORMS}")
    return text


def parse_answer(answer: Any) -> frozenset[str]:
    """The set of chosen options, canonical (``{"i", "iii"}``), from any accepted form.

    Accepted: a set, frozenset, list or tuple of strings, or one string whose
    options are separated by commas, semicolons, slashes or spaces. Case,
    spacing and surrounding parentheses (``"(iii)"``) do not matter; an empty
    container (or empty string) means no option. Anything else, a number,
    ``None``, a dict, an unknown numeral such as ``"v"``, raises ValueError
    naming the accepted forms.
    """
    if isinstance(answer, str):
        tokens: Iterable[Any] = [t for t in _TOKEN_SPLIT.split(answer) if t.strip("() ")]
    elif isinstance(answer, (set, frozenset, list, tuple)):
        tokens = answer
    else:
        raise ValueError(
            f"the answer is {answer!r} ({type(answer).__name__}); expected {ACCEPTED_FORMS}"
        )
    return frozenset(_option(t) for t in tokens)


def _question(question: str) -> QuestionKey:
    letter = str(question).strip().lower().removeprefix("q1_").strip("()")
    if letter not in KEY:
        raise ValueError(f"unknown question {question!r}; expected one of {', '.join(QUESTIONS)}")
    return KEY[letter]


def is_right(question: str, answer: Any) -> bool:
    """Whether ``answer`` agrees with the key on every strict option of ``question``."""
    key = _question(question)
    return parse_answer(answer) & key.strict == key.true


def score(question: str, answer: Any, partial: bool = False) -> float:
    """Points for ``answer`` to ``question`` ("a".."h"), between 0 and 2.

    All-or-nothing (default): 2 when the answer is right on every strict option,
    else 0. ``partial=True``: 2 * (strict options the answer gets right) /
    (number of strict options); "either" options never count. A malformed
    answer raises ValueError (the grader turns it into a message and 0 points).
    """
    key = _question(question)
    chosen = parse_answer(answer)
    agree = sum((option in chosen) == (option in key.true) for option in key.strict)
    if not partial:
        return POINTS if agree == len(key.strict) else 0.0
    return POINTS * agree / len(key.strict)
