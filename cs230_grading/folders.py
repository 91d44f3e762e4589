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
process id in their names, and :func:`sweep_dead_owners` removes those of dead workers.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path


def _sibling(target: Path, kind: str) -> Path:
    return target.with_name(f".{target.name}.{kind}-{os.getpid()}")


def sweep_stale(target: Path) -> None:
    """Remove scratch and set-aside copies of ``target`` left by a process that was killed."""
    if not target.parent.is_dir():
        return
    for stale in target.parent.glob(f".{target.name}.*-*"):
        shutil.rmtree(stale, ignore_errors=True)


def sweep_dead_owners(base: Path, prefix: str) -> int:
    """Remove the folders ``<prefix><pid>-*`` in ``base`` whose process ``pid`` is gone (a
    worker killed or crashed before it removed its own); returns how many."""
    swept = 0
    for folder in base.glob(f"{prefix}*-*"):
        pid = folder.name[len(prefix):].split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
            swept += 1
    return swept


def replace_folder(target: Path, fresh: Path) -> None:
    """Put ``fresh`` where ``target`` is (a crash leaves the old folder or the new one)."""
    old = _sibling(target, "old")
    shutil.rmtree(old, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        target.rename(old)
    try:
        fresh.rename(target)
    except BaseException:
        if old.exists() and not target.exists():
            old.rename(target)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
        shutil.rmtree(fresh, ignore_errors=True)
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
        shutil.rmtree(_sibling(target, "old"), ignore_errors=True)


def restore(target: Path) -> None:
    """Inside :func:`last_good_copy`: drop what the tool wrote to ``target``, keep the old."""
    old = _sibling(target, "old")
    if not old.exists():
        return
    shutil.rmtree(target, ignore_errors=True)
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
