"""A static scan of the code a student wrote, for patterns that tamper with grading.

The scan proves nothing by itself (``sys.exit`` can be an honest mistake): its hits are
evidence printed next to a score disagreement or limit breach in the report. It reads the
cells the student controls: answer cells, and any code cell that is not a locked cell of
``source/`` (the student's own cells, or cells whose nbgrader metadata was stripped).
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from .notebooks import NotebookError, grade_cells, nbgrader_meta, read_notebook

#: (pattern, what it suggests). Matched line by line on the student's code.
PATTERNS: tuple[tuple[str, str], ...] = (
    (r"get_ipython|input_transformers|ast_transformers|register_magic|events\.register",
     "hooks into IPython (can rewrite or skip later cells)"),
    (r"sys\.modules", "edits sys.modules (can replace the grader's modules)"),
    (r"\b(np|numpy)(\.\w+)*\.\w+\s*=[^=]|setattr\s*\(\s*(np|numpy)\b",
     "assigns to a NumPy attribute (monkeypatching)"),
    (r"\b(builtins|__builtins__)\b", "touches builtins"),
    (r"\bAssertionError\s*=|\bassert_\w*\s*=|\ballclose\s*=|\bisclose\s*=",
     "rebinds an assertion or comparison"),
    (r"\bsetattr\s*\(|\bdelattr\s*\(", "setattr/delattr (monkeypatching)"),
    (r"os\._exit|sys\.exit|\bexit\s*\(|\bquit\s*\(|os\.kill|signal\.",
     "ends or signals the process"),
    (r"\bctypes\b|\bcffi\b", "ctypes (can crash the kernel)"),
    (r"os\.fork|multiprocessing|subprocess|os\.system|os\.popen|os\.exec|os\.spawn",
     "starts processes"),
    (r"cs230_grading", "imports the grading package (answer key)"),
    (r"gradebook|\bsource/|submitted|autograded|\.\./|open\s*\(\s*['\"]/",
     "reads or writes files outside its folder"),
    (r"\bsocket\b|urllib|requests\.|http\.client", "uses the network"),
    (r"\b__import__\b|importlib|\bexec\s*\(|\beval\s*\(|\bcompile\s*\(",
     "builds code at run time"),
    (r"sys\._getframe|inspect\.(currentframe|stack)|gc\.get_(referrers|objects)|f_globals",
     "reaches into other frames"),
    (r"sys\.(stdout|stderr)\s*=|sys\.settrace|sys\.setprofile|atexit",
     "replaces process-wide hooks"),
)
_COMPILED = [(re.compile(p), why) for p, why in PATTERNS]


@dataclasses.dataclass(frozen=True)
class Hit:
    notebook: str
    cell: str
    line: int
    text: str
    why: str

    def describe(self) -> str:
        return f"{self.notebook} {self.cell} line {self.line}: `{self.text}` ({self.why})"


def student_cells(nb, source_nb=None) -> list[tuple[str, str]]:
    """``(label, source)`` of the code cells the student controls."""
    locked = set()
    if source_nb is not None:
        locked = {gid for gid, c in grade_cells(source_nb).items()
                  if not nbgrader_meta(c).get("solution")}
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id") or ""
        if gid and gid in locked:
            continue
        cells.append((gid or f"cell {i + 1}", cell.source))
    return cells


def scan_source(notebook: str, label: str, source: str) -> list[Hit]:
    hits: list[Hit] = []
    for number, line in enumerate(source.splitlines(), start=1):
        code = line.split("#", 1)[0] if not line.lstrip().startswith(("'", '"')) else line
        for pattern, why in _COMPILED:
            if pattern.search(code):
                hits.append(Hit(notebook, label, number, line.strip()[:120], why))
    return hits


def scan_notebook(path: Path, source_path: Path | None = None) -> list[Hit]:
    """Every hit in one submitted notebook (none if it cannot be read)."""
    try:
        nb = read_notebook(path)
        source_nb = read_notebook(source_path) if source_path else None
    except NotebookError:
        return []
    hits: list[Hit] = []
    for label, source in student_cells(nb, source_nb):
        hits += scan_source(path.stem, label, source)
    return hits


def scan_folder(folder: Path, source_dir: Path) -> list[Hit]:
    hits: list[Hit] = []
    for path in sorted(folder.glob("*.ipynb")):
        source = source_dir / path.name
        hits += scan_notebook(path, source if source.exists() else None)
    return hits
