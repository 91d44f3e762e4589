"""``cs230-grade new-question``: scaffold a question from the kit's pattern.

    cs230-grade new-question q7_batchnorm --title "Batch normalisation" --points 6 \\
        --part code:batchnorm_forward=4 --part numeric:running_mean \\
        (--raise-total | --rebalance q3_conv_architectures) [--reference batchnorm]

writes, with TODOs where the question's content goes (docs/authoring.md):

==================================================  =========================================
``source/midterm/q7_batchnorm.ipynb``               intro, setup, each part's cells
``source/midterm/q7_tools.py``                      the visible self-checks (well-formedness)
``cs230_grading/reference/<reference>.py``          the answer key in code
``cs230_grading/graders/q7.py``                     ``CHECKS``: the hidden test of each part
``cs230_grading/variants/q7.py``                    sample submissions (a wrong answer a part)
``tests/test_graders_q7.py``                        grader tests (a TODO one marked xfail)
``tests/test_reference_<reference>.py``             tests of the key (a TODO one marked xfail)
``tests/test_q7_tools.py``                          tests of the self-checks
==================================================  =========================================

(a question whose parts are all ``written`` gets only the notebook and the variants), then
registers it: its row in ``cs230_grading/questions.py``, a wrong answer in the browser tests'
``WRONG`` table, rubric items for written parts in ``instructor/rubric_items.yaml``. The points
are a decision the command takes as an option: ``--raise-total`` raises the exam's total
(``EXAM_POINTS``) by the question's points; ``--rebalance QN`` takes them from question QN,
scaling its parts' points. Then it rewrites the generated tables (cover, README, docs:
:mod:`cs230_grading.exam_text`) and regenerates ``release/``. The question is then a working
placeholder: the model answers score full points, the stubs 0, and the structure checks pass.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import re
import sys
from pathlib import Path

from . import exam_text
from .notebooks import NotebookError, nbgrader_meta, read_notebook, write_notebook
from .questions import NAME
from .scaffold_files import KINDS, ROMAN, NewQuestion, Part
from .scaffold_files import build_notebook as build_notebook

TABLE = Path("cs230_grading") / "questions.py"
TABLE_END = ")  # end of QUESTIONS"
BROWSER_TESTS = Path("tests") / "browser" / "test_student.py"
WRONG_END = "}  # end of WRONG"
RUBRIC = Path("instructor") / "rubric_items.yaml"
SOURCE = Path("source") / "midterm"
TOTAL = re.compile(r"^EXAM_POINTS = (\d+(?:\.\d+)?)$", re.M)


class ScaffoldError(ValueError):
    """The question cannot be scaffolded as asked (the message says why and what to do)."""


@dataclasses.dataclass(frozen=True)
class Points:
    """The points decision: raise the exam's total, or take the points from a question."""

    raise_total: bool = False
    rebalance: str | None = None


# --- planning -----------------------------------------------------------------------------------
def _name(title: str, key: str) -> str:
    """The question's name without a leading "Q7", "Q7:" or "Question 7:" (which must say 7)."""
    match = re.match(r"^\s*(?:q|question\s*)(\d+)\s*[:.]?\s+(.*)$", title, re.I)
    if match:
        if match.group(1) != key[1:]:
            raise ScaffoldError(f"--title {title!r} names question {match.group(1)}, the "
                                f"notebook is {key}: drop the number from the title")
        title = match.group(2)
    title = title.strip()
    if not title:
        raise ScaffoldError("--title is empty: give the question's name, e.g. "
                            '"Batch normalisation"')
    return title


def _split(total: float, asked: list[float | None]) -> list[float]:
    """Points per part: the ones asked for, the rest of ``total`` shared by the others
    (in whole points where the rest is whole, the first parts taking the remainder)."""
    fixed = sum(p for p in asked if p is not None)
    free = [i for i, p in enumerate(asked) if p is None]
    rest = total - fixed
    if rest < 0 or (free and rest <= 0):
        raise ScaffoldError(f"the parts' points ({fixed:g}) leave nothing of --points {total:g} "
                            "for the parts without points: raise --points or lower a part")
    if not free and rest != 0:
        raise ScaffoldError(f"the parts' points add up to {fixed:g}, --points is {total:g}: "
                            "make them agree")
    points = [p for p in asked]
    if free:
        if rest == int(rest) and rest >= len(free):
            base, extra = divmod(int(rest), len(free))
            shares = [float(base + (k < extra)) for k in range(len(free))]
        else:
            shares = [rest / len(free)] * len(free)
        for i, share in zip(free, shares, strict=True):
            points[i] = share
    return [float(p) for p in points]  # type: ignore[arg-type]


def _parse_part(spec: str) -> tuple[str, str, float | None]:
    """``KIND[:NAME][=POINTS]`` -> (kind, name, points or None)."""
    text, _, pts = spec.partition("=")
    kind, _, name = text.partition(":")
    kind, name = kind.strip(), name.strip()
    if kind not in KINDS:
        raise ScaffoldError(f"--part {spec!r}: the kind is one of {', '.join(KINDS)} "
                            "(KIND:NAME[=POINTS], e.g. code:batchnorm_forward=4)")
    if kind != "written" and not name:
        raise ScaffoldError(f"--part {spec!r}: a {kind} part names what the student writes, "
                            f"e.g. {kind}:running_mean")
    if name and (not name.isidentifier() or name.startswith("_")):
        raise ScaffoldError(f"--part {spec!r}: {name!r} is not a Python name")
    points = None
    if pts:
        try:
            points = float(pts)
        except ValueError:
            raise ScaffoldError(f"--part {spec!r}: {pts!r} is not a number of points") from None
        if not points > 0:
            raise ScaffoldError(f"--part {spec!r}: a part is worth more than 0 points")
    return kind, name, points


def plan(notebook: str, title: str, points: float, function: str | None = None,
         reference: str | None = None, parts: list[str] | None = None,
         summary: str | None = None) -> NewQuestion:
    """Check the request and fill in defaults (one code part named after the slug)."""
    match = NAME.match(notebook)
    if not match:
        raise ScaffoldError(f"{notebook!r}: a question notebook is named qN_<slug> "
                            "(lower case, digits and _), e.g. q7_batchnorm")
    key = match.group(1)
    slug = notebook[len(key) + 1:]
    if not points > 0:
        raise ScaffoldError(f"--points {points:g}: a question is worth more than 0 points")
    if parts and function:
        raise ScaffoldError("give the parts with --part only (--function NAME is short for "
                            "--part code:NAME)")
    specs = [_parse_part(s) for s in (parts or [f"code:{function or slug}"])]
    if len(specs) > len(ROMAN):
        raise ScaffoldError(f"{len(specs)} parts: at most {len(ROMAN)}")
    names = [n for _, n, _ in specs if n]
    if len(set(names)) != len(names):
        raise ScaffoldError(f"two parts have the same name: {names}")
    reference = reference or slug
    if not reference.isidentifier() or reference.startswith("_"):
        raise ScaffoldError(f"--reference {reference!r} is not a Python name: pass "
                            "--reference NAME")
    shares = _split(float(points), [p for _, _, p in specs])
    built = tuple(Part(kind, name, share, ROMAN[i])
                  for i, ((kind, name, _), share) in enumerate(zip(specs, shares, strict=True)))
    name = _name(title, key)
    return NewQuestion(notebook, key, name, float(points), built, reference, summary or name)


# --- what is written ----------------------------------------------------------------------------
def files(root: Path, q: NewQuestion) -> dict[Path, str | None]:
    """``{path: text}`` of the files the scaffold writes (``None``: the notebook)."""
    from . import scaffold_files as f

    py = f.python
    out: dict[Path, str | None] = {
        root / SOURCE / f"{q.notebook}.ipynb": None,
        root / "cs230_grading" / "variants" / f"{q.key}.py": py(f.variants_module(q)),
    }
    if q.graded_automatically:
        out.update({
            root / SOURCE / f"{q.key}_tools.py": py(f.tools_module(q)),
            root / "cs230_grading" / "reference" / f"{q.reference}.py": py(f.reference_module(q)),
            root / "cs230_grading" / "graders" / f"{q.key}.py": py(f.grader_module(q)),
            root / "tests" / f"test_graders_{q.key}.py": py(f.grader_tests(q)),
            root / "tests" / f"test_reference_{q.reference}.py": py(f.reference_tests(q)),
            root / "tests" / f"test_{q.key}_tools.py": py(f.tools_tests(q)),
        })
    return out


def _table_text(root: Path) -> str:
    table = root / TABLE
    if not table.is_file():
        raise ScaffoldError(f"{root} has no {TABLE}: run from the kit's repository root")
    text = table.read_text(encoding="utf-8")
    if TABLE_END not in text:
        raise ScaffoldError(f"{table}: the marker `{TABLE_END}` that closes QUESTIONS is "
                            "missing; put it back after the last row")
    return text


def _rows(text: str) -> dict[str, tuple[int, int, float]]:
    """notebook -> (first line, last line, points) of each row of the table (1-based lines)."""
    rows = {}
    for node in ast.walk(ast.parse(text)):
        if (isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Question"
                and len(node.args) >= 3 and isinstance(node.args[0], ast.Constant)):
            pts = node.args[2].value if isinstance(node.args[2], ast.Constant) else 0
            rows[node.args[0].value] = (node.lineno, node.end_lineno or node.lineno, float(pts))
    return rows


def _check_points(root: Path, text: str, q: NewQuestion, decision: Points) -> str | None:
    """Refuse a decision that cannot be carried out; the notebook to rebalance from."""
    if decision.raise_total == bool(decision.rebalance):
        raise ScaffoldError("decide where the points come from: --raise-total (the exam is "
                            "out of more) or --rebalance QN (take them from question QN)")
    if decision.raise_total:
        if not TOTAL.search(text):
            raise ScaffoldError(f"{TABLE}: no line `EXAM_POINTS = <number>` to raise")
        return None
    rows = _rows(text)
    wanted = decision.rebalance or ""
    source = next((n for n in rows if n == wanted or n.split("_")[0] == wanted.lower()), None)
    if source is None:
        raise ScaffoldError(f"--rebalance {wanted}: not a question of {TABLE} (give its "
                            f"notebook or qN, e.g. {next(iter(rows), 'q3')})")
    cells = _graded_cells(root, source)
    if "extra_credit=" in "".join(text.splitlines(keepends=True)[rows[source][0] - 1:
                                                                  rows[source][1]]):
        raise ScaffoldError(f"--rebalance {source}: it has extra credit; take the points from "
                            "another question, or use --raise-total")
    if rows[source][2] - q.points <= 0 or not cells:
        raise ScaffoldError(f"--rebalance {source}: it has {rows[source][2]:g} points, not "
                            f"enough to give {q.points:g}; choose another or --raise-total")
    return source


def _graded_cells(root: Path, notebook: str) -> dict[str, float]:
    try:
        nb = read_notebook(root / SOURCE / f"{notebook}.ipynb")
    except NotebookError as exc:
        raise ScaffoldError(str(exc)) from None
    return {nbgrader_meta(c)["grade_id"]: float(nbgrader_meta(c).get("points", 0))
            for c in nb.cells if nbgrader_meta(c).get("grade") and nbgrader_meta(c).get("points")}


def scaled(points: dict[str, float], total: float) -> dict[str, float]:
    """Each cell's points scaled so that they add up to ``total`` (in quarter points; the
    largest cell absorbs the rounding); a clear error when a cell would get nothing."""
    old = sum(points.values())
    new = {g: round(p * total / old * 4) / 4 for g, p in points.items()}
    largest = max(new, key=lambda g: new[g])
    new[largest] += total - sum(new.values())
    empty = sorted(g for g, p in new.items() if p <= 0)
    if empty:
        raise ScaffoldError(f"rebalancing leaves {', '.join(empty)} with no points: take the "
                            "points from a larger question, or use --raise-total")
    return new


def _rebalance(root: Path, source: str, taken: float) -> list[Path]:
    """Take ``taken`` points from ``source``: its row, its cells' points, its heading."""
    from . import scaffold_files as f

    path = root / SOURCE / f"{source}.ipynb"
    nb = read_notebook(path)
    cells = _graded_cells(root, source)
    total = sum(cells.values()) - taken
    new = scaled(cells, total)
    for cell in nb.cells:
        gid = nbgrader_meta(cell).get("grade_id")
        if gid in new:
            cell.metadata["nbgrader"]["points"] = new[gid]
    first = nb.cells[0] if nb.cells else None
    if first is not None and exam_text.heading(first.source):
        first.source = re.sub(r"\((\d+(?:\.\d+)?) points?\)", f"({f.points(total)})",
                              first.source, count=1)
    write_notebook(nb, path)
    table = root / TABLE
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    start, end, old = _rows("".join(lines))[source]
    row = "".join(lines[start - 1:end])
    row = re.sub(rf'("{re.escape(source)}",\s*"[^"]*",\s*){old:g}\b', rf"\g<1>{total:g}", row,
                 count=1)
    lines[start - 1:end] = [row]
    table.write_text("".join(lines), encoding="utf-8")
    return [path]


def scaffold(root: str | Path, q: NewQuestion, decision: Points = Points(raise_total=True)
             ) -> list[Path]:
    """Write the question's files, register it and carry out the points decision; returns
    the files written or changed.

    Refuses (:class:`ScaffoldError`, nothing written) when the notebook or its ``qN`` is
    already in the table, when any file it would write exists, or when the points decision
    cannot be carried out.
    """
    from . import scaffold_files as f

    root = Path(root).resolve()
    text = _table_text(root)
    taken = {n.split("_")[0] for n in _rows(text)}
    if q.key in taken:
        raise ScaffoldError(f"{q.key} is already a question in {TABLE}: pick another number")
    planned = files(root, q)
    existing = [str(p.relative_to(root)) for p in planned if p.exists()]
    if existing:
        raise ScaffoldError(f"would overwrite {', '.join(existing)}: remove them or pick "
                            "another name")
    source = _check_points(root, text, q, decision)
    for path, content in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            write_notebook(build_notebook(q), path)
        else:
            path.write_text(content, encoding="utf-8")
    changed = [*planned]
    if decision.raise_total:
        text = TOTAL.sub(lambda m: f"EXAM_POINTS = {float(m.group(1)) + q.points:g}", text,
                         count=1)
    (root / TABLE).write_text(text.replace(TABLE_END, f"{f.table_row(q)}\n{TABLE_END}"),
                              encoding="utf-8")
    changed.append(root / TABLE)
    if source:
        changed += _rebalance(root, source, q.points)
    changed += _append_before(root / BROWSER_TESTS, WRONG_END, f.browser_row(q))
    rubric = f.rubric_entries(q)
    if rubric and (root / RUBRIC).is_file():
        with (root / RUBRIC).open("a", encoding="utf-8") as out:
            out.write(rubric)
        changed.append(root / RUBRIC)
    changed += [p for p in exam_text.write_all(root) if p not in changed]
    return changed


def _append_before(path: Path, marker: str, line: str) -> list[Path]:
    if not path.is_file():
        return []
    text = path.read_text(encoding="utf-8")
    if marker not in text:
        return []
    path.write_text(text.replace(marker, f"{line}\n{marker}"), encoding="utf-8")
    return [path]


def unregister(root: str | Path, notebook: str) -> None:
    """Take ``notebook``'s row out of the question table (its files stay where they are).

    For a course copy that grades a subset of the exam (the scaffold's own test), or as the
    first step of removing a question (docs/authoring.md).
    """
    table = Path(root) / TABLE
    text = table.read_text(encoding="utf-8")
    rows = _rows(text)
    if notebook not in rows:
        raise ScaffoldError(f"{notebook} is not in {TABLE}")
    start, end, _ = rows[notebook]
    lines = text.splitlines(keepends=True)
    del lines[start - 1:end]
    table.write_text("".join(lines), encoding="utf-8")


# --- the command ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:
    """``new-question``: the subcommand of ``cs230-grade``."""
    p = sub.add_parser("new-question", help="scaffold a new question (docs/authoring.md)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", help="qN_<slug>, e.g. q7_batchnorm")
    p.add_argument("--title", required=True,
                   help='the question\'s name, e.g. "Batch normalisation" (a leading "Q7" is '
                        "dropped: the heading says Question 7)")
    p.add_argument("--points", required=True, type=float, help="the question's points")
    p.add_argument("--part", action="append", default=None, metavar="KIND:NAME[=POINTS]",
                   help="a part, in order; KIND is code, numeric, choice or written (written "
                        "needs no NAME). Parts without points share the rest equally. "
                        "Default: one code part named after the slug")
    p.add_argument("--function", default=None, help="short for --part code:NAME")
    decision = p.add_mutually_exclusive_group()
    decision.add_argument("--raise-total", action="store_true",
                          help="raise the exam's total (EXAM_POINTS) by --points")
    decision.add_argument("--rebalance", metavar="QUESTION", default=None,
                          help="take --points from this question (its notebook or qN), "
                               "scaling its parts' points")
    p.add_argument("--reference", default=None,
                   help="module name in cs230_grading/reference/, by topic (default: the slug)")
    p.add_argument("--summary", default=None,
                   help="what the question asks in a few words, for the README's table "
                        "(default: the title)")
    p.add_argument("--no-release", action="store_true",
                   help="do not regenerate release/ (do it before committing)")


def run(root: Path, args: argparse.Namespace) -> int:
    """Scaffold, print what was written and the next steps; 2 on a bad request."""
    from . import scaffold_files as f
    from .course import Course

    try:
        q = plan(args.notebook, args.title, args.points, args.function, args.reference,
                 args.part, args.summary)
        written = scaffold(root, q, Points(args.raise_total, args.rebalance))
    except (ScaffoldError, exam_text.GeneratedTextError) as exc:
        print(f"cs230-grade new-question: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    for part in q.parts:
        print(f"  part {part.roman}: {part.kind} {part.name or ''} ({f.points(part.points)})")
    if args.rebalance:
        print(f"Took {q.points:g} points from {args.rebalance}: check the points its text and "
              "its grader state for each part (e.g. a SPLIT of a part's points).")
    if not args.no_release:
        Course(root).generate_assignment()
        print("regenerated release/midterm/")
    tests = " ".join(str(p.relative_to(root)) for p in written
                     if p.parent.name == "tests" and p.suffix == ".py")
    print("Next: replace the TODOs (docs/authoring.md), then run "
          f".venv/bin/python -m pytest tests/test_question_table.py {tests} -x -q")
    return 0
