"""``cs230-selfgrade``: a learner's notebooks graded locally with the hidden tests.

The model and blank submissions of every notebook in ``source/midterm`` are graded
through the command (real nbgrader, one run each); the printed per-part scores must
equal the scores derived from the source metadata, and the feedback HTML must not
show a single line of the hidden tests. Bad arguments fail fast with a clear message.
"""

from __future__ import annotations

import html
import re
import subprocess
from pathlib import Path

import pytest

from cs230_grading import selfgrade
from cs230_grading.course import NOTEBOOKS, REPO_ROOT, Course
from cs230_grading.errata import notes_for
from cs230_grading.notebooks import read_notebook, write_notebook
from cs230_grading.reference.multiple_choice import KEY
from cs230_grading.variants import Variant, blank, model

SOURCE = REPO_ROOT / "source" / "midterm"
EXISTING = [nb for nb in NOTEBOOKS if (SOURCE / f"{nb}.ipynb").exists()]
PART_LINE = re.compile(r"^  (\S+)\s+(\S+) / (\S+)\s+(.*)$")


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Course:
    course = Course.scratch(tmp_path_factory.mktemp("release"))
    course.generate_assignment()
    return course


def _write(variants: list[Variant], course: Course, folder: Path) -> Path:
    for v in variants:
        write_notebook(v.build(course.source_dir, course.release_dir),
                       folder / f"{v.notebook}.ipynb")
    return folder


def _printed_parts(out: str) -> dict[str, tuple[float | None, float, str]]:
    parts = {}
    for line in out.splitlines():
        m = PART_LINE.match(line)
        if m:
            gid, score, most, status = m.groups()
            parts[gid] = (None if score == "-" else float(score), float(most), status)
    return parts


def _hidden_lines(notebook: str) -> set[str]:
    """Lines between BEGIN/END HIDDEN TESTS in the source (read independently here)."""
    lines: set[str] = set()
    for cell in read_notebook(SOURCE / f"{notebook}.ipynb").cells:
        for block in re.findall(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS",
                                cell.source, flags=re.S):
            lines |= {ln.strip() for ln in block.splitlines() if ln.strip()}
    return lines


def _page_text(path: Path) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("kind", ["model", "blank"])
def test_selfgrade_prints_derived_scores_and_safe_feedback(
    kind: str, released: Course, tmp_path: Path, venv_bin: Path, newcomer_env: dict[str, str]
) -> None:
    if not EXISTING:
        pytest.fail("no notebooks in source/midterm")
    variants = [(model if kind == "model" else blank)(nb) for nb in EXISTING]
    folder = _write(variants, released, tmp_path / "mine")
    out_dir = tmp_path / "feedback"

    # as a learner runs it: .venv/bin/cs230-selfgrade, nothing activated
    proc = subprocess.run([str(venv_bin / "cs230-selfgrade"), str(folder), "--out",
                           str(out_dir)], env=newcomer_env, capture_output=True, text=True,
                          timeout=900, check=False)

    out = proc.stdout
    assert proc.returncode == 0, out + proc.stderr
    printed = _printed_parts(out)
    for v in variants:
        for gid, expected in v.expected_scores(SOURCE).items():
            assert gid in printed, f"{gid} missing from the output:\n{out}"
            score, _, status_text = printed[gid]
            assert score == expected, f"{gid}: printed {score}, derived {expected}"
            if expected == 0 and printed[gid][1] > 0 and v.base == "blank":
                assert status_text.startswith(("failed", "not answered")), status_text
    if "q0_honour_test" in printed:  # a 0-point check still says whether it passed
        honour = printed["q0_honour_test"][2]
        assert honour.startswith("passed" if kind == "model" else "not answered"), honour
    if kind == "blank":
        assert "Traceback" not in out
        # submitted as released: one line says so, and no errata (nothing was attempted)
        assert "Not attempted (every answer as released): " in out
        assert not [n.title for nb in EXISTING for n in notes_for(nb) if n.title in out]
    # the output ends with the scores: per notebook and part, then the total, derived here
    scores = out.index("\nScores\n")
    assert all(out.index(f"\n{nb}: ", scores) > scores for nb in EXISTING)
    expected = {gid: (score, printed[gid][1]) for v in variants
                for gid, score in v.expected_scores(SOURCE).items()}
    got = sum(score for score, _ in expected.values() if score is not None)
    most = sum(points for score, points in expected.values() if score is not None)
    tail = " ".join(out[scores:].split())
    assert f"Total: {got:g} / {most:g} points" in tail, tail
    waiting = sum(points for score, points in expected.values() if score is None)
    if waiting:
        assert f"Not in the total: {waiting:g} points of written answers, which a person grades"\
            in tail, tail
    assert tail.endswith("The exam is out of 100 points, plus 5 of extra credit."), tail
    for nb in EXISTING:
        page = out_dir / f"{nb}.html"
        assert page.exists(), f"no feedback page for {nb}"
        text = _page_text(page)
        leaked = [ln for ln in _hidden_lines(nb) if ln in text]
        assert not leaked, f"{nb} feedback shows hidden test lines: {leaked[:3]}"
        assert nb.split("_")[0] in text.lower()
        if kind == "model":  # after answering, the notes (errata, "either way") are shown
            for note in notes_for(nb):
                assert note.title in text, f"{nb} feedback lacks the note {note.title!r}"
                assert note.title in out, f"the output lacks {nb}'s note {note.title!r}"
                assert out.index(note.title) < scores, "the notes come before the scores"


def test_errata_prints_every_note_as_plain_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert selfgrade.main(["--errata"]) == 0
    out = capsys.readouterr().out
    notes = [n for nb in NOTEBOOKS for n in notes_for(nb)]
    assert notes and all(n.title in out for n in notes)
    assert "$" not in out and "\\" not in out, "TeX source in the errata"
    assert "sign(w*) max(|w*| - α/H, 0)" in " ".join(out.split())  # E2, in Unicode
    assert max(len(line) for line in out.splitlines()) <= 80
    assert selfgrade.main(["--errata", "q4"]) == 0
    only = capsys.readouterr().out
    assert "q4_l1_regularization" in only and "q3_conv_architectures" not in only


@pytest.mark.parametrize(
    ("make", "phrase"),
    [
        (lambda d: d / "missing.ipynb", "no such file"),
        (lambda d: _touch(d / "notes.txt", "hello"), "not a notebook"),
        (lambda d: _touch(d / "q3_conv_architectures.ipynb", "{not json"), "not notebook JSON"),
        (lambda d: _touch(d / "homework.ipynb", "{}"), "not an exam notebook name"),
        (lambda d: d, "no exam notebooks in this folder"),
    ],
)
def test_bad_arguments_fail_clearly(make, phrase: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    target = make(tmp_path)
    assert selfgrade.main([str(target), "--out", str(tmp_path / "fb")]) == 2
    err = capsys.readouterr().err
    assert phrase in err, err
    assert not (tmp_path / "fb").exists()


def test_unknown_solution_name_fails_clearly(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path) -> None:
    assert selfgrade.main(["--solutions", str(tmp_path), "q9"]) == 2
    assert "unknown notebook 'q9'" in capsys.readouterr().err


def test_solutions_hold_model_answers_and_no_hidden_tests(tmp_path: Path) -> None:
    with_hidden = [nb for nb in EXISTING if _hidden_lines(nb)]
    nb = with_hidden[0] if with_hidden else pytest.fail("no notebook with hidden tests")
    assert selfgrade.main(["--solutions", str(tmp_path), nb.split("_")[0]]) == 0
    written = read_notebook(tmp_path / f"{nb}.ipynb")
    text = "\n".join(c.source for c in written.cells)
    assert "HIDDEN TESTS" not in text
    assert not [ln for ln in _hidden_lines(nb) if ln in text.splitlines()]
    assert "YOUR ANSWER HERE" not in text and "YOUR CODE HERE" not in text
    assert (tmp_path / "selfcheck.py").exists()
    for note in notes_for(nb):  # the errata of the printed key follow the model answers
        assert note.title in text and note.text in text, note.title


def test_solutions_end_with_q1_either_way_notes(tmp_path: Path) -> None:
    assert selfgrade.main(["--solutions", str(tmp_path), "q1"]) == 0
    last = read_notebook(tmp_path / "q1_multiple_choice.ipynb").cells[-1].source
    either = [f"({q})({o})" for q, key in KEY.items() for o in sorted(key.either)]
    assert either and all(f"**{label} accepted either way**" in last for label in either)


def _touch(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_an_optional_part_left_as_released_reads_not_attempted() -> None:
    """The Q6 extra credit untouched scores 0 and says "not attempted", never "failed", and
    the learner is not told to fix it; a wrong attempt at it still reads "failed"."""
    import nbformat

    from cs230_grading.course import CellGrade, cell_output_text
    from cs230_grading.grading.score import CheckOutcome, verdict_outputs
    from cs230_grading.selfgrade_report import fix_lines, status

    def grade(message: str) -> CellGrade:
        outcome = CheckOutcome("q6_numpy_attention", "q6_vectorized_test", 0.0, 5.0, message)
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = verdict_outputs(outcome)
        return CellGrade(outcome.notebook, outcome.grade_id, 0.0, 5.0, False, True,
                         cell_output_text(cell))

    left = grade("not attempted (extra credit, optional): attention_vectorized is left as "
                 "released.")
    wrong = grade("attention_vectorized(image, k, v) differs from the loop version.")
    assert status(left) == "not attempted"
    assert status(wrong) == "failed"
    lines = fix_lines([left, wrong], {}, ["q6_numpy_attention"])
    assert sum("q6_vectorized_test" in ln for ln in lines) == 1  # only the wrong attempt
