"""``cs230-grade collect --lms-zip FILE``: an LMS's submissions archive, unpacked safely.

Instructors who do not use nbgrader's exchange download every submission from the course's
LMS as one zip. This module unpacks such an archive into ``submitted/<student id>/midterm/``:

* nothing leaves the course: an absolute name, a ``..`` component, a link, a device or any
  entry that is not a plain file is never written, and is listed with the reason;
* no archive bomb: the number of entries and the total size are capped (the whole archive is
  refused), each file's size and compression ratio are capped (that file is refused), and
  the bytes actually inflated are counted while streaming, whatever the headers say;
* the LMS's renaming is undone (:class:`CanvasFormat`), the newest of several uploads of one
  notebook is kept and the others are listed;
* students are mapped to ids through ``roster.csv`` (nbgrader's import format), whose
  ``lms_user_id`` column holds each student's id in the LMS;
* every file that could not be placed is listed with the reason, in the terminal and in
  ``collect.csv`` in the course root.

A new LMS is one class with a ``name`` and a ``parse`` method, added to :data:`LMS_FORMATS`
(see docs/collection.md).
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import re
import stat
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from .course import ASSIGNMENT, NOTEBOOKS
from .exam_window import lms_late_note
from .finding import Finding
from .folders import replace_folder
from .intake import IntakeLimits, MiB, roster_rows
from .settings import limit_from_env

MANIFEST = "collect.csv"
ROSTER_LMS_COLUMN = "lms_user_id"
#: below this size a high compression ratio is harmless (and common for small text files)
RATIO_FLOOR_BYTES = 1 * MiB
CHUNK = 1 << 16
SAFE_ID = re.compile(r"^[A-Za-z0-9_@+-][A-Za-z0-9._@+-]*$")


class CollectError(ValueError):
    """The archive as a whole cannot be collected; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class ArchiveLimits:
    """Caps that stop an archive bomb before it fills the disk."""

    #: entries in the archive (a class of 1,000 with six notebooks each is 6,000)
    files: int = 20_000
    #: bytes of all entries once inflated
    total_bytes: int = 4096 * MiB
    #: bytes of one entry once inflated (the intake limit on one submitted file)
    file_bytes: int = IntakeLimits().file_bytes
    #: inflated / compressed size of one entry over RATIO_FLOOR_BYTES (honest notebooks: < 13)
    ratio: float = 100.0

    @classmethod
    def from_env(cls) -> ArchiveLimits:
        """Defaults, overridden by ``CS230_LIMIT_ARCHIVE_FILES``, ``CS230_LIMIT_ARCHIVE_MB``,
        ``CS230_LIMIT_ARCHIVE_RATIO`` and ``CS230_LIMIT_SUBMISSION_MB``."""
        base = cls()
        return cls(files=int(_env_number("ARCHIVE_FILES", base.files)),
                   total_bytes=int(_env_number("ARCHIVE_MB", base.total_bytes / MiB) * MiB),
                   file_bytes=IntakeLimits.from_env().file_bytes,
                   ratio=_env_number("ARCHIVE_RATIO", base.ratio))


def _env_number(name: str, default: float) -> float:
    try:
        return limit_from_env(name, default)
    except ValueError as exc:
        raise CollectError(str(exc)) from None


@dataclasses.dataclass(frozen=True)
class LmsEntry:
    """What an LMS's name for a file says about it."""

    #: the student's name as the LMS wrote it (for messages only)
    student_name: str
    #: the student's id in the LMS (Canvas user id), matched with roster.csv's lms_user_id
    lms_user_id: str
    #: the LMS marked the submission late
    late: bool
    #: the LMS's id of this file; a later upload has a larger id
    file_id: int
    #: the file's name as the student uploaded it, the LMS's renaming undone
    filename: str
    #: the LMS's resubmission counter (Canvas's ``-N``), 0 for the first upload
    revision: int


class LmsFormat(Protocol):
    """How one LMS names the files of its "download all submissions" archive."""

    name: str

    def parse(self, entry_name: str) -> LmsEntry | None:
        """The meaning of one archive entry's name, or None when it is not in the format."""
        ...


class CanvasFormat:
    """Canvas's "Download Submissions" zip.

    Canvas (``lib/content_zipper.rb``) names each uploaded file
    ``{sortable name}_{LATE_}{user id}_{attachment id}_{display name}``: the sortable name
    ("Last, First") lower-cased with everything but letters, digits and ``_`` removed;
    ``LATE`` when the submission was late (lower case in older Canvas); the Canvas user id,
    or ``anon_{anonymous id}`` with no name when grading is anonymous; the id of the file.
    The display name is the student's file name, with ``-N`` added before the extension when
    the student had uploaded a file of that name before.
    """

    name = "canvas"
    PATTERN = re.compile(
        r"^(?:(?P<name>[^/]*?)_)??(?:(?P<late>LATE|late)_)?"
        r"(?P<uid>\d+|anon_[A-Za-z0-9]+)_(?P<file_id>\d+)_(?P<display>[^/]+)$")
    RESUBMITTED = re.compile(r"^(?P<stem>.+)-(?P<n>\d+)(?P<ext>\.[^.]*)?$")

    def parse(self, entry_name: str) -> LmsEntry | None:
        match = self.PATTERN.match(entry_name)
        if not match:
            return None
        filename, revision = self.undo_resubmission(match["display"])
        return LmsEntry(student_name=match["name"] or "", lms_user_id=match["uid"],
                        late=bool(match["late"]), file_id=int(match["file_id"]),
                        filename=filename, revision=revision)

    @classmethod
    def undo_resubmission(cls, display: str) -> tuple[str, int]:
        """``q3-2.ipynb`` -> (``q3.ipynb``, 2); a name without ``-N`` is revision 0."""
        match = cls.RESUBMITTED.match(display)
        if not match or Path(display).stem in NOTEBOOKS:
            return display, 0
        return match["stem"] + (match["ext"] or ""), int(match["n"])


#: the LMS archive formats ``cs230-grade collect --lms`` knows, by name
LMS_FORMATS: dict[str, LmsFormat] = {"canvas": CanvasFormat()}


@dataclasses.dataclass
class CollectResult:
    """What one collection did: who got which notebooks, and every finding."""

    placed: dict[str, list[str]]
    findings: list[Finding]
    manifest: Path

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity == "error" for f in self.findings) else 0


@dataclasses.dataclass
class _Candidate:
    info: zipfile.ZipInfo
    entry: LmsEntry
    student: str


def collect_lms_zip(course_root: str | Path, archive: str | Path, *, lms: str = "canvas",
                    force: bool = False, limits: ArchiveLimits | None = None) -> CollectResult:
    """Unpack the LMS download ``archive`` into ``<course_root>/submitted/<id>/midterm/``.

    A student who already has a folder there is left alone unless ``force`` (then the
    folder is replaced whole). Raises :class:`CollectError` when the archive as a whole
    cannot be used (not a zip, over the limits, no roster).
    """
    course_root = Path(course_root).resolve()
    limits = limits or ArchiveLimits.from_env()
    fmt = LMS_FORMATS.get(lms)
    if fmt is None:
        raise CollectError(f"unknown LMS format {lms!r}; known: {', '.join(sorted(LMS_FORMATS))}")
    ids_by_lms = _roster_by_lms_id(course_root)
    findings: list[Finding] = []
    with _open_archive(Path(archive)) as zf:
        infos = _checked_infolist(zf, limits)
        candidates = _place(infos, fmt, ids_by_lms, limits, findings)
        chosen = _newest_uploads(candidates, findings)
        placed = _unpack(zf, chosen, course_root, limits, force, findings)
    for student in sorted(placed):
        if any(c.entry.late for c in chosen.get(student, [])):
            findings.append(Finding(student, f"{fmt.name} marked this submission late"
                                    + lms_late_note(course_root, student), severity="warning"))
    manifest = _write_manifest(course_root, placed, findings)
    return CollectResult(placed, findings, manifest)


def _roster_by_lms_id(course_root: Path) -> dict[str, str]:
    """``{lms user id: student id}`` from roster.csv's ``lms_user_id`` column."""
    hint = (f"roster.csv in the course root needs columns id and {ROSTER_LMS_COLUMN} (nbgrader's "
            "import format; see docs/collection.md) to map LMS users to student ids")
    rows = roster_rows(course_root)
    if rows is None:
        raise CollectError(f"no roster.csv: {hint}")
    if not rows:
        raise CollectError(f"roster.csv lists no students: {hint}")
    if ROSTER_LMS_COLUMN not in rows[0]:
        raise CollectError(f"roster.csv has no {ROSTER_LMS_COLUMN} column: {hint}")
    table: dict[str, str] = {}
    for row in rows:
        lms_id = row.get(ROSTER_LMS_COLUMN, "")
        if lms_id in table and table[lms_id] != row["id"]:
            raise CollectError(f"roster.csv gives {ROSTER_LMS_COLUMN} {lms_id} to both "
                               f"{table[lms_id]} and {row['id']}; fix the roster")
        if lms_id:
            table[lms_id] = row["id"]
    return table


@contextlib.contextmanager
def _open_archive(path: Path) -> Iterator[zipfile.ZipFile]:
    """``zipfile.ZipFile`` with one clear line for every way the file can be unusable."""
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise CollectError(f"{path}: no such file") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise CollectError(f"{path}: not a readable zip archive ({exc}); download it again "
                           "from the LMS") from None
    with zf:
        yield zf


def _checked_infolist(zf: zipfile.ZipFile, limits: ArchiveLimits) -> list[zipfile.ZipInfo]:
    """The archive's entries, when their number and declared total size are within limits."""
    infos = zf.infolist()
    if len(infos) > limits.files:
        raise CollectError(f"the archive has {len(infos)} entries, over the limit of "
                           f"{limits.files} (CS230_LIMIT_ARCHIVE_FILES): not unpacked")
    total = sum(info.file_size for info in infos)
    if total > limits.total_bytes:
        raise CollectError(f"the archive inflates to {total / MiB:.0f} MiB, over the limit of "
                           f"{limits.total_bytes / MiB:.0f} MiB (CS230_LIMIT_ARCHIVE_MB): "
                           "not unpacked (an archive bomb, or raise the limit)")
    return infos


def _path_problem(name: str) -> str:
    """Why an entry's name must not be written anywhere ("" when it may)."""
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts \
            or "\0" in name:
        return "a path that leaves the target folder (absolute, or with ..): not unpacked"
    return ""


def _content_problem(info: zipfile.ZipInfo, limits: ArchiveLimits) -> str:
    """Why an entry's content must not be written ("" when it may)."""
    kind = stat.S_IFMT(info.external_attr >> 16)
    if kind == stat.S_IFLNK:
        return "a symbolic link (archives carry links as they are): not unpacked"
    if kind not in (0, stat.S_IFREG):
        return "not a regular file (device, FIFO or socket): not unpacked"
    if info.file_size > limits.file_bytes:
        return (f"{info.file_size / MiB:.1f} MiB once inflated, over the limit of "
                f"{limits.file_bytes / MiB:.1f} MiB (CS230_LIMIT_SUBMISSION_MB): not unpacked")
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR_BYTES and ratio > limits.ratio:
        return (f"compressed {ratio:.0f} to 1, over the limit of {limits.ratio:g} to 1 "
                "(CS230_LIMIT_ARCHIVE_RATIO; a zip bomb): not unpacked")
    if "/" in info.filename or "\\" in info.filename:
        return "a file inside a folder (the LMS's archives are flat): not placed"
    return ""


def _place(infos: Iterable[zipfile.ZipInfo], fmt: LmsFormat, ids_by_lms: dict[str, str],
           limits: ArchiveLimits, findings: list[Finding]) -> list[_Candidate]:
    """The entries that name an exam notebook of a known student; findings for the rest."""
    candidates: list[_Candidate] = []
    for info in infos:
        problem = _path_problem(info.filename)
        if info.is_dir() and not problem:
            continue
        outcome = (Finding("(archive)", problem, info.filename) if problem
                   else _classify(info, fmt, ids_by_lms, limits))
        if isinstance(outcome, Finding):
            findings.append(outcome)
        else:
            candidates.append(outcome)
    return candidates


def _classify(info: zipfile.ZipInfo, fmt: LmsFormat, ids_by_lms: dict[str, str],
              limits: ArchiveLimits) -> _Candidate | Finding:
    """The student and notebook one entry is for, or the finding that says why it is not."""
    problem = _content_problem(info, limits)
    if problem:
        return Finding("(archive)", problem, info.filename)
    entry = fmt.parse(info.filename)
    if entry is None:
        return Finding("(archive)", f"the name is not in {fmt.name}'s format: not placed",
                       info.filename)
    who = f"{fmt.name} user {entry.lms_user_id}" + \
        (f" ({entry.student_name})" if entry.student_name else "")
    student = ids_by_lms.get(entry.lms_user_id)
    if entry.lms_user_id.startswith("anon_"):
        reason = (f"an anonymous submission ({entry.lms_user_id}): the LMS hides who made it; "
                  "download with anonymous grading off, or place it by hand")
    elif student is None:
        reason = (f"unknown student: {who} is not in roster.csv's {ROSTER_LMS_COLUMN} column: "
                  "not placed; add the student to the roster and collect again")
    elif not SAFE_ID.match(student):
        reason = f"roster id {student!r} cannot be a folder name: not placed"
    elif entry.filename not in {f"{nb}.ipynb" for nb in NOTEBOOKS}:
        return Finding(student, f"{entry.filename} is not a notebook of this exam: not placed",
                       info.filename)
    else:
        return _Candidate(info, entry, student)
    return Finding(who, reason, info.filename)


def _newest_uploads(candidates: list[_Candidate], findings: list[Finding]
                    ) -> dict[str, list[_Candidate]]:
    """Per student, the newest upload of each notebook; older ones become findings."""
    by_key: dict[tuple[str, str], list[_Candidate]] = {}
    for cand in candidates:
        by_key.setdefault((cand.student, cand.entry.filename), []).append(cand)
    chosen: dict[str, list[_Candidate]] = {}
    for (student, filename), uploads in sorted(by_key.items()):
        uploads.sort(key=lambda c: (c.entry.revision, c.entry.file_id))
        newest = uploads[-1]
        for older in uploads[:-1]:
            findings.append(Finding(
                student, f"an older upload of {filename}, not placed: the newest, "
                f"{newest.info.filename}, was kept", older.info.filename, "warning"))
        chosen.setdefault(student, []).append(newest)
    return chosen


def _unpack(zf: zipfile.ZipFile, chosen: dict[str, list[_Candidate]], course_root: Path,
            limits: ArchiveLimits, force: bool, findings: list[Finding]
            ) -> dict[str, list[str]]:
    """Write each student's notebooks into a scratch folder, then swap it into place."""
    placed: dict[str, list[str]] = {}
    submitted = course_root / "submitted"
    budget = _Budget(limits.total_bytes)
    with tempfile.TemporaryDirectory(prefix=".collect-", dir=course_root) as scratch:
        for student, uploads in sorted(chosen.items()):
            target = submitted / student / ASSIGNMENT
            taken = target.exists() or target.is_symlink() or (submitted / student).is_symlink()
            if taken and not force:
                for cand in uploads:
                    findings.append(Finding(student, f"submitted/{student}/{ASSIGNMENT} already "
                                            "exists: not replaced (pass --force to replace it "
                                            "with the archive's files)", cand.info.filename))
                continue
            fresh = Path(scratch) / student
            fresh.mkdir()
            names = [cand.entry.filename for cand in uploads
                     if _extract(zf, cand, fresh, limits, budget, findings)]
            if not names:
                continue
            for link in (submitted / student, target):  # links are replaced, never followed
                if link.is_symlink():
                    link.unlink()
            replace_folder(target, fresh)
            placed[student] = sorted(names)
    return placed


@dataclasses.dataclass
class _Budget:
    """Bytes the archive may still inflate to, counted as they are written."""

    left: int


def _extract(zf: zipfile.ZipFile, cand: _Candidate, folder: Path, limits: ArchiveLimits,
             budget: _Budget, findings: list[Finding]) -> bool:
    """Stream one entry into ``folder``, counting the bytes actually inflated."""
    target = folder / cand.entry.filename
    cap = min(cand.info.file_size, limits.file_bytes)
    written = 0
    try:
        with zf.open(cand.info) as src, open(target, "xb") as dst:
            while chunk := src.read(CHUNK):
                written += len(chunk)
                if written > cap or written > budget.left:
                    raise CollectError("inflates to more than its header says (a forged "
                                       "archive): not unpacked")
                dst.write(chunk)
    except (CollectError, zipfile.BadZipFile, OSError, EOFError) as exc:
        target.unlink(missing_ok=True)
        reason = str(exc) if isinstance(exc, CollectError) else \
            f"cannot be read from the archive ({exc}): not unpacked"
        findings.append(Finding(cand.student, reason, cand.info.filename))
        return False
    budget.left -= written
    return True


def _write_manifest(course_root: Path, placed: dict[str, list[str]],
                    findings: list[Finding]) -> Path:
    """``collect.csv``: one row per placed notebook and per finding."""
    path = course_root / MANIFEST
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "file", "outcome", "reason"])
        for student, names in sorted(placed.items()):
            for name in names:
                writer.writerow([student, name, "placed",
                                 f"submitted/{student}/{ASSIGNMENT}/{name}"])
        for finding in findings:
            outcome = "not placed" if finding.severity == "error" else "note"
            writer.writerow([finding.student, finding.notebook, outcome, finding.message])
    return path


def report_lines(result: CollectResult) -> list[str]:
    """What ``cs230-grade collect`` prints: the findings, then a summary."""
    lines = [f.line() for f in result.findings]
    notebooks = sum(len(v) for v in result.placed.values())
    lines.append(f"Placed {notebooks} notebooks of {len(result.placed)} students into "
                 f"submitted/; the full list is in {result.manifest}.")
    errors = sum(f.severity == "error" for f in result.findings)
    lines.append(f"{errors} file(s) could not be placed (listed above)." if errors
                 else "Every file was placed.")
    return lines
