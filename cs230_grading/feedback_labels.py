"""Names for the test cells of a feedback page: the part they grade and what they grade.

nbgrader's feedback template lists every test cell as "Test cell" with its score, which
says nothing when a notebook has eight of them. :func:`test_cell_labels` names each one
from the notebook itself, so a new question needs nothing added here:

* the part is the first heading of the nearest markdown cell above the test cell, without
  its "(N points)" (``(a) Rescaling a CNN``, ``Part (ii): the output layer``);
* what it grades is the answer cells between that heading (or the test cell before) and the
  test cell: the functions they define and the names they assign (``output_layer_grads``,
  ``answer_a``).

:func:`label_score_list` puts the names in the page's score list.
"""

from __future__ import annotations

import ast
import html
import re

from nbformat import NotebookNode

from .answer_stubs import assigned_names

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
_POINTS = re.compile(r"\s*[(\[]\s*\d+(?:\.\d+)?\s*(?:\+\s*\d+\s*)?points?[^)\]]*[)\]]\s*",
                     re.IGNORECASE)
_MARKUP = re.compile(r"[*_`]")


def _meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def heading(cell: NotebookNode) -> str | None:
    """The first heading of a markdown cell, without "(N points)" and emphasis marks."""
    match = _HEADING.search(cell.get("source", ""))
    if not match:
        return None
    text = _MARKUP.sub("", _POINTS.sub(" ", match.group(1))).strip(" :.-")
    return " ".join(text.split()).replace(" :", ":") or None


def defined_names(source: str) -> list[str]:
    """Functions defined and names assigned at the top level of ``source``, in order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    functions = [n.name for n in tree.body
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    return functions + [n for n in assigned_names(source) if n not in functions]


def _is_test(cell: NotebookNode) -> bool:
    meta = _meta(cell)
    return bool(meta.get("grade")) and not meta.get("solution") and cell.cell_type == "code"


def test_cell_labels(nb: NotebookNode) -> dict[str, str]:
    """``{grade_id: "part: names"}`` for every test cell of the notebook (and ``{grade_id:
    "part"}`` for every answer graded by hand)."""
    labels: dict[str, str] = {}
    part: str | None = None
    names: list[str] = []
    for cell in nb.cells:
        meta = _meta(cell)
        if meta.get("solution") and meta.get("grade"):  # a written answer graded by hand
            labels[meta.get("grade_id", "")] = part or meta.get("grade_id", "")
        elif cell.cell_type == "markdown" and not meta.get("solution"):
            found = heading(cell)
            if found:
                part, names = found, []
        elif _is_test(cell):
            grade_id = meta.get("grade_id", "")
            shown = ", ".join(dict.fromkeys(names))
            labels[grade_id] = ": ".join(p for p in (part or grade_id, shown) if p)
            names = []
        elif meta.get("solution") and cell.cell_type == "code":
            names += defined_names(cell.get("source", ""))
    return labels


def label_score_list(page: str, labels: dict[str, str]) -> str:
    """The page with each "Test cell" (and "Written response") of its score list named by
    :func:`test_cell_labels`."""
    def name(match: re.Match[str]) -> str:
        label = labels.get(html.unescape(match.group(1)))
        if label is None:
            return match.group(0)
        kind = "" if match.group(2) == "Test cell" else f" ({match.group(2).lower()})"
        return f'<a href="#{match.group(1)}">{html.escape(label)}{kind}</a>'

    return re.sub(r'<a href="#([^"]+)">(Test cell|Written response|Coding free-response)</a>',
                  name, page)
