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

from cs230_grading import cover
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
    exec(setup.split("def check_honour_code")[0].replace(  # noqa: S102 - our own cell
        "from selfcheck import collect, report", ""), namespace)
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
def test_the_notebook_check_and_the_pipeline_check_agree(kind: str, tmp_path: Path) -> None:
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
    assert "bob" not in attention
