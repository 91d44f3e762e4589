"""Similarity of students' answers, for the instructor to judge (never a score change).

For every notebook and every pair of students, the answers (code cells and written answers)
are compared with `copydetect <https://github.com/blingenf/copydetect>`_, which implements
MOSS-style winnowing: code is tokenised with Pygments and identifiers, comments and layout
are normalised away before hashing k-grams, so renamed variables, changed comments and
reordered functions do not hide a copy. The release's own stub code is boilerplate: its
fingerprints are discarded, so every student sharing ``def f(x): raise NotImplementedError``
is not a match. So is the model answer's (from ``source/`` beside the release, instructor
side): every student who wrote the key's own code or words shares it with every other, which
says nothing about a pair (the demo class is made of model answers and named mistakes).
And, as MOSS's ``-m`` option does, a passage found in the answers of more than
:func:`common_limit` students of a notebook is discounted: what many share is a common
answer (the same well-known mistake, say), not a copy between two of them.

A pair's score is the mean of the two students' matched fractions (0 to 1), over the code
and the written answers of the notebook together. ``reports/similarity.csv`` lists every
pair with a score above zero; the report shows the top pairs with the matching cells side by
side. The cover and Q1 are not compared: their answers are an affirmation every student
copies and multiple-choice sets that every right answer shares, which say nothing.

Cost: every pair is compared, which is fine for a course (a few hundred students in
seconds); a very large class would need an inverted index of fingerprints first.
"""

from __future__ import annotations

import csv
import dataclasses
import html
import io
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import highlight_overlap

from .course import ASSIGNMENT, NOTEBOOKS
from .notebooks import NotebookError, nbgrader_meta, read_notebook

#: Notebooks whose answers carry no evidence of copying (see the module docstring).
SKIPPED: frozenset[str] = frozenset({"q0_cover", "q1_multiple_choice"})
#: copydetect's defaults: noise threshold 25 characters of filtered code, guarantee 30.
K = 25
WINDOW = 6
#: Pairs shown in the report, with their matching cells side by side.
TOP = 10
#: a passage in more than this share of a notebook's answers (and more than 3) is common
COMMON_SHARE = 0.05
COMMON_AT_LEAST = 3
CSV_COLUMNS = ("student_a", "student_b", "notebook", "score", "cells")


@dataclasses.dataclass(frozen=True)
class Document:
    """The answers of one student in one notebook, of one kind (code or prose), concatenated."""

    text: str
    spans: tuple[tuple[str, int, int], ...]  # (grade id, start, end) of each answer cell

    def cells_in(self, slices: np.ndarray) -> set[str]:
        """Grade ids of the cells that a copied slice touches."""
        touched = set()
        for start, end in zip(*slices, strict=True) if slices.size else ():
            touched |= {gid for gid, a, b in self.spans if start < b and end > a}
        return touched

    def cell_html(self, grade_id: str, slices: np.ndarray) -> str:
        """One cell's text, HTML-escaped, with the copied parts in ``<mark>``."""
        _, a, b = next(span for span in self.spans if span[0] == grade_id)
        text = self.text[a:b]
        local = [(max(s, a) - a, min(e, b) - a)
                 for s, e in (zip(*slices, strict=True) if slices.size else ()) if s < b and e > a]
        if not local:
            return html.escape(text)
        marked, _ = highlight_overlap(text, np.array(local).T, "<mark>", "</mark>",
                                      escape_html=True)
        return marked


@dataclasses.dataclass(frozen=True)
class Pair:
    """Two students' answers to one notebook, how alike they are, and where."""

    student_a: str
    student_b: str
    notebook: str
    score: float
    cells: tuple[str, ...]
    #: (grade id, student a's cell as HTML, student b's cell as HTML), copied parts marked
    views: tuple[tuple[str, str, str], ...] = ()


def _normalise_prose(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def answer_sources(nb) -> dict[str, str]:
    """``{grade id: source}`` of the notebook's answer cells."""
    return {nbgrader_meta(c).get("grade_id", "?"): c.source for c in nb.cells
            if nbgrader_meta(c).get("solution")}


def documents(nb, released: Mapping[str, str] | None = None) -> dict[str, Document]:
    """``{"code": ..., "prose": ...}``: the notebook's answer cells, by kind.

    A cell left as released (``released[grade id]``) is not an answer and is left out.
    """
    released = released or {}
    parts: dict[str, list[tuple[str, str]]] = {"code": [], "prose": []}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("solution"):
            continue
        if cell.source.strip() == released.get(meta.get("grade_id", "?"), "\0").strip():
            continue
        if cell.cell_type == "code":
            parts["code"].append((meta.get("grade_id", "?"), cell.source))
        else:
            parts["prose"].append((meta.get("grade_id", "?"), _normalise_prose(cell.source)))
    out = {}
    for kind, cells in parts.items():
        text, spans = "", []
        for gid, source in cells:
            start = len(text)
            text += source
            spans.append((gid, start, len(text)))
            text += "\n\n"
        out[kind] = Document(text, tuple(spans))
    return out


def fingerprint(doc: Document, kind: str, boilerplate: Iterable[int] = (),
                window: int = WINDOW) -> CodeFingerprint:
    """copydetect's fingerprint: tokenised Python for code, raw text for written answers."""
    return CodeFingerprint(f"answers.{'py' if kind == 'code' else 'txt'}", K, window,
                           boilerplate=list(boilerplate), filter=kind == "code",
                           language="python" if kind == "code" else None,
                           fp=io.StringIO(doc.text))


def boilerplate(release_nb) -> dict[str, set[int]]:
    """Every k-gram hash of the release's own answer cells (stubs), per kind.

    Window 1 keeps all of them (as copydetect does for boilerplate), not only the winnowed
    ones, so no stub k-gram can be picked as a student's fingerprint.
    """
    return {kind: set(fingerprint(doc, kind, window=1).hashes)
            for kind, doc in documents(release_nb).items()}


def compare(notebook: str, a: str, b: str, docs_a: Mapping[str, Document],
            docs_b: Mapping[str, Document], prints_a: Mapping[str, CodeFingerprint],
            prints_b: Mapping[str, CodeFingerprint], *, views: bool = False) -> Pair:
    """One pair in one notebook: copydetect on the code and on the written answers.

    ``views=True`` also renders the matching cells side by side (for the report's top pairs).
    """
    over_a = over_b = cover_a = cover_b = 0.0
    cells: set[str] = set()
    shown = []
    for kind in ("code", "prose"):
        fa, fb = prints_a[kind], prints_b[kind]
        cover_a += fa.token_coverage
        cover_b += fb.token_coverage
        if fa.hashes.isdisjoint(fb.hashes):  # nothing shared: skip copydetect's alignment
            continue
        _, (sim_a, sim_b), (slices_a, slices_b) = compare_files(fa, fb)
        over_a += sim_a * fa.token_coverage
        over_b += sim_b * fb.token_coverage
        shared = docs_a[kind].cells_in(slices_a) | docs_b[kind].cells_in(slices_b)
        cells |= shared
        for gid in sorted(shared) if views else ():
            if any(s[0] == gid for s in docs_a[kind].spans) and any(
                    s[0] == gid for s in docs_b[kind].spans):
                shown.append((gid, docs_a[kind].cell_html(gid, slices_a),
                              docs_b[kind].cell_html(gid, slices_b)))
    frac_a = over_a / cover_a if cover_a else 0.0
    frac_b = over_b / cover_b if cover_b else 0.0
    score = float(min(1.0, (frac_a + frac_b) / 2))
    return Pair(a, b, notebook, score, tuple(sorted(cells)), tuple(shown))


def common_limit(students: int) -> int:
    """How many students' answers may share a passage before it counts as common."""
    return max(COMMON_AT_LEAST, math.ceil(COMMON_SHARE * students))


def common_hashes(docs: Mapping[str, Mapping[str, Document]], limit: int
                  ) -> dict[str, set[int]]:
    """Per kind, every k-gram hash found in the answers of more than ``limit`` students."""
    counts: dict[str, Counter[int]] = {"code": Counter(), "prose": Counter()}
    for by_kind in docs.values():
        for kind, doc in by_kind.items():
            counts[kind].update(set(fingerprint(doc, kind, window=1).hashes))
    return {kind: {h for h, n in c.items() if n > limit} for kind, c in counts.items()}


def model_dir(release_dir: Path) -> Path | None:
    """The source assignment beside a release (``<course>/source/<assignment>``), if any."""
    folder = Path(release_dir).parent.parent / "source" / Path(release_dir).name
    return folder if folder.is_dir() else None


def similarity_pairs(submissions: Path, release_dir: Path,
                     students: Iterable[str] | None = None, *, views: int = TOP,
                     source_dir: Path | None = None) -> list[Pair]:
    """Every pair of students with a score above 0, per compared notebook, highest first.

    ``submissions`` holds ``<student>/midterm/<notebook>.ipynb`` (the pipeline's staged copy).
    A missing or unreadable notebook is left out of that notebook's comparisons. The first
    ``views`` pairs carry their matching cells side by side. The release's stubs and the
    model answers of ``source_dir`` (default: the source beside the release) are discounted.
    """
    source_dir = source_dir or model_dir(release_dir)
    if students is None:
        students = sorted(p.name for p in submissions.iterdir() if p.is_dir()) \
            if submissions.is_dir() else []
    students = list(students)
    pairs: list[Pair] = []
    inputs: dict[str, tuple] = {}
    for notebook in NOTEBOOKS:
        if notebook in SKIPPED:
            continue
        release = read_notebook(release_dir / f"{notebook}.ipynb")
        stub, released = boilerplate(release), answer_sources(release)
        if source_dir is not None and (source_dir / f"{notebook}.ipynb").is_file():
            key = boilerplate(read_notebook(source_dir / f"{notebook}.ipynb"))
            stub = {kind: stub[kind] | key.get(kind, set()) for kind in stub}
        docs: dict[str, dict[str, Document]] = {}
        for student in students:
            try:
                nb = read_notebook(submissions / student / ASSIGNMENT / f"{notebook}.ipynb")
            except NotebookError:
                continue
            docs[student] = documents(nb, released)
        common = common_hashes(docs, common_limit(len(docs)))
        prints = {s: {kind: fingerprint(doc, kind, stub[kind] | common[kind])
                      for kind, doc in d.items()} for s, d in docs.items()}
        inputs[notebook] = (docs, prints)
        for a, b in itertools.combinations(sorted(docs), 2):
            pair = compare(notebook, a, b, docs[a], docs[b], prints[a], prints[b])
            if pair.score > 0:
                pairs.append(pair)
    # equal scores: the pair sharing more cells first (a whole notebook before one function)
    pairs.sort(key=lambda p: (-p.score, -len(p.cells), p.notebook, p.student_a, p.student_b))
    for i, p in enumerate(pairs[:views]):
        docs, prints = inputs[p.notebook]
        a, b = p.student_a, p.student_b
        pairs[i] = compare(p.notebook, a, b, docs[a], docs[b], prints[a], prints[b], views=True)
    return pairs


def write_similarity_csv(pairs: Iterable[Pair], path: Path) -> Path:
    """``similarity.csv``: student_a, student_b, notebook, score, cells (space separated)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for p in pairs:
            writer.writerow([p.student_a, p.student_b, p.notebook, f"{p.score:.3f}",
                             " ".join(p.cells)])
    return path


#: matching cells shown open under a pair; the rest are behind a click
SHOWN_CELLS = 1


def _side(p: Pair, gid: str, left: str, right: str) -> str:
    return (f"<table class='side'><tr><th colspan='2'>{html.escape(gid)}</th></tr>"
            f"<tr><th>{html.escape(p.student_a)}</th><th>{html.escape(p.student_b)}</th></tr>"
            f"<tr><td><pre>{left}</pre></td><td><pre>{right}</pre></td></tr></table>")


def _marked(view: tuple[str, str, str]) -> int:
    """How much of a cell pair is marked as copied (to show the most telling cell first)."""
    return view[1].count("<mark>") + view[2].count("<mark>")


def similarity_html(pairs: list[Pair], top: int = TOP) -> str:
    """The report's section: the ``top`` pairs, each folded to its matching cells.

    A pair is one line (students, notebook, score, the cells that match); under it, its most
    copied matching cell side by side, and the other matching cells behind a click. Cells
    that do not match are not shown (``similarity.csv`` lists every pair).
    """
    intro = ("<h2>Similar answers (evidence for a person to judge)</h2>"
             "<p>Pairs of students whose answers to a notebook share the most code or text "
             "after renaming, comments, the release's stubs and the model answers are "
             "discounted (copydetect, MOSS-style winnowing). Each pair shows only the cells "
             "that match, the most copied one first; click for the others. This never "
             "changes a score. All pairs are in "
             '<a href="similarity.csv"><code>similarity.csv</code></a>.</p>')
    if not pairs:
        return intro + ("<p>No pair of answers shares anything beyond the release's stubs "
                        "and the model answers.</p>")
    blocks = [intro]
    for p in pairs[:top]:
        views = sorted(p.views, key=lambda v: -_marked(v))
        blocks.append(
            f"<h3>{html.escape(p.student_a)} and {html.escape(p.student_b)}: "
            f"{html.escape(p.notebook)}, score {p.score:.2f}</h3>"
            f"<p class='stats'>matching cells: {html.escape(', '.join(p.cells))}</p>")
        blocks += [_side(p, *v) for v in views[:SHOWN_CELLS]]
        rest = views[SHOWN_CELLS:]
        if rest:
            blocks.append(f"<details><summary>{len(rest)} more matching "
                          f"cell{'s' if len(rest) > 1 else ''}</summary>"
                          + "".join(_side(p, *v) for v in rest) + "</details>")
    return "".join(blocks)
