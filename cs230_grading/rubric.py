"""The TA's grading sheet: every manually graded item with its model answer and rubric.

The formgrader shows a student's answer but not the source notebook's model
answer, so the pipeline writes them side by side into ``reports/rubric.md``
(instructor side only: it is read from ``source/``, never released).
"""

from __future__ import annotations

from pathlib import Path

from .course import NOTEBOOKS
from .notebooks import nbgrader_meta, read_notebook


def rubric_markdown(source_dir: Path) -> str:
    """Markdown: for each manual item, the question before it and the model answer + rubric."""
    parts = ["# CS230 midterm: rubric for manually graded items (TA only)\n"]
    for name in NOTEBOOKS:
        nb = read_notebook(source_dir / f"{name}.ipynb")
        previous = ""
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
                points = float(meta.get("points", 0))
                parts.append(f"\n## {name} / {meta['grade_id']} ({points:g} points)\n")
                if previous:
                    quoted = "\n".join(f"> {line}" for line in previous.strip().splitlines())
                    parts.append(f"\n{quoted}\n")
                parts.append(f"\n{cell.source.strip()}\n")
            if cell.cell_type == "markdown":
                previous = cell.source
    return "".join(parts)


def write_rubric(source_dir: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "rubric.md"
    path.write_text(rubric_markdown(source_dir), encoding="utf-8")
    return path
