"""The cover notebook (``q0_cover``, 0 points): the honour code and its check in the pipeline.

The student affirms the honour code by setting ``honour_code`` in the cover's answer cell to
the statement :data:`HONOUR_CODE`. The notebook's own 0-point test cell tells the student
whether it is affirmed; the pipeline reads the submitted cell without running it and reports
a cover that is missing, or whose honour code is not affirmed, as a warning (never a score
change): :func:`honour_code_findings`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

from .course import ASSIGNMENT
from .finding import Finding
from .notebooks import NotebookError, grade_cells, read_notebook

COVER = "q0_cover"
ANSWER_ID = "q0_honour"
TEST_ID = "q0_honour_test"
#: The Stanford Honor Code attestation of the paper exam, affirmed in the first person.
HONOUR_CODE = (
    "I affirm that I have not given or received aid in this examination, and that I have "
    "done my share and taken an active part in seeing to it that others as well as myself "
    "uphold the spirit and letter of the Honor Code."
)


def normalise(text: str) -> str:
    """Case, spacing and a final full stop do not matter when comparing with the statement."""
    return " ".join(text.split()).lower().rstrip(".")


def affirmed_value(source: str) -> str | None:
    """The string the answer cell assigns to ``honour_code`` (the last literal), or None."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    value = None
    for node in tree.body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
                and any(isinstance(t, ast.Name) and t.id == "honour_code" for t in node.targets)):
            value = node.value.value
    return value


def honour_code_problem(path: Path) -> str | None:
    """Why the cover at ``path`` does not affirm the honour code, or None when it does."""
    if not path.exists():
        return f"no cover notebook ({COVER}.ipynb): the honour code is not affirmed"
    try:
        cell = grade_cells(read_notebook(path)).get(ANSWER_ID)
    except NotebookError as exc:
        return f"the cover cannot be read ({exc}): the honour code is not affirmed"
    if cell is None:
        return "the cover has no honour-code answer cell: the honour code is not affirmed"
    value = affirmed_value(cell.source)
    if value is None:
        return "`honour_code` is not set to the statement: the honour code is not affirmed"
    if normalise(value) != normalise(HONOUR_CODE):
        return "`honour_code` differs from the statement: the honour code is not affirmed"
    return None


def honour_code_findings(submissions: Path, students: Iterable[str]) -> list[Finding]:
    """A warning per student whose cover (in ``submissions/<student>/midterm``) is not affirmed."""
    findings = []
    for student in students:
        problem = honour_code_problem(submissions / student / ASSIGNMENT / f"{COVER}.ipynb")
        if problem:
            findings.append(Finding(student, problem, COVER, "warning"))
    return findings
