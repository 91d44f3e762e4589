"""The cover (``q0_cover``, 0 points) has no hidden tests: its visible check is the test.

Whether the honour code is affirmed is reported by the pipeline
(:func:`cs230_grading.cover.honour_code_findings`), never scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {}
