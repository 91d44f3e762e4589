"""Shared checking helper for the hidden tests.

Every hidden test calls the student's code through :func:`call_student` and
compares results with :func:`check_close` / :func:`check_equal`. A failure
raises :class:`GradingError` (an ``AssertionError``) whose message names the
likely mistake when the wrong answer matches a known one ("did you use g
instead of g'?") and otherwise says what differs. Nothing here writes to
stderr: nbgrader scores any stderr output in a test cell as zero, so numpy
warnings are silenced and whatever the student's code prints to stderr during
a check is captured.
"""

from __future__ import annotations

import contextlib
import functools
import io
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import numpy as np

__all__ = [
    "MISTAKES",
    "GradingError",
    "Mistake",
    "call_student",
    "check_close",
    "check_equal",
    "check_shape",
    "hidden_test",
    "quiet",
]

F = TypeVar("F", bound=Callable[..., Any])
Mistakes = Mapping[str, Any] | Iterable[tuple[str, Any]]


class Mistake(str):
    """A named mistake: the sentence a student reads, with a stable id for the class's counts.

    A ``Mistake`` is a ``str`` (its message), so graders format it like any message; its
    ``id`` (``"q3.ceil_pooling"``) names it in ``reports/mistakes.csv`` and stays the same
    when the wording changes. Every mistake is registered in :data:`MISTAKES` when its grader
    module is imported; an id can name only one message.
    """

    id: str

    def __new__(cls, mistake_id: str, message: str) -> Mistake:
        question, _, name = mistake_id.partition(".")
        if not (question.startswith("q") and name and name.replace("_", "").isalnum()):
            raise ValueError(f"mistake id {mistake_id!r}: expected 'qN.snake_case_name'")
        known = MISTAKES.get(mistake_id)
        if known is not None and str(known) != message:
            raise ValueError(f"mistake id {mistake_id!r} names two different messages")
        obj = super().__new__(cls, message)
        obj.id = mistake_id
        MISTAKES[mistake_id] = obj
        return obj

    def __reduce__(self) -> tuple[Any, ...]:  # pickles (Dask) keep the id
        return (Mistake, (self.id, str(self)))


#: every named mistake of every grader imported so far, by id
MISTAKES: dict[str, Mistake] = {}


class GradingError(AssertionError):
    """A hidden test failed; the message is meant for the student.

    ``mistakes``: the ids of the named mistakes the failure recognised (empty when the
    answer is wrong in no known way)."""

    def __init__(self, message: str = "", *, mistakes: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.mistakes: tuple[str, ...] = tuple(dict.fromkeys(mistakes))

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_grading_error, (str(self), self.mistakes))


def _rebuild_grading_error(message: str, mistakes: tuple[str, ...]) -> GradingError:
    return GradingError(message, mistakes=mistakes)


#: the mistakes that the last check's partial credit recognised (see :func:`recognised`)
_RECOGNISED: list[str] = []


def recognise(mistakes: Iterable[str]) -> None:
    """Record named mistakes of a check that still earns partial credit (it returns a score
    instead of raising, so its GradingErrors carry them no further)."""
    _RECOGNISED.extend(m for m in mistakes if m not in _RECOGNISED)


@contextlib.contextmanager
def not_recognising() -> Iterator[None]:
    """Run a check only to learn something (is the student's helper right?): whatever
    mistakes it recognises are not this check's."""
    saved = list(_RECOGNISED)
    try:
        yield
    finally:
        _RECOGNISED[:] = saved


def recognised(reset: bool = True) -> tuple[str, ...]:
    """The mistakes recorded with :func:`recognise` since the last reset."""
    out = tuple(_RECOGNISED)
    if reset:
        _RECOGNISED.clear()
    return out


@contextlib.contextmanager
def quiet() -> Iterator[io.StringIO]:
    """Silence numpy floating-point warnings and Python warnings, capture stderr."""
    buffer = io.StringIO()
    with (
        np.errstate(all="ignore"),
        warnings.catch_warnings(),
        contextlib.redirect_stderr(buffer),
    ):
        warnings.simplefilter("ignore")
        yield buffer


def hidden_test(func: F) -> F:
    """Decorate a check so it runs quietly and every failure is a GradingError.

    A bug in the student's code must not surface as a bare traceback from deep
    inside numpy: unexpected exceptions become a GradingError that says which
    check was running.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with quiet():
            try:
                return func(*args, **kwargs)
            except GradingError:
                raise
            except Exception as exc:  # noqa: BLE001 - reported to the student
                raise GradingError(
                    f"{func.__name__}: the check could not run on your code "
                    f"({type(exc).__name__}: {exc})"
                ) from None

    return wrapper  # type: ignore[return-value]


def _describe_args(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> str:
    parts = []
    for value in args:
        if isinstance(value, np.ndarray):
            parts.append(f"array{value.shape}")
        else:
            text = repr(value)
            parts.append(text if len(text) <= 40 else text[:37] + "...")
    parts += [f"{k}={v!r}" for k, v in kwargs.items()]
    return ", ".join(parts)


def call_student(ns: Mapping[str, Any], name: str, *args: Any, **kwargs: Any) -> Any:
    """Call the student's function ``ns[name]`` and turn every failure into a message.

    ``ns`` is the notebook's namespace (``globals()`` in the test cell). Input
    arrays are copied so that a function that modifies its arguments cannot
    change what later checks see.
    """
    func = ns.get(name)
    if func is None:
        raise GradingError(
            f"`{name}` is not defined: run the cell that defines it (and keep its name)."
        )
    if not callable(func):
        raise GradingError(f"`{name}` should be a function, but it is a {type(func).__name__}.")
    args = tuple(np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args)
    try:
        return func(*args, **kwargs)
    except NotImplementedError:
        raise GradingError(
            f"`{name}` is not implemented yet: replace `raise NotImplementedError()` "
            "with your code."
        ) from None
    except GradingError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported to the student
        raise GradingError(
            f"`{name}({_describe_args(args, kwargs)})` raised "
            f"{type(exc).__name__}: {exc}"
        ) from None


def _as_float_array(value: Any, name: str) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise GradingError(
            f"{name} should be numeric (a number or a NumPy array), got {type(value).__name__}."
        ) from None
    return array


def _matches(actual: np.ndarray, candidate: Any, rtol: float, atol: float) -> bool:
    try:
        cand = np.asarray(candidate, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if cand.shape != actual.shape:
        return False
    with np.errstate(all="ignore"):
        return bool(np.allclose(actual, cand, rtol=rtol, atol=atol, equal_nan=False))


def _mistake_items(mistakes: Mistakes) -> list[tuple[Mistake, Any]]:
    items = list(mistakes.items()) if isinstance(mistakes, Mapping) else list(mistakes)
    for message, _ in items:
        if not isinstance(message, Mistake):
            raise TypeError(f"a named mistake needs an id: use Mistake('qN.name', {message!r})")
    return items


def check_shape(actual: Any, expected_shape: tuple[int, ...], name: str) -> None:
    """Fail with a message naming both shapes when ``actual`` has the wrong shape."""
    shape = np.shape(actual)
    if tuple(shape) != tuple(expected_shape):
        raise GradingError(
            f"{name} has shape {tuple(shape)}, expected {tuple(expected_shape)}."
        )


def check_close(
    actual: Any,
    expected: Any,
    name: str,
    *,
    mistakes: Mistakes = (),
    rtol: float = 1e-6,
    atol: float = 1e-9,
    context: str = "",
) -> None:
    """Compare a numeric answer with the reference.

    ``mistakes`` maps a message ("did you use g instead of g'?") to the value
    that mistake would produce; when the student's answer matches one of them
    (with the same tolerance) that message is the failure. Otherwise the
    message says what differs: the shape, NaN/inf, or the largest error.
    """
    expected_arr = _as_float_array(expected, "the reference")
    actual_arr = _as_float_array(actual, name)
    items = _mistake_items(mistakes)
    suffix = f" ({context})" if context else ""

    def mistake_error() -> GradingError | None:
        for message, candidate in items:
            if _matches(actual_arr, candidate, rtol, atol):
                return GradingError(f"{name} is wrong{suffix}: {message}", mistakes=[message.id])
        return None

    if actual_arr.shape != expected_arr.shape:
        found = mistake_error()
        if found:
            raise found
        raise GradingError(
            f"{name} has shape {actual_arr.shape}, expected {expected_arr.shape}{suffix}."
        )
    if not np.all(np.isfinite(actual_arr)) and np.all(np.isfinite(expected_arr)):
        raise mistake_error() or GradingError(
            f"{name} contains NaN or inf{suffix}; the expected values are all finite."
        )
    with np.errstate(all="ignore"):
        ok = np.allclose(actual_arr, expected_arr, rtol=rtol, atol=atol)
    if ok:
        return
    found = mistake_error()
    if found:
        raise found
    error = np.abs(actual_arr - expected_arr)
    worst = np.unravel_index(int(np.argmax(error)), error.shape) if error.ndim else ()
    where = f" at index {tuple(int(i) for i in worst)}" if worst else ""
    raise GradingError(
        f"{name} differs from the expected value{suffix}: largest absolute error "
        f"{float(error.max()):.3g}{where}."
    )


def check_equal(
    actual: Any,
    expected: Any,
    name: str,
    *,
    mistakes: Mistakes = (),
    context: str = "",
    show_expected: bool = False,
) -> None:
    """Exact comparison for integers, shapes and tuples, with named mistakes.

    ``show_expected`` puts the expected value in the message (fine for hidden
    tests, whose messages reach students only after grading).
    """
    suffix = f" ({context})" if context else ""
    if _normalise(actual) == _normalise(expected):
        return
    for message, candidate in _mistake_items(mistakes):
        if _normalise(actual) == _normalise(candidate):
            raise GradingError(f"{name} is wrong{suffix}: {message}", mistakes=[message.id])
    detail = f", expected {expected!r}" if show_expected else ""
    raise GradingError(f"{name} is wrong{suffix}: got {actual!r}{detail}.")


def _normalise(value: Any) -> Any:
    """Make tuples, lists, numpy integers and arrays comparable."""
    if isinstance(value, np.ndarray):
        return _normalise(value.tolist())
    if isinstance(value, (list, tuple)):
        return tuple(_normalise(v) for v in value)
    if isinstance(value, np.generic):
        return value.item()
    return value
