"""The student's side of scoring: a sandboxed process that runs the notebook's code and
answers calls, and the namespace of stand-ins the grader's checks see.

The **student process** (:mod:`cs230_grading.sandbox.runner`, started through the worker's
runner fork server or :func:`cs230_grading.sandbox.wrap_command`: rlimits, no network, no
``source/``, gradebook, other students or ``cs230_grading`` at all) runs the notebook's code
cells (the student's answer and extra cells; the locked cells as ``source/`` has them; never a
test cell) and then answers calls. The grader (:mod:`cs230_grading.grading.score`, in the
grading process) calls ``graders.qN.CHECKS`` with a namespace of stand-ins: a student function
becomes a real Python function (its source readable with :mod:`inspect`) that forwards the call
through a pipe, a student value becomes its plain-data copy. Only plain data crosses (see
``runner.encode``), so nothing the student defines runs in the grading process, and nothing of
the grader's (answer key, hidden tests, environment) reaches the student's.

A cell or call that exceeds the time limit, or a process that dies, costs only that check:
the student process is restarted (skipping cells that hung or crashed) for the next one.
"""

from __future__ import annotations

import ast
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
from typing import Any

from ..notebooks import grade_cells, insertion_index, nbgrader_meta
from ..sandbox import forkserver, private_paths, wrap_command
from ..sandbox import runner as wire
from ..sandbox.environment import student_environment

RUNNER_SOURCE = Path(wire.__file__).read_text(encoding="utf-8")
#: the kit's own package folder, wherever it is installed: hidden from every student process
KIT_PACKAGE = Path(__file__).resolve().parents[1]
_MAGIC = re.compile(r"^\s*[%!]")


class StudentCodeError(Exception):
    """The student's code raised, hung or died while the grader called it."""


class CheckOutOfTime(BaseException):
    """A check used up its time budget. A ``BaseException``, so that a check's own
    ``except Exception`` around a student call cannot swallow it and go on calling."""


def execute_timeout() -> float:
    return float(os.environ.get("CS230_EXECUTE_TIMEOUT", "60"))


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
                hidden = [*private_paths([self.course_root, KIT_PACKAGE.parent]),
                          KIT_PACKAGE]
                hidden = [h for h in dict.fromkeys(hidden) if h.exists()]
                cmd = wrap_command(
                    [sys.executable, "-I", "-c", RUNNER_SOURCE, str(to_runner_r),
                     str(from_runner_w), str(self.folder)],
                    kind="runner", cwd=self.folder, readable=[self.folder], hidden=hidden,
                    pass_fds=(to_runner_r, from_runner_w))
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
        cells.insert(insertion_index(order, gid, [label for label, _ in cells]),
                     (gid, cell.source))
    return [(label, "\n".join("pass" if _MAGIC.match(ln) else ln
                              for ln in source.split("\n"))) for label, source in cells]


def _defines(source: str) -> bool:
    """True when a cell imports or defines a function or class at its top level."""
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
                self.events.append(f"cell {label}: {exc}; skipped in the scoring pass")
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

        def cpu_seconds(args: tuple[Any, ...], repeat: int) -> float:
            return space.cpu_seconds(name, args, repeat)

        proxy.cpu_seconds = cpu_seconds  # type: ignore[attr-defined]
        return proxy

    #: set by :func:`run_check`: the namespace the current check sees (for overrides)
    current_ns: dict[str, Any] = {}

    def call(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the student's function ``name`` in the student process; its result."""
        return self._request("call", name, args, kwargs)

    def cpu_seconds(self, name: str, args: tuple[Any, ...], repeat: int) -> float:
        """The least CPU time one call of ``name(*args)`` took in ``repeat`` calls, measured
        in the student process (its threads and waited-for children included) with clocks
        taken before any of the student's code ran. CPU time, not wall-clock time: a
        machine busy with other work does not change it."""
        return float(self._request("time", name, args, {}, repeat=max(1, int(repeat))))

    def _request(self, op: str, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
                 **extra: Any) -> Any:
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
            request = {"op": op, "name": name,
                       "args": wire.encode(tuple(args), register=register),
                       "kwargs": wire.encode(dict(kwargs), register=register),
                       "overrides": overrides, **extra}
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


