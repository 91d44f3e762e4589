"""Sample submissions of Q1 (multiple choice), graded in all-or-nothing mode.

``failing`` lists what all-or-nothing scoring rejects. The partial-credit test
(``tests/test_q1_partial_credit.py``) grades the same variants with
``CS230_PARTIAL_CREDIT=1`` and derives each cell's points from
:func:`cs230_grading.reference.multiple_choice.score`.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q1_multiple_choice"
FORMS = "a set, list or tuple of roman numerals"
WRONG = "is not right"

VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK,
        "accepted_forms",
        "right answers written as a string, a list, a tuple, in capitals, with parentheses",
        answers={
            "q1_a": 'answer_a = "I, III"',
            "q1_e": 'answer_e = "(iv)"',
            "q1_g": 'answer_g = ("iv", "i")',
            "q1_h": 'answer_h = [" II", "iv", "ii"]',
        },
    ),
    Variant(
        NOTEBOOK,
        "either_options",
        "right on every strict option, the other choice on every 'either' option",
        answers={
            "q1_b": 'answer_b = {"iii", "iv"}',
            "q1_c": 'answer_c = {"iii", "iv"}',
            "q1_d": "answer_d = set()",
            "q1_f": 'answer_f = "iii"',
        },
    ),
    Variant(
        NOTEBOOK,
        "malformed",
        "a number, None, an unknown numeral and a set of numbers: 0 for those questions only",
        answers={
            "q1_a": "answer_a = 13",
            "q1_b": "answer_b = None",
            "q1_c": 'answer_c = {"iv", "v"}',
            "q1_e": "answer_e = {4}",
        },
        failing={
            "q1_a_test": FORMS,
            "q1_b_test": "not answered yet",  # None is the release's unanswered value
            "q1_c_test": "unknown option 'v'",
            "q1_e_test": FORMS,
        },
    ),
    Variant(
        NOTEBOOK,
        "partial_student",
        "one option off in four questions (partial credit in partial mode)",
        answers={
            "q1_a": 'answer_a = {"i"}',
            "q1_d": 'answer_d = {"i", "ii"}',
            "q1_f": 'answer_f = {"i", "ii", "iii"}',
            "q1_h": 'answer_h = {"ii", "iii", "iv"}',
        },
        failing={"q1_a_test": WRONG, "q1_d_test": WRONG, "q1_f_test": WRONG,
                 "q1_h_test": WRONG},
    ),
    Variant(
        NOTEBOOK,
        "wrong_and_misnamed",
        "every strict option wrong in (e) and (g); (c) answered in a misnamed variable",
        answers={
            "q1_e": 'answer_e = {"i", "ii", "iii"}',
            "q1_g": 'answer_g = {"ii", "iii"}',
            "q1_c": 'answer = {"iv"}',
        },
        failing={"q1_e_test": WRONG, "q1_g_test": WRONG, "q1_c_test": "not defined"},
    ),
]
