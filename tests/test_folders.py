"""Folders the kit rewrites are replaced whole, or not at all (cs230_grading/folders.py)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from cs230_grading.folders import last_good_copy, restore, staged_folder, sweep_dead_owners


def _tree(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): p.read_text() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def _siblings(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name != folder.name)


@pytest.fixture
def target(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    (folder / "sub").mkdir(parents=True)
    (folder / "grades.csv").write_text("old grades")
    (folder / "sub" / "a.html").write_text("old page")
    return folder


def test_staged_folder_replaces_the_whole_folder_on_success(target: Path) -> None:
    with staged_folder(target) as fresh:
        assert fresh != target and fresh.parent == target.parent
        (fresh / "grades.csv").write_text("new grades")
    assert _tree(target) == {"grades.csv": "new grades"}  # the old page is gone too
    assert _siblings(target) == []


def test_staged_folder_leaves_the_last_good_copy_on_failure(target: Path) -> None:
    before = _tree(target)
    with pytest.raises(RuntimeError), staged_folder(target) as fresh:
        (fresh / "grades.csv").write_text("half")
        raise RuntimeError("export failed")
    assert _tree(target) == before
    assert _siblings(target) == []


def test_staged_folder_sweeps_what_a_killed_run_left(target: Path) -> None:
    stale = target.with_name(f".{target.name}.new-99999")
    stale.mkdir()
    with staged_folder(target) as fresh:
        (fresh / "x").write_text("x")
    assert not stale.exists() and _siblings(target) == []


def test_last_good_copy_puts_the_old_folder_back_when_the_tool_fails(target: Path) -> None:
    before = _tree(target)
    with pytest.raises(OSError), last_good_copy(target):
        assert not target.exists()  # set aside while the tool writes
        target.mkdir()
        (target / "partial").write_text("p")
        raise OSError("nbgrader died")
    assert _tree(target) == before and _siblings(target) == []


def test_last_good_copy_restore_on_a_reported_failure(target: Path) -> None:
    before = _tree(target)
    with last_good_copy(target):
        target.mkdir()
        (target / "partial").write_text("p")
        restore(target)  # the tool said "success": False
    assert _tree(target) == before and _siblings(target) == []


def test_last_good_copy_keeps_the_new_folder_on_success(target: Path) -> None:
    with last_good_copy(target, target.with_name("absent")):
        target.mkdir()
        (target / "fresh").write_text("f")
    assert _tree(target) == {"fresh": "f"} and _siblings(target) == []


def test_folders_of_dead_processes_are_swept_and_no_others(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])  # a process id that is no longer alive
    gone.wait()
    dead = tmp_path / f"cs230-worker-{gone.pid}-x1"
    alive = tmp_path / f"cs230-worker-{os.getpid()}-x2"
    other = tmp_path / f"cs230-fork-kernel-{gone.pid}-x3"  # another prefix
    unnamed = tmp_path / "cs230-worker-abc-x4"  # no process id
    for folder in (dead, alive, other, unnamed):
        (folder / "inside").mkdir(parents=True)
    assert sweep_dead_owners(tmp_path, "cs230-worker-") == 1
    assert not dead.exists() and alive.exists() and other.exists() and unnamed.exists()
