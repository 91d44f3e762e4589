"""``cs230-selfgrade``: grade your own midterm notebooks locally, with the hidden tests.

    cs230-selfgrade                          # the exam notebooks in the current folder
    cs230-selfgrade ~/midterm                # a folder
    cs230-selfgrade q3_conv_architectures.ipynb q4_l1_regularization.ipynb
    cs230-selfgrade --out ~/feedback ~/midterm
    cs230-selfgrade --solutions ~/solutions  # the model answers (after trying!)
    cs230-selfgrade --solutions ~/solutions q3 q4
    cs230-selfgrade --errata                 # the notes on the printed solutions, all of them

Grading copies the course (``nbgrader_config.py`` and ``source/``) into a temporary
folder, releases the assignment there, submits your notebooks as student
``learner``, autogrades them with nbgrader and the hidden tests, and writes
nbgrader's feedback HTML (hidden tests removed) to ``--out`` (default
``./cs230-feedback``). It prints what to fix (the message of each part that lost points),
the notes on the printed solutions for the notebooks you attempted (``--errata`` prints them
all), then, last, the score of every notebook and part and the total, saying what the total
leaves out. Your notebooks are only read, never changed.

Manually graded answers (Q2 and the written parts) cannot be graded by a machine:
they are listed as awaiting a person's grade; compare them with the model answers
from ``--solutions``.

Exit status: 0 when graded (whatever the score), 1 when grading could not run,
2 for a bad argument (missing file, not a notebook, unknown notebook name).
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from .course import NOTEBOOKS, CellGrade, Course, NbgraderError
from .feedback import notes_cells, notes_lines
from .notebooks import NotebookError, read_notebook, write_notebook
from .selfgrade_report import attempted, fix_lines, labels_of, note_lines, score_lines
from .variants import model

LEARNER = "learner"
DEFAULT_OUT = "cs230-feedback"
_HIDDEN_MARK = re.compile(r"^\s*#+\s*(BEGIN|END) HIDDEN TESTS\s*$")


class UsageError(ValueError):
    """A bad argument: the message says what to do."""


# -- finding the learner's notebooks --------------------------------------------------

def _expected_names() -> str:
    return ", ".join(f"{name}.ipynb" for name in NOTEBOOKS)


def _notebook_name(token: str) -> str:
    """``q3``, ``q3_conv_architectures`` or ``q3_conv_architectures.ipynb`` -> full name."""
    stem = Path(token).name.removesuffix(".ipynb")
    if stem in NOTEBOOKS:
        return stem
    matches = [name for name in NOTEBOOKS if name.split("_")[0] == stem.lower()]
    if len(matches) == 1:
        return matches[0]
    raise UsageError(f"unknown notebook {token!r}: the exam notebooks are {_expected_names()}")


def find_notebooks(paths: Sequence[str | Path]) -> dict[str, Path]:
    """``{notebook name: file}`` for folders and single files named like the exam's."""
    found: dict[str, Path] = {}

    def add(name: str, path: Path) -> None:
        if name in found and found[name].resolve() != path.resolve():
            raise UsageError(f"two files for {name}: {found[name]} and {path}; give one")
        found[name] = path

    for raw in paths or ["."]:
        path = Path(raw).expanduser()
        if path.is_dir():
            inside = {p.stem: p for p in sorted(path.glob("*.ipynb")) if p.stem in NOTEBOOKS}
            if not inside:
                raise UsageError(
                    f"{path}: no exam notebooks in this folder (expected names: "
                    f"{_expected_names()})"
                )
            for name, file in inside.items():
                add(name, file)
        elif not path.exists():
            raise UsageError(f"{path}: no such file or folder")
        elif path.suffix != ".ipynb":
            raise UsageError(f"{path}: not a notebook (expected a .ipynb file or a folder)")
        elif path.stem not in NOTEBOOKS:
            raise UsageError(
                f"{path.name}: not an exam notebook name; name it like the released one "
                f"({_expected_names()})"
            )
        else:
            add(path.stem, path)
    for path in found.values():
        try:
            read_notebook(path)
        except NotebookError as exc:
            raise UsageError(str(exc)) from None
    return dict(sorted(found.items(), key=lambda item: NOTEBOOKS.index(item[0])))


# -- grading ---------------------------------------------------------------------------

def grade(notebooks: dict[str, Path], workdir: Path) -> tuple[Course, list[CellGrade]]:
    """Autograde the notebooks as student ``learner`` in a scratch course under ``workdir``."""
    course = Course.scratch(workdir / "course")
    course.generate_assignment()
    course.add_submission(LEARNER, {name: read_notebook(path) for name, path in notebooks.items()})
    course.autograde([LEARNER])
    course.generate_feedback([LEARNER])
    grades = [g for g in course.cell_grades(LEARNER) if g.notebook in notebooks]
    return course, grades


def hidden_test_lines(source_nb_path: Path) -> set[str]:
    """The non-blank lines of a source notebook's hidden tests that students never see."""
    nb = read_notebook(source_nb_path)
    hidden: set[str] = set()
    visible: set[str] = set()
    for cell in nb.cells:
        inside = False
        for line in cell.source.split("\n"):
            if _HIDDEN_MARK.match(line):
                inside = line.strip().split()[1] == "BEGIN"
                continue
            (hidden if inside else visible).add(line.strip())
    return {line for line in hidden - visible if line}


def html_text(path: Path) -> str:
    """The text of an HTML page (tags removed, entities decoded), for leak checks."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    return html.unescape(re.sub(r"<[^>]+>", "", raw))


def copy_feedback(course: Course, names: Sequence[str], out: Path) -> list[Path]:
    """Copy the feedback HTML to ``out``, refusing any page that shows a hidden test."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in names:
        page = course.feedback_dir(LEARNER) / f"{name}.html"
        if not page.exists():
            continue
        text = html_text(page)
        leaked = [ln for ln in hidden_test_lines(course.source_dir / f"{name}.ipynb")
                  if ln in text]
        if leaked:
            raise NbgraderError(f"feedback for {name} would show hidden test source; not written")
        target = out / page.name
        shutil.copy(page, target)
        written.append(target)
    return written


# -- solutions -------------------------------------------------------------------------

def write_solutions(names: Sequence[str], out: Path, workdir: Path) -> list[Path]:
    """The released notebooks with the model answers filled in (no hidden tests).

    Each ends with the notebook's after-answering notes (errata of the printed key, options
    accepted either way), which the release itself does not show.
    """
    course = Course.scratch(workdir / "course")
    course.generate_assignment()
    out.mkdir(parents=True, exist_ok=True)
    for extra in course.release_dir.iterdir():
        if extra.suffix != ".ipynb" and extra.is_file():
            shutil.copy(extra, out / extra.name)
    written = []
    for name in names:
        target = out / f"{name}.ipynb"
        solved = model(name).build(course.source_dir, course.release_dir)
        solved.cells.extend(notes_cells(name))
        write_notebook(solved, target)
        written.append(target)
    return written


# -- command line ------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cs230-selfgrade", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*",
                        help="notebooks or folders (default: the current folder); with "
                             "--solutions, notebook names such as q3 (default: all)")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"folder for the feedback HTML (default: ./{DEFAULT_OUT})")
    parser.add_argument("--solutions", metavar="DIR",
                        help="write the model-answer notebooks to DIR instead of grading")
    parser.add_argument("--errata", action="store_true",
                        help="print the notes on the printed solutions (errata, Q1 options "
                             "accepted either way) of every notebook, or of the notebooks "
                             "named (q3 ...), instead of grading")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="cs230-selfgrade-") as tmp:
            if args.errata:
                names = [_notebook_name(t) for t in args.paths] or list(NOTEBOOKS)
                blocks = [notes_lines(name, 80) for name in names]
                print("\n\n".join("\n".join(b) for b in blocks if b))
                return 0
            if args.solutions:
                names = [_notebook_name(t) for t in args.paths] or list(NOTEBOOKS)
                for path in write_solutions(names, Path(args.solutions), Path(tmp)):
                    print(f"model answers: {path}")
                return 0
            notebooks = find_notebooks(args.paths)
            print(f"Grading {len(notebooks)} notebook(s) with the hidden tests "
                  "(this takes a minute)...", flush=True)
            course, grades = grade(notebooks, Path(tmp))
            pages = copy_feedback(course, list(notebooks), Path(args.out))
            released = {name: course.release_dir / f"{name}.ipynb" for name in notebooks}
            labels = labels_of(released)  # part names from the release, not the answers
            tried = [name for name, path in notebooks.items()
                     if attempted(path, released[name])]
            lines = ["", *fix_lines(grades, labels, tried), *note_lines(list(notebooks), tried)]
            if pages:
                lines += [f"Feedback HTML: {Path(args.out).resolve()}", ""]
            print("\n".join(lines + score_lines(grades, labels, list(notebooks), tried)))
    except UsageError as exc:
        print(f"cs230-selfgrade: {exc}", file=sys.stderr)
        return 2
    except NbgraderError as exc:
        print(f"cs230-selfgrade: grading failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
