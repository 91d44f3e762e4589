"""Self-check helpers for the CS230 midterm notebooks (student side).

These checks tell you whether an answer is *well formed* (right type, right
shape, finite) and let you verify gradients numerically. They never tell you
whether an answer is right: the hidden tests do that at grading time.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

PASS = "\u2714"  # check mark
FAIL = "\u2718"  # cross
NOT_YET = "\u25cb"  # open circle: not answered yet, neither right nor wrong


class NotImplementedYet(Exception):
    """Raised by :func:`try_call` when a stub still raises NotImplementedError."""


def report(ok: bool, message: str) -> bool:
    """Print one self-check line and return ``ok``."""
    print(f"{PASS if ok else FAIL} {message}")
    return ok


def not_yet(message: str) -> None:
    """Print one neutral line: an answer that is not written yet (``None``, or a stub)."""
    print(f"{NOT_YET} {message}")


def unanswered_fails() -> bool:
    """Whether an answer not written yet fails its test cell.

    Under nbgrader (Validate, and grading) it does, so Validate lists what is left to do.
    Interactively it does not: Run All goes on to every self-check below it.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


class Outcome(NamedTuple):
    """What :func:`collect` found: ``ok`` and the first failing line (without its cross)."""

    ok: bool
    first_failure: str


def collect(check: Callable[..., Any], *args: Any, echo: bool = True, **kwargs: Any) -> Outcome:
    """Run a self-check, show its lines, and return ``(ok, first_failure)``.

    A check fails when it prints a line starting with the cross, returns ``False``, or raises.
    An answer not written yet (a stub's NotImplementedError, or a line starting with
    :data:`NOT_YET`) fails only under nbgrader (:func:`unanswered_fails`): interactively the
    check passes, so Run All runs every cell. ``echo=False`` runs it silently. A test cell
    ends with ``assert ok, first_failure`` so that nbgrader's Validate button fails with the
    self-check's own message.
    """
    buffer = io.StringIO()
    result: Any = None
    with contextlib.redirect_stdout(buffer):
        try:
            result = check(*args, **kwargs)
        except (NotImplementedYet, NotImplementedError) as exc:
            not_yet(str(exc) or "a function is not implemented yet")
        except Exception as exc:  # noqa: BLE001 - shown to the student
            name = getattr(check, "__name__", "the self-check")
            report(False, f"{name} stopped: {type(exc).__name__}: {exc}")
    text = buffer.getvalue()
    if echo:
        sys.stdout.write(text)
    failures = [line[len(FAIL):].strip() for line in text.splitlines() if line.startswith(FAIL)]
    if failures:
        return Outcome(False, failures[0])
    pending = [line[len(NOT_YET):].strip() for line in text.splitlines()
               if line.startswith(NOT_YET)]
    if pending:
        return Outcome(False, pending[0]) if unanswered_fails() else Outcome(True, "")
    if result is False:
        return Outcome(False, f"{getattr(check, '__name__', 'the self-check')} failed")
    return Outcome(True, "")


def try_call(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call ``func``; a stub that is not written yet raises :class:`NotImplementedYet`."""
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        name = getattr(func, "__name__", "this function")
        raise NotImplementedYet(
            f"{name} is not implemented yet: replace `raise NotImplementedError()` with your code"
        ) from None


def rel_error(x: Any, y: Any) -> float:
    """Maximum relative error between two arrays (CS231n style).

    Below 1e-7 the two agree to numerical precision; around 1e-2 or above,
    something is wrong.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def numerical_gradient(f: Callable[[np.ndarray], float], x: np.ndarray,
                       h: float = 1e-5) -> np.ndarray:
    """Central finite differences of a scalar function ``f`` at ``x``.

    ``x`` is modified in place while probing and restored afterwards.
    Returns an array of the same shape as ``x``.
    """
    grad = np.zeros_like(x, dtype=np.float64)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    while not it.finished:
        idx = it.multi_index
        old = x[idx]
        x[idx] = old + h
        f_plus = f(x)
        x[idx] = old - h
        f_minus = f(x)
        x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
        it.iternext()
    return grad


def check_shape(value: Any, shape: tuple[int, ...], name: str) -> bool:
    """Report whether ``value`` is an array (or number) of the given shape."""
    got = np.shape(value)
    return report(tuple(got) == tuple(shape), f"{name} has shape {tuple(got)}"
                  + ("" if tuple(got) == tuple(shape) else f", expected {tuple(shape)}"))


def check_finite(value: Any, name: str) -> bool:
    """Report whether every entry of ``value`` is a finite number."""
    try:
        ok = bool(np.all(np.isfinite(np.asarray(value, dtype=np.float64))))
    except (TypeError, ValueError):
        return report(False, f"{name} is not numeric ({type(value).__name__})")
    return report(ok, f"{name} is finite" if ok else f"{name} contains NaN or inf")


def check_int_tuple(value: Any, length: int, name: str) -> bool:
    """Report whether ``value`` is a tuple of ``length`` Python or NumPy integers."""
    ok = (isinstance(value, tuple) and len(value) == length
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in value))
    return report(ok, f"{name} is a tuple of {length} integers" if ok
                  else f"{name} should be a tuple of {length} integers, got {value!r}")


Step = tuple[Callable[..., Any], str, Callable[..., Any]]


def part_check(part: str, *steps: Step, echo: bool = False, optional: bool = False) -> Outcome:
    """A test cell's visible part: the self-checks shown for ``part``, and one line for Validate.

    Each step is ``(function, where, check)``: one of your functions, the part where you write
    it, and the self-check shown for it, called as ``check(function)``. List the functions of
    earlier parts first: the first failing step is the root cause. Its line starts with the
    part and what to fix ("part iii fails: first fix conv_num_params (part i)").
    ``optional``: a function still left as released is not attempted, not a failure.
    """
    label = part if " " in part else f"part {part}"
    for func, where, check in steps:
        name = getattr(func, "__name__", "a function")
        with contextlib.redirect_stdout(io.StringIO()) as shown:
            ok, why = collect(check, func)
        if optional and not ok and "not implemented" in why:
            print(f"\u2013 {name}: not attempted (optional, no points lost by skipping it)")
            return Outcome(True, "")
        if echo:
            sys.stdout.write(shown.getvalue())
        if ok:
            continue
        if where != part:  # one root cause: name it, in few words (Validate cuts at ~85)
            verb = "implement" if "not implemented" in why else "fix"
            return Outcome(False, f"{label} fails: first {verb} {name} (part {where})")
        if "not implemented" in why:
            return Outcome(False, f"{label}: {name} is not implemented yet")
        return Outcome(False, f"{label}: fix {name}: {why}")
    return Outcome(True, "")


# Every notebook's setup cell imports this module: it shows the exam clock (when the teaching
# team published exam_window.json in this folder; see exam_clock.py).
try:
    import exam_clock as _exam_clock

    _exam_clock.show()
except ImportError:
    pass
