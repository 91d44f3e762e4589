"""The fork server's sandboxed half: a process that imports, then forks fresh processes.

This file runs *inside the sandbox* as ``python [-I] -c <this source> FD UID PRELOAD DIRS``.
It imports the modules every child needs (``PRELOAD``: for kernels ipykernel, NumPy and
matplotlib; for the scoring pass's runners NumPy and matplotlib only; ``module:function`` also
calls a function of the module) once, runs no student code,
and then serves requests from the grading process, one JSON line each, on the Unix socket
``FD`` (which can carry file descriptors):

``spawn``  sweep, then fork a child that becomes a fresh process, as the unprivileged
           ``UID``, running a module as ``__main__`` (``ipykernel_launcher -f ...``) or a
           source text (the runner) with the file descriptors sent along the request;
``poll``   the child's exit status, or null while it runs;
``signal`` send a signal to the child;
``kill``   kill the child, then sweep.

A *sweep* leaves the sandbox as a new one would be: every other process in its PID namespace
is killed (``kill(-1, SIGKILL)`` until none is left), and ``/tmp``, the run folder, POSIX
message queues and System V IPC objects are emptied. Nothing a notebook's code started or
wrote reaches the next notebook.

When the sandbox starts as root, this process keeps root with the few capabilities it needs
(kill, setuid/setgid, removing files of another uid) and each child drops to ``UID`` before it
runs anything: a child can neither signal, trace nor read this process. Without root (user
namespaces) everything runs as the caller's uid and this process makes itself non-dumpable,
so that a child cannot trace it or read its memory.

The grading process runs this text after the text of :mod:`cs230_grading.sandbox.removal`
(whose :func:`remove_tree` empties the folders, whatever a notebook left in them), so this
file has no ``from __future__`` line either.
"""

import json
import os
import signal
import sys
import time

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2
CLONE_NEWUSER = 0x10000000


def _prctl(option: int, value: int) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(option, value, 0, 0, 0)


def _own_user_namespace() -> bool:
    """Move this process into a user namespace of its own, as the same uid and gid, and drop
    the capabilities that come with a new one: its kernel keyrings (and everything else kept
    per user namespace) are its own, and go with it."""
    import ctypes

    uid, gid = os.getuid(), os.getgid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWUSER) != 0:
        return False
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"),
                       ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as table:
            table.write(text)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    empty = (ctypes.c_uint32 * 6)()
    if libc.capset(ctypes.byref(Header(0x20080522, 0)), empty) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")
    return True


def _load_filter(code: bytes) -> None:
    """Load the seccomp filter :mod:`cs230_grading.sandbox.seccomp` built (no new privileges
    must be set first)."""
    import ctypes

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]

    buffer = ctypes.create_string_buffer(code, len(code))
    program = Program(len(code) // 8, ctypes.cast(buffer, ctypes.c_char_p))
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "the seccomp filter could not be loaded")


def _status(code: int) -> int:
    """A wait status as Popen reports it: the exit code, or minus the signal."""
    if os.WIFSIGNALED(code):
        return -os.WTERMSIG(code)
    return os.WEXITSTATUS(code)


def _others(me: int) -> list[int]:
    """Live processes of this PID namespace other than its init and this process."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (1, me):
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                state = stat.read().rsplit(b")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state not in (b"Z", b"X"):
            found.append(int(name))
    return found


def _mount_points() -> set[str]:
    points = set()
    try:
        with open("/proc/self/mountinfo") as table:
            for line in table:
                points.add(line.split()[4].encode().decode("unicode_escape"))
    except OSError:
        pass
    return points


def _empty(folder: str, keep: str, mounts: set[str]) -> None:
    """Remove everything inside ``folder`` (whatever its permissions or depth) but ``keep``;
    mount points (the folders bound into the sandbox) and the folders leading to them stay."""
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        path = os.path.join(folder, name)
        if path == keep or path in mounts:
            continue
        if any(m.startswith(path + "/") for m in mounts):
            _empty(path, keep, mounts)
        else:
            remove_tree(path, report=_quiet)  # noqa: F821 - defined by removal.py's text


def _quiet(_line: str) -> None:
    """What cannot be removed stays in the sandbox's own folders, gone with the sandbox."""


def _ipc_left() -> bool:
    for kind in ("shm", "sem", "msg"):
        try:
            with open(f"/proc/sysvipc/{kind}") as table:
                if len(table.readlines()) > 1:
                    return True
        except OSError:
            continue
    return False


def _keys_gone(uid: int, seconds: float = 2.0) -> bool:
    """Whether the kernel holds no key of ``uid`` (waiting up to ``seconds``).

    A child's keyrings belong to its own user namespace and go with it, but the kernel frees
    them a moment after the namespace dies, in the background: until then the next child (the
    same uid) could list the previous one's keys in ``/proc/keys``. ``/proc/key-users`` counts
    the keys of each uid (``uid: usage nkeys/nikeys ...``)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with open("/proc/key-users") as table:
                held = any(line.split(":", 1)[0].strip() == str(uid)
                           and line.split()[2].split("/")[0] != "0" for line in table)
        except (OSError, IndexError):
            return True  # no key accounting here: no keys either
        if not held:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)


class Zygote:
    def __init__(self, fd: int, uid: int | None, folders: list[str]) -> None:
        import socket

        self.sock = socket.socket(fileno=fd)
        self.uid, self.folders = uid, folders
        self.children: dict[int, int | None] = {}
        self.fds: list[int] = []  # received with requests, not yet given to a child

    def sweep(self, keep: str = "") -> bool:
        me = os.getpid()
        for _ in range(400):
            try:
                os.kill(-1, signal.SIGKILL)
            except OSError:
                pass
            self.reap()
            if not _others(me):
                break
            time.sleep(0.005)
        else:
            return False
        mounts = _mount_points()
        for folder in self.folders:
            _empty(folder, keep, mounts)
        if _ipc_left():
            import subprocess

            subprocess.run(["ipcrm", "--all"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=False)
        return self.uid is None or _keys_gone(self.uid)

    def reap(self) -> None:
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid in self.children:
                self.children[pid] = _status(code)

    def spawn(self, request: dict) -> dict:
        if not self.sweep(keep=str(request.get("keep", ""))):  # the new kernel's run folder
            return {"ok": False, "error": "could not clear the sandbox"}
        self.children.clear()
        count = int(request.get("fds", 0))
        fds, self.fds = self.fds[:count], self.fds[count:]
        if len(fds) != count:
            return {"ok": False, "error": "file descriptors missing from the request"}
        pid = os.fork()
        if pid == 0:
            self.child(request, fds)  # never returns
        for fd in fds:
            os.close(fd)
        self.children[pid] = None
        return {"ok": True, "pid": pid}

    def child(self, request: dict, fds: list[int]) -> None:
        code = 1
        try:
            self.sock.close()
            for fd in self.fds:
                os.close(fd)
            if self.uid is not None:
                os.setgroups([])
                os.setgid(self.uid)
                os.setuid(self.uid)  # from root: every capability is gone
            _prctl(PR_SET_DUMPABLE, 1)  # (also lets it write its own /proc/self/uid_map)
            if request.get("userns"):
                _own_user_namespace()
            _prctl(PR_SET_NO_NEW_PRIVS, 1)
            if request.get("seccomp"):
                _load_filter(bytes.fromhex(request["seccomp"]))
            os.environ.clear()
            os.environ.update(request["env"])
            os.chdir(request["cwd"])
            if "module" in request and sys.path and sys.path[0] == "":
                sys.path[0] = request["cwd"]  # as ``python -m`` would
            numpy = sys.modules.get("numpy")
            if numpy is not None:  # a fresh process draws fresh random numbers
                numpy.random.seed()
            argv = [str(fds[int(a[3:])]) if a.startswith("fd:") else a for a in request["argv"]]
            sys.argv = argv
            if "source" in request:  # ``python -c SOURCE ARGV``
                exec(compile(request["source"], "<string>", "exec"),  # noqa: S102
                     {"__name__": "__main__", "__builtins__": __builtins__})
            else:
                import runpy

                runpy.run_module(request["module"], run_name="__main__", alter_sys=True)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:  # noqa: BLE001 - the child ends here, whatever happened
            code = 1
        finally:
            os._exit(code)

    def handle(self, request: dict) -> dict:
        op = request.get("op")
        pid = int(request.get("pid", 0))
        if op == "spawn":
            return self.spawn(request)
        if pid not in self.children:
            return {"ok": False, "error": f"no child {pid}"}
        if op == "poll":
            self.reap()
            return {"ok": True, "code": self.children[pid]}
        if op == "signal":
            if self.children[pid] is None:
                try:
                    os.kill(pid, int(request["sig"]))
                except OSError:
                    pass
            return {"ok": True}
        if op == "kill":
            if self.children[pid] is None:
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    _, code = os.waitpid(pid, 0)
                    self.children[pid] = _status(code)
                except ChildProcessError:
                    self.reap()
            swept = self.sweep()
            return {"ok": swept, "code": self.children.get(pid),
                    "error": "" if swept else "could not clear the sandbox"}
        return {"ok": False, "error": f"unknown request {op!r}"}

    def serve(self) -> None:
        import socket

        buffer = b""
        self.send({"ok": True, "ready": os.getpid()})
        while True:
            chunk, fds, _, _ = socket.recv_fds(self.sock, 1 << 20, 8)
            self.fds += fds
            if not chunk:
                return
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                try:
                    reply = self.handle(json.loads(line))
                except Exception as exc:  # noqa: BLE001 - reported to the grading process
                    reply = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                self.send(reply)

    def send(self, message: dict) -> None:
        self.sock.sendall((json.dumps(message) + "\n").encode())


def main(argv: list[str]) -> None:
    fd = int(argv[0])
    uid = int(argv[1]) if argv[1] != "-" else None
    import importlib

    for name in filter(None, argv[2].split(",")):
        module, _, call = name.partition(":")
        try:
            loaded = importlib.import_module(module)
            if call:
                getattr(loaded, call)()
        except Exception:  # noqa: BLE001, S110 - a module that fails is just not preloaded
            pass
    folders = [f for f in argv[3].split(os.pathsep) if f]
    _prctl(PR_SET_DUMPABLE, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    Zygote(fd, uid, folders).serve()


if __name__ == "__main__" and len(sys.argv) == 5:
    main(sys.argv[1:])
