"""The unprivileged uids sandboxes run as: one per grading process and kind, never shared.

Started as root, a grading process drops every process that runs student code to a uid of
its own. Two processes sharing a uid would share what the kernel keeps per user (kernel
keyrings, the process count of ``RLIMIT_NPROC``, the right to signal each other). The old
rule, ``61000 + pid % 2000``, gave the same uid to two workers with the same process id on
different machines or containers of one host (each container counts pids from 1).

Here a uid is drawn at random from a range of 2**24 (about 16.7 million) per kind, far
above the uids of real users and of the usual subordinate-uid ranges, and *claimed*: an
exclusive ``flock`` on ``cs230-uid-<uid>.lock`` in the temporary folder, held as long as the
process lives, and a look through ``/proc`` for a process already running as that uid.
Processes that share a temporary folder (one machine, or containers sharing ``/tmp``) can
therefore never get the same uid; processes that share nothing but the kernel collide with
a chance of about one in 16.7 million per pair, and the fork server's children also each
get a user namespace of their own (their keyrings are theirs whatever their uid).
"""

from __future__ import annotations

import fcntl
import os
import secrets
import tempfile
import threading

#: First uid of each kind's range, and the range's size.
UID_FLOOR = {"kernel": 0x5000_0000, "runner": 0x5100_0000}
UID_RANGE = 1 << 24
_CLAIMED: dict[str, tuple[int, int, int]] = {}  # kind -> (pid that claimed, uid, lock fd)
_LOCK = threading.Lock()


def _uid_in_use(uid: int) -> bool:
    """True when a process this one can see runs as ``uid``."""
    try:
        names = os.listdir("/proc")
    except OSError:
        return False
    for name in names:
        if not name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{name}").st_uid == uid:
                return True
        except OSError:
            continue
    return False


def _sweep(folder: str, limit: int = 64) -> None:
    """Remove the lock files of uids no live process holds (at most ``limit`` per call)."""
    import glob

    for path in glob.glob(os.path.join(folder, "cs230-uid-*.lock"))[:limit]:
        try:
            fd = os.open(path, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.unlink(path)  # while holding it: a claimant checks the name still is this file
        except OSError:
            pass
        finally:
            os.close(fd)


def _claim(kind: str) -> tuple[int, int]:
    folder = tempfile.gettempdir()
    _sweep(folder)
    for _ in range(64):
        uid = UID_FLOOR[kind] + secrets.randbelow(UID_RANGE)
        path = os.path.join(folder, f"cs230-uid-{uid}.lock")
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.stat(path).st_ino == os.fstat(fd).st_ino  # not unlinked meanwhile
        except OSError:
            same = False
        if not same or _uid_in_use(uid):
            os.close(fd)
            continue
        return uid, fd
    raise RuntimeError(f"no free sandbox uid found for {kind} processes in {folder}")


def claimed_uid(kind: str) -> int:
    """This process's uid for ``kind`` (``kernel`` or ``runner``) sandboxes, claimed on
    first use and kept for the life of the process (a forked child claims its own)."""
    with _LOCK:
        held = _CLAIMED.get(kind)
        if held is not None and held[0] == os.getpid():
            return held[1]
        uid, fd = _claim(kind)
        _CLAIMED[kind] = (os.getpid(), uid, fd)
        return uid
