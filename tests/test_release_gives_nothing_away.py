"""The release states the questions and nothing about grading or the printed key (issue 17).

What a student must not read before answering is collected from where it is kept:

* the solution regions of the source notebooks (``### BEGIN/END SOLUTION``) and the
  manually graded answer cells (model answers and their rubrics);
* the after-answering notes, :data:`cs230_grading.errata.NOTES` (errata of the printed key,
  the reasons why Q1 options are accepted either way);
* the comments of the answer key's Q1 table, ``cs230_grading.reference.multiple_choice``.

It is cut into sentences, whitespace and markdown emphasis normalised; no sentence of at
least :data:`MIN_WORDS` words may appear in any file under ``release/``. Shorter fragments
("(iii) true") are too common to mean anything. A second check bans words that only an
answer key or a note about it uses (see :data:`BANNED`).

The complementary checks, that the feedback, the self-grade output and the model solutions
*do* show the notes, are in ``tests/test_selfgrade.py`` and below.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest

from cs230_grading import errata
from cs230_grading.course import NOTEBOOKS, REPO_ROOT
from cs230_grading.feedback import AppendNotes, notes_lines, notes_markdown
from cs230_grading.notebooks import nbgrader_meta, read_notebook
from cs230_grading.reference import multiple_choice

SOURCE = REPO_ROOT / "source" / "midterm"
RELEASE = REPO_ROOT / "release" / "midterm"
MIN_WORDS = 6
SOLUTION_REGION = re.compile(r"BEGIN SOLUTION(.*?)END SOLUTION", re.S)

#: Words and phrases the release must not contain, and why each is on the list:
#: ``printed``: the paper exam's printed key or solutions (the release says "shown" for output);
#: ``errata``/``erratum``: notes about the printed key; ``either way``/``debatable``: which Q1
#: options cannot cost points; ``rubric``/``mark scheme``/``model answer``: how answers are
#: judged; ``answer key``: the key itself; ``paper exam``: the original the notes compare with;
#: ``E1``..``E9``: the errata ids of the answer-key notes.
BANNED: dict[str, re.Pattern[str]] = {
    "printed": re.compile(r"\bprinted\b", re.I),
    "errata": re.compile(r"\berrat(?:a|um)\b", re.I),
    "either way": re.compile(r"\beither\s+way\b", re.I),
    "debatable": re.compile(r"\bdebatable\b", re.I),
    "rubric": re.compile(r"\brubrics?\b", re.I),
    "mark scheme": re.compile(r"\bmark\s+scheme\b", re.I),
    "model answer": re.compile(r"\bmodel\s+answers?\b", re.I),
    "answer key": re.compile(r"\banswer[\s-]+key\b", re.I),
    "paper exam": re.compile(r"\bpaper\s+exam\b", re.I),
    "errata id": re.compile(r"\bE[1-9]\b"),
}


def normalise(text: str) -> str:
    """Lower case, markdown emphasis and code marks removed, whitespace collapsed."""
    text = re.sub(r"[*_`#>]", " ", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def sentences(text: str) -> set[str]:
    """The normalised sentences and list items of ``text`` with at least MIN_WORDS words."""
    pieces = re.split(r"(?<=[.!?;:])\s+|\n\s*[-*]\s+|\n\s*\n|\n\s*#+", text)
    out = set()
    for piece in pieces:
        norm = normalise(piece).rstrip(".;: ")
        if len(norm.split()) >= MIN_WORDS:
            out.add(norm)
    return out


def _comment_text(path: Path) -> str:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return "\n".join(tok.string.lstrip("# ") for tok in tokens if tok.type == tokenize.COMMENT)


def _shown_in_source(nb) -> str:
    """What the source notebook itself shows students: cells outside solution regions."""
    shown = [SOLUTION_REGION.sub(" ", c.source) for c in nb.cells
             if not (nbgrader_meta(c).get("solution") and c.cell_type == "markdown")]
    return normalise("\n\n".join(shown))


def withheld_texts() -> dict[str, str]:
    """``{where: text}`` for everything the release must not show.

    A solution-region sentence that the notebook also states outside its solutions (the
    honour code statement, which the cover's answer is a copy of) is not withheld. The notes
    and the key's comments always are.
    """
    texts: dict[str, str] = {}
    for name in NOTEBOOKS:
        nb = read_notebook(SOURCE / f"{name}.ipynb")
        shown = _shown_in_source(nb)
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            gid = meta.get("grade_id", "?")
            if meta.get("solution") and cell.cell_type == "markdown":
                texts[f"{name}/{gid}"] = cell.source
            for i, region in enumerate(SOLUTION_REGION.findall(cell.source)):
                kept = [s for s in sentences(region) if s not in shown]
                texts[f"{name}/{gid}/solution{i}"] = "\n\n".join(kept)
    for name, notes in errata.NOTES.items():
        for note in notes:
            texts[f"errata/{name}/{note.title}"] = note.text
    texts["reference/multiple_choice comments"] = _comment_text(Path(multiple_choice.__file__))
    return texts


def release_texts() -> dict[str, str]:
    """Every file under ``release/``: notebooks as their cells' sources, others as text."""
    texts: dict[str, str] = {}
    for path in sorted(RELEASE.rglob("*")):
        if not path.is_file():
            continue
        if path.suffix == ".ipynb":
            texts[path.name] = "\n\n".join(c.source for c in read_notebook(path).cells)
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def leaks(withheld: dict[str, str], released: dict[str, str]) -> list[tuple[str, str, str]]:
    """``(file, where, sentence)`` for every withheld sentence found in a released file."""
    found = []
    normalised = {name: normalise(text) for name, text in released.items()}
    for where, text in withheld.items():
        for sentence in sentences(text):
            found += [(name, where, sentence) for name, body in normalised.items()
                      if sentence in body]
    return found


def test_the_scan_has_material_and_finds_a_planted_leak() -> None:
    withheld = withheld_texts()
    all_sentences = set().union(*(sentences(t) for t in withheld.values()))
    assert len(all_sentences) > 100, len(all_sentences)
    note = errata.NOTES["q3_conv_architectures"][0]
    assert sentences(note.text) <= all_sentences
    planted = {"q3_conv_architectures.ipynb": "Intro.\n\n" + note.text.upper()}
    assert leaks(withheld, planted), "the scan missed an erratum pasted into the release"


def test_release_contains_no_withheld_sentence() -> None:
    found = leaks(withheld_texts(), release_texts())
    assert not found, "release/ shows text meant for after answering:\n" + "\n".join(
        f"  {file}: {sentence!r} (from {where})" for file, where, sentence in found[:10])


@pytest.mark.parametrize("word", sorted(BANNED))
def test_release_never_mentions(word: str) -> None:
    pattern = BANNED[word]
    hits = [(name, m.group(0), text[max(0, m.start() - 60):m.end() + 60].replace("\n", " "))
            for name, text in release_texts().items() for m in pattern.finditer(text)]
    assert not hits, f"release/ mentions {word!r}: {hits[:5]}"


def test_banned_words_catch_what_the_old_release_said() -> None:
    # Lines of the errata sections and Q1 notes the release used to show.
    old = ["## Errata: where this notebook departs from the printed solutions",
           "  *Accepted either way.* Residual connections were introduced",
           "The printed key gives the activation volume of part i as",
           "* **E9, the output size.**"]
    for line in old:
        assert any(p.search(line) for p in BANNED.values()), line


# -- the notes are data, agree with the key, and are shown after answering ----------------

def test_q1_either_way_notes_match_the_key() -> None:
    titles = {note.title for note in errata.NOTES["q1_multiple_choice"]}
    expected = {f"({q})({o}) accepted either way"
                for q, key in multiple_choice.KEY.items() for o in key.either}
    assert expected and expected <= titles
    listed = [t for t in titles if t.endswith("accepted either way")]
    assert sorted(listed) == sorted(expected), "a note for an option the key counts"
    summary = errata.NOTES["q1_multiple_choice"][0].text
    assert all(label.split(" ")[0] in summary for label in expected)


def test_notes_name_graded_cells_of_their_notebook() -> None:
    assert set(errata.NOTES) <= set(NOTEBOOKS)
    for name, notes in errata.NOTES.items():
        ids = {nbgrader_meta(c).get("grade_id")
               for c in read_notebook(SOURCE / f"{name}.ipynb").cells
               if nbgrader_meta(c).get("grade")}
        for note in notes:
            assert note.grade_id == "" or note.grade_id in ids, (name, note.grade_id)


def test_every_erratum_of_the_answer_key_notes_is_kept() -> None:
    text = " ".join(n.title for notes in errata.NOTES.values() for n in notes)
    assert sorted(set(re.findall(r"\bE[1-9]\b", text))) == [f"E{i}" for i in range(1, 10)]


def test_feedback_preprocessor_appends_the_notebook_notes() -> None:
    nb = read_notebook(RELEASE / "q5_gan_backprop.ipynb")
    before = len(nb.cells)
    nb, _ = AppendNotes().preprocess(nb, {"unique_key": "q5_gan_backprop"})
    assert len(nb.cells) == before + 1
    assert nb.cells[-1].source == notes_markdown("q5_gan_backprop")
    for note in errata.NOTES["q5_gan_backprop"]:
        assert note.text in nb.cells[-1].source
    nb, _ = AppendNotes().preprocess(nb, {"unique_key": "q5_gan_backprop"})
    assert len(nb.cells) == before + 1, "appended twice"
    assert notes_lines("q5_gan_backprop")[0].startswith("q5_gan_backprop")
