"""Cell constructors with standard nbgrader metadata (schema version 3).

Used to write and edit the source notebooks and to build test notebooks.
The notebooks in ``source/`` are the source of truth; these helpers only
save typing the metadata by hand.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool,
          points: float | None = None, task: bool = False) -> dict:
    meta: dict = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": 3,
        "solution": solution,
        "task": task,
    }
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def markdown(source: str) -> NotebookNode:
    """Plain prose (not locked: students may annotate it)."""
    return new_markdown_cell(source)


def locked_markdown(grade_id: str, source: str) -> NotebookNode:
    """Read-only prose: nbgrader restores it if a student edits it."""
    return new_markdown_cell(source, metadata=_meta(grade_id, grade=False, solution=False,
                                                    locked=True))


def locked_code(grade_id: str, source: str) -> NotebookNode:
    """Read-only code (imports, helpers, visible self-checks with no points)."""
    return new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=False,
                                                locked=True))


def answer_code(grade_id: str, source: str) -> NotebookNode:
    """An autograded answer cell: the source holds ``### BEGIN/END SOLUTION``."""
    return new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=True,
                                                locked=False))


def test_code(grade_id: str, points: float, source: str) -> NotebookNode:
    """An autograder test cell; hidden parts go between ``### BEGIN/END HIDDEN TESTS``."""
    return new_code_cell(source, metadata=_meta(grade_id, grade=True, solution=False,
                                                locked=True, points=points))


def manual_answer(grade_id: str, points: float, source: str) -> NotebookNode:
    """A manually graded markdown answer; the source is the model answer."""
    return new_markdown_cell(source, metadata=_meta(grade_id, grade=True, solution=True,
                                                    locked=False, points=points))


def notebook(cells: list[NotebookNode]) -> NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb
