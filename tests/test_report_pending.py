"""The report tells the truth about what is pending (issue 33).

A class where hand grading is pending and an honour code is not affirmed: "Needs attention"
counts the answers to grade per part (with the formgrader's configured address, never a
fixed host) and the honour codes; a question or total with a part awaiting a TA reads
"pending", never 0, in the table, and is left out of the histograms, the mean and median
and the item analysis (no "no spread" flag for a part nobody graded); the item analysis
chart's labels never overlap; every CSV is linked; the percentage is of the exam's points;
the grades export states the exam's points and its extra credit apart, from questions.py.
"""

from __future__ import annotations

import csv
import itertools
import math
import re
import statistics
from pathlib import Path

import pytest
from matplotlib.text import Text

from cs230_grading.course import NOTEBOOK_POINTS, NOTEBOOKS
from cs230_grading.findings import HONOUR_CODE
from cs230_grading.intake import Finding
from cs230_grading.item_analysis import (
    FLAG_NO_SPREAD,
    FLAG_PENDING,
    Part,
    item_figure,
    item_statistics,
    scores_from_mapping,
    spread_labels,
)
from cs230_grading.lms_export import restate_grades_csv
from cs230_grading.questions import EXAM_POINTS, EXTRA_CREDIT
from cs230_grading.report import FILES, write_report
from cs230_grading.results import ClassGrades, StudentGrades
from cs230_grading.summary import attention_line, summarise, summary_lines

Q2, Q4 = NOTEBOOKS[2], NOTEBOOKS[4]
URL = "https://hub.example.edu/user/ta/formgrader/gradebook/midterm"


def _class() -> tuple[ClassGrades, list[Finding]]:
    """ann and dee wait for hand grading (3 answers in all); bob did not affirm."""
    def scores(seed: int) -> dict[str, float]:
        return {n: float((seed * 5 + j * 3) % (int(NOTEBOOK_POINTS[n]) + 1))
                for j, n in enumerate(NOTEBOOKS)}

    students = [StudentGrades("ann", scores(1), ["q2_a", "q2_b"]),
                StudentGrades("bob", scores(2), []),
                StudentGrades("cy", scores(3), []),
                StudentGrades("dee", scores(4), ["q4_iii"])]
    findings = [Finding("bob", "honour code is not affirmed", NOTEBOOKS[0], "warning",
                        HONOUR_CODE)]
    return ClassGrades(students), findings


@pytest.fixture
def page(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CS230_FORMGRADER_URL", URL)
    out = tmp_path / "reports"
    out.mkdir()
    for name in ("grades.csv", "scores_by_question.csv", "item_analysis.csv"):
        (out / name).write_text("x\n")
    grades, findings = _class()
    return write_report(grades, findings, out).read_text()


def _section(page: str, anchor: str) -> str:
    start = page.index(f'<div id="{anchor}"></div>')
    end = page.find('<div id="', start + 10)
    return page[start:end if end > 0 else None]


def _row(page: str, student: str) -> list[str]:
    row = re.search(rf"<tr><td class=\"text\">{student}</td>(.*?)</tr>", page).group(1)
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]


def test_needs_attention_counts_pending_hand_grading_and_honour_codes(page: str) -> None:
    grades, findings = _class()
    attention = _section(page, "attention")
    pending = sum(len(s.awaiting_manual) for s in grades.students)
    assert f"{pending} answers of 2 students await a TA" in attention
    assert "q2_a: 1, q2_b: 1, q4_iii: 1" in attention
    assert f'<a href="{URL}">' in attention and "localhost:8888" not in page
    assert "Honour code not affirmed: 1 student (bob)" in attention
    assert "Nothing:" not in attention
    summary = summarise(grades, findings)
    assert summary.needs_attention
    line = attention_line(summary)
    assert line != "Nothing needs attention." and f"{pending} answers to grade" in line
    assert "1 honour code not affirmed" in line
    printed = "\n".join(summary_lines(summary, URL))
    assert URL in printed and "Honour code not affirmed: 1 (bob)" in printed


def test_pending_is_shown_as_pending_never_0(page: str) -> None:
    grades, _ = _class()
    columns = ["student", *(n for n in NOTEBOOKS if NOTEBOOK_POINTS[n] > 0)]
    ann, bob, dee = (_row(page, s) for s in ("ann", "bob", "dee"))
    q2, q4 = columns.index(Q2) - 1, columns.index(Q4) - 1
    total = len(columns) - 1
    assert ann[q2] == "pending" and dee[q4] == "pending"
    assert ann[q4] != "pending" and dee[q2] != "pending"
    assert ann[total] == ann[total + 1] == "pending"  # the total and the percentage
    by = grades.by_student()
    assert bob[total] == f"{by['bob'].total:g}"
    assert bob[total + 1] == f"{100 * by['bob'].total / EXAM_POINTS:.1f}%"
    # the mean and median are of the final totals only
    final = [s.total for s in grades.students if not s.awaiting_manual]
    cards = dict((label.strip(), value) for value, label in re.findall(
        r'<div class="card[^"]*">(?:<a href="[^"]*">)?<b>([^<]*)</b><span>([^<(]*)', page))
    assert cards["mean total"] == f"{statistics.fmean(final):.1f}"
    assert cards["median total"] == f"{statistics.median(final):g}"
    # the per-question statistics leave the pending students out, and say so
    questions = _section(page, "questions")
    q2_scores = [s.notebook_scores[Q2] for s in grades.students if "q2_a" not in
                 s.awaiting_manual and "q2_b" not in s.awaiting_manual]
    assert f"mean {statistics.fmean(q2_scores):.1f}" in questions
    assert "1 student pending hand grading (not counted)" in questions


def test_every_csv_is_linked_and_the_others_are_not(page: str) -> None:
    files = _section(page, "files")
    for name, _ in FILES:
        linked = f'<a href="{name}">' in files
        assert linked == (name in ("grades.csv", "scores_by_question.csv",
                                   "item_analysis.csv")), name


def test_the_item_analysis_leaves_ungraded_parts_out(tmp_path: Path) -> None:
    """Q2 (a) is ungraded: the blank answers scored 0 on their own, the rest wait for a TA."""
    parts = [Part("q2", "q2_a", 2.0, manual=True), Part("q3", "q3_i_test", 3.0),
             Part("q3", "q3_ii_test", 3.0), Part("q2", "q2_b", 2.0, manual=True)]
    scores = {f"s{i}": {"q2_a": 0.0 if i % 3 == 0 else None, "q3_i_test": float(i % 4),
                        "q3_ii_test": float((i * 2) % 4), "q2_b": 2.0} for i in range(9)}
    stats = {s.part.grade_id: s for s in item_statistics(scores_from_mapping(parts, scores))}
    waiting = sum(row["q2_a"] is None for row in scores.values())
    assert stats["q2_a"].flag == FLAG_PENDING and stats["q2_a"].pending == waiting
    assert math.isnan(stats["q2_a"].difficulty) and math.isnan(stats["q2_a"].discrimination)
    # a graded part where everyone scored the same is still flagged: it is graded
    assert stats["q2_b"].flag == FLAG_NO_SPREAD
    page = write_report(ClassGrades([]), [], tmp_path, items=list(stats.values())).read_text()
    items = _section(page, "items")
    assert f"Pending, not analysed: q2_a ({waiting} to grade)" in items
    checked = items.split("<h3>Parts to check</h3>")[-1]
    assert "q2_a" not in checked and "q2_b" in checked


def _overlaps(boxes: list) -> list[tuple[int, int]]:
    return [(i, j) for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
            if a.overlaps(b)]


def test_the_item_analysis_labels_never_overlap() -> None:
    """Forty parts at almost the same point: every name still readable."""
    parts = [Part("qx", f"qx_{i}_test", 2.0) for i in range(40)]
    stats = item_statistics(scores_from_mapping(parts, {
        f"s{k}": {p.grade_id: float((k + (i % 3 == 0)) % 3 > 0) * 2
                  for i, p in enumerate(parts)} for k in range(12)}))
    fig = item_figure(stats)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    labels = [t for t in fig.axes[0].texts if t.get_text().startswith("qx_")]
    assert len(labels) == sum(not math.isnan(s.discrimination) for s in stats) > 30
    boxes = [Text.get_window_extent(t, renderer) for t in labels]  # the text, not the line
    assert not _overlaps(boxes)
    height = fig.get_size_inches()[1] * fig.dpi
    assert all(0 <= b.y0 and b.y1 <= height for b in boxes)  # all on the figure


@pytest.mark.parametrize("targets", [[0.5] * 10, [0.0, 0.1, 0.2, 9.9, 10.0], [3.0, 1.0]])
def test_spread_labels_keeps_the_gap_and_the_order(targets: list[float]) -> None:
    placed = spread_labels(targets, 0.0, 10.0, 1.0)
    order = sorted(range(len(targets)), key=lambda i: targets[i])
    ys = [placed[i] for i in order]
    assert all(b - a >= 1.0 - 1e-9 for a, b in itertools.pairwise(ys))
    assert all(0.0 <= y <= 10.0 for y in ys)


def test_grades_csv_states_the_exam_points_and_the_extra_credit(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    with path.open("w", newline="") as fh:  # what nbgrader's CSV export writes
        writer = csv.writer(fh)
        writer.writerow(["assignment", "duedate", "timestamp", "student_id", "last_name",
                         "first_name", "email", "raw_score", "late_submission_penalty",
                         "score", "max_score"])
        writer.writerow(["midterm", "", "", "ann", "", "", "", "85", "0", "85",
                         f"{EXAM_POINTS + EXTRA_CREDIT}"])
        writer.writerow(["midterm", "", "", "bob", "", "", "", "103", "0", "103",
                         f"{EXAM_POINTS + EXTRA_CREDIT}"])
        writer.writerow(["midterm", "", "", "cy", "", "", "", "40", "0", "40",
                         f"{EXAM_POINTS + EXTRA_CREDIT}"])
    restate_grades_csv(path, {"cy": 3})
    rows = {r["student_id"]: r for r in csv.DictReader(path.open())}
    for student, row in rows.items():
        assert float(row["max_score"]) == EXAM_POINTS, student
        assert float(row["extra_credit_max"]) == EXTRA_CREDIT
    for student in ("ann", "bob"):
        row = rows[student]
        assert float(row["percent"]) == pytest.approx(100 * float(row["score"]) / EXAM_POINTS)
        assert row["awaiting_manual"] == "0"
    assert float(rows["ann"]["percent"]) == pytest.approx(85 * 100 / EXAM_POINTS)
    assert rows["cy"]["percent"] == "" and rows["cy"]["awaiting_manual"] == "3"  # pending
