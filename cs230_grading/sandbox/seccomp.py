"""The seccomp filter of every sandbox: the kernel calls a notebook has no use for fail.

The list is Docker's default profile (``profiles/seccomp/default.json`` in moby/moby): the
system calls that profile leaves out of its allow-list, or allows only to a container given
an extra capability (``CAP_SYS_ADMIN``, ``CAP_SYS_PTRACE``, ``CAP_SYS_NICE``, ...), which a
sandbox never has. They fail with ``EPERM`` (a Python ``PermissionError`` in the student's
cell), never kill the process: a notebook that tries is graded like any other. As in Docker,
``clone`` with a namespace flag fails with ``EPERM`` and ``clone3`` with ``ENOSYS`` (the C
library then falls back to ``clone``, whose flags a filter can read).

The filter is a classic BPF program built here, with no library: check the architecture (a
32-bit or x32 call on a 64-bit kernel is refused), then compare the call number with the
list. The numbers of x86_64 and aarch64 are below (from the kernel's ``unistd`` headers); on
another machine there is no filter and ``cs230-grade doctor`` says so. bubblewrap loads the
program (``--seccomp FD``) into every sandbox it starts; the fork server's children load it
themselves (:mod:`cs230_grading.sandbox.zygote`), after entering a user namespace of their own.
"""

from __future__ import annotations

import functools
import os
import platform
import struct
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Denied system calls and why (Docker's default profile; see docs/security.md).
DENIED: dict[str, str] = {
    "add_key": "kernel keyrings outlive the process (the next notebook could read them)",
    "keyctl": "kernel keyrings",
    "request_key": "kernel keyrings",
    "ptrace": "tracing another process",
    "process_vm_readv": "reading another process's memory",
    "process_vm_writev": "writing another process's memory",
    "kcmp": "comparing other processes' kernel state",
    "bpf": "loading programs into the kernel",
    "perf_event_open": "kernel performance counters (side channels)",
    "userfaultfd": "a tool of kernel exploits",
    "io_uring_setup": "io_uring (a large and often vulnerable kernel interface)",
    "io_uring_enter": "io_uring",
    "io_uring_register": "io_uring",
    "mount": "file systems", "umount2": "file systems", "pivot_root": "file systems",
    "open_tree": "file systems", "move_mount": "file systems", "fsopen": "file systems",
    "fsconfig": "file systems", "fsmount": "file systems", "fspick": "file systems",
    "mount_setattr": "file systems",
    "unshare": "new namespaces", "setns": "entering other namespaces",
    "kexec_load": "replacing the kernel", "kexec_file_load": "replacing the kernel",
    "init_module": "kernel modules", "finit_module": "kernel modules",
    "delete_module": "kernel modules", "create_module": "kernel modules",
    "query_module": "kernel modules", "get_kernel_syms": "kernel modules",
    "reboot": "the machine", "swapon": "the machine", "swapoff": "the machine",
    "acct": "the machine", "syslog": "the kernel log", "vhangup": "terminals",
    "settimeofday": "the clock", "clock_settime": "the clock", "clock_adjtime": "the clock",
    "quotactl": "disk quotas", "quotactl_fd": "disk quotas",
    "name_to_handle_at": "opening files by handle (past the sandbox's folders)",
    "open_by_handle_at": "opening files by handle (past the sandbox's folders)",
    "fanotify_init": "watching the whole file system",
    "lookup_dcookie": "kernel profiling",
    "get_mempolicy": "memory placement", "set_mempolicy": "memory placement",
    "mbind": "memory placement", "move_pages": "memory placement",
    "ioperm": "hardware ports", "iopl": "hardware ports",
    "nfsservctl": "obsolete", "sysfs": "obsolete", "_sysctl": "obsolete", "uselib": "obsolete",
    "ustat": "obsolete", "afs_syscall": "unimplemented", "tuxcall": "unimplemented",
    "security": "unimplemented", "vserver": "unimplemented",
}
_X86_64 = {
    "acct": 163, "add_key": 248, "afs_syscall": 183, "bpf": 321, "clock_adjtime": 305,
    "clock_settime": 227, "create_module": 174, "delete_module": 176, "fanotify_init": 300,
    "finit_module": 313, "fsconfig": 431, "fsmount": 432, "fsopen": 430, "fspick": 433,
    "get_kernel_syms": 177, "get_mempolicy": 239, "init_module": 175, "io_uring_enter": 426,
    "io_uring_register": 427, "io_uring_setup": 425, "ioperm": 173, "iopl": 172, "kcmp": 312,
    "kexec_file_load": 320, "kexec_load": 246, "keyctl": 250, "lookup_dcookie": 212,
    "mbind": 237, "mount": 165, "mount_setattr": 442, "move_mount": 429, "move_pages": 279,
    "name_to_handle_at": 303, "nfsservctl": 180, "open_by_handle_at": 304, "open_tree": 428,
    "perf_event_open": 298, "pivot_root": 155, "process_vm_readv": 310,
    "process_vm_writev": 311, "ptrace": 101, "query_module": 178, "quotactl": 179,
    "quotactl_fd": 443, "reboot": 169, "request_key": 249, "security": 185,
    "set_mempolicy": 238, "setns": 308, "settimeofday": 164, "swapoff": 168, "swapon": 167,
    "sysfs": 139, "_sysctl": 156, "syslog": 103, "tuxcall": 184, "umount2": 166,
    "unshare": 272, "uselib": 134, "userfaultfd": 323, "ustat": 136, "vhangup": 153,
    "vserver": 236,
    "clone": 56, "clone3": 435,
}
_AARCH64 = {
    "acct": 89, "add_key": 217, "bpf": 280, "clock_adjtime": 266, "clock_settime": 112,
    "delete_module": 106, "fanotify_init": 262, "finit_module": 273, "fsconfig": 431,
    "fsmount": 432, "fsopen": 430, "fspick": 433, "get_mempolicy": 236, "init_module": 105,
    "io_uring_enter": 426, "io_uring_register": 427, "io_uring_setup": 425, "kcmp": 272,
    "kexec_file_load": 294, "kexec_load": 104, "keyctl": 219, "lookup_dcookie": 18,
    "mbind": 235, "mount": 40, "mount_setattr": 442, "move_mount": 429, "move_pages": 239,
    "name_to_handle_at": 264, "nfsservctl": 42, "open_by_handle_at": 265, "open_tree": 428,
    "perf_event_open": 241, "pivot_root": 41, "process_vm_readv": 270,
    "process_vm_writev": 271, "ptrace": 117, "quotactl": 60, "quotactl_fd": 443,
    "reboot": 142, "request_key": 218, "set_mempolicy": 237, "setns": 268,
    "settimeofday": 170, "swapoff": 225, "swapon": 224, "syslog": 116, "umount2": 39,
    "unshare": 97, "userfaultfd": 282, "vhangup": 58,
    "clone": 220, "clone3": 435,
}
#: ``platform.machine()`` -> (AUDIT_ARCH_* of the native calls, call numbers)
ARCHES: dict[str, tuple[int, dict[str, int]]] = {
    "x86_64": (0xC000003E, _X86_64),
    "aarch64": (0xC00000B7, _AARCH64),
}
#: clone flags that make new namespaces (CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER,
#: NEWPID, NEWNET; CLONE_NEWTIME is 0x80 and shares its bit with CSIGNAL, so it is not here)
CLONE_NAMESPACES = 0x00020000 | 0x02000000 | 0x04000000 | 0x08000000 | 0x10000000 \
    | 0x20000000 | 0x40000000
X32_BIT = 0x40000000
EPERM, ENOSYS = 1, 38
RET_ALLOW = 0x7FFF0000
RET_ERRNO = 0x00050000
# classic BPF opcodes
_LD_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_JSET = 0x45  # BPF_JMP | BPF_JSET | BPF_K
_RET = 0x06  # BPF_RET | BPF_K
# offsets in struct seccomp_data
_NR, _ARCH, _ARG0_LOW = 0, 4, 16 if struct.pack("=I", 1)[0] == 1 else 20


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def program(machine: str | None = None) -> bytes | None:
    """The filter for ``machine`` (default: this one) as raw ``struct sock_filter``s, or None
    when the kit does not know that architecture's call numbers."""
    arch = ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit, numbers = arch
    denied = sorted({numbers[name] for name in DENIED if name in numbers})
    deny = _op(_RET, RET_ERRNO | EPERM)
    body = [_op(_LD_ABS, _ARCH), _op(_JEQ, audit, 1, 0), deny, _op(_LD_ABS, _NR)]
    if audit == ARCHES["x86_64"][0]:
        body += [_op(_JGE, X32_BIT, 0, 1), deny]
    for number in denied:
        body += [_op(_JEQ, number, 0, 1), deny]
    body += [_op(_JEQ, numbers["clone3"], 0, 1), _op(_RET, RET_ERRNO | ENOSYS),
             _op(_JEQ, numbers["clone"], 0, 3), _op(_LD_ABS, _ARG0_LOW),
             _op(_JSET, CLONE_NAMESPACES, 0, 1), deny,
             _op(_RET, RET_ALLOW)]
    return b"".join(body)


@functools.lru_cache(maxsize=1)
def filter_file() -> Path | None:
    """This machine's filter in a file of this process's own (for bwrap's ``--seccomp``), or
    None when there is no filter for this architecture."""
    code = program()
    if code is None:
        return None
    import atexit

    from ..folders import claimed_folder, release_claim, sweep_dead_owners

    # claimed by this process: a process killed before its atexit ran (a Dask worker its
    # nanny killed) leaves a folder that the next process to need a filter removes
    base = Path(tempfile.gettempdir())
    sweep_dead_owners(base, "cs230-seccomp-")
    folder = claimed_folder(base, f"cs230-seccomp-{os.getpid()}-")
    path = folder / "filter.bpf"
    path.write_bytes(code)
    path.chmod(0o444)
    folder.chmod(0o755)
    atexit.register(release_claim, folder)
    return path


#: the descriptors the filter may be handed to bwrap on, in order of preference: the shell
#: opens the filter with a redirection, and /bin/sh (dash) redirects 0 to 9 only
FDS = (9, 8, 7, 6, 5, 4, 3)
#: the descriptor the filter is handed on when the command is handed none itself; otherwise
#: :func:`filter_fd` picks the first of :data:`FDS` that the command is not handed
FD = FDS[0]


def filter_fd(passed: Iterable[int] = ()) -> int:
    """The descriptor to hand the filter on, given the descriptors the command is handed
    (``pass_fds``): the shell's redirection would replace one of those, and bwrap then
    close it, so the sandboxed program would lose it."""
    taken = set(passed)
    for fd in FDS:
        if fd not in taken:
            return fd
    raise ValueError(f"no free descriptor for the seccomp filter among {FDS}")


def bwrap_wrapper(bwrap_cmd: list[str], fd: int = FD) -> list[str]:
    """``bwrap_cmd`` (starting with bwrap), run so that its ``--seccomp FD`` reads the filter:
    ``/bin/sh`` opens the file on descriptor ``fd`` and becomes bwrap, which reads and closes
    it."""
    path = filter_file()
    if path is None:
        return bwrap_cmd
    return ["/bin/sh", "-c", f'exec "$@" {fd}<"$0"', str(path), *bwrap_cmd]


def bwrap_options(fd: int = FD) -> list[str]:
    """The bwrap options that load the filter from ``fd`` (empty when there is none)."""
    return ["--seccomp", str(fd)] if filter_file() is not None else []


def available() -> bool:
    """True when this machine has a filter and a sandbox can load it (checked once)."""
    return _loads()


@functools.lru_cache(maxsize=1)
def _loads() -> bool:
    import shutil
    import subprocess

    exe = shutil.which("bwrap")
    if exe is None or filter_file() is None:
        return False
    cmd = bwrap_wrapper([exe, "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev",
                         "--proc", "/proc", *bwrap_options(), "true"])
    try:
        return subprocess.run(cmd, capture_output=True, timeout=20, check=False,
                              env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
                              ).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
