"""Checking submissions before grading: every problem becomes a clear line.

nbgrader stops grading a student at the first notebook it cannot read, so the
pipeline grades from a *staged* copy of ``submitted/`` that holds only the
notebooks that passed these checks. A notebook left out is graded as missing
(zero), and the report says why.

A submission is the student's own files and nothing else. Intake reads each file with
``lstat`` and ``O_NOFOLLOW`` and copies its *bytes* into ``staged/``; it never follows or
copies a link. It refuses, with one finding each (the rest of the student and of the class
is graded as before):

* a symbolic link (to the instructor's ``source/``, to another student, or anywhere else),
  including a student folder or ``midterm/`` folder that is a link (a path that leaves the
  student's folder);
* a hard link whose other name is outside the student's folder;
* anything that is not a regular file (FIFO, device, socket, folder);
* a file over :attr:`IntakeLimits.file_bytes`, or a notebook whose outputs are over
  :attr:`IntakeLimits.output_bytes`.

A link to the instructor's notebooks or to another student's work is reported as
*suspected cheating*, for a person to read.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .course import ASSIGNMENT, NOTEBOOK_POINTS, NOTEBOOKS
from .finding import Finding
from .folders import remove_tree
from .normalize import read_against_release, reference_notebook
from .notebooks import NotebookError, grade_cells, nbgrader_meta, read_notebook, write_notebook
from .receipts import HASHES, sha256sum_text
from .settings import limit_from_env

STAGED_DIR = "staged"
MiB = 1 << 20
TIMESTAMP = "timestamp.txt"
#: a timestamp is one line; anything larger is not one
TIMESTAMP_BYTES = 4096
SUSPECTED = "suspected cheating, a person should review this submission"


@dataclasses.dataclass
class Intake:
    students: list[str]
    findings: list[Finding]


@dataclasses.dataclass(frozen=True)
class IntakeLimits:
    """Size limits on what a student may submit (see docs/collection.md for the measurement).

    Measured on the model answers run top to bottom with every output (plots, training
    curves, explorers): 1.3 MB for the six notebooks; the largest, Q6, is 0.68 MB, of which
    0.63 MB are outputs. The defaults leave a margin of about 30x and 16x.
    """

    #: bytes of any one submitted file
    file_bytes: int = 20 * MiB
    #: bytes of one notebook's outputs (as JSON)
    output_bytes: int = 10 * MiB

    @classmethod
    def from_env(cls) -> IntakeLimits:
        """Defaults, overridden by ``CS230_LIMIT_SUBMISSION_MB`` and
        ``CS230_LIMIT_SUBMISSION_OUTPUT_MB`` (MiB, decimals allowed)."""
        base = cls()
        return cls(file_bytes=_env_mib("SUBMISSION_MB", base.file_bytes),
                   output_bytes=_env_mib("SUBMISSION_OUTPUT_MB", base.output_bytes))


def _env_mib(name: str, default: int) -> int:
    return int(limit_from_env(name, default / MiB) * MiB)


class Rejected(Exception):
    """A submitted file that intake will not stage; the message says why."""


def roster_rows(course_root: Path) -> list[dict[str, str]] | None:
    """The rows of ``roster.csv`` (nbgrader's import format, column ``id``), if present."""
    path = course_root / "roster.csv"
    if not path.exists():
        return None
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames or "id" not in reader.fieldnames:
            raise ValueError(f"{path}: needs a header row with an 'id' column")
        return [{k: (v or "").strip() for k, v in row.items() if k}
                for row in reader if (row.get("id") or "").strip()]


def load_roster(course_root: Path) -> set[str] | None:
    """Student ids from ``roster.csv`` (nbgrader's import format, column ``id``), if present."""
    rows = roster_rows(course_root)
    return None if rows is None else {row["id"] for row in rows}


def stage_submissions(course_root: Path, source_dir: Path,
                      limits: IntakeLimits | None = None) -> Intake:
    """Check ``submitted/*/midterm`` and copy what can be graded to ``staged/``."""
    course_root = Path(course_root).resolve()
    limits = limits or IntakeLimits.from_env()
    submitted = course_root / "submitted"
    staged = course_root / STAGED_DIR
    if staged.exists():
        remove_tree(staged)
    staged.mkdir(parents=True)
    findings: list[Finding] = []
    entries = _student_entries(submitted)
    if not entries:
        findings.append(Finding("(class)", f"no submissions: {submitted} is empty or missing"))
        return Intake([], findings)

    roster = load_roster(course_root)
    expected_ids = {name: set(grade_cells(read_notebook(source_dir / f"{name}.ipynb")))
                    for name in NOTEBOOKS}
    students: list[str] = []
    for folder in entries:
        student = folder.name
        if roster is not None and student not in roster:
            findings.append(Finding(student, "unknown student (not in roster.csv): not graded; "
                                    "fix the folder name or add the student to the roster"))
            continue
        checker = _StudentChecker(course_root, student, limits, expected_ids)
        try:
            graded = checker.stage(staged / student / ASSIGNMENT)
        except OSError as exc:
            remove_tree(staged / student)
            checker.findings.append(Finding(student, f"could not read the submission ({exc}): "
                                            "not graded"))
            graded = False
        findings.extend(checker.findings)
        if graded:
            students.append(student)
    return Intake(students, findings)


def _student_entries(submitted: Path) -> list[Path]:
    """The student folders of ``submitted/`` (and links posing as one), sorted by name."""
    if not submitted.is_dir():
        return []
    with os.scandir(submitted) as it:
        return sorted(Path(e.path) for e in it
                      if e.is_symlink() or e.is_dir(follow_symlinks=False))


class _StudentChecker:
    """The checks of one student's folder; findings accumulate in :attr:`findings`."""

    def __init__(self, course_root: Path, student: str, limits: IntakeLimits,
                 expected_ids: dict[str, set[str]]) -> None:
        self.course_root = course_root
        self.student = student
        self.limits = limits
        self.expected_ids = expected_ids
        self.own_root = course_root / "submitted" / student
        self.findings: list[Finding] = []
        #: notebook file name -> SHA-256 of the bytes submitted (receipts.py)
        self.hashes: dict[str, str] = {}

    def add(self, message: str, notebook: str = "", severity: str = "error") -> None:
        self.findings.append(Finding(self.student, message, notebook, severity))

    def stage(self, target: Path) -> bool:
        """Stage the student's notebooks into ``target``; False when nothing can be graded."""
        assignment = self.own_root / ASSIGNMENT
        for folder in (self.own_root, assignment):
            problem = self._folder_problem(folder)
            if problem:
                self.add(problem)
                return False
        target.mkdir(parents=True)
        self._stage_timestamp(assignment, target)
        self._note_extras(assignment)
        for name in NOTEBOOKS:
            self._stage_notebook(assignment / f"{name}.ipynb", target, name)
        (target / HASHES).write_text(sha256sum_text(self.hashes), encoding="utf-8")
        return True

    # -- folders ----------------------------------------------------------------
    def _folder_problem(self, folder: Path) -> str:
        """Why ``folder`` is not a real folder inside the student's own one ("" when it is)."""
        try:
            info = os.lstat(folder)
        except FileNotFoundError:
            if folder == self.own_root:
                return "the folder disappeared while intake read it: not graded"
            others = ", ".join(sorted(p.name for p in self.own_root.iterdir()
                                      if p.is_dir() and not p.is_symlink())) or "none"
            return f"no {ASSIGNMENT}/ folder (found: {others}): not graded"
        rel = folder.relative_to(self.course_root / "submitted")
        if stat.S_ISLNK(info.st_mode):
            return f"{rel}/ is {self._describe_link(folder)}; not graded"
        if not stat.S_ISDIR(info.st_mode):
            return f"{rel} is {_kind(info)}, not a folder: not graded"
        return ""

    # -- files ------------------------------------------------------------------
    def _stage_timestamp(self, assignment: Path, target: Path) -> None:
        path = assignment / TIMESTAMP
        try:
            data = self._read_own_file(path, TIMESTAMP_BYTES)
        except FileNotFoundError:
            return
        except Rejected as exc:
            self.add(f"{TIMESTAMP} ignored (no late-penalty information): {exc}",
                     severity="warning")
            return
        (target / TIMESTAMP).write_bytes(data)

    def _note_extras(self, assignment: Path) -> None:
        expected = {f"{name}.ipynb" for name in NOTEBOOKS} | {TIMESTAMP}
        for path in sorted(assignment.iterdir()):
            if path.name in expected:
                continue
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                self.add(f"{self._describe_link(path)}; not a file of this exam: ignored",
                         path.name, "warning")
            elif path.suffix == ".ipynb":
                self.add("not a notebook of this exam: ignored", path.name, "warning")

    def _stage_notebook(self, path: Path, target: Path, name: str) -> None:
        try:
            data = self._read_own_file(path, self.limits.file_bytes)
        except FileNotFoundError:
            if NOTEBOOK_POINTS[name] > 0:  # a missing cover: cover.honour_code_findings says so
                self.add("missing notebook: scored 0", name)
            return
        except Rejected as exc:
            self.add(f"{exc}; not graded, scored 0", name)
            return
        except OSError as exc:
            self.add(f"cannot be read ({exc.strerror or exc}): scored 0", name)
            return
        staged = target / path.name
        staged.write_bytes(data)
        problem = self._notebook_problem(staged, name)
        if problem:
            staged.unlink()
            self.add(f"{problem}: scored 0", name)
        else:
            self.hashes[path.name] = hashlib.sha256(data).hexdigest()

    def _notebook_problem(self, staged: Path, name: str) -> str:
        """Check (and repair) the staged copy; why it cannot be graded ("" when it can)."""
        try:  # metadata reset to the release's first: junk there is a finding, not a crash
            done = read_against_release(staged, reference_notebook(self.course_root, name))
        except NotebookError as exc:
            return _short(exc, staged)
        nb = done.nb
        outputs = output_bytes(nb)
        if outputs > self.limits.output_bytes:
            return (f"its outputs take {_mib(outputs)}, over the limit of "
                    f"{_mib(self.limits.output_bytes)} (CS230_LIMIT_SUBMISSION_OUTPUT_MB); "
                    "clear the outputs and grade again, or raise the limit")
        if not set(grade_cells(nb)) & self.expected_ids[name]:
            return ("holds none of this notebook's answer or test cells (a notebook "
                    "from another assignment, or its nbgrader metadata was stripped)")
        repairs = _repair(nb)
        write_notebook(nb, staged)
        for severity, notes in (("error", done.errors), ("warning", done.warnings + repairs)):
            if notes:
                self.add("metadata reset to the release's: " + "; ".join(notes), name, severity)
        return ""

    def _read_own_file(self, path: Path, limit: int) -> bytes:
        """The bytes of ``path`` if it is the student's own regular file within ``limit``.

        Raises :class:`FileNotFoundError` when there is no such file and :class:`Rejected`
        (with the reason) when there is one intake will not stage.
        """
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            raise Rejected(self._describe_link(path))
        if not stat.S_ISREG(info.st_mode):
            raise Rejected(f"{_kind(info)}, not a regular file")
        if info.st_nlink > 1:
            self._check_hard_links(path, info)
        if info.st_size > limit:
            raise Rejected(f"the file is {_mib(info.st_size)}, over the limit of {_mib(limit)} "
                           "(CS230_LIMIT_SUBMISSION_MB)")
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as fh:
            now = os.fstat(fh.fileno())
            if (now.st_dev, now.st_ino) != (info.st_dev, info.st_ino):
                raise Rejected("the file was replaced while intake read it")
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise Rejected(f"the file grew over the limit of {_mib(limit)} while intake read it")
        return data

    def _check_hard_links(self, path: Path, info: os.stat_result) -> None:
        """Reject a file that shares its data with a name outside the student's folder."""
        key = (info.st_dev, info.st_ino)
        inside = sum(1 for p in _walk_no_follow(self.own_root) if _inode(p) == key)
        if inside >= info.st_nlink:
            return
        others = [p for top in ("source", "release", "submitted")
                  for p in _walk_no_follow(self.course_root / top)
                  if _inode(p) == key and not _is_within(p, self.own_root)]
        if others:
            where = self._whose(others[0])
            suspect = f"; {SUSPECTED}"
            if where.startswith("another student"):
                suspect += (" (neither student's copy is graded until a person decides whose "
                            "work it is; then put a plain copy, cp without -l, in that folder)")
        else:
            where = f"{info.st_nlink - inside} name(s) outside the course"
            suspect = ("; if you made this link yourself (cp -l, a backup tool), copy the "
                       "folder with plain cp instead")
        raise Rejected(f"a hard link: the same file as {where}, not the student's own copy"
                       f"{suspect}")

    # -- describing what a link points at ------------------------------------------
    def _describe_link(self, path: Path) -> str:
        """``a symbolic link to TARGET (whose it is)``, with the cheating flag when it is."""
        raw = os.readlink(path)
        resolved = Path(os.path.realpath(path))
        if _is_within(resolved, self.own_root) and resolved != path:
            return (f"a symbolic link to {raw} (inside the student's own folder), not a "
                    "file: submit the file itself")
        whose = self._whose(resolved)
        if whose.endswith("outside the course") and raw == str(resolved):
            whose = "outside the course"
        suspect = f"; {SUSPECTED}" if whose.startswith(("the instructor", "another")) else ""
        return f"a symbolic link to {raw} ({whose}), not the student's own file{suspect}"

    def _whose(self, resolved: Path) -> str:
        """Who owns ``resolved``: the instructor, another student, or something else."""
        course = self.course_root
        if _is_within(resolved, course / "source") or _is_within(resolved, course / "release"):
            return f"the instructor's {resolved.relative_to(course)}"
        for top in ("submitted", STAGED_DIR, "autograded", "feedback"):
            if _is_within(resolved, course / top) and resolved != course / top:
                owner = resolved.relative_to(course / top).parts[0]
                if owner != self.student:
                    return f"another student's submission, {owner}"
        if _is_within(resolved, course):
            return f"the course's {resolved.relative_to(course)}"
        return f"{resolved}, outside the course"


def output_bytes(nb) -> int:
    """Size of a notebook's outputs, as the JSON they take in the file."""
    return sum(len(json.dumps(cell.get("outputs", []))) for cell in nb.cells
               if cell.cell_type == "code")


def _walk_no_follow(top: Path) -> Iterator[Path]:
    """Every file and link under ``top`` (links are listed, never followed)."""
    for folder, dirs, files in os.walk(top, followlinks=False):
        for name in files + [d for d in dirs if os.path.islink(os.path.join(folder, d))]:
            yield Path(folder, name)


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        info = os.lstat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _kind(info: os.stat_result) -> str:
    mode = info.st_mode
    for test, name in ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
                       (stat.S_ISDIR, "a folder"), (stat.S_ISREG, "a regular file")):
        if test(mode):
            return name
    return "a special file"


def _mib(size: int) -> str:
    return f"{size / MiB:.1f} MiB"


def _repair(nb) -> list[str]:
    """Fix in place what would make nbgrader fail the whole student; say what was fixed.

    A cell copied with its nbgrader metadata (same grade id) is dropped after the first
    copy, and repeated cell ids are renewed.
    """
    import uuid

    notes: list[str] = []
    seen_grades: set[str] = set()
    seen_ids: set[str] = set()
    kept = []
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id and grade_id in seen_grades:
            notes.append(f"duplicated cell {grade_id} dropped (the first copy is graded)")
            continue
        if grade_id:
            seen_grades.add(grade_id)
        cell_id = cell.get("id")
        if cell_id and cell_id in seen_ids:
            cell["id"] = uuid.uuid4().hex[:8]
        if cell_id:
            seen_ids.add(cell.get("id"))
        kept.append(cell)
    nb.cells = kept
    return notes


def _short(exc: Exception, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text
