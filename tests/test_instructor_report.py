"""The instructor's report (issue 20): the class in numbers, one line per student and kind.

One small pipeline run (two students of the sample class, a student whose IPython input
transformer fakes the kernel's grades, and one whose answer kills the kernel) checks that
the report and the terminal show each student's findings once, and that the summary's
numbers are the ones derived from the sample plan, the attacks and the source metadata.
The other tests build grades and findings directly.
"""

from __future__ import annotations

import html
import io
import re
import statistics
from pathlib import Path

import pytest
from adversarial.attacks import Q3, attacks, write_submission

from cs230_grading.course import NOTEBOOKS, Course, source_points
from cs230_grading.findings import SCAN, group_findings, kind_of, terminal_lines
from cs230_grading.intake import Finding
from cs230_grading.pipeline import run_pipeline
from cs230_grading.report import write_report
from cs230_grading.results import ClassGrades, StudentGrades
from cs230_grading.samples import expected_scores, sample_plan, write_sample_class
from cs230_grading.summary import summarise

SAMPLE = ("sample-full", "sample-blank")
TAMPERER, CRASHER = "adv-input-transformer", "adv-os-exit"
CARD = re.compile(r'<div class="card[^"]*">(?:<a href="[^"]*">)?<b>([^<]*)</b>'
                  r"<span>([^<(]*)")
WHO = re.compile(r'<details class="(?:error|warning)" id="finding-\d+"><summary>'
                 r'<span class="who">([^<]*)</span>: ([^<]*)</summary>')


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("report-class")
    course = Course.scratch(root)
    course.generate_assignment()
    plan = {s: v for s, v in sample_plan(n_random=0).items() if s in SAMPLE}
    write_sample_class(root, plan)
    chosen = {a.student: a for a in attacks() if a.student in (TAMPERER, CRASHER)}
    for attack in chosen.values():
        write_submission(course, attack)
    out = io.StringIO()
    result = run_pipeline(root, workers=2, feedback=False, progress=False,
                          regenerate_release=False, out=out)
    return course, plan, chosen, result, out.getvalue()


def _cards(page: str) -> dict[str, str]:
    return {label.strip(): value for value, label in CARD.findall(page)}


def _expected_totals(course: Course, plan, chosen) -> dict[str, float]:
    """Each student's total, from the sample plan and the attacks' own expectations."""
    totals = {s: sum(nbs.values()) for s, nbs in expected_scores(plan, course.source_dir).items()}
    q3 = source_points(course.source_dir)[Q3]
    for student, attack in chosen.items():
        assert attack.notebook == Q3
        totals[student] = sum(attack.final.get(gid, full) for gid, full in q3.items())
    return totals


def _manual_items(course: Course, plan) -> int:
    """Hand-graded answers awaiting a TA: the answered manual cells of every variant (their
    derived score is None: pending)."""
    return sum(score is None for nbs in plan.values() for variant in nbs.values()
               for score in variant.expected_scores(course.source_dir).values())


def _complete(course: Course, plan, totals: dict[str, float]) -> dict[str, float]:
    """The totals that are final: students with no answer awaiting a TA."""
    pending = {s for s, nbs in plan.items() if any(
        score is None for v in nbs.values() for score in v.expected_scores(course.source_dir)
        .values())}
    return {s: t for s, t in totals.items() if s not in pending}


def test_summary_numbers_are_the_derived_ones(run) -> None:
    course, plan, chosen, result, _ = run
    cards = _cards(result.report.read_text())
    totals = _expected_totals(course, plan, chosen)
    assert {s.student: s.total for s in result.grades.students} == pytest.approx(totals)
    assert cards["graded"] == str(len(totals))
    assert cards["not graded"] == "0" and cards["late"] == "0"
    scanned = sorted({f.student for f in result.findings if kind_of(f) == SCAN})
    assert TAMPERER in scanned  # evidence for a person; its score is the grader's anyway
    assert cards["flagged by the static scan"] == str(len(scanned)) and cards["crashed"] == "1"
    final = _complete(course, plan, totals)
    assert 0 < len(final) < len(totals)  # sample-full's Q2 waits for a TA
    assert cards["mean total"] == f"{statistics.fmean(final.values()):.1f}"
    assert cards["median total"] == f"{statistics.median(final.values()):g}"
    items = _manual_items(course, plan)
    assert items > 0 and f"awaiting hand grading ({items} items)" in result.report.read_text()
    summary = summarise(result.grades, result.findings)
    assert sorted(summary.static_scan) == scanned and summary.crashed == [CRASHER]


def test_each_student_and_kind_is_one_line_in_report_and_terminal(run) -> None:
    _, _, _, result, terminal = run
    page = result.report.read_text()
    kinds: dict[str, set[str]] = {}
    for f in result.findings:
        kinds.setdefault(f.student, set()).add(kind_of(f))
    shown = [html.unescape(who) for who, _ in WHO.findall(page)]
    printed = [ln for ln in terminal.splitlines() if ln.startswith("[")]
    for student, mine in kinds.items():
        assert sum(w.split("/")[0] == student for w in shown) == len(mine), (student, shown)
        assert sum(re.match(rf"\[\w+\] {re.escape(student)}[/:]", ln) is not None
                   for ln in printed) == len(mine), (student, printed)
    assert len(shown) == len(printed) == sum(len(k) for k in kinds.values())
    # the tamperer's static-scan hits are one line, evidence only (no score depends on it)
    scan = [f for f in result.findings if f.student == TAMPERER and kind_of(f) == SCAN]
    assert scan and all("no score depends on it" in f.message for f in scan)
    assert sum("static scan" in h for who, h in WHO.findall(page)
               if html.unescape(who).startswith(TAMPERER)) == 1
    assert str(result.report) in terminal


def _grades() -> ClassGrades:
    return ClassGrades([
        StudentGrades("ann", {n: 1.0 for n in NOTEBOOKS}, ["q2_a", "q2_b"]),
        StudentGrades("bob", {n: 0.0 for n in NOTEBOOKS}, ["q2_a"], seconds_late=600,
                      late_penalty=1.0),
    ])


def _scanned(student: str, notebooks: list[str]) -> list[Finding]:
    """What the worker reports when the static scan flags a notebook (grading/outcome.py)."""
    scans = [f"{nb} cell 1 line 1: `get_ipython()...` (hooks into IPython)" for nb in notebooks]
    return [Finding(student, f"static scan: {scan}; no score depends on it", nb, "warning",
                    SCAN, evidence=(scan,)) for nb, scan in zip(notebooks, scans, strict=True)]


def test_groups_fold_a_students_findings_of_a_kind() -> None:
    findings = [*_scanned("ann", ["q3", "q6"]),
                Finding("ann", "missing notebook: scored 0", "q4"),
                Finding("ann", "missing notebook: scored 0", "q5"),
                Finding("bob", "grading failed: nbgrader failed"),
                Finding("carl", "unknown student (not in roster.csv): not graded"),
                Finding("ann", "honour code is not affirmed", "q0_cover", "warning")]
    groups = group_findings(findings)
    assert [(g.student, g.kind) for g in groups] == [
        ("ann", "submission"), ("ann", SCAN), ("ann", "honour code"),
        ("bob", "crashed"), ("carl", "submission")]
    assert groups[1].headline() == "static scan flagged 2 notebooks (no score depends on it)"
    assert groups[1].severity == "warning"
    assert groups[1].evidence == [findings[0].evidence[0], findings[1].evidence[0]]  # once each
    assert groups[0].line() == "[error] ann: missing notebook: scored 0 (2 notebooks: q4, q5)"
    assert terminal_lines(findings[-1:]) == [findings[-1].line()]  # a lone finding as before
    summary = summarise(_grades(), findings)
    assert summary.not_graded == {"carl": [findings[5].message]}
    assert summary.late == ["bob"] and summary.crashed == ["bob"]
    assert summary.awaiting == {"q2_a": ["ann", "bob"], "q2_b": ["ann"]}


def test_page_is_self_contained_and_links_feedback(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    feedback = tmp_path / "feedback" / "ann" / "midterm"
    feedback.mkdir(parents=True)
    (feedback / f"{NOTEBOOKS[1]}.html").write_text("<p>feedback</p>")
    page = write_report(_grades(), _scanned("ann", ["q3"]),
                        reports).read_text()
    assert 'href="../feedback/ann/midterm/"' in page
    assert f'href="../feedback/ann/midterm/{NOTEBOOKS[1]}.html"' in page
    assert "../feedback/bob" not in page  # no feedback written for bob: no dead link
    assert not re.search(r"""src=["']?(?:https?:)?//|url\(""", page)  # nothing fetched
    assert re.search(r"<meta http-equiv='Content-Security-Policy' content=\"default-src "
                     r"'none'; img-src data:; style-src 'sha256-[^\"]*script-src 'sha256-", page)
    assert "@media print" in page and "size:A4" in page
    assert page.count('<table class="sortable"') == 1
