"""The exam's tables and totals as text, generated from the question table.

Outside a question's own files, every statement of which questions the exam has, what they
are worth and how many notebooks there are is generated here from
``cs230_grading/questions.py`` (and from the question notebooks' headings and points
metadata), between two markers:

    <!-- BEGIN GENERATED exam-table: written by `cs230-grade tables` ... -->
    ...
    <!-- END GENERATED exam-table -->

The regions are the cover's "The exam" section (in the source notebook ``q0_cover``), and the
exam tables of ``README.md`` and ``docs/students.md``. :func:`write_all` rewrites them
(``cs230-grade tables``; ``cs230-grade new-question`` runs it), :func:`stale_files` lists the
files whose regions disagree (``cs230-grade tables --check``, and the tests). The release step
rewrites the cover before nbgrader converts it (:func:`write_cover`, called by
``Course.generate_assignment`` and by nbgrader's pre-convert hook in ``nbgrader_config.py``),
so the released cover always states the table it was generated with.

Text outside the regions must not state the numbers (say "the notebooks", not "seven").
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from . import questions
from .notebooks import NotebookError, nbgrader_meta, read_notebook, write_notebook

COVER = "q0_cover"
COVER_CELL = "q0_intro"
SOURCE = Path("source") / "midterm"
#: file (relative to the course root) -> the regions it holds.
DOCS: dict[str, tuple[str, ...]] = {
    "README.md": ("exam-table",),
    "docs/students.md": ("exam-table",),
}
BEGIN = "<!-- BEGIN GENERATED {name}: written by `cs230-grade tables` from the question table"
END = "<!-- END GENERATED {name} -->"
HEADING = re.compile(r"^#\s+Question\s+(\d+):\s+(.+?)\s+\(([^()]*point[^()]*)\)\s*$")
STAFF = "by the course staff"


class GeneratedTextError(ValueError):
    """A region cannot be generated (the message names the file and what to do)."""


@dataclasses.dataclass(frozen=True)
class Part:
    """One graded cell of a question notebook, as its metadata describes it."""

    name: str
    points: float
    auto: bool


@dataclasses.dataclass(frozen=True)
class QuestionFacts:
    """What the generated text says about one question."""

    row: questions.Question
    name: str
    parts: tuple[Part, ...]

    @property
    def number(self) -> int:
        return int(self.row.key[1:])

    @property
    def manual_points(self) -> float:
        return sum(p.points for p in self.parts if not p.auto)


def _num(value: float) -> str:
    return f"{value:g}"


def _points(value: float) -> str:
    return f"{value:g} point" + ("" if value == 1 else "s")


def points_text(row: questions.Question) -> str:
    """``"16"``, or ``"10 + 5 extra credit"`` for a question with extra credit."""
    if row.extra_credit:
        return f"{_num(row.points - row.extra_credit)} + {_num(row.extra_credit)} extra credit"
    return _num(row.points)


def heading_points(row: questions.Question) -> str:
    """What a question notebook's heading states in its parentheses: ``"13 points"``."""
    if row.extra_credit:
        regular = row.points - row.extra_credit
        return f"{_points(regular)} + {_points(row.extra_credit)} extra credit"
    return _points(row.points)


def heading(source: str) -> tuple[int, str, str] | None:
    """``(number, name, points text)`` of ``# Question N: Name (P points)``, or None."""
    first = source.strip().splitlines()[0] if source.strip() else ""
    match = HEADING.match(first)
    if not match:
        return None
    return int(match.group(1)), match.group(2), match.group(3)


def _part_name(row: questions.Question, grade_id: str) -> str:
    name = grade_id.removeprefix(f"{row.key}_")
    return name.removesuffix("_test").removesuffix("_code").replace("_", " ")


def question_facts(root: Path, row: questions.Question) -> QuestionFacts:
    """The name (from the notebook's heading) and graded parts of one question."""
    path = root / SOURCE / f"{row.notebook}.ipynb"
    try:
        nb = read_notebook(path)
    except NotebookError as exc:
        raise GeneratedTextError(f"{exc} (named in cs230_grading/questions.py)") from None
    parts = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade"):
            auto = cell.cell_type == "code" and not meta.get("solution")
            parts.append(Part(_part_name(row, meta["grade_id"]), float(meta.get("points", 0)),
                              auto))
    found = heading(nb.cells[0].source) if nb.cells else None
    if found:
        name = found[1][:1].upper() + found[1][1:]
    else:  # no standard heading: the row's title without its "Qn "
        name = re.sub(r"^Q\d+\s+", "", row.title)
    return QuestionFacts(row, name, tuple(parts))


def table(root: str | Path) -> ModuleType:
    """The question table of the course at ``root``, read afresh from its
    ``cs230_grading/questions.py`` (just edited by the scaffold, or a course copy's own); the
    imported one for a course without the package (a scratch course)."""
    path = Path(root) / "cs230_grading" / "questions.py"
    if not path.is_file():
        return questions
    name = f"_cs230_questions_of_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise GeneratedTextError(f"{path}: cannot be read as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # noqa: BLE001 - a broken table gets one line
        raise GeneratedTextError(f"{path}: {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
    return module


def all_facts(root: Path) -> list[QuestionFacts]:
    return [question_facts(root, row) for row in table(root).QUESTIONS]


def _wrap(text: str) -> str:
    """Prose wrapped like the hand-written text around it (tables are never wrapped)."""
    return textwrap.fill(text, width=92, break_long_words=False, break_on_hyphens=False)


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def graded_text(facts: QuestionFacts) -> str:
    """How a question is graded: automatically, by the staff, or which parts by whom."""
    parts = [p for p in facts.parts if p.points or not facts.row.points]
    auto = [p for p in parts if p.auto]
    manual = [p for p in parts if not p.auto]
    if not manual:
        return "automatically"
    if not auto:
        return STAFF
    word = "part" if len(manual) == 1 else "parts"
    return (f"{'part' if len(auto) == 1 else 'parts'} {', '.join(p.name for p in auto)} "
            f"automatically; {word} {', '.join(p.name for p in manual)} "
            f"({_points(facts.manual_points)}) {STAFF}")


def _written(facts: list[QuestionFacts]) -> tuple[list[str], float]:
    """Where the written (hand-graded) answers are, and their points."""
    where, total = [], 0.0
    for f in facts:
        manual = [p for p in f.parts if not p.auto and p.points]
        if not manual:
            continue
        total += f.manual_points
        if len(manual) == len([p for p in f.parts if p.points]):
            where.append(f"Question {f.number}")
        else:
            word = "part" if len(manual) == 1 else "parts"
            where.append(f"Question {f.number} {word} {', '.join(p.name for p in manual)}")
    return where, total


def _extra_sentence(policy: ModuleType, facts: list[QuestionFacts]) -> str:
    extra = [f for f in facts if f.row.extra_credit]
    if not policy.EXTRA_CREDIT or not extra:
        return ""
    where = _join([f"Question {f.number}" for f in extra])
    return f", plus **{_points(policy.EXTRA_CREDIT)} of extra credit** in {where}"


def cover_text(root: Path) -> str:
    """The cover's "The exam" section: totals, the table of questions, what a person reads."""
    policy = table(root)
    facts = [f for f in all_facts(root) if f.row.notebook != COVER]
    lines = [
        _wrap("One notebook per question, in this folder. The exam is out of "
              f"**{_points(policy.EXAM_POINTS)}**{_extra_sentence(policy, facts)}. "
              "This cover is worth 0 points."),
        "",
        "| notebook | question | points | graded |",
        "|---|---|---|---|",
    ]
    lines += [f"| `{f.row.notebook}.ipynb` | {f.number}. {f.name} | {points_text(f.row)} "
              f"| {graded_text(f)} |" for f in facts]
    where, total = _written(facts)
    lines.append("")
    if where:
        lines.append(_wrap("Automatically graded answers are checked after you submit, by tests "
                           f"that are not in your copy; written answers ({_join(where)}, "
                           f"{_points(total)} in all) are read by a person."))
    else:
        lines.append("Answers are checked after you submit, by tests that are not in your copy.")
    return "\n".join(lines)


def exam_table(root: Path) -> str:
    """The exam table of README.md and docs/students.md, with the totals."""
    policy = table(root)
    facts = all_facts(root)
    lines = ["| notebook | question | points | graded |", "|---|---|---|---|"]
    for f in facts:
        graded = graded_text(f) if f.row.points else "a 0-point check, never a score"
        lines.append(f"| `{f.row.notebook}` | {f.row.summary or f.name} | {points_text(f.row)} "
                     f"| {graded} |")
    extra = (f", plus {_points(policy.EXTRA_CREDIT)} of extra credit"
             if policy.EXTRA_CREDIT else "")
    asked = len([f for f in facts if f.row.notebook != COVER])
    lines += ["", _wrap(f"{len(facts)} notebooks: the cover and {asked} questions. The exam is "
                        f"out of {_points(policy.EXAM_POINTS)}{extra}.")]
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[Path], str]] = {"exam-table": exam_table, "cover": cover_text}


# --- regions ----------------------------------------------------------------------------------
def _region(name: str) -> re.Pattern[str]:
    begin = re.escape(BEGIN.format(name=name))
    end = re.escape(END.format(name=name))
    return re.compile(rf"({begin}[^\n]*\n)(.*?)(\n?{end})", re.S)


def fill(text: str, name: str, body: str, where: str) -> str:
    """``text`` with the region ``name`` holding ``body``; an error naming ``where`` if the
    markers are missing."""
    pattern = _region(name)
    if len(pattern.findall(text)) != 1:
        raise GeneratedTextError(
            f"{where}: needs exactly one generated region `{name}` (a line starting "
            f"`{BEGIN.format(name=name)}` and a line `{END.format(name=name)}`); put the "
            "markers back")
    return pattern.sub(lambda m: f"{m.group(1)}{body}\n{END.format(name=name)}", text)


def _cover_cell(nb: object, path: Path) -> object:
    for cell in nb.cells:  # type: ignore[attr-defined]
        if nbgrader_meta(cell).get("grade_id") == COVER_CELL:
            return cell
    raise GeneratedTextError(f"{path}: no cell {COVER_CELL} for the exam's table")


def write_cover(root: str | Path, *, check: bool = False) -> bool:
    """Rewrite the cover's generated region in ``source/midterm``; True when it changed.

    ``check=True`` only says whether it would change. The notebook is written only when its
    text changes, so a current cover keeps its bytes.
    """
    root = Path(root)
    path = root / SOURCE / f"{COVER}.ipynb"
    if not path.exists():  # a course without a cover has no table to state
        return False
    nb = read_notebook(path)
    cell = _cover_cell(nb, path)
    new = fill(cell.source, "cover", cover_text(root), str(path))  # type: ignore[attr-defined]
    if new == cell.source:  # type: ignore[attr-defined]
        return False
    if not check:
        cell.source = new  # type: ignore[attr-defined]
        write_notebook(nb, path)
    return True


def write_docs(root: str | Path, *, check: bool = False) -> list[Path]:
    """Rewrite (or with ``check``, only find) the regions of README.md and docs/."""
    root = Path(root)
    changed = []
    for rel, names in DOCS.items():
        path = root / rel
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        new = text
        for name in names:
            new = fill(new, name, GENERATORS[name](root), rel)
        if new != text:
            changed.append(path)
            if not check:
                path.write_text(new, encoding="utf-8")
    return changed


def write_all(root: str | Path, *, check: bool = False) -> list[Path]:
    """Every generated region of the course at ``root``; returns the files that changed
    (or, with ``check``, that would change)."""
    root = Path(root)
    changed = [root / SOURCE / f"{COVER}.ipynb"] if write_cover(root, check=check) else []
    return changed + write_docs(root, check=check)


def stale_files(root: str | Path) -> list[Path]:
    """The files whose generated regions disagree with the question table."""
    return write_all(root, check=True)


def nbgrader_hook(root: str | Path) -> Callable[..., None]:
    """A ``pre_convert_hook`` for ``GenerateAssignment``: the cover, rewritten first."""
    def hook(**_: object) -> None:
        write_cover(root)

    return hook


# --- the command --------------------------------------------------------------------------------
def add_parser(sub: object) -> None:
    """``tables``: the subcommand of ``cs230-grade``."""
    p = sub.add_parser(  # type: ignore[attr-defined]
        "tables", help="rewrite the exam's tables and totals from cs230_grading/questions.py",
        description="Rewrite the generated regions (the cover's table in source/midterm, "
                    "README.md, docs/students.md) from cs230_grading/questions.py.")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 and name the files that are out of date")


def run(root: Path, check: bool) -> int:
    """Print what was rewritten (or is stale); 1 when ``check`` finds a stale file."""
    try:
        changed = write_all(root, check=check)
    except GeneratedTextError as exc:
        print(f"cs230-grade tables: {exc}")
        return 2
    for path in changed:
        rel = path.relative_to(root)
        print(f"{rel}: out of date (run cs230-grade tables)" if check else f"rewrote {rel}")
    if not changed:
        print("the generated tables agree with cs230_grading/questions.py")
    return 1 if check and changed else 0
