"""The cover notebook (``q0_cover``): instructions, 0 points, and the honour code check.

The notebook's own check runs in a kernel (nbclient, no nbgrader); the pipeline's static
check (:mod:`cs230_grading.cover`) is run on the model, blank and mistaken covers built by
the variants, and its findings are warnings that the report lists as notes.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbclient
import pytest

from cs230_grading import cover, exam_text
from cs230_grading.course import EXAM_POINTS, EXTRA_CREDIT, NOTEBOOK_POINTS, NOTEBOOKS, REPO_ROOT
from cs230_grading.intake import Finding
from cs230_grading.notebooks import grade_cells, nbgrader_meta, read_notebook, write_notebook
from cs230_grading.variants import blank, model, variants_for

SOURCE = REPO_ROOT / "source" / "midterm"
RELEASE = REPO_ROOT / "release" / "midterm"
NOTEBOOK = SOURCE / f"{cover.COVER}.ipynb"


def _text(nb) -> str:
    return " ".join(" ".join(c.source for c in nb.cells).split())


def test_cover_is_registered_and_worth_nothing() -> None:
    assert NOTEBOOKS[0] == cover.COVER and NOTEBOOK_POINTS[cover.COVER] == 0
    cells = grade_cells(read_notebook(NOTEBOOK))
    graded = {g: nbgrader_meta(c) for g, c in cells.items() if nbgrader_meta(c).get("grade")}
    assert set(graded) == {cover.TEST_ID} and graded[cover.TEST_ID]["points"] == 0
    assert nbgrader_meta(cells[cover.ANSWER_ID])["solution"]
    assert sum(NOTEBOOK_POINTS.values()) == EXAM_POINTS + EXTRA_CREDIT


def test_cover_states_what_an_exam_needs() -> None:
    text = _text(read_notebook(RELEASE / f"{cover.COVER}.ipynb"))
    assert "Time allowed: 180 minutes" in text
    assert "Validate" in text and "Submit" in text
    assert cover.HONOUR_CODE in text
    for name in NOTEBOOKS[1:]:  # every question notebook, with its points
        assert f"`{name}.ipynb`" in text, name
    for name, points in NOTEBOOK_POINTS.items():
        if points and name != "q6_numpy_attention":
            assert re.search(rf"`{name}\.ipynb` \|[^|]*\| {points:g} \|", text), name
    assert "by the course staff" in text and "automatically" in text


def test_statement_in_the_notebook_is_the_pipelines() -> None:
    nb = read_notebook(NOTEBOOK)
    setup = grade_cells(nb)["q0_setup"].source
    namespace: dict = {}
    head = setup.split("def check_honour_code")[0]
    head = "\n".join(ln for ln in head.splitlines() if not ln.startswith("from selfcheck"))
    exec(head, namespace)  # noqa: S102 - our own cell
    assert cover.normalise(namespace["HONOUR_CODE"]) == cover.normalise(cover.HONOUR_CODE)


def _run(nb, folder: Path):
    for name in ("selfcheck.py",):
        (folder / name).write_text((SOURCE / name).read_text())
    client = nbclient.NotebookClient(nb, timeout=60, allow_errors=True,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    out = grade_cells(nb)[cover.TEST_ID].get("outputs", [])
    text = "".join(o.get("text", "") for o in out)
    errors = [o for o in out if o["output_type"] == "error"]
    return text, errors


@pytest.mark.parametrize("kind", ["model", "blank", "not_affirmed"])
def test_the_notebook_check_and_the_pipeline_check_agree(kind: str, tmp_path: Path,
                                                          monkeypatch) -> None:
    """As Validate runs it (NBGRADER_EXECUTION set: an answer not written yet fails; while a
    student works it is a neutral line, so Run All goes on)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
    variant = {"model": model(cover.COVER), "blank": blank(cover.COVER)}.get(kind)
    variant = variant or next(v for v in variants_for(cover.COVER) if v.name == kind)
    nb = variant.build()
    path = tmp_path / "alice" / "midterm" / f"{cover.COVER}.ipynb"
    write_notebook(nb, path)
    problem = cover.honour_code_problem(path)
    text, errors = _run(nb, tmp_path)
    if kind == "model":
        assert problem is None and not errors and "affirmed the honour code" in text
    else:
        assert problem and "not affirmed" in problem
        assert errors, f"the notebook's check passed a {kind} cover: {text}"


def test_findings_are_warnings_for_missing_and_unaffirmed(tmp_path: Path) -> None:
    affirmed = model(cover.COVER).build()
    write_notebook(affirmed, tmp_path / "ok" / "midterm" / f"{cover.COVER}.ipynb")
    (tmp_path / "none" / "midterm").mkdir(parents=True)
    lazy = blank(cover.COVER).build()
    write_notebook(lazy, tmp_path / "lazy" / "midterm" / f"{cover.COVER}.ipynb")
    spaced = model(cover.COVER).build()
    cell = grade_cells(spaced)[cover.ANSWER_ID]
    cell.source = f"honour_code = {cover.HONOUR_CODE.upper().replace(' ', '  ')!r}"
    write_notebook(spaced, tmp_path / "spaced" / "midterm" / f"{cover.COVER}.ipynb")

    found = cover.honour_code_findings(tmp_path, ["ok", "none", "lazy", "spaced"])

    assert {f.student for f in found} == {"none", "lazy"}
    assert all(f.severity == "warning" and f.notebook == cover.COVER for f in found)
    assert "no cover notebook" in next(f.message for f in found if f.student == "none")


def test_report_lists_the_warning_as_a_note(tmp_path: Path) -> None:
    from cs230_grading.report import write_report
    from cs230_grading.results import ClassGrades

    finding = Finding("bob", "`honour_code` is not set to the statement: the honour code is "
                      "not affirmed", cover.COVER, "warning")
    page = write_report(ClassGrades([]), [finding], tmp_path).read_text()
    notes = page.split("<h2>Notes</h2>")[1].split("<h2>")[0]
    assert "bob/q0_cover" in notes and "not affirmed" in notes
    attention = page.split("<h2>Needs attention</h2>")[1].split("<h2>")[0]
    assert "Honour code not affirmed: 1 student (bob)" in attention  # counted, not repeated
    assert "not set to the statement" not in attention


# --- the cover's generated table (cs230_grading/exam_text.py) ------------------------------------
def _manual_points(notebook: str) -> float:
    nb = read_notebook(SOURCE / f"{notebook}.ipynb")
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells
               if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("solution"))


def test_the_released_cover_states_the_question_table() -> None:
    """Read against questions.py and the notebooks' metadata directly, not through the
    generator: every question with its points, the totals, and the points read by a person."""
    from cs230_grading.questions import QUESTIONS

    assert not exam_text.write_cover(REPO_ROOT, check=True), (
        "source/midterm/q0_cover.ipynb: the cover's table disagrees with "
        "cs230_grading/questions.py: run `cs230-grade tables`")
    text = grade_cells(read_notebook(RELEASE / f"{cover.COVER}.ipynb"))["q0_intro"].source
    rows = re.findall(r"^\| `(q\d+_\w+)\.ipynb` \| (\d+)\. [^|]+ \| ([^|]+) \| ([^|]+) \|$",
                      text, re.M)
    assert [r[0] for r in rows] == list(NOTEBOOKS[1:])
    for (name, number, points, graded), row in zip(rows, QUESTIONS[1:], strict=True):
        assert int(number) == int(row.key[1:]), name
        manual, total = _manual_points(name), row.points
        if not manual:
            assert graded.strip() == "automatically", name
        elif manual == total:
            assert graded.strip() == "by the course staff", name
        else:
            word = "point" if manual == 1 else "points"
            assert f"({manual:g} {word}) by the course staff" in graded, name
        regular = row.points - row.extra_credit
        stated = f"{regular:g} + {row.extra_credit:g} extra credit" if row.extra_credit \
            else f"{row.points:g}"
        assert points.strip() == stated, name
    flat = " ".join(text.split())
    assert f"out of **{EXAM_POINTS:g} points**" in flat
    assert f"**{EXTRA_CREDIT:g} points of extra credit**" in flat
    manual = sum(_manual_points(n) for n in NOTEBOOKS)
    word = "point" if manual == 1 else "points"
    assert f"{manual:g} {word} in all) are read by a person" in flat


def test_the_release_step_writes_the_table_of_the_question_table(tmp_path: Path) -> None:
    """``Course.generate_assignment`` rewrites the cover from the course's own question table
    before nbgrader converts it, and a cover that the table has made stale makes the release
    not current."""
    from cs230_grading.course import Course
    from cs230_grading.release_state import release_is_current

    course = Course.scratch(tmp_path / "course")
    table = course.root / "cs230_grading" / "questions.py"
    table.parent.mkdir()
    text = (REPO_ROOT / "cs230_grading" / "questions.py").read_text()
    stated = f"EXAM_POINTS = {EXAM_POINTS:g}\n"
    assert stated in text
    table.write_text(text.replace(stated, f"EXAM_POINTS = {EXAM_POINTS + 6:g}\n"))
    course.generate_assignment()
    for folder in (course.source_dir, course.release_dir):
        intro = grade_cells(read_notebook(folder / f"{cover.COVER}.ipynb"))["q0_intro"].source
        assert f"out of **{EXAM_POINTS + 6:g} points**" in intro, folder
    assert release_is_current(course)
    table.write_text(text)
    assert not release_is_current(course)


def test_a_cover_without_its_markers_gets_one_clear_line(tmp_path: Path, capsys) -> None:
    (tmp_path / "source" / "midterm").mkdir(parents=True)
    nb = read_notebook(NOTEBOOK)
    cell = grade_cells(nb)["q0_intro"]
    cell.source = cell.source.replace(exam_text.END.format(name="cover"), "")
    write_notebook(nb, tmp_path / "source" / "midterm" / f"{cover.COVER}.ipynb")
    for name in NOTEBOOKS[1:]:
        (tmp_path / "source" / "midterm" / f"{name}.ipynb").write_bytes(
            (SOURCE / f"{name}.ipynb").read_bytes())
    assert exam_text.run(tmp_path, check=False) == 2
    out = capsys.readouterr().out
    assert len(out.strip().splitlines()) == 1 and "put the markers back" in out, out
