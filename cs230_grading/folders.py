"""Folders the kit rewrites are replaced whole, or not at all.

``release/midterm`` (what students are handed), each student's ``autograded/`` and
``feedback/`` folders, and ``reports/`` are rebuilt on every run. A run that fails halfway
(a broken source notebook, a crash, a full disk, Ctrl-C) must leave the last good copy, not
an empty or half-written folder. Two patterns cover every writer:

* :func:`staged_folder`: the kit writes the new content into a scratch folder beside the
  target, and only a block that finishes swaps it in (two renames on one filesystem);
* :func:`last_good_copy`: for a tool that insists on writing the target in place (nbgrader's
  autograde and feedback), the old folder is set aside first and put back if the block fails.

Scratch and set-aside folders are hidden siblings (``.NAME.new-PID``, ``.NAME.old-PID``);
ones left by a killed process are swept the next time the same target is written. A grading
worker's own scratch folders (its private course, its fork servers' run folders) carry its
process id in their names and a lock beside them (:func:`claim_folder`), and
:func:`sweep_dead_owners` removes those whose owner is gone.

Every removal goes through :func:`remove_tree` (:mod:`cs230_grading.sandbox.removal`):
iterative, whatever the depth, permissions or kind of file a student left, never raising; what
it cannot remove is moved aside and reported, so it never stops the next run.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import Iterator, Mapping
from pathlib import Path

from .sandbox.removal import UNREMOVABLE, remove_tree

__all__ = ["claimed_folder", "last_good_copy", "release_claim", "remove_tree", "replace_folder",
           "restore", "staged_folder", "sweep_dead_owners", "sweep_stale"]
#: suffix of the lock file beside a folder claimed by a live process (:func:`claim_folder`)
LOCK_SUFFIX = ".lock"
#: folder -> the open lock file that claims it (held for as long as this process lives)
_CLAIMS: dict[str, int] = {}


def _sibling(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}")


def sweep_stale(target: Path) -> None:
    """Remove scratch and set-aside copies of ``target`` left by a process that was killed."""
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{target.name}.*-*"):
        remove_tree(stale)


def claimed_folder(base: Path, prefix: str) -> Path:
    """A new private folder ``<base>/<prefix><random>``, marked as this process's for as
    long as it lives: an exclusive ``flock`` on ``<folder>.lock`` beside it, taken before the
    folder exists and released by the kernel when the process dies, whatever killed it.
    Unlike a process id, a lock cannot be mistaken for the process of the same number of
    another container sharing ``base`` (``/tmp`` or ``/dev/shm`` mounted in several)."""
    import secrets

    for _ in range(100):
        folder = Path(base) / f"{prefix}{secrets.token_hex(4)}"
        try:
            fd = os.open(f"{folder}{LOCK_SUFFIX}",
                         os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                         0o600)
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            folder.mkdir(mode=0o700)
        except OSError:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(f"{folder}{LOCK_SUFFIX}")
            continue
        _CLAIMS[str(folder)] = fd
        return folder
    raise FileExistsError(f"no free folder name {prefix}* in {base}")


def release_claim(folder: Path) -> bool:
    """Remove ``folder`` and drop this process's claim on it (:func:`claimed_folder`); True
    when all of it was removed."""
    removed = remove_tree(folder)
    fd = _CLAIMS.pop(str(folder), None)
    with contextlib.suppress(OSError):
        os.unlink(f"{folder}{LOCK_SUFFIX}")
    if fd is not None:
        os.close(fd)
    return removed


def _owner_alive(folder: Path, pid: str) -> bool:
    """True while the process that made ``folder`` lives (its lock is held)."""
    lock = Path(f"{folder}{LOCK_SUFFIX}")
    try:
        fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:  # made before locks: the process id is all there is
        return not pid.isdigit() or Path(f"/proc/{pid}").exists()
    except OSError:
        return True  # cannot tell: leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True  # the owner holds it
    finally:
        os.close(fd)
    return False


def sweep_dead_owners(base: Path, prefix: str) -> int:
    """Remove the folders ``<prefix><pid>-*`` in ``base`` whose owner is gone (a worker
    killed or crashed before it removed its own), and their locks; returns how many."""
    swept = 0
    for folder in base.glob(f"{prefix}*-*"):
        if folder.name.endswith(LOCK_SUFFIX) or str(folder) in _CLAIMS:
            continue
        pid = folder.name[len(prefix):].split("-")[0]
        if not _owner_alive(folder, pid):
            remove_tree(folder)
            with contextlib.suppress(OSError):
                os.unlink(f"{folder}{LOCK_SUFFIX}")
            swept += 1
    for aside in base.glob(f"{UNREMOVABLE}{prefix}*"):  # what an earlier sweep could not
        remove_tree(aside, report=lambda _line: None)  # (stays aside until it can)
    for lock in base.glob(f"{prefix}*-*{LOCK_SUFFIX}"):  # locks whose folder is gone
        folder = Path(str(lock)[:-len(LOCK_SUFFIX)])
        if not folder.exists() and str(folder) not in _CLAIMS:
            with contextlib.suppress(OSError):
                fd = os.open(lock, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    os.unlink(lock)
                finally:
                    os.close(fd)
    return swept


def replace_folder(target: Path, fresh: Path) -> None:
    """Put ``fresh`` where ``target`` is (a crash leaves the old folder or the new one)."""
    old = _sibling(target, "old")
    remove_tree(old)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(old)
    try:
        fresh.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    remove_tree(old)


@contextlib.contextmanager
def staged_folder(target: Path) -> Iterator[Path]:
    """Yield an empty folder to write ``target``'s new content into.

    When the block finishes, the new content replaces ``target`` whole; when it raises,
    the scratch folder is deleted and ``target`` is left exactly as it was.
    """
    target = Path(target)
    sweep_stale(target)
    fresh = _sibling(target, "new")
    fresh.mkdir(parents=True)
    try:
        yield fresh
    except BaseException:
        remove_tree(fresh)
        raise
    replace_folder(target, fresh)


@contextlib.contextmanager
def last_good_copy(*targets: Path) -> Iterator[list[Path]]:
    """Let a tool rewrite ``targets`` in place; put the old folders back if the block fails.

    The block may also call :func:`restore` on the yielded list's items itself (for a tool
    that reports failure by a return value rather than an exception).
    """
    kept: list[Path] = []
    for target in map(Path, targets):
        sweep_stale(target)
        if target.exists():
            target.rename(_sibling(target, "old"))
        kept.append(target)
    try:
        yield kept
    except BaseException:
        for target in kept:
            restore(target)
        raise
    for target in kept:
        remove_tree(_sibling(target, "old"))


def restore(target: Path) -> None:
    """Inside :func:`last_good_copy`: drop what the tool wrote to ``target``, keep the old."""
    old = _sibling(target, "old")
    if not old.exists():
        return
    remove_tree(target)
    old.rename(target)


#: names skipped when a folder's files are read for hashing or sending
IGNORED = (".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


def tree_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (caches skipped), keyed by its relative path."""
    if not folder.is_dir():
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(rel.match(p) or p in rel.parts for p in IGNORED):
            files[rel.as_posix()] = path.read_bytes()
    return files


def content_sha(files: Mapping[str, bytes], *extra: str) -> str:
    """SHA-256 of files (by relative path) and extra strings: equal contents, equal hash."""
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    for text in extra:
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()


try:
    from contextlib import chdir
except ImportError:  # Python 3.10

    @contextlib.contextmanager
    def chdir(path: str | os.PathLike[str]) -> Iterator[None]:  # type: ignore[no-redef]
        """Work in ``path`` for the ``with`` block (``contextlib.chdir`` of Python 3.11)."""
        before = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(before)


def course_root_of(path: Path) -> Path | None:
    """The nearest folder above ``path`` holding ``nbgrader_config.py``."""
    for folder in (path, *path.parents):
        if (folder / "nbgrader_config.py").exists():
            return folder
    return None
