"""The report's sections on exam day and after: what was graded (submission hashes) and the
regrade requests. :func:`report_sections` is the one call the report makes."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from . import receipts, regrades


def report_sections(course_root: Path, students: Sequence[str]) -> list[str]:
    """HTML sections for the course at ``course_root`` (none when there is nothing to say)."""
    course_root = Path(course_root)
    if not (course_root / "source").is_dir():  # a report drawn outside a course
        return []
    return [*regrades.report_section(course_root),
            *receipts.report_section(course_root, students)]
