"""Sandboxed fork servers: a fresh grading kernel (or second-pass runner) in milliseconds.

Starting a grading kernel costs a Python start and the imports of ipykernel, NumPy and
matplotlib, about 0.5 s of CPU per notebook, paid again for every notebook of every student.
A grading worker (:class:`cs230_grading.grading.stage.PrivateCourse`) instead calls
:func:`serve_under` with the folder its students' notebooks are graded in. The first kernel
started under that folder starts one sandbox (the same bubblewrap sandbox, limits and
student environment as a kernel's: :func:`cs230_grading.sandbox.wrap_command`) holding a
*zygote* (:mod:`cs230_grading.sandbox.zygote`) that imports those modules once and never runs
student code. Every notebook's kernel is then a child forked from it: a fresh process, dropped
to the unprivileged uid, that has run nothing of anyone's.

The scoring pass's student processes (:class:`cs230_grading.grading.student_process.
StudentProcess`) get a zygote of their own (``kind="runner"``: ``python -I``, NumPy and
matplotlib preloaded), whose children receive their two pipes over the zygote's Unix socket.
Neither zygote can see the kit's ``cs230_grading`` (answer key, graders): it is hidden in both
sandboxes.

Between two children the zygote kills every other process of its sandbox and empties
``/tmp``, the run folder, message queues and IPC objects, so nothing one notebook started or
wrote reaches the next (``tests/test_fork_server.py``). The sandbox shows the grading folder
read-only; a worker's folder holds one student at a time.

:class:`ForkedProcess` stands in for jupyter_client's ``Popen`` (poll, wait, signals, kill go
through the zygote). Whenever the fork server cannot serve (no bubblewrap, a zygote that died
or stopped answering) the kernel starts the ordinary way, and the broken zygote is replaced at
the next notebook.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..folders import claimed_folder, course_root_of, release_claim, sweep_dead_owners
from . import effective_mode, private_paths, sandbox_uid, seccomp, wrap_command

#: The zygote's program: the removal module's text (the kit is hidden in a runner's sandbox),
#: then the zygote's.
ZYGOTE_SOURCE = "\n".join((Path(__file__).with_name(name)).read_text(encoding="utf-8")
                          for name in ("removal.py", "zygote.py"))
#: Modules the zygote imports once for every kernel it forks: what a kernel imports while it
#: starts (listed from a forked kernel's ``sys.modules``), and NumPy and matplotlib, which the
#: notebooks import. Left out: matplotlib.pyplot (importing it would switch ipykernel's plot
#: integration on in every notebook) and jsonschema (not a kernel's: its IRI checker builds a
#: grammar for 1.5 s when imported, which made the zygote take 3 s to start). Each child seeds
#: NumPy's generator afresh (zygote.py). Measured side by side, a forked kernel is ready in
#: 0.08 s and the zygote in 1.2 s.
PRELOAD = ("ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell",
           "ipykernel.debugger", "IPython.core.completer", "IPython.core.completerlib",
           "IPython.core.debugger", "IPython.core.oinspect", "IPython.core.logger",
           "IPython.extensions.storemagic", "IPython.utils.wildcard", "comm", "ipykernel.comm",
           "tornado.platform.asyncio", "faulthandler", "runpy", "importlib.resources.readers",
           "numpy", "numpy.random", "matplotlib", "matplotlib.figure",
           "matplotlib.backends.backend_agg", "matplotlib.patches", "PIL.Image")




#: What a runner zygote imports: what the notebooks' own code imports, never the kit.
RUNNER_PRELOAD = ("numpy", "numpy.random", "matplotlib", "matplotlib.figure",
                  "matplotlib.backends.backend_agg", "matplotlib.patches", "PIL.Image")
#: Seconds the zygote may take to import and answer, and to answer any later request.
START_SECONDS = 60.0
REQUEST_SECONDS = 20.0
REPO_ROOT = Path(__file__).resolve().parents[2]
#: the kit's package folder, wherever it is installed
KIT_PACKAGE = Path(__file__).resolve().parents[1]


class ForkServerError(RuntimeError):
    """The fork server could not do what was asked; it has been shut down."""


class ForkServer:
    """One zygote in one sandbox, showing ``folder`` read-only.

    ``kind`` is ``kernel`` (grading kernels) or ``runner`` (the scoring pass's student
    processes: ``python -I``), with the uid and limits of that kind; ``cs230_grading`` is
    hidden from both.
    """

    def __init__(self, folder: Path, rundir: Path, *, hidden: Sequence[Path],
                 env: dict[str, str], kind: str = "kernel") -> None:
        self.folder, self.rundir, self.kind = folder, rundir, kind
        self.uid = sandbox_uid(kind)
        self._lock = threading.Lock()
        self.sock, theirs = socket.socketpair()
        # neither kind sees the kit (answer key, graders): only the grading process does
        hidden = [*hidden, KIT_PACKAGE]
        if kind == "kernel":
            python, readable, modules = [sys.executable], [folder], list(PRELOAD)
        else:
            python, readable, modules = [sys.executable, "-I"], [folder], list(RUNNER_PRELOAD)
        cmd = wrap_command(
            [*python, "-c", ZYGOTE_SOURCE, str(theirs.fileno()),
             "-" if self.uid is None else str(self.uid), ",".join(modules),
             os.pathsep.join(["/tmp", str(rundir), "/dev/mqueue", "/dev/shm"])],
            kind=kind, cwd=folder, writable=[rundir], readable=readable,
            hidden=[h for h in dict.fromkeys(hidden) if h.exists()], mode="bwrap",
            fork_server=True)
        self.proc: subprocess.Popen[bytes] | None = None
        try:
            self.proc = subprocess.Popen(
                cmd, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                pass_fds=(theirs.fileno(),), start_new_session=True)
        finally:
            theirs.close()
        self._buffer = b""
        try:
            self._read(START_SECONDS)
        except ForkServerError:
            self.close()
            raise

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def covers(self, cwd: Path) -> bool:
        return self.alive and (cwd == self.folder or self.folder in cwd.parents)

    def request(self, message: dict[str, Any], timeout: float = REQUEST_SECONDS,
                fds: Sequence[int] = ()) -> dict[str, Any]:
        with self._lock:
            if not self.alive:
                raise ForkServerError("the fork server is not running")
            data = (json.dumps(message) + "\n").encode()
            try:
                if fds:
                    sent = socket.send_fds(self.sock, [data], list(fds))
                    data = data[sent:]
                self.sock.sendall(data)
            except OSError as exc:
                self.close()
                raise ForkServerError(f"the fork server is gone ({exc})") from exc
            reply = self._read(timeout)
        if not reply.get("ok"):
            self.close()
            raise ForkServerError(str(reply.get("error") or "the fork server failed"))
        return reply

    def _read(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            ready = select.select([self.sock], [], [], max(left, 0))[0] if left > 0 else []
            if not ready:
                self.close()
                raise ForkServerError(f"the fork server did not answer within {timeout:g} s")
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.close()
                raise ForkServerError("the fork server exited")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError as exc:
            self.close()
            raise ForkServerError("the fork server sent a malformed reply") from exc

    def spawn(self, module: str, argv: Sequence[str], cwd: Path, env: dict[str, str],
              keep: Path) -> ForkedProcess:
        """A fresh child running ``module`` as ``__main__`` with ``argv``, in ``cwd``.

        Every process left in the sandbox is killed first, and its folders emptied but for
        ``keep`` (the new kernel's own run folder, inside :attr:`rundir`).
        """
        reply = self.request({"op": "spawn", "module": module, "argv": list(argv),
                              "cwd": str(cwd), "env": env, "keep": str(keep),
                              **confinement()})
        return ForkedProcess(self, int(reply["pid"]))

    def spawn_source(self, source: str, argv: Sequence[str], cwd: Path,
                     env: dict[str, str], fds: Sequence[int]) -> ForkedProcess:
        """A fresh child running ``python -c SOURCE ARGV`` in ``cwd``, holding ``fds``
        (``fd:N`` in ``argv`` becomes the number of the child's copy of ``fds[N]``)."""
        reply = self.request({"op": "spawn", "source": source, "argv": ["-c", *argv],
                              "cwd": str(cwd), "env": env, "fds": len(fds), **confinement()},
                             fds=fds)
        return ForkedProcess(self, int(reply["pid"]))

    def close(self) -> None:
        proc, self.proc = getattr(self, "proc", None), None
        with contextlib.suppress(OSError):
            self.sock.close()
        if proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def confinement() -> dict[str, Any]:
    """What a child of the zygote sets up before it runs anything: a user namespace of its
    own (``userns``) and the seccomp filter (``seccomp``, hex), where this machine has them
    (:mod:`cs230_grading.sandbox.seccomp`, :func:`cs230_grading.sandbox.userns_works`)."""
    from . import seccomp_in_force, userns_works

    code = seccomp.program() if seccomp_in_force() else None
    return {"userns": userns_works(), "seccomp": code.hex() if code else ""}


class ForkedProcess:
    """A child of the zygote, as jupyter_client's provisioner expects a ``Popen`` to be."""

    stdin = stdout = stderr = None

    def __init__(self, server: ForkServer, pid: int) -> None:
        self.server = server
        self.pid = pid  # in the sandbox's PID namespace: only the zygote may signal it
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                self.returncode = self.server.request({"op": "poll", "pid": self.pid})["code"]
            except ForkServerError:
                self.returncode = -signal.SIGKILL  # the sandbox is gone, and the kernel with it
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("forked kernel", timeout or 0)
            time.sleep(0.01)
        return int(self.returncode or 0)

    def send_signal(self, signum: int) -> None:
        if signum == signal.SIGKILL:
            self.kill()
            return
        if self.returncode is None:
            with contextlib.suppress(ForkServerError):
                self.server.request({"op": "signal", "pid": self.pid, "sig": int(signum)})

    def kill(self) -> None:
        """Kill the child and every process it left behind; empty the sandbox's folders."""
        if self.returncode is not None and not self.server.alive:
            return
        try:
            code = self.server.request({"op": "kill", "pid": self.pid})["code"]
        except ForkServerError:
            code = -signal.SIGKILL  # closing the sandbox killed everything in it
        if self.returncode is None:
            self.returncode = -signal.SIGKILL if code is None else int(code)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


# --- where the fork server is used --------------------------------------------------------------
KINDS = ("kernel", "runner")
#: a fork server's run folder, in the temporary folder: ``cs230-fork-<kind>-<pid>-<random>``
RUNDIR_PREFIX = "cs230-fork-"
_SERVED: dict[str, Any] = {"folder": None, "rundirs": {}, "servers": {}}
_SERVED_LOCK = threading.Lock()


def serve_under(folder: Path | None) -> None:
    """Start kernels and runners whose working folder is under ``folder`` from fork servers.

    ``folder`` must hold nothing but what the student being graded may read (a grading
    worker's private ``autograded/``). None turns the fork servers off.
    """
    with _SERVED_LOCK:
        for server in _SERVED["servers"].values():
            if server is not None:
                server.close()
        for rundir in _SERVED["rundirs"].values():
            release_claim(rundir)
        rundirs: dict[str, Path] = {}
        if folder is not None:
            for kind in KINDS:
                # first those of workers that died without turning their fork servers off
                sweep_dead_owners(Path(tempfile.gettempdir()), f"{RUNDIR_PREFIX}{kind}-")
                rundirs[kind] = claimed_folder(Path(tempfile.gettempdir()),
                                               f"{RUNDIR_PREFIX}{kind}-{os.getpid()}-")
                uid = sandbox_uid(kind)
                if uid is not None:
                    os.chown(rundirs[kind], uid, uid)
        _SERVED.update(folder=None if folder is None else Path(folder).resolve(),
                       rundirs=rundirs, servers={})


def current_rundir(kind: str = "kernel") -> Path | None:
    """The folder a kernel's run folder goes in, so that the fork server's sandbox shows it
    (None when nothing is served)."""
    return _SERVED["rundirs"].get(kind)


def current_server(kind: str = "kernel") -> ForkServer | None:
    """The running fork server of ``kind``, if any (for tests and timings)."""
    return _SERVED["servers"].get(kind)


def server_for(cwd: Path, env: dict[str, str], kind: str = "kernel") -> ForkServer | None:
    """The running fork server for a ``kind`` process in ``cwd``, started when needed; None
    when such processes in ``cwd`` start the ordinary way (not served, no bubblewrap, start
    failed)."""
    folder = _SERVED["folder"]
    cwd = Path(cwd).resolve()
    if folder is None or not (cwd == folder or folder in cwd.parents):
        return None
    if effective_mode() != "bwrap":
        return None
    with _SERVED_LOCK:
        server = _SERVED["servers"].get(kind)
        if server is not None and server.covers(cwd):
            return server
        if server is not None:
            server.close()
        roots = [r for r in {course_root_of(folder), REPO_ROOT} if r is not None]
        hidden = [p for p in private_paths(roots) if p != folder]
        try:
            server = ForkServer(folder, _SERVED["rundirs"][kind], hidden=hidden, env=env,
                                kind=kind)
        except (ForkServerError, OSError):
            server = None
        _SERVED["servers"][kind] = server
        return server


def kernel_module(kernel_cmd: Sequence[str]) -> tuple[str, list[str]] | None:
    """``(module, argv)`` of a ``python -m MODULE ARGS...`` kernel command, else None."""
    cmd = list(kernel_cmd)
    if len(cmd) < 3 or cmd[1] != "-m":
        return None
    if cmd[0] not in ("python", "python3") and Path(cmd[0]) != Path(sys.executable):
        return None  # another interpreter: the zygote's imports are not its own
    return cmd[2], [cmd[2], *cmd[3:]]
