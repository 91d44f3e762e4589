"""No shortcut earns analytic credit, and an untouched extra-credit stub is "not attempted".

The notebooks give students helpers (``selfcheck.py``, ``qN_tools.py``, imported by the setup
cells): ``numerical_gradient`` (finite differences), ``gan_objective`` and ``wgan_objective``
(the objectives' values), the self-checks. A part that asks for an analytic gradient or formula
could be answered by calling them: ``discriminator_grads`` returning
``numerical_gradient(lambda _: gan_objective(...), W)`` passes every numerical comparison.

:func:`guarded_checks` wraps a notebook's checks (``graders.qN.CHECKS``) for the scoring pass.
Before a guarded part's check runs, the student's function is called once on a small case with
every provided helper that can stand in for an answer (:data:`WHAT`; aliases included) swapped
for a recording stand-in: the student's process calls back into the
grader (``StudentNamespace.call``'s overrides), so the grader sees each call. A helper given a
function of the student's own (``numerical_gradient(lambda ...)``) cannot call back with it and
fails in the student's process with a WireError, which is detected too. The function's source
is also scanned for helpers reached as a module's attribute (``selfcheck.numerical_gradient``),
which no namespace swap reaches. Either way the part scores 0 with one line naming the helper.

An extra-credit part whose function still raises ``NotImplementedError`` (as released) scores 0
with a :data:`NOT_ATTEMPTED` message, which :func:`cs230_grading.grading.score.verdict_outputs`
renders as a neutral line, not an error.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..checks import GradingError, Mistake

Check = Callable[[Mapping[str, Any]], "float | None"]

#: the first words of a "not attempted" verdict (an optional part left as released)
NOT_ATTEMPTED = "not attempted"
#: the error a provided helper raises in the student's process when handed the student's own
#: function (``sandbox.runner._stub_id``)
_PASSED_BACK = "only the grader's functions can be passed back"
#: helper modules the release gives students (their functions are "provided")
_PROVIDED_FILE = re.compile(r"(?:^|[/\\<: ])(selfcheck|q\d+_tools)\.py>?$")
#: the provided helpers that can stand in for an answer (the audit of issue 32), as a message
#: names them; the rest (forward, the self-checks, the demos) give no answer
WHAT = {
    "numerical_gradient": "numerical_gradient (finite differences)",
    "gan_objective": "gan_objective (L's value)",
    "wgan_objective": "wgan_objective (L''s value)",
}


@dataclasses.dataclass(frozen=True)
class Guard:
    """One guarded part: its label, what it asks for, the function and a small call."""

    part: str
    asks: str
    function: str
    args: Callable[[], tuple[Any, ...]]


def _rng() -> np.random.Generator:
    return np.random.default_rng(3232)


def _act(name: str) -> Any:
    from ..reference import gan as ref

    return ref.ACTIVATIONS[name]


def _disc_args() -> tuple[Any, ...]:
    rng = _rng()
    W = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    return W, [_act("tanh"), _act("sigmoid")], rng.normal(size=(2, 4)), rng.normal(size=(2, 3))


def _gen_args() -> tuple[Any, ...]:
    rng = _rng()
    W_g = [rng.normal(size=(3, 2)), rng.normal(size=(2, 3))]
    W_d = [rng.normal(size=(3, 2)), rng.normal(size=(1, 3))]
    return (W_g, [_act("tanh"), _act("tanh")], W_d, [_act("tanh"), _act("sigmoid")],
            rng.normal(size=(2, 3)))


def _pair_args() -> tuple[Any, ...]:
    rng = _rng()
    return rng.uniform(0.1, 0.9, size=(1, 4)), rng.uniform(0.1, 0.9, size=(1, 3))


def _backprop_args() -> tuple[Any, ...]:
    rng = _rng()
    return (rng.normal(size=(2, 4)), rng.normal(size=(2, 3)), rng.normal(size=(3, 4)),
            _act("tanh").g_prime)


def _grad_wrt_args() -> tuple[Any, ...]:
    rng = _rng()
    return rng.normal(size=(3, 2)), rng.normal(size=(3, 4))


def _l1_args() -> tuple[Any, ...]:
    rng = _rng()
    return rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), 0.5


def _l1_solution_args() -> tuple[Any, ...]:
    rng = _rng()
    return rng.normal(size=(2, 3)), rng.uniform(0.5, 2.0, size=(2, 3)), 0.5


#: the named mistake (reports/mistakes.csv) of each guarded question
SHORTCUT = {q: Mistake(f"{q}.shortcut", "a provided helper's result given as the answer "
                       "(finite differences or the objective's value): no credit.")
            for q in ("q4", "q5")}
BACKPROP = "backprop"
#: notebook -> test grade id -> the guard of that part (audit: see the report of issue 32)
GUARDS: dict[str, dict[str, Guard]] = {
    "q4_l1_regularization": {
        "q4_i_test": Guard("i", "the gradient's formula", "l1_regularized_grad", _l1_args),
        "q4_ii_test": Guard("ii", "the minimiser's formula", "l1_solution", _l1_solution_args),
    },
    "q5_gan_backprop": {
        "q5_i_test": Guard("i", BACKPROP, "discriminator_grads", _disc_args),
        "q5_ii_test": Guard("ii", "the gradient's formula", "output_layer_grads", _pair_args),
        "q5_iii_test": Guard("iii", BACKPROP, "backprop_layer", _backprop_args),
        "q5_iv_test": Guard("iv", BACKPROP, "grad_wrt_generator_output", _grad_wrt_args),
        "q5_v_test": Guard("v", BACKPROP, "generator_grads", _gen_args),
        "q5_viii_test": Guard("viii", "the gradient's formula", "wgan_output_grads",
                              _pair_args),
    },
}
#: notebook -> test grade ids of extra-credit parts, and their function
EXTRA_CREDIT: dict[str, dict[str, str]] = {
    "q6_numpy_attention": {"q6_vectorized_test": "attention_vectorized"},
}


def provided_names(ns: Mapping[str, Any]) -> list[str]:
    """Names of ``ns`` bound to a helper that can stand in for an answer (:data:`WHAT`),
    aliases included: a name whose function is one of theirs (same helper module and line)."""
    def key(value: Any) -> tuple[str, int] | None:
        code = getattr(value, "__code__", None)
        if code is None or not callable(value) or not _PROVIDED_FILE.search(code.co_filename):
            return None
        return code.co_filename, code.co_firstlineno

    keys = {key(ns[name]) for name in WHAT if name in ns} - {None}
    return [name for name, value in ns.items()
            if key(value) is not None and (name in WHAT or key(value) in keys)]


def _source_tree(func: Any) -> ast.AST | None:
    try:
        return ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError):
        return None


def named_in_source(ns: Mapping[str, Any], function: str, helpers: list[str]
                    ) -> tuple[list[str], list[str]]:
    """Provided helpers the source of ``ns[function]`` (or of a notebook function it names)
    refers to: ``(by name, as a module's attribute)`` (``selfcheck.numerical_gradient``)."""
    wanted = set(helpers) | set(WHAT)
    by_name: list[str] = []
    by_attribute: list[str] = []
    pending, seen = [function], set()
    while pending:
        current = pending.pop()
        seen.add(current)
        tree = _source_tree(ns.get(current))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr in wanted:
                by_attribute += [] if node.attr in by_attribute else [node.attr]
            elif isinstance(node, ast.Name) and node.id in wanted:
                by_name += [] if node.id in by_name else [node.id]
            elif (isinstance(node, ast.Name) and node.id not in seen
                  and getattr(ns.get(node.id), "_cs230_student", False)):
                pending.append(node.id)
    return by_name, by_attribute


def calls_provided(ns: Mapping[str, Any], guard: Guard) -> list[str]:
    """Provided helpers that ``ns[guard.function]`` calls, found by calling it once with each
    helper swapped for a recording stand-in (and by reading its source); [] when none."""
    from ..credit import swapped_in

    helpers = provided_names(ns)
    called: list[str] = []

    def stand_in(name: str) -> Callable[..., Any]:
        def record(*_args: Any, **_kwargs: Any) -> Any:
            if name not in called:
                called.append(name)
            raise RuntimeError(f"{name} is not available to this part")

        record.__name__ = name
        return record

    failure = ""
    func = ns.get(guard.function)
    if callable(func) and helpers:
        with swapped_in(ns, {name: stand_in(name) for name in helpers}):
            try:
                func(*guard.args())
            except Exception as exc:  # noqa: BLE001 - only what it called matters here
                failure = str(exc)
    by_name, by_attribute = named_in_source(ns, guard.function, helpers)
    if _PASSED_BACK in failure:  # a helper was handed a function of the student's
        called += [n for n in by_name if n not in called] or ["a helper the notebook provides"]
    found = called + [n for n in by_attribute if n not in called]
    order = list(WHAT)  # the most telling first: finite differences, then the objectives
    return sorted(found, key=lambda n: order.index(n) if n in order else len(order))


def shortcut_message(guard: Guard, helpers: list[str]) -> str:
    """One line: the part, what it asks for, and the helper its function calls."""
    what = ", ".join(WHAT.get(h, h) for h in helpers)
    return (f"part {guard.part} asks for {guard.asks}; {guard.function} calls {what}: "
            "no credit for a provided helper's result.")


def guard_question(guard: Guard) -> str:
    """``q4`` or ``q5``: the question whose part ``guard`` guards."""
    return next((nb.split("_")[0] for nb, guards in GUARDS.items()
                 if guard in guards.values()), "")


def _guarded(guard: Guard, check: Check) -> Check:
    @functools.wraps(check)
    def run(ns: Mapping[str, Any]) -> float | None:
        helpers = calls_provided(ns, guard)
        if helpers:
            question = guard_question(guard)
            raise GradingError(shortcut_message(guard, helpers),
                               mistakes=[SHORTCUT[question].id] if question in SHORTCUT else [])
        return check(ns)

    return run


def is_untouched_stub(ns: Mapping[str, Any], function: str, args: tuple[Any, ...]) -> bool:
    """True when ``ns[function]`` still raises NotImplementedError (as released)."""
    func = ns.get(function)
    if not callable(func):
        return False
    try:
        func(*args)
    except NotImplementedError:
        return True
    except Exception:  # noqa: BLE001 - anything else is an attempt; its check says more
        return False
    return False


def _optional(function: str, check: Check) -> Check:
    @functools.wraps(check)
    def run(ns: Mapping[str, Any]) -> float | None:
        rng = _rng()
        args = (rng.normal(size=(5, 6, 3)), rng.normal(size=(3, 3, 3, 2)),
                rng.normal(size=(3, 3, 1, 2)))
        if is_untouched_stub(ns, function, args):
            print(f"{NOT_ATTEMPTED} (extra credit, optional): {function} is left as released.")
            return 0.0
        return check(ns)

    return run


def guarded_checks(notebook: str, checks: Mapping[str, Check]) -> dict[str, Check]:
    """``checks`` with the shortcut guards and the extra-credit rule of ``notebook`` added."""
    out = dict(checks)
    for gid, guard in GUARDS.get(notebook, {}).items():
        if gid in out:
            out[gid] = _guarded(guard, out[gid])
    for gid, function in EXTRA_CREDIT.get(notebook, {}).items():
        if gid in out:
            out[gid] = _optional(function, out[gid])
    return out


def is_not_attempted(message: str) -> bool:
    """True for the message of an optional part left as released."""
    return message.startswith(NOT_ATTEMPTED)
