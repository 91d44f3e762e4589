"""Sample submissions of the cover (``q0_cover``, 0 points): the honour code affirmed or not.

The model variant (``variants.model``) affirms the statement; the blank one leaves the
answer cell as released. Neither changes a score: the pipeline reports a cover that is not
affirmed as a warning.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "q0_cover"

VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK,
        "not_affirmed",
        "the honour code answered with something other than the statement",
        answers={"q0_honour": 'honour_code = "I agree"'},
        failing={"q0_honour_test": "not the honour code statement"},
    ),
]
