"""Limits and isolation for every process that runs student code.

Two kinds of process run student code: the Jupyter kernel that nbgrader starts for each
notebook (:mod:`cs230_grading.sandbox.kernel` plugs into nbgrader's ``Execute``), and the
student half of the scoring pass (:mod:`cs230_grading.sandbox.runner`). Both start
through :func:`wrap_command`, which puts the command inside

* ``bwrap`` (bubblewrap), when it works here: a read-only view of ``/``, a private ``/tmp``,
  no network (``--unshare-net``; kernels then talk ZMQ over ``ipc`` sockets), their own PID
  namespace (a fork bomb dies with the sandbox), and empty folders over ``source/``, the
  gradebook, ``submitted/``, ``autograded/``, ``feedback/``, ``.git`` ... of the course and
  of the repository, with only the student's own ``autograded`` folder put back, read-only;
  and the seccomp filter of :mod:`cs230_grading.sandbox.seccomp` (keyrings, ptrace, bpf,
  mounts, namespaces ... refused with ``EPERM``), which the fork server's children load
  themselves after entering a user namespace of their own;
* a small launcher (``python -m cs230_grading.sandbox exec``) that drops to an unprivileged
  uid (:mod:`cs230_grading.sandbox.identity`: one per worker and kind) when started as root
  (``RLIMIT_NPROC`` does not bind root) and sets the rlimits of :class:`Limits`: CPU seconds,
  address space, processes, file size, open files, core dumps.

The wall clock is nbgrader's ``Execute.timeout`` per cell; output is capped in the grading
process (:class:`~cs230_grading.sandbox.kernel.SandboxedExecute`), where the kernel cannot
reach. ``CS230_SANDBOX`` picks the mode: ``auto`` (default: bwrap when it works, else rlimits
only), ``bwrap``, ``rlimits`` or ``off``. See ``docs/security.md``.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import seccomp
from .identity import claimed_uid

MODE_ENV = "CS230_SANDBOX"
GiB = 1 << 30
MiB = 1 << 20
#: Folders and files of a course (and of the repository) a sandbox never shows.
PRIVATE_NAMES = ("source", "submitted", "staged", "autograded", "feedback", "exchange",
                 "reports", ".git", "tests", "gradebook.db")
#: What the fork server keeps of root inside its sandbox (its children keep nothing): drop a
#: child to the unprivileged uid, kill every process, empty folders of another uid.
FORK_SERVER_CAPS = ("CAP_KILL", "CAP_SETUID", "CAP_SETGID", "CAP_DAC_OVERRIDE", "CAP_FOWNER")
#: Size of the private /tmp of a bwrap sandbox (tmpfs is memory: keep it small).
TMP_BYTES = 256 * (1 << 20)


@dataclasses.dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed process (and everything it starts)."""

    cpu_seconds: int = 600
    memory_bytes: int = 3 * GiB
    processes: int = 64
    file_bytes: int = 64 * MiB
    open_files: int = 256
    #: output kept per cell by the grading process; the rest is dropped with a note
    output_bytes: int = 2 * MiB
    #: outputs, attachments and widget state kept per executed notebook (the largest parts
    #: over it are replaced by a note: :mod:`cs230_grading.sandbox.outputs`)
    notebook_bytes: int = 10 * MiB

    @classmethod
    def from_env(cls) -> Limits:
        """Defaults, overridden by ``CS230_LIMIT_CPU`` (s), ``_MEMORY_MB``, ``_NPROC``,
        ``_FSIZE_MB``, ``_NOFILE``, ``_OUTPUT_MB`` and ``_NOTEBOOK_OUTPUT_MB``."""
        from ..settings import limit_from_env

        def num(name: str, default: float, scale: int = 1) -> int:
            return int(limit_from_env(name, default / scale) * scale)

        base = cls()
        return cls(
            cpu_seconds=num("CPU", base.cpu_seconds),
            memory_bytes=num("MEMORY_MB", base.memory_bytes, MiB),
            processes=num("NPROC", base.processes),
            file_bytes=num("FSIZE_MB", base.file_bytes, MiB),
            open_files=num("NOFILE", base.open_files),
            output_bytes=num("OUTPUT_MB", base.output_bytes, MiB),
            notebook_bytes=num("NOTEBOOK_OUTPUT_MB", base.notebook_bytes, MiB),
        )

    def rlimit_args(self) -> list[str]:
        return [f"--cpu={self.cpu_seconds}", f"--as={self.memory_bytes}",
                f"--nproc={self.processes}", f"--fsize={self.file_bytes}",
                f"--nofile={self.open_files}"]


def requested_mode() -> str:
    mode = os.environ.get(MODE_ENV, "auto").strip().lower() or "auto"
    if mode not in {"auto", "bwrap", "rlimits", "off"}:
        raise ValueError(f"{MODE_ENV}={mode!r}: use auto, bwrap, rlimits or off")
    return mode


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """True when bubblewrap can build the sandbox used here (needs root or user namespaces)."""
    exe = shutil.which("bwrap")
    if not exe:
        return False
    try:
        proc = subprocess.run(
            [exe, "--die-with-parent", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/",
             "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "true"],
            capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


_USERNS_PROBE = ("import ctypes, os\n"
                 "libc = ctypes.CDLL(None, use_errno=True)\n"
                 "assert libc.unshare(0x10000000) == 0, os.strerror(ctypes.get_errno())\n"
                 "uid = os.getuid()\n"
                 "open('/proc/self/uid_map', 'w').write(f'{uid} {uid} 1')\n")


@functools.lru_cache(maxsize=1)
def userns_works() -> bool:
    """True when a process in a bwrap sandbox, as the sandbox's unprivileged uid, can move
    into a user namespace of its own (the fork server's children do: see the zygote).
    Kernels that forbid unprivileged user namespaces (``kernel.unprivileged_userns_clone=0``,
    ``user.max_user_namespaces=0``, some container runtimes' seccomp profiles) say no."""
    if not bwrap_works():
        return False
    uid = sandbox_uid("kernel")
    drop = [] if uid is None else [shutil.which("setpriv") or "setpriv", f"--reuid={uid}",
                                   f"--regid={uid}", "--clear-groups"]
    # util-linux's unshare when present (Python may live in a folder the uid cannot enter)
    tool = shutil.which("unshare")
    probe = [tool, "--user", "true"] if tool else [sys.executable, "-I", "-S", "-c",
                                                    _USERNS_PROBE]
    try:
        proc = subprocess.run(
            [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--unshare-net",
             "--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
             "--tmpfs", "/tmp", *drop, *probe],
            capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def effective_mode() -> str:
    """The mode in force: ``bwrap``, ``rlimits`` or ``off``."""
    mode = requested_mode()
    if mode == "auto":
        return "bwrap" if bwrap_works() else "rlimits"
    if mode == "bwrap" and not bwrap_works():
        raise RuntimeError(f"{MODE_ENV}=bwrap, but bubblewrap does not work on this machine")
    return mode


def sandbox_uid(kind: str) -> int | None:
    """An unprivileged uid for this worker's ``kind`` of process, or None when not root."""
    if os.geteuid() != 0:
        return None
    return claimed_uid(kind)


def private_paths(roots: Iterable[Path]) -> list[Path]:
    """Existing private folders and files under each root (course root, repository root)."""
    found: list[Path] = []
    for root in roots:
        for name in PRIVATE_NAMES:
            path = Path(root) / name
            if path.exists() and path not in found:
                found.append(path)
        for db in Path(root).glob("*.db"):
            if db not in found:
                found.append(db)
    return found


def bwrap_args(*, writable: Sequence[Path], readable: Sequence[Path], hidden: Sequence[Path],
               cwd: Path, mkdirs: Sequence[Path] = (), extra: Sequence[str] = ()) -> list[str]:
    """bubblewrap options: read-only root, private /tmp, no network, hidden private paths.

    ``readable`` folders are bound back read-only after hiding (e.g. the student's own
    ``autograded`` folder under a hidden ``autograded/``); ``writable`` ones read-write.
    """
    args = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--unshare-net",
            "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--hostname", "sandbox",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--perms", "1777", "--size", str(TMP_BYTES), "--tmpfs", "/tmp"]
    for path in hidden:
        if path.is_dir():
            args += ["--tmpfs", str(path)]
        else:
            args += ["--ro-bind", "/dev/null", str(path)]
    tmpfs = [Path("/tmp"), *(h for h in hidden if h.is_dir())]
    mkdirs = list(mkdirs)
    for path in (*readable, *writable):  # parents inside a tmpfs: bwrap would make them 0700
        for parent in reversed(path.parents):
            if any(_inside(parent, t) and parent != t for t in tmpfs) and parent not in mkdirs:
                mkdirs.append(parent)
    for path in mkdirs:
        args += ["--perms", "0755", "--dir", str(path)]
    for path in readable:
        args += ["--ro-bind", str(path), str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    return [*args, *extra, "--chdir", str(cwd)]


def wrap_command(cmd: Sequence[str], *, kind: str, cwd: Path, limits: Limits | None = None,
                 writable: Sequence[Path] = (), readable: Sequence[Path] = (),
                 hidden: Sequence[Path] = (), mode: str | None = None,
                 fork_server: bool = False, pass_fds: Sequence[int] = ()) -> list[str]:
    """``cmd`` run under the sandbox: bwrap (if in force), then the rlimit launcher.

    ``fork_server``: ``cmd`` is the fork server (:mod:`cs230_grading.sandbox.zygote`), bwrap
    only. Started as root, it keeps root and the capabilities it needs to drop its children
    to the unprivileged uid, to kill every process of the sandbox and to empty its folders;
    its sandbox also gets a POSIX message-queue folder, which it empties between children.
    ``pass_fds``: the descriptors the command is handed (the seccomp filter is opened on
    another one).
    """
    mode = mode or effective_mode()
    if mode == "off":
        return list(cmd)
    limits = limits or Limits.from_env()
    uid = sandbox_uid(kind)
    python = _python_roots()
    closed = sorted({c for c in (_closed_ancestor(p) for p in python) if c is not None})
    drop = uid if uid is not None and (mode == "bwrap" or not closed) else None
    if fork_server and mode != "bwrap":
        raise ValueError("the fork server runs under bwrap only")
    launcher = launcher_command(limits, None if fork_server else drop)
    launcher += list(cmd)
    if mode != "bwrap":
        return launcher
    # when Python lives under a folder only root may enter (/root/.pyenv), hide that folder
    # and put Python back, so that the unprivileged uid can run it and sees nothing else
    # Python itself stays visible even under a hidden folder (a virtualenv in /tmp, say)
    visible: list[Path] = list(python)
    mkdirs: list[Path] = []
    if drop is not None:
        hidden = [*hidden, *closed]
        for top in closed:
            for prefix in python:
                if _inside(prefix, top):
                    mkdirs += [d for d in reversed(prefix.parents)
                               if _inside(d, top) and d != top and d not in mkdirs]
    readable = [p for p in (*visible, *readable) if p.exists()]
    extra: list[str] = []
    if fork_server:
        extra += ["--mqueue", "/dev/mqueue"]
        if os.geteuid() == 0:
            for cap in FORK_SERVER_CAPS:
                extra += ["--cap-add", cap]
    if not fork_server and seccomp_in_force():  # the fork server's children load it themselves
        fd = seccomp.filter_fd(pass_fds)
        extra += seccomp.bwrap_options(fd)
        return seccomp.bwrap_wrapper([*bwrap_args(writable=writable, readable=readable,
                                                  hidden=hidden, cwd=cwd, mkdirs=mkdirs,
                                                  extra=extra), *launcher], fd)
    return [*bwrap_args(writable=writable, readable=readable, hidden=hidden, cwd=cwd,
                        mkdirs=mkdirs, extra=extra), *launcher]


SECCOMP_ENV = "CS230_SECCOMP"


def seccomp_in_force() -> bool:
    """True when sandboxes load the seccomp filter (:mod:`cs230_grading.sandbox.seccomp`):
    whenever this machine can, unless ``CS230_SECCOMP=0`` (for a comparison, never needed)."""
    if os.environ.get(SECCOMP_ENV, "1").strip() == "0":
        return False
    return seccomp.available()


def launcher_command(limits: Limits, uid: int | None) -> list[str]:
    """The command prefix that drops to ``uid`` and sets the rlimits, then runs the command.

    util-linux ``setpriv`` and ``prlimit`` when present (fast, and nothing of the package
    needs to be visible in the sandbox), else this module's own launcher.
    """
    setpriv, prlimit, env = (shutil.which(n) for n in ("setpriv", "prlimit", "env"))
    if setpriv and prlimit and env:
        prefix = [env, "-u", "JPY_PARENT_PID"]
        if uid is not None:
            prefix += ["HOME=/tmp", setpriv, f"--reuid={uid}", f"--regid={uid}",
                       "--clear-groups"]
        cpu = limits.cpu_seconds
        return [*prefix, prlimit, f"--cpu={cpu}:{cpu + 5}", f"--as={limits.memory_bytes}",
                f"--nproc={limits.processes}", f"--fsize={limits.file_bytes}",
                f"--nofile={limits.open_files}", "--core=0", "--"]
    launcher = [sys.executable, "-m", "cs230_grading.sandbox", "exec", *limits.rlimit_args()]
    if uid is not None:
        launcher.append(f"--uid={uid}")
    return [*launcher, "--"]


def _python_roots() -> list[Path]:
    roots = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    return sorted(roots)


def _closed_ancestor(path: Path) -> Path | None:
    """The topmost folder above ``path`` that other users cannot enter, if any."""
    for parent in reversed(path.parents):
        try:
            if not parent.stat().st_mode & 0o001:
                return parent
        except OSError:
            return None
    return None


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
    except ValueError:
        return False
    return True


# --- the launcher: runs inside the sandbox, then execs the command --------------------------
def _launch(argv: list[str]) -> None:
    """``exec [--cpu=S] [--as=B] [--nproc=N] [--fsize=B] [--nofile=N] [--uid=U] -- CMD...``."""
    split = argv.index("--")
    options = dict(arg[2:].split("=", 1) for arg in argv[:split])
    cmd = argv[split + 1:]
    limits = {"cpu": resource.RLIMIT_CPU, "as": resource.RLIMIT_AS,
              "nproc": resource.RLIMIT_NPROC, "fsize": resource.RLIMIT_FSIZE,
              "nofile": resource.RLIMIT_NOFILE}
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # jupyter_client sets it; in a PID namespace ipykernel would take its parent for init
    os.environ.pop("JPY_PARENT_PID", None)
    uid = int(options.pop("uid")) if "uid" in options else None
    if uid is not None:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.environ["HOME"] = "/tmp"
    for key, value in options.items():
        soft = int(value)
        _, hard = resource.getrlimit(limits[key])
        if key == "cpu":  # SIGXCPU at the soft limit, SIGKILL a little later
            resource.setrlimit(limits[key], (soft, soft + 5))
        else:
            resource.setrlimit(limits[key], (soft, soft if hard == resource.RLIM_INFINITY
                                             else min(soft, hard)))
    os.execvp(cmd[0], cmd)


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "exec":
        sys.exit("usage: python -m cs230_grading.sandbox exec [LIMITS] -- CMD ...")
    _launch(argv[1:])
