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
import os
import shutil
from collections.abc import Iterator
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
