"""Answer stubs that let Run All run to the end (an nbgrader preprocessor).

nbgrader's ``ClearSolutions`` replaces every solution region with ``# YOUR CODE HERE`` and
``raise NotImplementedError()``. Inside a function that is right: the function raises only
when something calls it. At the top level of a cell it stops Run All at the first answer
not written yet, so a student working out of order never sees the self-checks below it.

:class:`ClearSolutionsKeepRunning` is ``ClearSolutions`` with one change: a solution region
that starts at the top level of a cell, and assigns names there, becomes
``name = None  # YOUR ANSWER HERE`` for the last name it assigns (the answer the rest of the
notebook reads), instead of the raising stub. Function stubs (indented regions) are left as
``ClearSolutions`` writes them. The course's ``nbgrader_config.py`` puts this class in the
place of ``ClearSolutions`` in ``GenerateAssignment.preprocessors``; its ``code_stub`` and
delimiters are still configured as ``ClearSolutions``'s.

The self-checks (``source/midterm/selfcheck.py`` and the ``qN_tools.py`` modules) say
"not answered yet" for ``None`` and for a function stub.
"""

from __future__ import annotations

import ast
import re

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearSolutions

#: The text that replaces a top-level stub; ``{name}`` is the answer's variable.
NONE_STUB = "{name} = None  # YOUR ANSWER HERE"


def assigned_names(code: str) -> list[str]:
    """Names the code assigns at its top level (``x = ...``, ``x: T = ...``), in order."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    names: list[str] = []
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
            targets = [node.target]
        names += [t.id for t in targets if isinstance(t, ast.Name)]
    return names


def _top_level_regions(source: str, begin: str, end: str) -> list[str]:
    """The code of each solution region whose ``BEGIN`` marker is not indented."""
    regions: list[str] = []
    current: list[str] | None = None
    for line in source.split("\n"):
        if begin in line:
            current = [] if not re.match(r"\s", line) else None
        elif end in line:
            if current is not None:
                regions.append("\n".join(current))
            current = None
        elif current is not None:
            current.append(line)
    return regions


class ClearSolutionsKeepRunning(ClearSolutions):
    """``ClearSolutions``, with top-level answer stubs as ``name = None`` (see the module)."""

    def _replace_solution_region(self, cell: NotebookNode, language: str) -> bool:
        answers = []
        if cell.cell_type == "code":
            for region in _top_level_regions(cell.source, self.begin_solution_delimeter,
                                             self.end_solution_delimeter):
                names = assigned_names(region)
                answers.append(names[-1] if names else None)
        replaced = super()._replace_solution_region(cell, language)
        if replaced and any(answers):
            cell.source = self._none_stubs(cell.source, self.code_stub[language], answers)
        return replaced

    @staticmethod
    def _none_stubs(source: str, stub: str, answers: list[str | None]) -> str:
        """Replace each top-level copy of ``stub`` by the ``None`` assignment of its answer."""
        pieces = source.split(stub)
        out = [pieces[0]]
        regions = iter(answers)
        for before, piece in zip(pieces[:-1], pieces[1:], strict=True):
            top_level = before == "" or before.endswith("\n")
            name = next(regions, None) if top_level else None
            out.append(NONE_STUB.format(name=name) if name else stub)
            out.append(piece)
        return "".join(out)
