"""Removing a folder a student could write to: iterative, never raising, never stopped.

``shutil.rmtree`` recurses once per level: a tree 1,500 levels deep raises ``RecursionError``
(Python 3.11, even with ``ignore_errors=True``), and past about 4,000 bytes of path every
call by name fails with ``ENAMETOOLONG``. :func:`remove_tree` walks the tree with a loop and
directory file descriptors (``unlinkat``/``rmdir`` relative to an open folder, one open
folder at a time, whatever the depth), never follows a link, unlinks FIFOs, sockets and
devices without opening them, gives back the permissions a student took away (a folder
without ``w`` or ``x``), and never lets one failure stop the rest. What it cannot remove (a
mount point, a file marked immutable) is moved aside, renamed ``.cs230-unremovable-...``
beside the folder, and reported to ``report`` (default: standard error), so the next run
finds the folder's name free.

This module imports nothing of the kit: the fork server's sandbox runs its text as part of
the zygote's source (:mod:`cs230_grading.sandbox.zygote`), where the kit is hidden. So it has
no ``from __future__`` line and only the standard library.
"""

import os
import stat
import sys
import uuid
from collections.abc import Callable

#: Prefix of a folder renamed aside because something in it could not be removed.
UNREMOVABLE = ".cs230-unremovable-"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


def _report_stderr(line: str) -> None:
    try:
        print(line, file=sys.stderr, flush=True)
    except Exception:  # noqa: BLE001, S110 - reporting must not raise either
        pass


def _unlink(name: str, folder_fd: int, problems: list[str], may_unlock: bool) -> None:
    """Unlink a non-folder entry, unlocking its folder once if that was refused."""
    for attempt in (0, 1) if may_unlock else (1,):
        try:
            os.unlink(name, dir_fd=folder_fd)
            return
        except FileNotFoundError:
            return
        except OSError as exc:
            if attempt or exc.errno not in (1, 13):  # EPERM, EACCES: the folder is locked
                problems.append(f"{name}: {exc.strerror or exc}")
                return
            _unlock_fd(folder_fd)


def _unlock_fd(fd: int) -> None:
    """Give the owner back read, write and search on the open folder ``fd``."""
    try:
        os.fchmod(fd, stat.S_IRWXU)
    except OSError:
        pass


def _open_dir(name: str, parent_fd: int) -> int | None:
    for attempt in (0, 1):
        try:
            return os.open(name, _DIR_FLAGS, dir_fd=parent_fd)
        except PermissionError:
            if attempt:
                return None
            try:  # a folder without read or search permission: give them back
                os.chmod(name, stat.S_IRWXU, dir_fd=parent_fd)
            except (OSError, NotImplementedError):
                return None
        except OSError:
            return None
    return None


def _list(fd: int, name: str, problems: list[str], may_unlock: bool
          ) -> list[tuple[str, bool]]:
    """``(name, is a folder)`` for each entry of the open folder, unlocking it once if refused."""
    for attempt in (0, 1) if may_unlock else (1,):
        try:
            with os.scandir(fd) as entries:
                return [(e.name, e.is_dir(follow_symlinks=False)) for e in entries]
        except PermissionError as exc:
            if attempt:
                problems.append(f"{name}: {exc.strerror or exc}")
                return []
            _unlock_fd(fd)
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
            return []
    return []


class _Level:
    """A folder on the way down: its name in its parent, its identity, what is left in it.
    Only the deepest level's folder is open (``fd``): a tree deeper than the limit on open
    files is still removed; the way back up is ``..``, checked against ``ident``."""

    __slots__ = ("fd", "name", "ident", "pending")

    def __init__(self, fd: int, name: str) -> None:
        self.fd, self.name = fd, name
        info = os.fstat(fd)
        self.ident = (info.st_dev, info.st_ino)
        self.pending: list[str] | None = None


def _empty_fd(top_fd: int, top_name: str, problems: list[str],
              keep: Callable[[str], bool] | None = None, unlock_top: bool = True) -> None:
    """Remove everything inside the open folder ``top_fd`` (closing it), depth first, by loop.

    ``keep(name)`` (top level only) names entries to leave where they are; ``unlock_top``
    False leaves the top folder's own permissions alone (``/tmp`` stays 1777).
    """
    stack = [_Level(top_fd, top_name)]
    fd = top_fd  # the one open folder: stack[-1]'s
    try:
        while stack:
            level = stack[-1]
            if level.pending is None:
                level.pending = []
                may_unlock = unlock_top or len(stack) > 1
                for name, is_dir in _list(fd, level.name, problems, may_unlock):
                    if len(stack) == 1 and keep is not None and keep(name):
                        continue
                    if is_dir:
                        level.pending.append(name)
                    else:
                        _unlink(name, fd, problems, may_unlock)
            if level.pending:
                name = level.pending.pop()
                child = _open_dir(name, fd)
                if child is None:
                    problems.append(f"{name}: cannot be opened")
                    continue
                os.close(fd)
                fd = child
                stack.append(_Level(child, name))
                continue
            # this folder is empty (or what is left could not be removed): go back up
            stack.pop()
            if not stack:
                break
            parent = stack[-1]
            up = os.open("..", _DIR_FLAGS, dir_fd=fd)
            os.close(fd)
            fd = up
            info = os.fstat(fd)
            if (info.st_dev, info.st_ino) != parent.ident:
                problems.append(f"{level.name}: its folder was moved during the removal")
                return
            try:
                os.rmdir(level.name, dir_fd=fd)
            except FileNotFoundError:
                pass
            except OSError as exc:
                problems.append(f"{level.name}: {exc.strerror or exc}")
    finally:
        try:
            os.close(fd)
        except OSError:
            pass


def empty_folder(path: str, keep: Callable[[str], bool] | None = None,
                 report: Callable[[str], None] | None = None) -> bool:
    """Remove what is inside ``path`` (not ``path`` itself); True when nothing is left but
    the entries ``keep(name)`` spares. Never raises."""
    problems: list[str] = []
    try:
        parent = os.open(os.path.dirname(os.path.abspath(path)) or "/", _DIR_FLAGS)
    except OSError:
        parent = None
    try:
        name = os.path.basename(os.path.abspath(path))
        fd = _open_dir(name, parent) if parent is not None else None
        if fd is None:
            return not os.path.lexists(path)
        _empty_fd(fd, name, problems, keep, unlock_top=False)
    except Exception as exc:  # noqa: BLE001 - the clean-up goes on, whatever happened
        problems.append(f"{type(exc).__name__}: {exc}")
    finally:
        if parent is not None:
            os.close(parent)
    if problems:
        (report or _report_stderr)(f"[cs230] could not empty {path}: {'; '.join(problems[:5])}")
    return not problems


def remove_tree(path: "str | os.PathLike[str]",
                report: Callable[[str], None] | None = None) -> bool:
    """Remove ``path`` and everything under it; True when all of it is gone. Never raises.

    A file, link, FIFO or socket is unlinked; a folder is emptied depth first by a loop,
    whatever its depth, permissions and contents. When something is left, ``path`` is
    renamed aside (``.cs230-unremovable-<name>-<random>`` beside it, so that the name is
    free for the next run), ``report`` gets one line saying what and why, and False is
    returned.
    """
    path = os.fspath(path)
    say = report or _report_stderr
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return True
    except Exception as exc:  # noqa: BLE001
        say(f"[cs230] could not remove {path}: {exc}")
        return False
    try:
        if not stat.S_ISDIR(info.st_mode):
            os.unlink(path)
            return True
    except FileNotFoundError:
        return True
    except OSError:
        pass  # falls through to the folder route, then to renaming aside
    problems: list[str] = []
    absolute = os.path.abspath(path)
    parent_path, name = os.path.dirname(absolute) or "/", os.path.basename(absolute)
    try:
        parent = os.open(parent_path, _DIR_FLAGS)
    except OSError as exc:
        say(f"[cs230] could not remove {path}: {exc.strerror or exc}")
        return False
    try:
        fd = _open_dir(name, parent)
        if fd is not None:
            _empty_fd(fd, name, problems)
        try:
            os.rmdir(name, dir_fd=parent) if fd is not None else os.unlink(name, dir_fd=parent)
            return True
        except FileNotFoundError:
            return True
        except OSError as exc:
            problems.append(f"{name}: {exc.strerror or exc}")
        base = name[len(UNREMOVABLE):].rsplit("-", 1)[0] if name.startswith(UNREMOVABLE) \
            else name
        aside = f"{UNREMOVABLE}{base}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(name, aside, src_dir_fd=parent, dst_dir_fd=parent)
            where = f"moved aside to {os.path.join(parent_path, aside)}"
        except OSError as exc:
            where = f"left in place ({exc.strerror or exc})"
        say(f"[cs230] could not remove everything in {path}, {where}: "
            f"{'; '.join(problems[:5])}")
        return False
    except Exception as exc:  # noqa: BLE001 - never raise: the caller's run goes on
        say(f"[cs230] could not remove {path}: {type(exc).__name__}: {exc}")
        return False
    finally:
        os.close(parent)
