"""The instructor's report opened from disk in Chromium (issue 20).

``report.html`` is opened as a file (``file://``, as from a mail attachment): the table of
students sorts by total both ways, a folded finding opens to show its evidence, the page
takes a screenshot and fits the width of A4 paper when printed, it fetches nothing but
itself, and nothing is logged to the console (its Content-Security-Policy would log any
blocked script or image).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cs230_grading.course import NOTEBOOK_POINTS, NOTEBOOKS, REPO_ROOT
from cs230_grading.findings import SCAN
from cs230_grading.intake import Finding
from cs230_grading.report import write_report
from cs230_grading.results import ClassGrades, StudentGrades

SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
A4_PX = round((210 - 2 * 14) / 25.4 * 96)
MARKUP = '<img src=x onerror="console.error(1)"><script>console.error(2)</script>'


def _class() -> tuple[ClassGrades, list[Finding]]:
    """Five students with different totals; the static scan flagged two notebooks of one."""
    students = []
    for i, name in enumerate(["dee", "ann", f"eve{MARKUP}", "cy", "bo"]):
        scores = {n: min(NOTEBOOK_POINTS[n], float((i * 7 + j * 3) % 11))
                  for j, n in enumerate(NOTEBOOKS)}
        students.append(StudentGrades(name, scores, ["q2_a"] if i % 2 else []))
    evil = students[2].student
    findings = [
        Finding(evil, f"static scan: hooks into IPython {MARKUP}; no score depends on it", nb,
                "warning", SCAN, evidence=(f"{nb} cell 2 line 1: scan line {MARKUP}",))
        for nb in (NOTEBOOKS[3], NOTEBOOKS[5])
    ]
    findings.append(Finding("ann", "honour code is not affirmed", NOTEBOOKS[0], "warning"))
    return ClassGrades(students), findings


def _totals(page: Any) -> list[str]:
    column = _column(page, "total")
    return [t.strip() for t in page.locator(f"#scores tbody tr td:nth-child({column + 1})")
            .all_inner_texts()]


def _column(page: Any, name: str) -> int:
    heads = [t.strip() for t in page.locator("#scores thead th button").all_inner_texts()]
    return heads.index(name)


def test_report_sorts_and_unfolds_offline(browser_context: Any, tmp_path: Path) -> None:
    grades, findings = _class()
    path = write_report(grades, findings, tmp_path / "reports")
    page = browser_context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        page.goto(path.as_uri())
        # a total waiting for hand grading reads "pending" and sorts below every number
        pending = sum(not s.complete for s in grades.students)
        assert pending
        expected = ["pending"] * pending + [
            f"{t:g}" for t in sorted(s.total for s in grades.students if s.complete)]
        header = page.locator("#scores thead th").nth(_column(page, "total"))
        header.locator("button").click()
        assert _totals(page) == expected and header.get_attribute("aria-sort") == "ascending"
        header.locator("button").click()
        assert _totals(page) == expected[::-1]
        assert header.get_attribute("aria-sort") == "descending"

        folded = page.locator("details.warning").filter(has_text="static scan")
        assert folded.count() == 1  # two findings, one line
        evidence = folded.locator("ul").first
        assert not evidence.is_visible()
        folded.locator("summary").click()
        assert evidence.is_visible() and folded.get_attribute("open") is not None
        assert f"{NOTEBOOKS[5]} cell 2 line 1" in evidence.inner_text()
        assert MARKUP in folded.inner_text()  # student text shown as text

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "instructor-report.png"), full_page=True)
        assert (SCREENSHOTS / "instructor-report.png").stat().st_size > 10_000
        # printed on A4 (210 mm less the page's 2 x 14 mm margins, at 96 px per inch), nothing
        # is wider than the paper
        page.set_viewport_size({"width": A4_PX, "height": 1000})
        page.emulate_media(media="print")
        assert page.evaluate("document.documentElement.scrollWidth") <= A4_PX
        assert not errors, errors
        assert all(u.startswith(("file:", "data:")) for u in requests), requests
    finally:
        page.close()
