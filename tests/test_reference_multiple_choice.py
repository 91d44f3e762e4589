"""The Q1 key and scoring rule, checked against the answer-key notes by hand and brute force."""

from __future__ import annotations

import itertools
from fractions import Fraction

import pytest

from cs230_grading.reference.multiple_choice import (
    KEY,
    OPTIONS,
    QUESTIONS,
    is_right,
    parse_answer,
    score,
)

# The table of the answer-key notes, typed independently of KEY: (true, false, either).
# (f)(iv) "None of the above" is absent from the notes; it is false because (f)(iii) is true.
NOTES = {
    "a": ({"i", "iii"}, {"ii", "iv"}, set()),
    "b": ({"iii"}, {"i"}, {"ii", "iv"}),
    "c": ({"iv"}, {"i", "ii"}, {"iii"}),
    "d": (set(), {"i", "iii", "iv"}, {"ii"}),
    "e": ({"iv"}, {"i", "ii", "iii"}, set()),
    "f": ({"iii"}, {"i", "iv"}, {"ii"}),
    "g": ({"i", "iv"}, {"ii", "iii"}, set()),
    "h": ({"ii", "iv"}, {"i", "iii"}, set()),
}
PRINTED = {"a": {"i", "iii"}, "b": {"ii", "iii"}, "c": {"iv"}, "d": {"ii"}, "e": {"iv"},
           "f": {"ii", "iii"}, "g": {"i", "iv"}, "h": {"ii", "iv"}}
ALL_ANSWERS = [set(c) for r in range(5) for c in itertools.combinations(OPTIONS, r)]


@pytest.mark.parametrize("q", QUESTIONS)
def test_key_matches_the_notes(q: str) -> None:
    true, false, either = NOTES[q]
    assert (set(KEY[q].true), set(KEY[q].false), set(KEY[q].either)) == (true, false, either)


@pytest.mark.parametrize("q", QUESTIONS)
def test_printed_answers_stay_right(q: str) -> None:
    # The verified key only relaxes the printed one: every printed answer keeps full marks.
    assert score(q, PRINTED[q]) == 2.0


@pytest.mark.parametrize("q", QUESTIONS)
def test_all_or_nothing_by_brute_force(q: str) -> None:
    true, false, either = NOTES[q]
    right = [a for a in ALL_ANSWERS if true <= a and not (a & false)]
    assert len(right) == 2 ** len(either)   # every choice on the "either" options
    for answer in ALL_ANSWERS:
        expected = 2.0 if answer in right else 0.0
        assert score(q, answer) == expected, answer
        assert is_right(q, answer) == (expected == 2.0)


@pytest.mark.parametrize("q", QUESTIONS)
def test_partial_credit_by_brute_force(q: str) -> None:
    true, false, either = NOTES[q]
    strict = true | false
    for answer in ALL_ANSWERS:
        hits = len(strict & true & answer) + len((strict - true) - answer)
        got = score(q, answer, partial=True)
        assert Fraction(got).limit_denominator(100) == Fraction(2 * hits, len(strict))
        assert 0.0 <= got <= 2.0
        # "either" options never change the score.
        for flip in either:
            assert score(q, answer ^ {flip}, partial=True) == got


def test_partial_credit_hand_cases() -> None:
    assert score("a", {"i"}, partial=True) == 1.5            # (iii) left out
    assert score("d", {"i", "ii"}, partial=True) == pytest.approx(4 / 3)
    assert score("b", {"i"}, partial=True) == 0.0            # both strict options wrong
    assert score("e", {"iii"}, partial=True) == 1.0
    assert score("f", {"i", "ii", "iii"}, partial=True) == pytest.approx(4 / 3)
    for q in QUESTIONS:   # full marks are exactly 2.0, never 2.0000000000000004
        assert score(q, NOTES[q][0], partial=True) == 2.0


@pytest.mark.parametrize(
    "answer, expected",
    [
        ({"i", "iii"}, {"i", "iii"}),
        (["iii", "i", "i"], {"i", "iii"}),
        (("IV",), {"iv"}),
        (frozenset({"ii"}), {"ii"}),
        ("i, iii", {"i", "iii"}),
        ("I,III", {"i", "iii"}),
        ("  ii   iv ", {"ii", "iv"}),
        ("(ii); (iv)", {"ii", "iv"}),
        ({" Ii "}, {"ii"}),
        (set(), set()),
        ([], set()),
        ("", set()),
    ],
)
def test_parse_accepted_forms(answer: object, expected: set[str]) -> None:
    assert parse_answer(answer) == frozenset(expected)


@pytest.mark.parametrize(
    "answer",
    [3, 1.0, None, True, {1, 3}, {"v"}, "i, v", "1, 3", ["i", 1], {"i": 1}, b"i",
     [["i"]], "i and iii", {None}],
)
def test_parse_rejects_with_accepted_forms(answer: object) -> None:
    with pytest.raises(ValueError, match="set, list or tuple of roman numerals"):
        parse_answer(answer)


def test_score_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="unknown option 'vi'"):
        score("a", {"vi"})
    with pytest.raises(ValueError, match="unknown question"):
        score("z", {"i"})
    assert score("q1_a", "i, iii") == score("A", ["i", "iii"]) == 2.0
