"""``cs230-grade new-question``: scaffold a question from the kit's pattern.

    cs230-grade new-question q7_batchnorm --title "Q7 Batch normalisation" --points 6
        [--function batchnorm_forward] [--reference batchnorm] [--no-release]

writes, with TODOs where the question's content goes (docs/authoring.md, Q4 as the model):

==================================================  =========================================
``source/midterm/q7_batchnorm.ipynb``               intro, setup, part i: answer + test cell
``source/midterm/q7_tools.py``                      the visible self-check (well-formedness)
``cs230_grading/reference/<reference>.py``          the answer key in code
``cs230_grading/graders/q7.py``                     ``CHECKS``: the hidden test of part i
``cs230_grading/variants/q7.py``                    sample submissions (one wrong answer)
``tests/test_graders_q7.py``                        grader tests (a TODO one marked xfail)
==================================================  =========================================

registers the question in ``cs230_grading/questions.py`` and in the browser tests' ``WRONG``
table, and regenerates ``release/``. As it stands the question is a working placeholder:
the model answer (the identity, ``return x``) scores full points, the stub 0, and the
structure checks pass. The exam's totals then no longer add up to the policy (100 + 5):
``tests/test_question_table.py`` says so until the points are rebalanced.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
from pathlib import Path

from nbformat import NotebookNode

from . import authoring
from .notebooks import write_notebook
from .questions import NAME

TABLE = Path("cs230_grading") / "questions.py"
TABLE_END = ")  # end of QUESTIONS"
BROWSER_TESTS = Path("tests") / "browser" / "test_student.py"
WRONG_END = "}  # end of WRONG"


class ScaffoldError(ValueError):
    """The question cannot be scaffolded as asked (the message says why and what to do)."""


@dataclasses.dataclass(frozen=True)
class NewQuestion:
    """What the scaffold needs: ``notebook`` is ``qN_<slug>``."""

    notebook: str
    title: str
    points: float
    function: str
    reference: str

    @property
    def key(self) -> str:
        match = NAME.match(self.notebook)
        if not match:
            raise ScaffoldError(f"{self.notebook!r}: a question notebook is named qN_<slug> "
                                "(lower case, digits and _), e.g. q7_batchnorm")
        return match.group(1)

    @property
    def number(self) -> str:
        return self.key[1:]


def plan(notebook: str, title: str, points: float, function: str | None = None,
         reference: str | None = None) -> NewQuestion:
    """Check the names and fill in defaults (the function and reference from the slug)."""
    match = NAME.match(notebook)
    if not match:
        raise ScaffoldError(f"{notebook!r}: a question notebook is named qN_<slug> "
                            "(lower case, digits and _), e.g. q7_batchnorm")
    slug = notebook[len(match.group(1)) + 1:]
    function = function or slug
    reference = reference or slug
    for what, name in (("--function", function), ("--reference", reference)):
        if not name.isidentifier() or name.startswith("_"):
            raise ScaffoldError(f"{what} {name!r} is not a Python name: pass {what} NAME")
    if not points > 0:
        raise ScaffoldError(f"--points {points:g}: a question is worth more than 0 points")
    return NewQuestion(notebook, title, float(points), function, reference)


def files(root: Path, q: NewQuestion) -> dict[Path, str | None]:
    """``{path: text}`` of the files the scaffold writes (``None``: the notebook)."""
    return {
        root / "source" / "midterm" / f"{q.notebook}.ipynb": None,
        root / "source" / "midterm" / f"{q.key}_tools.py": TOOLS.format(**_fields(q)),
        root / "cs230_grading" / "reference" / f"{q.reference}.py": REFERENCE.format(**_fields(q)),
        root / "cs230_grading" / "graders" / f"{q.key}.py": GRADER.format(**_fields(q)),
        root / "cs230_grading" / "variants" / f"{q.key}.py": VARIANTS.format(**_fields(q)),
        root / "tests" / f"test_graders_{q.key}.py": TESTS.format(**_fields(q)),
    }


def scaffold(root: str | Path, q: NewQuestion) -> list[Path]:
    """Write the question's files and register it; returns the files written or changed.

    Refuses (:class:`ScaffoldError`, nothing written) when the notebook or its ``qN`` is
    already in the table, or when any file it would write exists.
    """
    root = Path(root).resolve()
    table = root / TABLE
    if not table.is_file():
        raise ScaffoldError(f"{root} has no {TABLE}: run from the kit's repository root")
    text = table.read_text(encoding="utf-8")
    if TABLE_END not in text:
        raise ScaffoldError(f"{table}: the marker `{TABLE_END}` that closes QUESTIONS is "
                            "missing; put it back after the last row")
    taken = re.findall(r'Question\(\s*"(q\d+)_', text)
    if q.key in taken:
        raise ScaffoldError(f"{q.key} is already a question in {TABLE}: pick another number")
    planned = files(root, q)
    existing = [str(p.relative_to(root)) for p in planned if p.exists()]
    if existing:
        raise ScaffoldError(f"would overwrite {', '.join(existing)}: remove them or pick "
                            "another name")
    for path, content in planned.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        if content is None:
            write_notebook(build_notebook(q), path)
        else:
            path.write_text(content, encoding="utf-8")
    changed = [*planned, table]
    table.write_text(text.replace(TABLE_END, f"{table_row(q)}\n{TABLE_END}"), encoding="utf-8")
    browser = root / BROWSER_TESTS
    if browser.is_file() and WRONG_END in (btext := browser.read_text(encoding="utf-8")):
        browser.write_text(btext.replace(WRONG_END, f"{wrong_row(q)}\n{WRONG_END}"),
                           encoding="utf-8")
        changed.append(browser)
    return changed


def unregister(root: str | Path, notebook: str) -> None:
    """Take ``notebook``'s row out of the question table (its files stay where they are).

    For a course copy that grades a subset of the exam (the scaffold's own test), or as the
    first step of removing a question (docs/authoring.md).
    """
    table = Path(root) / TABLE
    lines = table.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines)
                  if re.match(rf'\s*Question\(\s*"{re.escape(notebook)}"', ln)), None)
    if start is None:
        raise ScaffoldError(f"{notebook} is not in {TABLE}")
    end = start
    depth = 0
    for end in range(start, len(lines)):  # the row ends where its parentheses close
        depth += lines[end].count("(") - lines[end].count(")")
        if depth <= 0:
            break
    del lines[start:end + 1]
    table.write_text("".join(lines), encoding="utf-8")


def table_row(q: NewQuestion) -> str:
    return (f"    Question({json.dumps(q.notebook)}, {json.dumps(q.title)}, {q.points:g}, "
            f"grader={json.dumps(q.key)},\n"
            f"             reference={json.dumps(q.reference)}, tools=True),")


def wrong_row(q: NewQuestion) -> str:
    """A wrong answer for the browser test: the visible self-check catches its shape."""
    return (f'    "{q.notebook}": ("{q.key}_i_code", "def {q.function}(x):\\n'
            f'    return x[..., :1]\\n",\n'
            f'                     "{q.key}_i_test", "expected (2, 3)"),')


def build_notebook(q: NewQuestion) -> NotebookNode:
    """The question's source notebook: intro, setup, part i (answer and test cell)."""
    f = _fields(q)
    return authoring.notebook([
        authoring.locked_markdown(f"{q.key}_intro", INTRO.format(**f)),
        authoring.locked_code(f"{q.key}_setup", SETUP.format(**f)),
        authoring.locked_markdown(f"{q.key}_i_text", PART_I.format(**f)),
        authoring.answer_code(f"{q.key}_i_code", ANSWER.format(**f)),
        authoring.test_code(f"{q.key}_i_test", q.points, TEST.format(**f)),
    ])


def _fields(q: NewQuestion) -> dict[str, str]:
    return {"notebook": q.notebook, "key": q.key, "Key": q.key.upper(), "number": q.number,
            "title": q.title, "points": f"{q.points:g}", "function": q.function,
            "reference": q.reference, "seed": str(1000 * int(q.number) + 1)}


# --- templates (str.format: {{ }} are literal braces) -------------------------------------------
INTRO = """# Question {number}: {title} ({points} points)

TODO: the question's text, and a table of its parts: what the student writes, the points,
how it is graded (see q4_l1_regularization.ipynb).

Write your code between the lines `# YOUR CODE HERE` and the end of the cell (delete the
`raise NotImplementedError()`). Each test cell below an answer runs a visible self-check that
only tells you whether your output is well formed; hidden tests decide the grade."""

SETUP = """import numpy as np

import {key}_tools
from selfcheck import collect  # noqa: F401"""

PART_I = """## Part i ({points} points)

TODO: what to write. Write `{function}(x)`: given an array `x` of any shape, return an array
of the same shape."""

ANSWER = '''def {function}(x):
    """TODO: what it computes.

    Inputs:
    - x: array of shape (*S)

    Returns: array of shape (*S).
    """
    ### BEGIN SOLUTION
    return x  # TODO: the model answer (the same as cs230_grading/reference/{reference}.py)
    ### END SOLUTION'''

TEST = (
    "# Visible self-check: well-formedness only (shape, finite values).\n"
    "_ok, _why = collect({key}_tools.selfcheck_{function}, {function})\n"
    "### BEGIN HIDDEN TESTS\n"
    "from cs230_grading.graders import {key}\n"
    "{key}.check_part_i(globals())\n"
    "### END HIDDEN TESTS\n"
    'assert _ok, f"see the \u2718 lines above: {{_why}}"'
)

TOOLS = '''"""{Key} helpers (student side): the visible self-checks (well-formedness only).

Nothing here knows the answer. TODO: an explorer, if the question has one (see q4_tools.py),
with stable CSS classes for the browser tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from selfcheck import check_finite, check_shape, try_call


def selfcheck_{function}({function}: Callable[..., Any]) -> bool:
    """Check that ``{function}`` returns a finite array of the input's shape."""
    x = np.random.default_rng(0).normal(size=(2, 3))
    out = try_call({function}, x)
    return check_shape(out, (2, 3), "{function}(x)") and check_finite(out, "{function}(x)")
'''

REFERENCE = '''"""Answer key for {title}.

TODO: the reference implementation of every function the question asks for, with the
shapes in the docstrings. The graders compare the student's answers with these.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["{function}"]


def {function}(x: Any) -> np.ndarray:
    """TODO: the answer key. ``x``: array of shape (*S) -> array of shape (*S).

    The scaffold's placeholder is the identity, like the notebook's placeholder model answer.
    """
    return np.array(x, dtype=np.float64)
'''

GRADER = '''"""Hidden tests for {title}: ``{function}``.

All or nothing (the check returns ``None``). Inputs are seeded, so a given submission always
gets the same message. TODO: the named mistakes in ``_mistakes`` and more cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..checks import Mistake, call_student, check_close, hidden_test
from ..reference import {reference} as ref

__all__ = ["CHECKS", "check_part_i"]


# TODO: one constant per mistake students make, for example
# NO_SQUARE = Mistake("{key}.no_square", "did you forget to square? ...")
# (the id names the mistake in reports/mistakes.csv; the message is what the student reads).


def _mistakes(x: np.ndarray) -> dict[Mistake, np.ndarray]:
    """mistake -> what that mistake returns for ``x`` (TODO: the mistakes students make)."""
    return {{}}


@hidden_test
def check_part_i(ns: Mapping[str, Any]) -> None:
    """Part i: ``{function}`` on random arrays of a few shapes."""
    rng = np.random.default_rng({seed})
    for shape in [(4, 5), (7,), (2, 3, 4)]:
        x = rng.normal(size=shape)
        got = call_student(ns, "{function}", x)
        check_close(got, ref.{function}(x), "{function}(x)", mistakes=_mistakes(x),
                    context=f"a random array of shape {{shape}}")


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {{
    "{key}_i_test": check_part_i,
}}
'''

VARIANTS = '''"""{Key} sample submissions: each named mistake, and each stub left unimplemented.

The ``model`` and ``blank`` variants are added by the variants test. TODO: one variant per
named mistake of ``cs230_grading/graders/{key}.py``, with a phrase of its message.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "{notebook}"

VARIANTS: list[Variant] = [
    Variant(
        NOTEBOOK, "zeros", "part i returns zeros",
        answers={{"{key}_i_code": "def {function}(x):\\n    return 0 * x\\n"}},
        failing={{"{key}_i_test": "{function}(x)"}},
    ),
]
'''

TESTS = '''"""Tests of ``cs230_grading/graders/{key}.py`` without a kernel.

The reference passes every check, and each wrong answer gets its message.
"""

from __future__ import annotations

import pytest

from cs230_grading.checks import GradingError
from cs230_grading.graders import {key}
from cs230_grading.reference import {reference} as ref


def test_the_reference_passes_every_check() -> None:
    for gid, check in {key}.CHECKS.items():
        assert check({{"{function}": ref.{function}}}) is None, gid


def test_an_unimplemented_stub_fails_with_a_message() -> None:
    def stub(x):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="not implemented"):
        {key}.check_part_i({{"{function}": stub}})


@pytest.mark.xfail(strict=True, reason="TODO: scaffolded; test each named mistake's message")
def test_each_named_mistake_gets_its_message() -> None:
    pytest.fail("TODO: one case per message of graders/{key}._mistakes")
'''


# --- the command ----------------------------------------------------------------------------------
def add_parser(sub: argparse._SubParsersAction) -> None:
    """``new-question``: the subcommand of ``cs230-grade``."""
    p = sub.add_parser("new-question", help="scaffold a new question (docs/authoring.md)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("notebook", help="qN_<slug>, e.g. q7_batchnorm")
    p.add_argument("--title", required=True, help='shown in the report, e.g. "Q7 Batch norm"')
    p.add_argument("--points", required=True, type=float, help="the question's points")
    p.add_argument("--function", default=None,
                   help="the function part i asks for (default: the slug)")
    p.add_argument("--reference", default=None,
                   help="module name in cs230_grading/reference/, by topic (default: the slug)")
    p.add_argument("--no-release", action="store_true",
                   help="do not regenerate release/ (do it before committing)")


def run(root: Path, args: argparse.Namespace) -> int:
    """Scaffold, print what was written and the checklist's next steps; 2 on a bad request."""
    from .course import Course

    try:
        q = plan(args.notebook, args.title, args.points, args.function, args.reference)
        written = scaffold(root, q)
    except ScaffoldError as exc:
        print(f"cs230-grade new-question: {exc}", file=sys.stderr)
        return 2
    for path in written:
        print(f"wrote {path.relative_to(root)}")
    if not args.no_release:
        Course(root).generate_assignment()
        print("regenerated release/midterm/")
    print(f"Next: replace the TODOs (docs/authoring.md), rebalance the points in {TABLE} so "
          "that they add up to the exam's policy, and run "
          f".venv/bin/python -m pytest tests/test_question_table.py tests/test_graders_{q.key}.py"
          " -x -q")
    return 0
