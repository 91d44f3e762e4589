"""The TA's rubric sheet lists every manually graded item with its model answer."""

from __future__ import annotations

from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook
from cs230_grading.rubric import rubric_markdown

SOURCE = REPO_ROOT / "source" / "midterm"


def test_rubric_lists_every_manual_item_with_its_source_text() -> None:
    text = rubric_markdown(SOURCE)
    manual = []
    for name in NOTEBOOKS:
        for gid, cell in grade_cells(read_notebook(SOURCE / f"{name}.ipynb")).items():
            meta = nbgrader_meta(cell)
            if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
                manual.append(gid)
                assert cell.source.strip() in text, gid
                assert f"/ {gid} (" in text
    assert {g.split("_")[0] for g in manual} == {"q2", "q4"}
    assert len(manual) == 9  # Q2 (a)-(h) and Q4 (iii)
