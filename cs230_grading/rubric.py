"""The TA's grading sheet: every manually graded item with its model answer and rubric.

The formgrader shows a student's answer but not the source notebook's model
answer, so the pipeline writes them side by side into ``reports/rubric.md``
(instructor side only: it is read from ``source/``, never released). Under each part
come its rubric items as the grading console applies them, derived from
``instructor/rubric_items.yaml`` (:mod:`cs230_grading.manual`).
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
                parts.append(_items_markdown(source_dir, meta["grade_id"]))
            if cell.cell_type == "markdown":
                previous = cell.source
    return "".join(parts)


def _items_markdown(source_dir: Path, grade_id: str) -> str:
    """The part's rubric items as a table ("" when the course has no items file)."""
    from .manual import ITEMS_FILE, RubricError, load_rubric

    root = Path(source_dir).resolve().parents[1]
    if not (root / ITEMS_FILE).is_file():
        return ""
    try:
        part = load_rubric(root).get(grade_id)
    except RubricError as exc:  # the sheet is still written; the console says the same
        return f"\n**Rubric items unavailable:** {exc}\n"
    if part is None:
        return ""
    start = "0" if part.scoring == "positive" else "full marks"
    rows = [f"\n**Rubric items** ({ITEMS_FILE}; score = {start} + applied items, "
            f"within 0..{part.max_points:g}):\n\n| item | points | description |\n|---|---|---|"]
    rows += [f"| `{i.id}` | {i.points:+g} | {i.description.replace('|', '/')} |"
             for i in part.items]
    return "\n".join(rows) + "\n"


def part_text(source_dir: Path, grade_id: str) -> tuple[str, str]:
    """(the question before the answer cell, the model answer with its rubric) of one
    hand-graded part, from ``source/`` (instructor side); ``("", "")`` when not found."""
    for name in NOTEBOOKS:
        path = Path(source_dir) / f"{name}.ipynb"
        if not path.is_file():
            continue
        previous = ""
        for cell in read_notebook(path).cells:
            if nbgrader_meta(cell).get("grade_id") == grade_id:
                return previous.strip(), cell.source.strip()
            if cell.cell_type == "markdown":
                previous = cell.source
    return "", ""


def write_rubric(source_dir: Path, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "rubric.md"
    path.write_text(rubric_markdown(source_dir), encoding="utf-8")
    return path
