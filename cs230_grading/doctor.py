"""``cs230-grade doctor``: what the grading sandbox can do on this machine, and what is lost.

Each line is one layer of the sandbox (docs/security.md, "Checking a machine"): whether it
works here and, when it does not, what a student's code can then do that it could not
otherwise. The exit status is 0 when every layer works, 1 when one is missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import shutil
import sys
from typing import TextIO


@dataclasses.dataclass(frozen=True)
class Check:
    """One layer of the sandbox on this machine."""

    name: str
    ok: bool
    detail: str
    #: what is lost without it (shown when not ok)
    lost: str = ""

    def line(self) -> str:
        mark = "ok     " if self.ok else "MISSING"
        text = f"{mark} {self.name}: {self.detail}"
        return text if self.ok or not self.lost else f"{text}\n        without it: {self.lost}"


def checks() -> list[Check]:
    """Every layer, checked on this machine (each check starts a short sandbox)."""
    from .sandbox import (
        MODE_ENV,
        Limits,
        bwrap_works,
        requested_mode,
        seccomp,
        seccomp_in_force,
        userns_works,
    )

    found: list[Check] = []
    exe = shutil.which("bwrap")
    works = bwrap_works()
    try:
        mode = requested_mode()
    except ValueError as exc:
        return [Check("sandbox mode", False, str(exc), f"fix {MODE_ENV}")]
    found.append(Check(
        "bubblewrap", works,
        f"{exe} works ({MODE_ENV}={mode})" if works else
        ("not installed (apt-get install bubblewrap)" if exe is None else
         f"{exe} cannot build a sandbox here (no user namespaces, or a container that forbids "
         "them)"),
        "kernels see the whole file system (source/, the gradebook, other students), the "
        "network and every process of the user; only the resource limits apply"))
    if works and mode in ("rlimits", "off"):
        found.append(Check("sandbox mode", False, f"{MODE_ENV}={mode}: bubblewrap is not used",
                           "as without bubblewrap"))
    userns = userns_works()
    found.append(Check(
        "user namespaces", userns,
        "each notebook's kernel runs in a user namespace of its own" if userns else
        "needs bubblewrap, which does not work here" if not works else
        "a sandboxed process cannot make a user namespace (kernel.unprivileged_userns_clone=0, "
        "user.max_user_namespaces=0, or the container's own seccomp profile)",
        "kernels of one worker share kernel keyrings and per-user counts; the seccomp filter "
        "still refuses the keyring calls"))
    known = platform.machine() in seccomp.ARCHES
    loads = seccomp_in_force()
    found.append(Check(
        "seccomp filter", loads,
        f"{len(seccomp.DENIED)} system calls refused with EPERM in every sandbox "
        "(Docker's default profile)" if loads else
        (f"no filter for {platform.machine()} (the kit knows "
         f"{', '.join(seccomp.ARCHES)})" if not known else
         "switched off (CS230_SECCOMP=0)" if os.environ.get("CS230_SECCOMP") == "0" else
         "needs bubblewrap, which does not work here" if not works else
         "bubblewrap cannot load it here (kernel without CONFIG_SECCOMP_FILTER?)"),
        "kernels may use keyrings, ptrace, bpf, perf_event_open, userfaultfd, io_uring, "
        "unshare and the rest of the list (docs/security.md)"))
    root = os.geteuid() == 0
    tools = all(shutil.which(t) for t in ("setpriv", "prlimit"))
    found.append(Check(
        "unprivileged uid", True,
        "running as root: each worker's kernels and runners get uids of their own, drawn at "
        "random and claimed by a lock (cs230_grading/sandbox/identity.py)" if root else
        f"running as uid {os.geteuid()}: sandboxes run as this uid (inside bwrap's user "
        "namespace when bubblewrap works)"))
    found.append(Check(
        "util-linux", tools, "setpriv and prlimit found" if tools else
        "setpriv or prlimit missing: the kit's own (slower) launcher sets the limits"))
    limits = Limits.from_env()
    found.append(Check(
        "limits", True,
        f"{limits.cpu_seconds} s CPU, {limits.memory_bytes >> 20} MiB memory, "
        f"{limits.processes} processes, {limits.file_bytes >> 20} MiB per file, "
        f"{limits.output_bytes >> 20} MiB output per cell, "
        f"{limits.notebook_bytes >> 20} MiB per notebook (CS230_LIMIT_*)"))
    return found


def run(out: TextIO | None = None) -> int:
    """Print every check (to ``out``, default the current stdout); 0 when every layer works,
    1 when one is missing."""
    out = out or sys.stdout
    found = checks()
    for check in found:
        print(check.line(), file=out)
    missing = [c.name for c in found if not c.ok]
    summary = (f"Missing: {', '.join(missing)} (see docs/security.md)." if missing else
               "Every layer of the sandbox works here.")
    print(f"\n{summary}", file=out)
    return 1 if missing else 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """``doctor``: no options (it needs no course folder)."""
    sub.add_parser("doctor", help="check what the grading sandbox can do on this machine",
                   description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
