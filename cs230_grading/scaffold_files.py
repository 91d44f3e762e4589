"""What ``cs230-grade new-question`` writes: the question's notebook and files, as text.

A question has parts of four kinds (docs/authoring.md shows each):

* ``code``: the student writes a function; the hidden test calls it on seeded inputs;
* ``numeric``: the student sets a variable to a number; the hidden test compares it;
* ``choice``: the student sets a variable to a set of options, ``{"i", "iii"}``;
* ``written``: a markdown answer that the staff grade with rubric items.

Every text here is a working placeholder: the model answers agree with the placeholder
answer key, so the model scores full points and the blank release 0 until the TODOs are
replaced. The placeholders never leak into other files: the browser-test row and the sample
variants answer with ``*args, **kwargs`` and wrong *types*, so they keep working once the real
signatures and values are written.

The hidden part of a test cell (how it reaches the grader) is written by
:func:`hidden_test_source` only.
"""

from __future__ import annotations

import dataclasses
import json
import re

from nbformat import NotebookNode

from . import authoring

KINDS = ("code", "numeric", "choice", "written")
ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")
OPTIONS = ("i", "ii", "iii", "iv")
CROSS = "\u2718"  # what a failing visible self-check prints (selfcheck.FAIL)


@dataclasses.dataclass(frozen=True)
class Part:
    """One part: ``kind``, the function or variable the student writes, its points."""

    kind: str
    name: str
    points: float
    roman: str

    @property
    def auto(self) -> bool:
        return self.kind != "written"

    def answer_id(self, key: str) -> str:
        return f"{key}_{self.roman}" if self.kind == "written" else f"{key}_{self.roman}_code"

    def test_id(self, key: str) -> str:
        return f"{key}_{self.roman}_test"


@dataclasses.dataclass(frozen=True)
class NewQuestion:
    """A question to scaffold: ``notebook`` is ``qN_<slug>``, ``name`` has no "QN"."""

    notebook: str
    key: str
    name: str
    points: float
    parts: tuple[Part, ...]
    reference: str
    summary: str

    @property
    def number(self) -> str:
        return self.key[1:]

    @property
    def title(self) -> str:
        """The question table's title: ``"Q7 Batch normalisation"``."""
        return f"{self.key.upper()} {self.name}"

    @property
    def auto_parts(self) -> tuple[Part, ...]:
        return tuple(p for p in self.parts if p.auto)

    @property
    def graded_automatically(self) -> bool:
        return bool(self.auto_parts)


def _pts(value: float) -> str:
    return f"{value:g}"


def points(value: float) -> str:
    """``"1 point"``, ``"2.5 points"``."""
    return f"{value:g} point" + ("" if value == 1 else "s")


def python(text: str) -> str:
    """Two blank lines before each top-level definition (after the first blank line), one
    newline at the end: the generated modules read like the hand-written ones."""
    text = re.sub(r"\n{2,}(?=(?:@|def |class )\S)", "\n\n\n", text)
    return text.strip() + "\n"


# --- the hidden part of a test cell: the one place the scaffold writes it -----------------------
def hidden_test_source() -> str:
    """The hidden lines of a test cell: a comment only. The kernel that executes a notebook
    holds no key; the grader scores the cell with ``CHECKS[grade id]`` of
    ``cs230_grading/graders/<key>.py`` (:mod:`cs230_grading.grading.score`)."""
    from .grading.score import HIDDEN_TEST_MARKER

    return HIDDEN_TEST_MARKER


def test_cell_source(q: NewQuestion, part: Part) -> str:
    """Visible self-check (well-formedness only), the hidden test, then the assertion."""
    if part.kind == "code":  # as the exam's code parts: one line naming what to fix
        visible = (f'_ok, _why = part_check("{part.roman}", ({part.name}, "{part.roman}", '
                   f"{q.key}_tools.selfcheck_{part.name}), echo=True)")
        verdict = "assert _ok, _why"
    else:
        visible = f'_ok, _why = collect({q.key}_tools.selfcheck_{part.name}, globals())'
        verdict = f'assert _ok, f"see the {CROSS} lines above: {{_why}}"'
    return ("# Visible self-check: well-formedness only. The grader's checks decide the grade.\n"
            f"{visible}\n{verdict}\n{hidden_test_source()}")


# --- the notebook -------------------------------------------------------------------------------
def _how(part: Part) -> str:
    return {"code": f"write `{part.name}`", "numeric": f"set `{part.name}` to a number",
            "choice": f"set `{part.name}` to the true options",
            "written": "explain in words"}[part.kind]


def intro(q: NewQuestion) -> str:
    rows = "\n".join(f"| {p.roman} | {_how(p)} | {_pts(p.points)} | "
                     f"{'automatically' if p.auto else 'by the course staff'} |"
                     for p in q.parts)
    return (f"# Question {q.number}: {q.name} ({points(q.points)})\n\n"
            "TODO: the question's text.\n\n"
            "| part | what you do | points | graded |\n|---|---|---|---|\n"
            f"{rows}\n\n"
            "Write your code between the lines `# YOUR CODE HERE` and the end of the cell "
            "(delete the\n`raise NotImplementedError()`). Each test cell below an answer runs "
            "a visible self-check that\nonly tells you whether your answer is well formed; "
            "hidden tests decide the grade.")


def part_text(part: Part) -> str:
    head = f"## Part {part.roman} ({points(part.points)})\n\n"
    if part.kind == "code":
        return head + (f"TODO: what to write. Write `{part.name}(x)`: given an array `x` of "
                       "any shape, return an array\nof the same shape.")
    if part.kind == "numeric":
        return head + (f"TODO: what to compute. Set `{part.name}` to a number (a Python "
                       "`float` or `int`).")
    if part.kind == "choice":
        options = "\n".join(f"* ({o}) TODO: option {o}." for o in OPTIONS)
        return head + (f"TODO: the question. Which options are true? Set `{part.name}` to a "
                       f'set of them, for example `{part.name} = {{"i", "iii"}}` '
                       f"(`set()` if none is).\n\n{options}")
    return head + "TODO: the question. Answer in the markdown cell below, in a few sentences."


def answer_source(q: NewQuestion, part: Part) -> str:
    if part.kind == "code":
        return (f'def {part.name}(x):\n    """TODO: what it computes.\n\n    Inputs:\n'
                "    - x: array of shape (*S)\n\n    Returns: array of shape (*S).\n"
                '    """\n    ### BEGIN SOLUTION\n'
                f"    return x  # TODO: the model answer (as cs230_grading/reference/"
                f"{q.reference}.py)\n    ### END SOLUTION")
    if part.kind == "numeric":
        return (f"# {part.name} = <a number>\n### BEGIN SOLUTION\n"
                f"{part.name} = 1.0  # TODO: the model answer ({q.reference}.{part.name}())\n"
                "### END SOLUTION")
    if part.kind == "choice":
        return (f'# {part.name} = {{"i", "iii"}}  (the true options)\n### BEGIN SOLUTION\n'
                f'{part.name} = {{"i"}}  # TODO: the model answer ({q.reference}.{part.name}())\n'
                "### END SOLUTION")
    return ("TODO: the model answer.\n\n---\n\n"
            f"**Rubric ({points(part.points)}; instructors only: nbgrader replaces this "
            "cell in the release).** TODO: what earns each point (the items are in "
            "instructor/rubric_items.yaml).")


def build_notebook(q: NewQuestion) -> NotebookNode:
    """The question's source notebook: intro, setup, then each part's cells."""
    cells = [authoring.locked_markdown(f"{q.key}_intro", intro(q))]
    if q.graded_automatically:
        cells.append(authoring.locked_code(
            f"{q.key}_setup",
            f"import numpy as np\n\nimport {q.key}_tools\n"
            "from selfcheck import collect, part_check  # noqa: F401"))
    for part in q.parts:
        cells.append(authoring.locked_markdown(f"{q.key}_{part.roman}_text", part_text(part)))
        if part.kind == "written":
            cells.append(authoring.manual_answer(part.answer_id(q.key), part.points,
                                                 answer_source(q, part)))
            continue
        cells.append(authoring.answer_code(part.answer_id(q.key), answer_source(q, part)))
        cells.append(authoring.test_code(part.test_id(q.key), part.points,
                                         test_cell_source(q, part)))
    return authoring.notebook(cells)


# --- wrong answers that do not depend on the placeholders --------------------------------------
def wrong_answer(part: Part) -> str:
    """An answer of the wrong type: whatever the real signature or value, it is wrong."""
    if part.kind == "code":
        return f"def {part.name}(*args, **kwargs):\n    return None\n"
    if part.kind == "numeric":
        return f"{part.name} = None\n"
    if part.kind == "choice":
        return f'{part.name} = {{"v"}}\n'
    return "YOUR ANSWER HERE"


def browser_row(q: NewQuestion) -> str:
    """The row of ``WRONG`` in tests/browser/test_student.py: the first part, answered with
    the wrong type, must make its visible self-check print a cross (and fail Validate)."""
    part = q.parts[0]
    if part.kind == "written":
        row = (part.answer_id(q.key), "YOUR ANSWER HERE", part.answer_id(q.key),
               "did not provide a response")
    else:
        row = (part.answer_id(q.key), wrong_answer(part), part.test_id(q.key), CROSS)
    return (f"    {json.dumps(q.notebook)}: (\n        {json.dumps(row[0])}, {json.dumps(row[1])},"
            f"\n        {json.dumps(row[2])}, {json.dumps(row[3])},\n    ),")


def table_row(q: NewQuestion) -> str:
    """The question's row of ``QUESTIONS`` in cs230_grading/questions.py."""
    auto = q.graded_automatically
    grader = json.dumps(q.key) if auto else "None"
    reference = json.dumps(q.reference) if auto else "None"
    return (f"    Question({json.dumps(q.notebook)}, {json.dumps(q.title)}, {_pts(q.points)}, "
            f"grader={grader},\n             reference={reference}, tools={auto},\n"
            f"             summary={json.dumps(q.summary)}),")


def rubric_entries(q: NewQuestion) -> str:
    """instructor/rubric_items.yaml entries for the written parts (one placeholder item)."""
    return "".join(
        f"\n{p.answer_id(q.key)}:\n  scoring: positive\n  items:\n    - id: todo\n"
        f"      points: {_pts(p.points)}\n"
        '      description: "TODO: what earns the points (split into one item per point)."\n'
        for p in q.parts if p.kind == "written")


# --- the modules --------------------------------------------------------------------------------
def tools_module(q: NewQuestion) -> str:
    checks = []
    for p in q.auto_parts:
        if p.kind == "code":
            checks.append(f'''

def selfcheck_{p.name}({p.name}: Callable[..., Any]) -> bool:
    """Check that ``{p.name}`` returns a finite array of the input's shape."""
    x = np.random.default_rng(0).normal(size=(2, 3))
    out = try_call({p.name}, x)
    name = "{p.name}(x)"
    return check_shape(out, (2, 3), name) and check_finite(out, name)''')
        elif p.kind == "numeric":
            checks.append(f'''

def selfcheck_{p.name}(namespace: Mapping[str, Any]) -> bool:
    """Check that ``{p.name}`` is set to a finite number."""
    if "{p.name}" not in namespace:
        return report(False, "`{p.name}` is not defined yet: set it in the answer cell "
                             "and run it")
    value = namespace["{p.name}"]
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return report(False, f"`{p.name}` should be a number, got {{value!r}}")
    return check_finite(value, "`{p.name}`")''')
        else:
            checks.append(f'''

def selfcheck_{p.name}(namespace: Mapping[str, Any]) -> bool:
    """Check that ``{p.name}`` is a set of the options {", ".join(OPTIONS)}."""
    if "{p.name}" not in namespace:
        return report(False, "`{p.name}` is not defined yet: set it in the answer cell "
                             "and run it")
    value = namespace["{p.name}"]
    if not isinstance(value, (set, frozenset, list, tuple)) or not set(value) <= OPTIONS:
        return report(False, f"`{p.name}` is not well formed: give a set of options among "
                             f"{{sorted(OPTIONS)}}, got {{value!r}}")
    return report(True, f"`{p.name}` holds the options {{sorted(value)}}")''')
    kinds = {p.kind for p in q.auto_parts}
    abc = sorted(({"Callable"} if "code" in kinds else set())
                 | ({"Mapping"} if kinds - {"code"} else set()))
    helpers = sorted(({"check_finite", "check_shape", "try_call"} if "code" in kinds else set())
                     | ({"check_finite"} if "numeric" in kinds else set())
                     | ({"report"} if kinds - {"code"} else set()))
    imports = f"from collections.abc import {', '.join(abc)}\nfrom typing import Any\n\n"
    if kinds - {"choice"}:
        imports += "import numpy as np\n"
    imports += f"from selfcheck import {', '.join(helpers)}\n"
    options = (f"\nOPTIONS = frozenset({{{', '.join(json.dumps(o) for o in OPTIONS)}}})\n"
               if "choice" in kinds else "")
    return f'''"""{q.key.upper()} helpers (student side): the visible self-checks.

They say whether an answer is well formed, never whether it is right: nothing here knows the
answer. TODO: an explorer, if the question has one (see q4_tools.py),
with stable CSS classes for the browser tests.
"""

from __future__ import annotations

{imports}{options}{"".join(checks)}
'''


def reference_module(q: NewQuestion) -> str:
    functions = []
    for p in q.auto_parts:
        if p.kind == "code":
            functions.append(f'''

def {p.name}(x: Any) -> np.ndarray:
    """TODO: the answer key. ``x``: array of shape (*S) -> array of shape (*S).

    The scaffold's placeholder is the identity, like the notebook's placeholder model answer.
    """
    return np.array(x, dtype=np.float64)''')
        elif p.kind == "numeric":
            functions.append(f'''

def {p.name}() -> float:
    """TODO: the answer to part {p.roman}, computed (not typed) where it can be."""
    return 1.0''')
        else:
            functions.append(f'''

def {p.name}() -> frozenset[str]:
    """TODO: the true options of part {p.roman}, each with the reason in a comment."""
    return frozenset({{"i"}})''')
    names = ", ".join(json.dumps(p.name) for p in q.auto_parts)
    return f'''"""Answer key for {q.title}.

TODO: the reference answer of every part, with the shapes in the docstrings. The graders
compare the student's answers with these; the notebook's model answers must agree with them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [{names}]
{"".join(functions)}
'''


ANSWER_HELPER = '''

def _answer(ns: Mapping[str, Any], name: str) -> Any:
    """The value of an answer variable, or a message when its cell was not run."""
    if name not in ns:
        raise GradingError(f"`{name}` is not defined: run its answer cell (and keep its name).")
    return ns[name]
'''


def grader_module(q: NewQuestion) -> str:
    checks, entries = [], []
    seed = 1000 * int(q.number)
    for p in q.auto_parts:
        entries.append(f'    "{p.test_id(q.key)}": check_part_{p.roman},')
        if p.kind == "code":
            checks.append(f'''

def _mistakes_{p.name}(x: np.ndarray) -> dict[Mistake, np.ndarray]:
    """mistake -> what that mistake returns for ``x`` (TODO: the mistakes students make)."""
    return {{}}


@hidden_test
def check_part_{p.roman}(ns: Mapping[str, Any]) -> None:
    """Part {p.roman}: ``{p.name}`` on seeded random arrays of a few shapes."""
    rng = np.random.default_rng({seed + ROMAN.index(p.roman) + 1})
    for shape in [(4, 5), (7,), (2, 3, 4)]:
        x = rng.normal(size=shape)
        got = call_student(ns, "{p.name}", x)
        check_close(got, ref.{p.name}(x), "{p.name}(x)",
                    mistakes=_mistakes_{p.name}(x),
                    context=f"a random array of shape {{shape}}")''')
        elif p.kind == "numeric":
            checks.append(f'''

@hidden_test
def check_part_{p.roman}(ns: Mapping[str, Any]) -> None:
    """Part {p.roman}: the number ``{p.name}``."""
    value = _answer(ns, "{p.name}")
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise GradingError(f"`{p.name}` should be a number, got {{value!r}}.")
    # TODO: named mistakes, {{Mistake: the value that mistake gives}}, and the tolerance.
    check_close(float(value), ref.{p.name}(), "`{p.name}`", mistakes={{}}, rtol=1e-3)''')
        else:
            checks.append(f'''

@hidden_test
def check_part_{p.roman}(ns: Mapping[str, Any]) -> None:
    """Part {p.roman}: the set of options ``{p.name}`` (all or nothing)."""
    value = _answer(ns, "{p.name}")
    if not isinstance(value, (set, frozenset, list, tuple)) or not set(value) <= OPTIONS:
        raise GradingError(f"`{p.name}` is not well formed: give a set of options among "
                           f"{{sorted(OPTIONS)}}, got {{value!r}}.")
    if set(value) != set(ref.{p.name}()):
        raise GradingError("`{p.name}` is not right: at least one option you chose is false, "
                           "or you left out a true one.")''')
    kinds = {p.kind for p in q.auto_parts}
    names = sorted({"hidden_test"}
                   | ({"Mistake", "call_student", "check_close"} if "code" in kinds else set())
                   | ({"check_close"} if "numeric" in kinds else set())
                   | ({"GradingError"} if kinds - {"code"} else set()))
    numpy = "import numpy as np\n\n" if kinds - {"choice"} else ""
    options = (f"\nOPTIONS = frozenset({{{', '.join(json.dumps(o) for o in OPTIONS)}}})\n"
               if "choice" in kinds else "")
    answer = ANSWER_HELPER if kinds - {"code"} else ""
    return f'''"""Hidden tests for {q.title}.

One check per automatically graded part, listed in ``CHECKS`` by the test cell's grade id.
A check returns ``None`` for full points (or a number of points for partial credit) and
raises ``GradingError`` with the message the student reads. Inputs are seeded, so a given
submission always gets the same message. TODO: the named mistakes, as ``Mistake`` constants
(the id names the mistake in reports/mistakes.csv; the message is what the student reads):
# NO_SQUARE = Mistake("{q.key}.no_square", "did you forget to square? ...")
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

{numpy}from ..checks import {", ".join(names)}
from ..reference import {q.reference} as ref

__all__ = ["CHECKS"]
{options}{answer}{"".join(checks)}


CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]] = {{
{chr(10).join(entries)}
}}
'''


def variants_module(q: NewQuestion) -> str:
    variants = []
    for p in q.auto_parts:
        phrase = {"code": f"{p.name}(x)", "numeric": f"`{p.name}` should be a number",
                  "choice": "not well formed"}[p.kind]
        variants.append(f'''    Variant(
        NOTEBOOK, "wrong_type_{p.roman}", "part {p.roman} answered with the wrong type",
        answers={{"{p.answer_id(q.key)}": {json.dumps(wrong_answer(p))}}},
        failing={{"{p.test_id(q.key)}": {json.dumps(phrase)}}},
    ),''')
    body = "\n".join(variants)
    return f'''"""{q.key.upper()} sample submissions: a wrong answer per part, and named mistakes.

The ``model`` and ``blank`` variants are added by the variants test. The scaffold's variants
answer with the wrong type, so they hold whatever the real signatures and values are. TODO:
one variant per named mistake of ``cs230_grading/graders/{q.key}.py``, with a phrase of its
message.
"""

from __future__ import annotations

from . import Variant

NOTEBOOK = "{q.notebook}"

VARIANTS: list[Variant] = [
{body}
]
'''


def grader_tests(q: NewQuestion) -> str:
    model = "".join(f'\n    "{p.name}": ref.{p.name}' + ("" if p.kind == "code" else "()") + ","
                    for p in q.auto_parts)
    cases = []
    for p in q.auto_parts:
        if p.kind == "code":
            cases.append(f'''

def test_part_{p.roman}_an_unimplemented_stub_fails_with_a_message() -> None:
    def stub(*args, **kwargs):
        raise NotImplementedError()

    with pytest.raises(GradingError, match="not implemented"):
        {q.key}.check_part_{p.roman}({{**MODEL, "{p.name}": stub}})''')
        else:
            cases.append(f'''

def test_part_{p.roman}_an_answer_of_the_wrong_type_fails_with_a_message() -> None:
    with pytest.raises(GradingError, match="{p.name}"):
        {q.key}.check_part_{p.roman}({{**MODEL, "{p.name}": "x"}})
    with pytest.raises(GradingError, match="not defined"):
        {q.key}.check_part_{p.roman}({{}})''')
    return f'''"""Tests of ``cs230_grading/graders/{q.key}.py`` without a kernel.

The reference passes every check, and each wrong answer gets its message.
"""

from __future__ import annotations

import pytest

from cs230_grading.checks import GradingError
from cs230_grading.graders import {q.key}
from cs230_grading.reference import {q.reference} as ref

#: The answer key as a notebook namespace: what a model answer defines.
MODEL = {{{model}\n}}


def test_the_reference_passes_every_check() -> None:
    for gid, check in {q.key}.CHECKS.items():
        assert check(dict(MODEL)) is None, gid
{"".join(cases)}


@pytest.mark.xfail(strict=True, reason="TODO: scaffolded; test each named mistake's message")
def test_each_named_mistake_gets_its_message() -> None:
    pytest.fail("TODO: one case per named mistake of graders/{q.key}.py")
'''


def reference_tests(q: NewQuestion) -> str:
    cases = []
    for p in q.auto_parts:
        if p.kind == "code":
            cases.append(f'''

def test_{p.name}_keeps_the_shape_and_is_finite() -> None:
    x = np.random.default_rng(0).normal(size=(3, 4))
    out = ref.{p.name}(x)
    assert out.shape == x.shape and np.all(np.isfinite(out))''')
        elif p.kind == "numeric":
            cases.append(f'''

def test_{p.name}_is_a_finite_number() -> None:
    assert np.isfinite(float(ref.{p.name}()))''')
        else:
            cases.append(f'''

def test_{p.name}_names_only_options_of_the_question() -> None:
    assert set(ref.{p.name}()) <= {{{", ".join(json.dumps(o) for o in OPTIONS)}}}''')
    return f'''"""The {q.title} answer key, checked independently of its own formulas.

TODO: hand-derived cases, brute force, finite differences or loops against vectorised code
(see tests/test_reference_l1.py).
"""

from __future__ import annotations

import numpy as np
import pytest

from cs230_grading.reference import {q.reference} as ref
{"".join(cases)}


@pytest.mark.xfail(strict=True, reason="TODO: scaffolded; check the key by hand-derived cases")
def test_the_key_agrees_with_hand_derived_cases() -> None:
    pytest.fail("TODO: cases worked out by hand, independently of cs230_grading/reference")
'''


def tools_tests(q: NewQuestion) -> str:
    cases = []
    for p in q.auto_parts:
        if p.kind == "code":
            cases.append(f'''

def test_selfcheck_{p.name}_passes_the_key_and_names_a_stub() -> None:
    assert collect(tools.selfcheck_{p.name}, ref.{p.name}, echo=False).ok

    def stub(*args, **kwargs):
        raise NotImplementedError()

    outcome = collect(tools.selfcheck_{p.name}, stub, echo=False)
    assert not outcome.ok and "not implemented" in outcome.first_failure''')
        else:
            cases.append(f'''

def test_selfcheck_{p.name}_passes_the_key_and_names_what_is_missing() -> None:
    key = {{"{p.name}": ref.{p.name}()}}
    assert collect(tools.selfcheck_{p.name}, key, echo=False).ok
    outcome = collect(tools.selfcheck_{p.name}, {{}}, echo=False)
    assert not outcome.ok and "not defined yet" in outcome.first_failure
    assert not collect(tools.selfcheck_{p.name}, {{"{p.name}": None}}, echo=False).ok''')
    return f'''"""The {q.key.upper()} visible self-checks (``source/midterm/{q.key}_tools.py``).

They pass the answer key, and a stub or a missing answer gets the stub message
("not implemented" / "not defined yet") that the browser tests expect.
"""

from __future__ import annotations

import importlib
import sys

import pytest

from cs230_grading.course import REPO_ROOT
from cs230_grading.reference import {q.reference} as ref

sys.path.insert(0, str(REPO_ROOT / "source" / "midterm"))
tools = importlib.import_module("{q.key}_tools")
collect = importlib.import_module("selfcheck").collect


@pytest.fixture(autouse=True)
def as_validate_runs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under nbgrader (Validate, autograde) an answer not written yet fails its check;
    interactively the check lets Run All go on (selfcheck.unanswered_fails)."""
    monkeypatch.setenv("NBGRADER_EXECUTION", "validate")
{"".join(cases)}
'''
