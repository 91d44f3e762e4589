"""Reading, inspecting and filling nbgrader notebooks with nbformat."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat
from nbformat import NotebookNode

__all__ = [
    "NotebookError",
    "clear_outputs",
    "fill_answers",
    "grade_cells",
    "nbgrader_meta",
    "read_notebook",
    "solution_sources",
    "write_notebook",
]

_SOLUTION_MARKER = re.compile(r"^\s*#+\s*(BEGIN|END) SOLUTION\s*$")
_HIDDEN = re.compile(r"^\s*#+\s*(BEGIN|END) HIDDEN TESTS\s*$")


class NotebookError(ValueError):
    """A notebook is missing, unreadable or not an nbgrader notebook of this exam."""


def read_notebook(path: str | Path) -> NotebookNode:
    """Read a notebook, with an actionable error for each way it can be broken."""
    path = Path(path)
    if not path.exists():
        raise NotebookError(f"{path}: no such notebook")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{path}: cannot read the file as UTF-8 text ({exc})") from None
    if not text.strip():
        raise NotebookError(f"{path}: the file is empty, not a notebook")
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotebookError(
            f"{path}: not notebook JSON (line {exc.lineno}: {exc.msg}); "
            "was it saved by Jupyter?"
        ) from None
    try:
        nb = nbformat.reads(text, as_version=4)
        nbformat.validate(nb)
    except Exception as exc:  # noqa: BLE001 - nbformat raises several types
        raise NotebookError(f"{path}: JSON, but not a valid notebook ({exc})") from None
    return nb


def write_notebook(nb: NotebookNode, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_cells(nb: NotebookNode) -> dict[str, NotebookNode]:
    """Every cell with an nbgrader ``grade_id``, keyed by it (answers, tests, tasks)."""
    cells: dict[str, NotebookNode] = {}
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id:
            cells[grade_id] = cell
    return cells


def solution_sources(source_nb: NotebookNode) -> dict[str, str]:
    """The model answer of every solution cell of a *source* notebook.

    Code cells lose their ``### BEGIN/END SOLUTION`` marker lines (the code
    between them stays); markdown answers are returned as written.
    """
    answers: dict[str, str] = {}
    for grade_id, cell in grade_cells(source_nb).items():
        if not nbgrader_meta(cell).get("solution"):
            continue
        if cell.cell_type == "code":
            lines = [ln for ln in cell.source.split("\n") if not _SOLUTION_MARKER.match(ln)]
            answers[grade_id] = "\n".join(lines)
        else:
            answers[grade_id] = cell.source
    return answers


def fill_answers(nb: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A copy of ``nb`` whose solution cells hold ``answers`` (by grade id)."""
    filled = copy.deepcopy(nb)
    cells = grade_cells(filled)
    unknown = sorted(set(answers) - set(cells))
    if unknown:
        raise NotebookError(f"no answer cell with grade id {', '.join(unknown)}")
    for grade_id, source in answers.items():
        if not nbgrader_meta(cells[grade_id]).get("solution"):
            raise NotebookError(f"cell {grade_id} is not an answer (solution) cell")
        cells[grade_id].source = source
    return filled


def clear_outputs(nb: NotebookNode) -> NotebookNode:
    """Remove outputs and execution counts in place, and return the notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def strip_hidden_tests(source: str) -> str:
    """Source of a test cell without its hidden region (what students see)."""
    kept, hidden = [], False
    for line in source.split("\n"):
        if _HIDDEN.match(line):
            hidden = line.strip().split()[1] == "BEGIN"
            continue
        if not hidden:
            kept.append(line)
    return "\n".join(kept)


def insertion_index(source_order: list[Any], grade_id: str, present: list[Any]) -> int:
    """Where a cell deleted from a submission goes back among the ``present`` ones (grade ids
    or labels, in order): after the last of them that comes before it in ``source_order``
    (the source notebook's grade ids), or first."""
    before = source_order[:source_order.index(grade_id)]
    return max((present.index(g) + 1 for g in before if g in present), default=0)
