"""Sample submissions of Q2 (short answers, graded by hand).

Answered cells await a manual grade; cells left as released score 0.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q2_short_answers"

VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK,
        "some_answered",
        "three questions answered in a student's own words, five left blank",
        base="blank",
        answers={
            "q2_a": "The learning rate may be too small, or all weights started at zero.",
            "q2_c": "Pooling makes the feature maps smaller, so later layers are cheaper.",
            "q2_f": "It gives probabilities for each class that add up to one.",
        },
    ),
    Variant(
        NOTEBOOK,
        "all_answered",
        "every question answered briefly (all await a manual grade)",
        answers={f"q2_{q}": f"My answer to ({q})." for q in "abcdefgh"},
    ),
]
