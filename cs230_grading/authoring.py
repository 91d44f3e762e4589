"""Cell constructors with standard nbgrader metadata (schema version 3).

Used to write and edit the source notebooks, by ``cs230-grade new-question``
(:mod:`cs230_grading.scaffold`) and to build test notebooks. The notebooks in ``source/``
are the source of truth; these helpers only save typing the metadata by hand, and write
each kind of cell exactly as the notebooks need it:

* test cells carry the ``raises-exception`` tag (Jupyter's standard tag): a failing test
  cell shows its message and "Run All" goes on to the next cells instead of stopping;
* so do locked demo cells that call the student's code (``locked_code(..., raises=True)``);
* grade ids are unique across the exam and start with the question's ``qN_``.

docs/authoring.md lists the cells of a question and how they are named.
"""

from __future__ import annotations

from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

#: Jupyter's tag for a cell whose error must not stop "Run All".
RAISES = "raises-exception"
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


def _raises(cell: NotebookNode) -> NotebookNode:
    cell.metadata["tags"] = [RAISES]
    return cell


def locked_code(grade_id: str, source: str, *, raises: bool = False) -> NotebookNode:
    """Read-only code (imports, helpers, visible self-checks with no points).

    ``raises=True`` for a cell that calls the student's code (a demo, an explorer): it gets
    the ``raises-exception`` tag so that an unwritten stub does not stop "Run All".
    """
    cell = new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=False,
                                                locked=True))
    return _raises(cell) if raises else cell


def answer_code(grade_id: str, source: str) -> NotebookNode:
    """An autograded answer cell: the source holds ``### BEGIN/END SOLUTION``."""
    return new_code_cell(source, metadata=_meta(grade_id, grade=False, solution=True,
                                                locked=False))


def test_code(grade_id: str, points: float, source: str) -> NotebookNode:
    """An autograder test cell, tagged ``raises-exception``.

    Hidden parts go between ``### BEGIN/END HIDDEN TESTS`` and call the question's grader
    (``from cs230_grading.graders import qN; qN.check_...(globals())``).
    """
    return _raises(new_code_cell(source, metadata=_meta(grade_id, grade=True, solution=False,
                                                        locked=True, points=points)))


def manual_answer(grade_id: str, points: float, source: str) -> NotebookNode:
    """A manually graded markdown answer; the source is the model answer."""
    return new_markdown_cell(source, metadata=_meta(grade_id, grade=True, solution=True,
                                                    locked=False, points=points))


def notebook(cells: list[NotebookNode]) -> NotebookNode:
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb
