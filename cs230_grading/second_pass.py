"""The out-of-kernel grading pass: the same CHECKS, with the student's code kept at arm's length.

nbgrader runs hidden tests in the student's kernel, where the student's code can rewrite
``np.allclose``, the input transformers, ``AssertionError`` or ``cs230_grading`` itself.
This pass grades the same submission again in two processes:

* the **student process** (:mod:`cs230_grading.sandbox.runner`, started through
  :func:`cs230_grading.sandbox.wrap_command`: rlimits, no network, no ``source/``,
  gradebook, other students or ``cs230_grading`` at all) runs the notebook's code cells (the
  student's answer and extra cells; the locked cells as ``source/`` has them; never a test
  cell) and then answers calls;
* the **grader** (this module, in the grading worker) calls ``graders.qN.CHECKS`` with a
  namespace of stand-ins: a student function becomes a real Python function (its source
  readable with :mod:`inspect`) that forwards the call through a pipe, a student value
  becomes its plain-data copy. Only plain data crosses (see ``runner.encode``), so nothing
  the student defines runs here.

A cell or call that exceeds the time limit, or a process that dies, costs only that check:
the student process is restarted (skipping cells that hung or crashed) for the next one.

:func:`reconcile` then applies the rule documented in ``docs/security.md``: where this
pass and the gradebook disagree on a test cell (or nbgrader left it awaiting a manual grade
because the cell was deleted), the out-of-kernel score is written as the cell's
``manual_score`` with a comment on the answer cell, and the report flags the submission.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import importlib
import io
import json
import linecache
import os
import re
import select
import signal
import subprocess
import sys
import time
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from . import credit
from .budget import NOT_RUN, current_clock
from .checks import recognised
from .course import ASSIGNMENT, NOTEBOOKS, REPO_ROOT
from .notebooks import NotebookError, grade_cells, nbgrader_meta, read_notebook
from .sandbox import forkserver, private_paths, wrap_command
from .sandbox import runner as wire
from .sandbox.environment import student_environment

COMMENT_TAG = "[cs230 second pass]"
LEDGER_DIR = "second_pass"
RUNNER_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")
_MAGIC = re.compile(r"^\s*[%!]")


class StudentCodeError(Exception):
    """The student's code raised, hung or died while the grader called it."""


class CheckOutOfTime(BaseException):
    """A check used up its time budget. A ``BaseException``, so that a check's own
    ``except Exception`` around a student call cannot swallow it and go on calling."""


def execute_timeout() -> float:
    return float(os.environ.get("CS230_EXECUTE_TIMEOUT", "60"))


@dataclasses.dataclass
class CheckOutcome:
    notebook: str
    grade_id: str
    points: float
    max_points: float
    message: str = ""
    #: ids of the named mistakes the check recognised (``cs230_grading.checks.Mistake``)
    mistakes: tuple[str, ...] = ()


class CheckResult(NamedTuple):
    """What one check gave: its points, its message, and the named mistakes it recognised."""

    points: float
    message: str
    mistakes: tuple[str, ...] = ()


@dataclasses.dataclass
class PassResult:
    student: str
    outcomes: list[CheckOutcome]
    #: (notebook, text) of cells that hung, crashed the process or hit a limit
    events: list[tuple[str, str]]
    seconds: float
    error: str = ""

    def scores(self) -> dict[str, dict[str, float]]:
        table: dict[str, dict[str, float]] = {}
        for o in self.outcomes:
            table.setdefault(o.notebook, {})[o.grade_id] = o.points
        return table


# --- the student process ---------------------------------------------------------------------
class StudentProcess:
    """One sandboxed runner process, restarted on demand."""

    def __init__(self, folder: Path, course_root: Path, timeout: float) -> None:
        self.folder = folder
        self.course_root = course_root
        self.timeout = timeout
        self.proc: Any = None  # a Popen, or a fork server's ForkedProcess
        self.wfd = self.rfd = -1

    def start(self) -> None:
        self.stop()
        to_runner_r, to_runner_w = os.pipe()
        from_runner_r, from_runner_w = os.pipe()
        env = student_environment(NBGRADER_EXECUTION="autograde")
        if os.geteuid() == 0:  # the unprivileged uid must be able to read its pipes
            for fd in (to_runner_r, from_runner_w):
                os.fchmod(fd, 0o666)
        try:
            self.proc = self._fork(env, to_runner_r, from_runner_w)
            if self.proc is None:
                hidden = [*private_paths([self.course_root, REPO_ROOT]),
                          REPO_ROOT / "cs230_grading"]
                hidden = [h for h in dict.fromkeys(hidden) if h.exists()]
                cmd = wrap_command(
                    [sys.executable, "-I", "-c", RUNNER_SOURCE, str(to_runner_r),
                     str(from_runner_w), str(self.folder)],
                    kind="runner", cwd=self.folder, readable=[self.folder], hidden=hidden)
                self.proc = subprocess.Popen(
                    cmd, cwd=self.folder, env=env, stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                    pass_fds=(to_runner_r, from_runner_w), start_new_session=True)
        finally:
            os.close(to_runner_r)
            os.close(from_runner_w)
        self.wfd, self.rfd = to_runner_w, from_runner_r

    def _fork(self, env: dict[str, str], rfd: int, wfd: int) -> Any:
        """The runner as a child of the worker's runner fork server, when one serves this
        folder (:mod:`cs230_grading.sandbox.forkserver`); None otherwise."""
        server = forkserver.server_for(self.folder, env, kind="runner")
        if server is None:
            return None
        try:
            return server.spawn_source(RUNNER_SOURCE, ["fd:0", "fd:1", str(self.folder)],
                                       self.folder, env, fds=(rfd, wfd))
        except forkserver.ForkServerError:
            return None

    def stop(self) -> None:
        for fd in (self.wfd, self.rfd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.wfd = self.rfd = -1
        if self.proc is not None:
            if isinstance(self.proc, forkserver.ForkedProcess):
                self.proc.kill()  # and everything it left in the sandbox
            else:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            self.proc.wait()
            self.proc = None

    def exit_description(self) -> str:
        if self.proc is None:
            return "the student process is gone"
        try:
            code = self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return "the student process stopped answering"
        if code < 0:
            name = signal.Signals(-code).name
            why = {"SIGXCPU": " (CPU time limit)", "SIGKILL": " (killed: a limit was hit)",
                   "SIGSEGV": " (crashed)", "SIGABRT": " (aborted)"}.get(name, "")
            return f"the student process died from {name}{why}"
        return f"the student process exited with status {code}"

    def request(self, message: dict[str, Any], timeout: float,
                callback: Callable[[dict[str, Any]], dict[str, Any]] | None = None
                ) -> dict[str, Any]:
        """Send one request and wait for its reply, serving callbacks meanwhile."""
        if self.proc is None:
            self.start()
        deadline = time.monotonic() + timeout
        try:
            wire.send(self.wfd, message)
            while True:
                left = deadline - time.monotonic()
                ready, _, _ = select.select([self.rfd], [], [], max(left, 0))
                if not ready:
                    self.stop()
                    raise StudentCodeError(f"timed out after {timeout:g} s (time limit)")
                reply = wire.receive(self.rfd)
                if reply.get("status") == "callback" and callback is not None:
                    wire.send(self.wfd, callback(reply))
                    continue
                return reply
        except (EOFError, BrokenPipeError, OSError) as exc:
            reason = self.exit_description()
            self.stop()
            raise StudentCodeError(reason) from exc
        except (wire.WireError, ValueError) as exc:
            self.stop()
            raise StudentCodeError(f"bad reply from the student process: {exc}") from exc


# --- the notebook's cells ----------------------------------------------------------------------
def notebook_cells(student_nb: Any, source_nb: Any) -> list[tuple[str, str]]:
    """``(label, source)`` of the code cells to run, in order.

    Test cells (graded, not answers) never run. Locked cells run as ``source/`` has them
    (a deleted one is put back after the cell that precedes it there), but only the ones that
    import or define something: widgets, demos and visible self-checks are skipped (the
    kernel ran them already). Everything else (answers, the student's own cells, cells whose
    metadata was stripped) runs as submitted.
    """
    src_cells = grade_cells(source_nb)
    tests = {gid for gid, c in src_cells.items()
             if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")}
    locked = {gid: c for gid, c in src_cells.items() if c.cell_type == "code"
              and gid not in tests and not nbgrader_meta(c).get("solution")}
    skipped = {gid for gid, c in locked.items() if not _defines(c.source)}
    order = [nbgrader_meta(c).get("grade_id") for c in source_nb.cells]
    cells: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, cell in enumerate(student_nb.cells):
        if cell.cell_type != "code":
            continue
        gid = nbgrader_meta(cell).get("grade_id") or ""
        if gid in tests or gid in seen or gid in skipped:
            continue
        seen.add(gid) if gid else None
        source = locked[gid].source if gid in locked else cell.source
        cells.append((gid or f"cell {i + 1}", source))
    for gid, cell in locked.items():  # put deleted locked cells back
        if gid in seen or gid in skipped:
            continue
        before = order[:order.index(gid)]
        labels = [label for label, _ in cells]
        at = max((labels.index(g) + 1 for g in before if g in labels), default=0)
        cells.insert(at, (gid, cell.source))
    return [(label, "\n".join("pass" if _MAGIC.match(ln) else ln
                              for ln in source.split("\n"))) for label, source in cells]


def _defines(source: str) -> bool:
    """True when a cell imports or defines a function or class at its top level."""
    import ast

    try:
        tree = ast.parse("\n".join("pass" if _MAGIC.match(ln) else ln
                                   for ln in source.split("\n")))
    except SyntaxError:
        return True
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in tree.body)


# --- the grader's side ---------------------------------------------------------------------------
class StudentNamespace:
    """Loads one notebook into the student process and builds the checks' namespace."""

    def __init__(self, process: StudentProcess, notebook: str,
                 cells: list[tuple[str, str]]) -> None:
        self.process = process
        self.notebook = notebook
        self.cells = cells
        self.skip: set[int] = set()
        self.events: list[str] = []
        self.loaded = False
        #: monotonic time at which the current check runs out of time (None: no check)
        self.deadline: float | None = None

    def time_left(self, limit: float) -> float:
        """``limit``, cut to what is left of the current check's budget."""
        if self.deadline is None:
            return limit
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise CheckOutOfTime
        return min(limit, left)

    def _out_of_time(self) -> bool:
        return self.deadline is not None and time.monotonic() >= self.deadline

    def load(self) -> None:
        """Run the cells (again, after a restart), skipping ones that hung or killed it."""
        try:
            self.process.request({"op": "reset"}, self.time_left(self.process.timeout))
        except StudentCodeError:
            self.process.start()
        for index, (label, source) in enumerate(self.cells):
            if index in self.skip:
                continue
            filename = f"<{self.notebook} {label}>"
            try:
                self.process.request({"op": "exec", "source": source, "file": filename},
                                     self.time_left(self.process.timeout))
            except StudentCodeError as exc:
                if self._out_of_time():  # the check's budget, not the cell, ran out
                    self.process.start()
                    raise CheckOutOfTime from None
                self.skip.add(index)
                self.events.append(f"cell {label}: {exc}; skipped in the out-of-kernel pass")
                self.process.start()
                return self.load()
        self.loaded = True

    def namespace(self) -> dict[str, Any]:
        if not self.loaded:
            self.load()
        reply = self.process.request({"op": "names"}, self.time_left(self.process.timeout))
        ns: dict[str, Any] = {"__name__": "__main__"}
        for name, info in reply.get("names", {}).items():
            if info["kind"] == "function":
                ns[name] = self._proxy(name, info)
            elif info["kind"] == "callable":
                ns[name] = self._proxy(name, {"file": "", "line": 1, "source": ""})
            elif info["kind"] == "value":
                ns[name] = wire.decode(info["value"])
        return ns

    def _proxy(self, name: str, info: Mapping[str, Any]) -> types.FunctionType:
        space = self

        def proxy(*args: Any, **kwargs: Any) -> Any:
            return space.call(name, args, kwargs)

        filename = f"<student {self.notebook}: {info['file']}>"
        if info.get("source"):
            lines = info["source"].splitlines(keepends=True)
            linecache.cache[filename] = (len(info["source"]), None, lines, filename)
        proxy.__code__ = proxy.__code__.replace(
            co_filename=filename, co_firstlineno=max(int(info.get("line", 1)), 1),
            co_name=name)
        proxy.__name__ = proxy.__qualname__ = name
        proxy.__module__ = "__main__"
        proxy._cs230_student = True  # type: ignore[attr-defined]
        return proxy

    #: set by :func:`run_check`: the namespace the current check sees (for overrides)
    current_ns: dict[str, Any] = {}

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        ns = self.current_ns
        registry: list[Callable[..., Any]] = []

        def register(func: Callable[..., Any]) -> int:
            registry.append(func)
            return len(registry) - 1

        # a check that swapped a student helper for the reference one (Q5) gets its swap
        overrides = {n: register(v) for n, v in ns.items() if callable(v)
                     and not getattr(v, "_cs230_student", False) and n in self._student_names}

        def callback(message: dict[str, Any]) -> dict[str, Any]:
            try:
                func = registry[int(message["id"])]

                def own(ident: int, _name: str) -> Callable[..., Any]:
                    return registry[ident]

                value = func(*wire.decode(message["args"], own),
                             **wire.decode(message["kwargs"], own))
                return {"status": "ok", "value": wire.encode(value, register=register)}
            except Exception as exc:  # noqa: BLE001 - sent back to the student's call
                return {"status": "error", "ename": type(exc).__name__, "evalue": str(exc)}

        try:
            request = {"op": "call", "name": name,
                       "args": wire.encode(tuple(args), register=register),
                       "kwargs": wire.encode(dict(kwargs), register=register),
                       "overrides": overrides}
        except wire.WireError as exc:
            raise StudentCodeError(f"cannot pass the arguments: {exc}") from None
        try:
            reply = self.process.request(request, self.time_left(self.process.timeout),
                                         callback)
        except StudentCodeError:
            self.loaded = False
            if self._out_of_time():
                raise CheckOutOfTime from None
            self.load()
            raise
        if reply.get("status") != "ok":
            raise _rebuild_error(reply.get("ename", "Exception"), reply.get("evalue", ""))
        try:
            return wire.decode(reply["value"])
        except (wire.WireError, KeyError, ValueError, TypeError) as exc:
            raise StudentCodeError(str(exc)) from None

    _student_names: set[str] = set()


def _rebuild_error(ename: str, evalue: str) -> Exception:
    """The student's exception, as a built-in type of the same name where there is one."""
    import builtins

    cls = getattr(builtins, ename, None)
    if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
        try:
            return cls(evalue)
        except Exception:  # noqa: BLE001
            pass
    if ename in ("SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        return StudentCodeError(f"{ename} {evalue}".strip())
    return StudentCodeError(f"{ename}: {evalue}" if evalue else ename)


def graders_for(notebook: str) -> Mapping[str, Callable[[Mapping[str, Any]], float | None]]:
    """``{test grade id: check}`` of a notebook's grader module, from the question table.

    The first call imports the grader of every question in the table
    (:func:`require_graders`): a grader the table names but that does not import stops the
    pass with :class:`MissingGrader` (naming the file) before any check runs, never a
    question silently left out. A row with ``grader=None`` (manually graded short answers)
    has no checks.
    """
    from .questions import question

    return require_graders()[question(notebook).notebook]


@functools.cache
def require_graders() -> dict[str, Mapping[str, Callable[[Mapping[str, Any]], float | None]]]:
    """``{notebook: CHECKS}`` for every question of the table; :class:`MissingGrader` if any
    grader module named there is missing or defines no ``CHECKS``."""
    from .questions import QUESTIONS

    table: dict[str, Mapping[str, Callable[[Mapping[str, Any]], float | None]]] = {}
    for row in QUESTIONS:
        if row.grader is None:
            table[row.notebook] = {}
            continue
        name = f"{__package__}.graders.{row.grader}"
        path = f"cs230_grading/graders/{row.grader}.py"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            raise MissingGrader(
                f"{row.notebook}: its grader module {path} is missing (named in "
                "cs230_grading/questions.py); the out-of-kernel pass will not start without "
                "it") from None
        checks = getattr(module, "CHECKS", None)
        if not isinstance(checks, Mapping):
            raise MissingGrader(f"{row.notebook}: {path} defines no CHECKS mapping "
                                "(test grade id -> check)")
        table[row.notebook] = checks
    return table


class MissingGrader(RuntimeError):
    """A question's grader module named in the question table is missing or has no CHECKS."""


def run_check(space: StudentNamespace, check: Callable[[Mapping[str, Any]], float | None],
              points: float, seconds: float | None = None,
              limit: str = "its time limit", load_seconds: float | None = None
              ) -> CheckResult:
    """Points, message and recognised mistakes of one check against the student's namespace.

    Running the notebook's cells first (when the process is fresh) is the notebook's time,
    not the check's: each cell has the cell time limit, and all of them together at most
    ``load_seconds`` (what is left of the notebook's budget). The check itself, with every
    call of the student's code it makes (and the reloads those calls cause), then gets
    ``seconds`` of wall-clock time in all; over that it scores 0 and its message names
    ``limit``.
    """
    over = (f"over the time limit: this check ran for more than {limit}, counting every call "
            "of your code it made")
    try:
        space.deadline = None if load_seconds is None else time.monotonic() + load_seconds
        try:
            ns = space.namespace()
        except StudentCodeError as exc:
            return CheckResult(0.0, f"could not read the notebook's definitions: {exc}")
        except CheckOutOfTime:
            return CheckResult(
                0.0, f"{NOT_RUN}: running the notebook's cells used up its time budget")
        space.deadline = None if seconds is None else time.monotonic() + seconds
        space.current_ns = ns
        space._student_names = {n for n in ns if n != "__name__"}
        recognised()  # what earlier checks recognised is theirs
        # What a check prints (partial credit: which sub-answers were credited) is its message.
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            result = check(ns)
    except CheckOutOfTime:
        return CheckResult(0.0, over)
    except AssertionError as exc:
        return CheckResult(0.0, str(exc), tuple(getattr(exc, "mistakes", ())))
    except Exception as exc:  # noqa: BLE001 - a bug here must not stop the pass
        return CheckResult(0.0, f"{type(exc).__name__}: {exc}")
    finally:
        space.current_ns = {}
        space.deadline = None
    said = printed.getvalue().strip()
    if result is None:
        return CheckResult(points, said)
    try:
        return CheckResult(min(max(float(result), 0.0), points), said, recognised())
    except (TypeError, ValueError):
        return CheckResult(0.0, f"the check returned {result!r}")


def grade_outside(student: str, folder: Path, course_root: Path,
                  notebooks: tuple[str, ...] = NOTEBOOKS,
                  timeout: float | None = None) -> PassResult:
    """Grade every test cell of a student's notebooks in ``folder`` outside the kernel."""
    from .course import source_points

    start = time.perf_counter()
    timeout = timeout or execute_timeout()
    credit.adopt_config_switch(course_root)  # grade with the kernels' switch (issue 16)
    source_dir = course_root / "source" / ASSIGNMENT
    points = source_points(source_dir)
    outcomes: list[CheckOutcome] = []
    events: list[tuple[str, str]] = []
    clock = current_clock()
    process = StudentProcess(folder, course_root, timeout)
    try:
        for name in notebooks:
            checks = graders_for(name)
            tests = {gid: p for gid, p in points.get(name, {}).items() if gid in checks}
            if not tests:
                continue
            path = folder / f"{name}.ipynb"
            try:
                cells = notebook_cells(read_notebook(path), read_notebook(
                    source_dir / f"{name}.ipynb"))
            except NotebookError:
                outcomes += [CheckOutcome(name, gid, 0.0, p, "no readable notebook")
                             for gid, p in tests.items()]
                continue
            space = StudentNamespace(process, name, cells)
            timer = clock.notebook_timer(name, "out-of-kernel pass")
            for gid, max_points in tests.items():
                left = timer.remaining()
                if left <= 0:
                    outcomes.append(CheckOutcome(name, gid, 0.0, max_points, timer.skip()))
                    continue
                if left < timeout:
                    seconds, limit = left, f"what was left of the {timer.limit} time budget"
                else:
                    seconds, limit = timeout, (f"{timeout:g} s, the time limit of a test "
                                               "cell (Execute.timeout)")
                got = run_check(space, checks[gid], max_points, seconds, limit,
                                load_seconds=left)
                outcomes.append(CheckOutcome(name, gid, got.points, max_points, got.message,
                                             got.mistakes))
            timer.close()
            events += [(name, e) for e in space.events]
    finally:
        process.stop()
    return PassResult(student, outcomes, events, time.perf_counter() - start)


# --- the rule: write disagreements to the gradebook ----------------------------------------------
@dataclasses.dataclass
class Disagreement:
    notebook: str
    grade_id: str
    in_kernel: float | None
    outside: float
    message: str


def answer_cell_for(source_nb: Any, test_id: str) -> str | None:
    """The answer (solution) cell just before a test cell in the source notebook."""
    last = None
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution"):
            last = meta.get("grade_id")
        if meta.get("grade_id") == test_id:
            return last
    return None


def reconcile(db_url: str, course_root: Path, result: PassResult) -> list[Disagreement]:
    """Apply the out-of-kernel scores where the two passes disagree; return the differences.

    Idempotent: an override this pass wrote before (remembered in
    ``second_pass/<student>.json``) is updated or removed; a manual score that an instructor
    set in the formgrader is left alone.
    """
    from nbgrader.api import Gradebook, MissingEntry

    ledger_path = course_root / LEDGER_DIR / f"{result.student}.json"
    ledger: dict[str, float] = {}
    if ledger_path.exists():
        ledger = json.loads(ledger_path.read_text(encoding="utf-8"))
    source_dir = course_root / "source" / ASSIGNMENT
    found: list[Disagreement] = []
    written: dict[str, float] = {}
    with Gradebook(db_url) as gb:
        for o in result.outcomes:
            try:
                grade = gb.find_grade(o.grade_id, o.notebook, ASSIGNMENT, result.student)
            except MissingEntry:
                continue
            key = f"{o.notebook}/{o.grade_id}"
            ours = key in ledger and grade.manual_score is not None and abs(
                float(grade.manual_score) - ledger[key]) < 1e-9
            if grade.manual_score is not None and not ours:
                continue  # an instructor's own grade wins over both passes
            auto = None if grade.auto_score is None else float(grade.auto_score)
            pending = bool(grade.needs_manual_grade) and not ours
            if not pending and auto is not None and abs(auto - o.points) < 1e-6:
                if ours:
                    grade.manual_score = None
                continue
            found.append(Disagreement(o.notebook, o.grade_id, None if pending else auto,
                                      o.points, o.message))
            grade.manual_score = o.points
            grade.needs_manual_grade = False
            written[key] = o.points
            _comment(gb, source_dir, o, auto, pending, result.student)
        gb.db.commit()
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = ledger_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(written, indent=1), encoding="utf-8")
    tmp.replace(ledger_path)
    return found


def _comment(gb: Any, source_dir: Path, o: CheckOutcome, auto: float | None, pending: bool,
             student: str) -> None:
    from nbgrader.api import MissingEntry

    try:
        answer = answer_cell_for(read_notebook(source_dir / f"{o.notebook}.ipynb"), o.grade_id)
        if answer is None:
            return
        comment = gb.find_comment(answer, o.notebook, ASSIGNMENT, student)
    except (MissingEntry, NotebookError):
        return
    before = "awaited a manual grade (test cell deleted?)" if pending else f"scored {auto:g}"
    line = (f"{COMMENT_TAG} {o.grade_id}: in the notebook's kernel it {before}; graded outside "
            f"the kernel it scores {o.points:g}/{o.max_points:g}, which is the grade kept"
            + (f" ({o.message})" if o.message else "") + ".")
    kept = [ln for ln in (comment.manual_comment or "").splitlines()
            if not ln.startswith(f"{COMMENT_TAG} {o.grade_id}:")]
    comment.manual_comment = "\n".join([*kept, line])


# --- what the worker calls after nbgrader's autograde ---------------------------------------------
LIMIT_ERRORS = {
    "CellTimeoutError": "ran past the time limit (nbgrader's Execute.timeout)",
    "MemoryError": "hit the memory limit",
    "DeadKernelError": "killed the kernel (or was not run after it died)",
    "BlockingIOError": "hit the process limit (fork failed)",
}


def limit_events(folder: Path) -> list[tuple[str, str]]:
    """``(notebook, text)`` of cells of the autograded notebooks that hit a limit."""
    from .sandbox.kernel import OUTPUT_CUT

    events: list[tuple[str, str]] = []
    for path in sorted(folder.glob("*.ipynb")):
        try:
            nb = read_notebook(path)
        except NotebookError:
            continue
        for i, cell in enumerate(nb.cells):
            label = nbgrader_meta(cell).get("grade_id") or f"cell {i + 1}"
            for out in cell.get("outputs", []):
                text = str(out.get("text", ""))
                name = str(out.get("ename", ""))
                value = str(out.get("evalue", ""))
                if OUTPUT_CUT in text:
                    events.append((path.stem, f"cell {label}: printed more than the output "
                                   "limit; the rest was dropped"))
                elif name in LIMIT_ERRORS or "Resource temporarily unavailable" in value \
                        or "File too large" in value:
                    why = LIMIT_ERRORS.get(name, "hit a resource limit")
                    events.append((path.stem, f"cell {label} {why} ({name}: {value[:80]})"))
    return list(dict.fromkeys(events))


@dataclasses.dataclass
class StudentCheck:
    """What the out-of-kernel pass learnt about one student."""

    findings: list[Any]
    seconds: float
    #: (notebook, grade id, mistake id) for every named mistake a check recognised
    mistakes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)


def check_student(job: Any) -> StudentCheck:
    """Out-of-kernel pass, gradebook overrides, report lines and recognised named mistakes
    for one graded student."""
    from .findings import CRASHED, LIMIT, SCAN, TAMPERING
    from .intake import Finding
    from .tamper_scan import scan_folder

    start = time.perf_counter()
    root = Path(job.course_root)
    folder = root / "autograded" / job.student / ASSIGNMENT
    present = tuple(n for n in NOTEBOOKS if (folder / f"{n}.ipynb").exists())
    findings: list[Finding] = []
    hits = scan_folder(root / job.submitted / job.student / ASSIGNMENT,
                       root / "source" / ASSIGNMENT)
    try:
        result = grade_outside(job.student, folder, root, present)
        differences = reconcile(job.db_url, root, result)
    except Exception as exc:  # noqa: BLE001 - the in-kernel grades stand
        findings.append(Finding(job.student, f"out-of-kernel pass failed ({type(exc).__name__}: "
                                f"{exc}); the in-kernel grades were kept", kind=CRASHED))
        return StudentCheck(findings, time.perf_counter() - start)
    flagged: set[str] = set()
    for d in differences:
        evidence = [h.describe() for h in hits if h.notebook == d.notebook][:3]
        before = ("awaited a manual grade (test cell deleted or broken)" if d.in_kernel is None
                  else f"scored {d.in_kernel:g}")
        text = (f"{d.grade_id}: in the kernel it {before}, outside the kernel {d.outside:g}; "
                f"kept {d.outside:g} (manual_score override in the gradebook)")
        if d.message:
            text += f"; outside: {d.message[:160]}"
        if evidence:
            text += "; static scan: " + " | ".join(evidence)
        findings.append(Finding(job.student, text, d.notebook, "error", TAMPERING, d.grade_id,
                                d.in_kernel, d.outside, tuple(evidence)))
        flagged.add(d.notebook)
    for notebook, event in [*limit_events(folder), *result.events]:
        findings.append(Finding(job.student, f"limit: {event}", notebook, "warning",
                                CRASHED if LIMIT_ERRORS["DeadKernelError"] in event else LIMIT))
    for notebook in dict.fromkeys(h.notebook for h in hits):
        if notebook in flagged:
            continue
        mine = [h.describe() for h in hits if h.notebook == notebook]
        findings.append(Finding(job.student, "static scan (scores agree): " + " | ".join(
            mine[:3]) + (f" (+{len(mine) - 3} more)" if len(mine) > 3 else ""), notebook,
            "warning", SCAN, evidence=tuple(mine)))
    mistakes = [(o.notebook, o.grade_id, m) for o in result.outcomes for m in o.mistakes]
    return StudentCheck(findings, time.perf_counter() - start, mistakes)


def main(argv: list[str] | None = None) -> None:
    """``python -m cs230_grading.second_pass COURSE_ROOT STUDENT [FOLDER]``: print scores."""
    argv = list(sys.argv[1:] if argv is None else argv)
    root = Path(argv[0]).resolve()
    folder = Path(argv[2]) if len(argv) > 2 else root / "autograded" / argv[1] / ASSIGNMENT
    result = grade_outside(argv[1], folder.resolve(), root)
    for o in result.outcomes:
        print(f"{o.notebook}/{o.grade_id}: {o.points:g}/{o.max_points:g} {o.message}")
    for nb, event in result.events:
        print(f"{nb}: {event}")


if __name__ == "__main__":
    main()
