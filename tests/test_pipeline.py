"""The instructor pipeline, end to end on a scratch copy of the course.

One run grades three students of the sample class (full, blank, partial) plus a handful
of broken submissions; the assertions compare every score with the one derived from the
sample plan, check the bad-input lines, the exports, the report and the feedback HTML. The
whole twelve-student sample class is graded through ``.venv/bin/cs230-grade demo`` in
``test_fresh_machine.py``, which checks every student's every notebook the same way.
"""

from __future__ import annotations

import csv
import html as html_module
import io
import json
import re
import shutil
from pathlib import Path

import pytest

from cs230_grading.course import NOTEBOOK_POINTS, NOTEBOOKS, Course
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook
from cs230_grading.pipeline import run_pipeline
from cs230_grading.samples import expected_scores, sample_plan, write_sample_class

HIDDEN_REGION = re.compile(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", re.S)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("course")
    course = Course.scratch(root)
    course.generate_assignment()
    plan = sample_plan(n_random=0)
    write_sample_class(root, plan)
    full = course.submission_dir("sample-full")

    def clone(student: str) -> Path:
        target = course.submission_dir(student)
        shutil.copytree(full, target)
        return target

    (clone("bad-missing") / "q4_l1_regularization.ipynb").unlink()
    (clone("bad-corrupt") / "q3_conv_architectures.ipynb").write_text("{ not json")
    other = clone("bad-foreign")
    nb = json.loads((other / "q5_gan_backprop.ipynb").read_text())
    for cell in nb["cells"]:
        cell.get("metadata", {}).pop("nbgrader", None)
    (other / "q5_gan_backprop.ipynb").write_text(json.dumps(nb))
    shutil.copy(full / "q1_multiple_choice.ipynb", clone("bad-extra") / "ps1.ipynb")
    clone("intruder")
    roster = ["id", *plan, "bad-missing", "bad-corrupt", "bad-foreign", "bad-extra", "absent"]
    (root / "roster.csv").write_text("\n".join(roster) + "\n")

    out = io.StringIO()
    result = run_pipeline(root, workers=2, progress=False, out=out)
    return course, plan, result, out.getvalue()


def test_sample_class_grades_to_derived_scores(graded) -> None:
    course, plan, result, _ = graded
    expected = expected_scores(plan, course.source_dir)
    got = result.grades.by_student()
    for student, notebooks in expected.items():
        for nb, points in notebooks.items():
            assert got[student].notebook_scores[nb] == pytest.approx(points), (student, nb)
    manual = _manual_points(course.source_dir)
    assert got["sample-full"].total == pytest.approx(
        sum(NOTEBOOK_POINTS.values()) - sum(manual.values()))
    assert got["sample-blank"].total == 0
    assert 0 < got["sample-partial"].total < got["sample-full"].total
    assert set(got["sample-full"].awaiting_manual) == set(manual)
    assert {g.split("_")[0] for g in manual} == {"q2", "q4"}
    assert not got["sample-blank"].awaiting_manual


def _manual_points(source_dir: Path) -> dict[str, float]:
    """Points of the manually graded answers, read from the source metadata."""
    points: dict[str, float] = {}
    for name in NOTEBOOKS:
        for gid, cell in grade_cells(read_notebook(source_dir / f"{name}.ipynb")).items():
            meta = nbgrader_meta(cell)
            if meta.get("grade") and meta.get("solution") and cell.cell_type == "markdown":
                points[gid] = float(meta["points"])
    return points


def test_bad_inputs_get_clear_lines_and_the_rest_is_graded(graded) -> None:
    _, _, result, terminal = graded
    lines = [f.line() for f in result.findings]
    expect = {
        "bad-missing/q4_l1_regularization: missing notebook": "",
        "bad-corrupt/q3_conv_architectures: not notebook JSON": "",
        "bad-foreign/q5_gan_backprop: holds none of this notebook's": "",
        "bad-extra/ps1.ipynb: not a notebook of this exam": "",
        "intruder: unknown student": "",
    }
    for phrase in expect:
        assert any(phrase in line for line in lines), (phrase, lines)
        assert phrase in terminal
    assert result.exit_code == 1
    got = result.grades.by_student()
    full = got["sample-full"].notebook_scores
    for student, zeroed in [("bad-missing", "q4_l1_regularization"),
                            ("bad-corrupt", "q3_conv_architectures"),
                            ("bad-foreign", "q5_gan_backprop")]:
        scores = got[student].notebook_scores
        assert scores[zeroed] == 0
        assert all(scores[nb] == full[nb] for nb in NOTEBOOKS if nb != zeroed), student
    assert got["bad-extra"].notebook_scores == full
    assert "intruder" not in got


def test_exports_match_the_gradebook(graded) -> None:
    course, _, result, _ = graded
    rows = list(csv.DictReader(result.grades_csv.open()))
    by_id = {r["student_id"]: r for r in rows}
    for student in result.graded:
        assert float(by_id[student]["score"]) == pytest.approx(
            result.grades.by_student()[student].total)
    per_question = list(csv.DictReader((course.root / "reports" / "scores_by_question.csv").open()))
    assert {r["student_id"] for r in per_question} == set(result.graded)
    report = result.report.read_text()
    assert "Awaiting manual grading" in report and "sample-full" in report
    assert "unknown student" in report
    png = (course.root / "reports" / "score_distribution.png").read_bytes()
    assert png.startswith(b"\x89PNG")


def test_feedback_shows_no_hidden_test_source(graded) -> None:
    course, _, result, _ = graded
    hidden: set[str] = set()
    for name in NOTEBOOKS:
        for cell in read_notebook(course.source_dir / f"{name}.ipynb").cells:
            for region in HIDDEN_REGION.findall(cell.source):
                hidden |= {ln.strip() for ln in region.splitlines() if len(ln.strip()) > 12}
    import html

    checked = 0
    for student in ("sample-full", "sample-blank", "sample-partial"):
        for path in course.feedback_dir(student).glob("*.html"):
            text = html.unescape(path.read_text())
            leaked = [ln for ln in hidden if ln in text]
            assert not leaked, f"{path}: {leaked[:3]}"
            assert "HIDDEN TESTS" not in text
            checked += 1
    assert checked == 3 * len(NOTEBOOKS)


def test_empty_submitted_folder_is_reported(tmp_path) -> None:
    course = Course.scratch(tmp_path)
    course.submitted_root.mkdir()
    out = io.StringIO()
    result = run_pipeline(tmp_path, progress=False, out=out)
    assert result.exit_code == 1
    assert "no submissions" in out.getvalue()
    assert result.graded == []


def test_honour_code_is_reported_as_a_warning_never_a_score(graded) -> None:
    _, plan, result, terminal = graded
    warned = {f.student for f in result.findings if f.notebook == "q0_cover"}
    unaffirmed = {s for s, nbs in plan.items() if nbs["q0_cover"].name != "model"}
    assert "sample-blank" in unaffirmed and "sample-full" not in unaffirmed
    assert warned == unaffirmed
    assert all(f.severity == "warning" for f in result.findings if f.notebook == "q0_cover")
    assert "sample-blank/q0_cover" in terminal
    assert all(s.notebook_scores["q0_cover"] == 0 for s in result.grades.students)
    notes = result.report.read_text().split("<h2>Notes</h2>")[1].split("<h2>")[0]
    assert "sample-blank/q0_cover" in notes and "honour code is not affirmed" in notes


def test_feedback_ends_with_the_notes_for_after_answering(graded) -> None:
    from cs230_grading.errata import NOTES

    course, _, _, _ = graded
    for name, notes in NOTES.items():
        text = html_module.unescape(
            (course.feedback_dir("sample-partial") / f"{name}.html").read_text())
        for note in notes:
            assert note.title in text, (name, note.title)


def test_similarity_report_is_written_and_never_changes_a_score(graded, tmp_path) -> None:
    from cs230_grading.intake import STAGED_DIR
    from cs230_grading.similarity import CSV_COLUMNS, similarity_pairs, write_similarity_csv

    course, _, result, _ = graded
    with (course.root / "reports" / "similarity.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS
    # students whose Q6 answers are those of sample-full submitted the model answers: the
    # key's own code is discounted (it says nothing about a pair), so no pair of them is listed
    def answers(student: str) -> dict:
        path = course.submission_dir(student) / "q6_numpy_attention.ipynb"
        cells = grade_cells(read_notebook(path)) if path.exists() else {}
        return {g: c.source for g, c in cells.items() if nbgrader_meta(c).get("solution")}

    same = {s for s in result.graded if answers(s) == answers("sample-full")}
    assert len(same) >= 2 and "sample-full" in same
    assert not any({r["student_a"], r["student_b"]} <= same
                   for r in rows if r["notebook"] == "q6_numpy_attention")
    assert "sample-blank" not in {r["student_a"] for r in rows} | {r["student_b"] for r in rows}
    assert "<h2>Similar answers" in result.report.read_text()
    # computed while the last students graded, it is what the staged class gives afterwards
    again = write_similarity_csv(similarity_pairs(course.root / STAGED_DIR, course.release_dir),
                                 tmp_path / "similarity.csv")
    assert again.read_text() == (course.root / "reports" / "similarity.csv").read_text()


def test_mistakes_csv_counts_what_the_samples_contain(graded) -> None:
    """Every named mistake built into the sample class is counted once per student who made
    it (derived from the variants), and nothing else is counted."""
    from cs230_grading.samples import expected_mistakes

    course, plan, result, _ = graded
    class_size = len(result.grades.students)
    with (course.root / "reports" / "mistakes.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    got = {(r["notebook"], r["grade_id"], r["mistake_id"]): set(r["student_ids"].split())
           for r in rows}
    assert got == expected_mistakes(plan)
    assert got, "the partial student's mistakes must be counted"
    for r in rows:
        assert int(r["students"]) == len(r["student_ids"].split())
        assert float(r["share"]) == pytest.approx(int(r["students"]) / class_size, abs=1e-3)
        assert r["message"]
    report = (course.root / "reports" / "report.html").read_text(encoding="utf-8")
    assert "What the class got wrong" in report and "Item analysis" in report


def test_item_analysis_matches_a_direct_computation(graded) -> None:
    """reports/item_analysis.csv against NumPy on the per-part scores of the gradebook."""
    import numpy as np

    from cs230_grading.item_analysis import collect_part_scores

    course, _, result, _ = graded
    scores = collect_part_scores(course.db_url, [s.student for s in result.grades.students])
    with (course.root / "reports" / "item_analysis.csv").open(encoding="utf-8") as fh:
        rows = {r["grade_id"]: r for r in csv.DictReader(fh)}
    assert set(rows) == {p.grade_id for p in scores.parts}
    matrix = scores.matrix()
    for j, part in enumerate(scores.parts):
        column = matrix[:, j]
        graded_rows = ~np.isnan(column)
        assert int(rows[part.grade_id]["n_graded"]) == int(graded_rows.sum())
        waiting = sum(row.get(part.grade_id, 0) is None for row in scores.scores.values())
        assert int(rows[part.grade_id]["n_pending"]) == (waiting if part.manual else 0)
        if part.manual and waiting:  # a hand-graded part awaiting its TA is not analysed
            assert rows[part.grade_id]["mean_score"] == rows[part.grade_id]["difficulty"] == ""
        elif graded_rows.any():
            mean = column[graded_rows].mean()
            assert float(rows[part.grade_id]["mean_score"]) == pytest.approx(mean, abs=1e-3)


def test_canvas_export_from_a_roster_lists_who_is_missing(graded, tmp_path, capsys) -> None:
    """Runs last: it redraws reports/ from the gradebook with a Canvas roster."""
    from cs230_grading.cli import main

    course, _, result, _ = graded
    totals = {s.student: max(s.total - s.late_penalty, 0.0) for s in result.grades.students}
    roster = tmp_path / "canvas_export.csv"
    roster.write_text(
        "Student,ID,SIS User ID,SIS Login ID,Section\n"
        "    Points Possible,,,,\n"
        "Full,1,101,sample-full,A\nBlank,2,102,SAMPLE-BLANK,A\nGhost,3,103,ghost,B\n",
        encoding="utf-8")
    assert main(["--course", str(course.root), "report", "--canvas-roster", str(roster)]) == 0
    said = capsys.readouterr().out
    with (course.root / "reports" / "canvas.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    by_login = {r["SIS Login ID"]: r["CS230 Midterm"] for r in rows[1:]}
    assert float(by_login["sample-full"]) == pytest.approx(totals["sample-full"])
    assert float(by_login["SAMPLE-BLANK"]) == pytest.approx(totals["sample-blank"])
    assert by_login["ghost"] == ""
    assert "ghost" in said and "sample-partial" in said  # each side's missing, listed
    report = (course.root / "reports" / "report.html").read_text(encoding="utf-8")
    assert "sample-partial" in report and "not on the Canvas roster" in report
    assert main(["--course", str(course.root), "report", "--canvas-roster",
                 str(tmp_path / "nope.csv")]) == 2
    assert "no such file" in capsys.readouterr().err
