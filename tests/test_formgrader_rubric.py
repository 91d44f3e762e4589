"""The rubric panel under each hand-graded answer of a formgrader page (no server needed).

The page is nbgrader's ``formgrade`` template's comment boxes, as the server writes them.
Each hand-graded part gets its model answer and rubric items (from the items file),
escaped, with no script; other comment boxes are left alone. The browser test
(``tests/browser/test_grading_console.py``) sees the panel on a served page.
"""

from __future__ import annotations

from cs230_grading import manual
from cs230_grading.course import REPO_ROOT
from cs230_grading.formgrader_rubric import COMMENT_BOX, add_panels


def _box(grade_id: str) -> str:
    return (f'<div><textarea class="comment tabbable" id="{grade_id}-comment"></textarea>'
            "</div>")


def test_each_hand_graded_answer_gets_its_rubric_and_nothing_else_changes() -> None:
    parts = manual.load_rubric(REPO_ROOT)
    other = "q3_network_output"  # a code answer: graded by the autograder
    page = "<body>" + "".join(_box(g) for g in [*parts, other]) + "</body>"
    out = add_panels(page, REPO_ROOT)
    assert len(COMMENT_BOX.findall(page)) == len(parts) + 1
    for gid, part in parts.items():
        start = out.index(f"<details class='cs230-rubric' data-part='{gid}'")
        panel = out[start:out.index("</details>", start)]
        assert out[:start].endswith(_box(gid))  # right under the answer's comment box
        assert all(item.id in panel for item in part.items)
        assert f"{part.max_points:g} points" in panel
    assert "data-part='q3_network_output'" not in out
    assert out.count("<details") == len(parts)
    assert "<script" not in out.replace(page, "")
