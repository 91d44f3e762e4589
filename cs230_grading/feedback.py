"""The notes a student reads after answering (:mod:`cs230_grading.errata`), rendered.

* :func:`notes_markdown` / :func:`notes_cells`: one markdown section for a notebook, appended
  after the student's answers in the feedback and in the model solutions;
* :func:`notes_lines`: the same as plain text, for ``cs230-selfgrade``'s output;
* :class:`AppendNotes`: the nbconvert preprocessor that ``GenerateFeedback`` runs
  (``nbgrader_config.py``) to append the section to each feedback notebook.
"""

from __future__ import annotations

import textwrap
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbformat.v4 import new_markdown_cell
from traitlets import Bool

from .errata import Note, notes_for
from .plain_math import plain_text

HEADING = "After answering: notes on this question and the printed solutions"
#: ``metadata.cs230`` of the appended cell, so tools can find (or skip) it.
CELL_MARK = "after-answering-notes"


def _part(grade_id: str) -> str:
    return f" ({grade_id})" if grade_id else ""


def notes_markdown(notebook: str) -> str:
    """The notes of ``notebook`` as one markdown section, or ``""`` when it has none."""
    notes = notes_for(notebook)
    if not notes:
        return ""
    lines = [f"## {HEADING}", "",
             "These notes are shown only after grading and with the model solutions.", ""]
    lines += [f"- **{note.title}**{_part(note.grade_id)}. {note.text}" for note in notes]
    return "\n".join(lines)


def notes_cells(notebook: str) -> list[NotebookNode]:
    """The section as notebook cells (empty when the notebook has no notes)."""
    text = notes_markdown(notebook)
    if not text:
        return []
    return [new_markdown_cell(text, metadata={"cs230": CELL_MARK})]


def _plain(note: Note) -> str:
    """The note as plain text: markdown marks dropped, math in Unicode (no TeX source)."""
    return f"{note.title}{_part(note.grade_id)}: {plain_text(note.text)}"


def notes_lines(notebook: str, width: int = 80) -> list[str]:
    """The notes of ``notebook`` as wrapped plain-text lines (empty when it has none)."""
    notes = notes_for(notebook)
    if not notes:
        return []
    lines = [f"{notebook}: notes on the printed solutions and the key"]
    for note in notes:
        lines += textwrap.wrap(_plain(note), width, initial_indent="  - ",
                               subsequent_indent="    ")
    return lines


class AppendNotes(Preprocessor):
    """Append the notebook's after-answering notes (errata, "either way" options) at its end.

    nbgrader names the notebook being converted in ``resources["unique_key"]``. Enabled by
    default (nbconvert's preprocessors are not): listing it in the config is enough.
    """

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]
                   ) -> tuple[NotebookNode, dict[str, Any]]:
        name = str(resources.get("unique_key") or
                   resources.get("nbgrader", {}).get("notebook", ""))
        already = any(c.get("metadata", {}).get("cs230") == CELL_MARK for c in nb.cells)
        if not already:
            nb.cells.extend(notes_cells(name))
        return nb, resources
