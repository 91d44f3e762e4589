"""The rubric beside each hand-graded answer in the formgrader (a Jupyter server transform).

nbgrader's formgrader shows a student's answer and a comment box, but neither the model
answer nor the rubric: the TA had to open ``reports/rubric.md`` beside it. This transform
adds, under the comment box of each hand-graded part on a submission page
(``/formgrader/submissions/<id>/``), a folded panel with the part's model answer and rubric
(from ``source/``) and its rubric items (``instructor/rubric_items.yaml``). The panel is
static, escaped HTML with no script, so the page's Content-Security-Policy
(:mod:`cs230_grading.lab_csp`) is unchanged.

The course's ``nbgrader_config.py`` turns it on inside the server that serves the formgrader
(:func:`add_rubric_to_running_server`).
"""

from __future__ import annotations

import functools
import html
import re
import sys
from pathlib import Path
from typing import Any

from tornado.web import OutputTransform

from .lab_csp import SUBMISSION_PAGE

#: the end of the comment box nbgrader's ``formgrade`` template writes under an answer
COMMENT_BOX = re.compile(
    r'(<textarea\b[^>]*?\bid="(?P<gid>[^"<>]+)-comment"[^>]*>\s*</textarea>\s*</div>)')
STYLE = ("margin:6px 0 0 0;padding:4px 8px;border:1px solid #d6d6d6;border-radius:4px;"
         "background:#fbfbf4;font-size:90%")
PRE = "white-space:pre-wrap;margin:2px 0 6px 0;font-size:95%;background:none;border:0"


@functools.cache
def _panels(course_root: str, stamp: tuple[float, ...]) -> dict[str, str]:
    """``{grade id: panel HTML}`` of every hand-graded part (cached per file version)."""
    from .course import ASSIGNMENT
    from .manual import RubricError, load_rubric
    from .rubric import part_text

    root = Path(course_root)
    try:
        parts = load_rubric(root)
    except RubricError as exc:
        return {"": f"<p>Rubric items unavailable: {html.escape(str(exc))}</p>"}
    panels = {}
    for gid, part in parts.items():
        _, model = part_text(root / "source" / ASSIGNMENT, gid)
        start = "0" if part.scoring == "positive" else "full marks"
        rows = "".join(f"<tr><td><code>{html.escape(i.id)}</code></td>"
                       f"<td style='text-align:right'>{i.points:+g}</td>"
                       f"<td>{html.escape(i.description)}</td></tr>" for i in part.items)
        panels[gid] = (
            f"<details class='cs230-rubric' data-part='{html.escape(gid, quote=True)}' "
            f"style='{STYLE}'><summary><b>Rubric for {html.escape(gid)}</b> "
            f"({part.max_points:g} points; score = {start} + items)</summary>"
            f"<pre style='{PRE}'>{html.escape(model)}</pre>"
            f"<table class='table table-condensed'>{rows}</table></details>")
    return panels


def _stamp(course_root: Path) -> tuple[float, ...]:
    from .course import ASSIGNMENT
    from .manual import ITEMS_FILE

    files = [course_root / ITEMS_FILE, *sorted((course_root / "source" / ASSIGNMENT)
                                              .glob("*.ipynb"))]
    return tuple(p.stat().st_mtime if p.is_file() else 0.0 for p in files)


def add_panels(page: str, course_root: Path) -> str:
    """The submission page with each hand-graded part's rubric panel under its comment box."""
    panels = _panels(str(course_root), _stamp(course_root))

    def insert(match: re.Match[str]) -> str:
        return match.group(1) + panels.get(html.unescape(match.group("gid")), "")

    return COMMENT_BOX.sub(insert, page)


def transform_for(course_root: Path) -> type[OutputTransform]:
    """A tornado output transform adding the panels of this course's rubric."""

    class RubricPanels(OutputTransform):
        root = Path(course_root)

        def __init__(self, request: Any) -> None:
            super().__init__(request)
            self._applies = bool(SUBMISSION_PAGE.search(request.path))

        def transform_first_chunk(self, status_code: int, headers: Any, chunk: bytes,
                                  finishing: bool) -> tuple[int, Any, bytes]:
            if (self._applies and headers.get("Content-Type", "").startswith("text/html")
                    and "Content-Encoding" not in headers):
                page = chunk.decode("utf-8", errors="replace")
                chunk = add_panels(page, self.root).encode("utf-8")
                if "Content-Length" in headers:
                    headers["Content-Length"] = str(len(chunk))
            return status_code, headers, chunk

    return RubricPanels


def add_rubric_to_running_server(course_root: str | Path) -> bool:
    """Add the panels to the Jupyter server running in this process, if any (idempotent)."""
    module = sys.modules.get("jupyter_server.serverapp")
    if module is None or not module.ServerApp.initialized():
        return False
    web_app = getattr(module.ServerApp.instance(), "web_app", None)
    if web_app is None:
        return False
    if not any(getattr(t, "__name__", "") == "RubricPanels" for t in web_app.transforms):
        web_app.add_transform(transform_for(Path(course_root)))
    return True
