"""Shared-nothing grading: workers need no shared folder and no database connection.

The driver (the machine running the pipeline) sends each worker, once, a
:class:`CourseKit`: ``nbgrader_config.py``, ``source/`` and the course switches.
The worker builds a private temporary course from it (``generate_assignment``
into a private SQLite gradebook, with nbgrader's API loaded once per worker
process) and keeps it for every later task. A task, :class:`SubmissionTask`,
carries one student's submitted files plus the gradebook rows grading needs
from the central gradebook (the due date and the student's extension). The
worker autogrades it in its private course, each notebook in a fresh kernel as
``nbgrader autograde`` does, and returns a :class:`GradedSubmission`: the
autograded notebooks, the feedback HTML, per-cell scores and comments, and the log.

The driver alone writes the central gradebook (SQLite by default, any
SQLAlchemy URL such as PostgreSQL otherwise) and the ``autograded/`` and
``feedback/`` folders, one student at a time: files first (each folder swapped
in whole), then the scores together with a ledger row in one transaction. The
ledger (table ``cs230_ledger`` in the same gradebook) records the content hash
of the submission and of the kit, which makes a re-run resume: a student
already graded against an unchanged submission is skipped. A submission that
kills its worker is re-run elsewhere by the scheduler; after a bounded number
of worker deaths it is marked ``crashed`` in the ledger and reported, and the
rest of the class goes on.

Everything per student runs on the worker: nbgrader's autograde, the out-of-kernel second
pass (:mod:`cs230_grading.second_pass`, reconciled in the private gradebook against the
central rows the task carries, so that the feedback shows the scores kept) and the feedback
HTML. The driver stages, writes, and applies the pass's overrides with the same rule against
the central gradebook as it is when it writes (an instructor's manual grade wins).

This is the pipeline's only grading path, on a ``LocalCluster`` by default and on a
scheduler's cluster with ``--scheduler`` (:mod:`cs230_grading.engine`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from .autograde import StudentResult
from .budget import Overrun, overrun_findings, student_clock
from .class_mistakes import mistakes_table, replace_student_mistakes
from .course import ASSIGNMENT, Course, nbgrader_env
from .engine import GradingEngine
from .folders import claimed_folder, release_claim, remove_tree, staged_folder, sweep_dead_owners
from .intake import STAGED_DIR
from .sandbox import forkserver
from .sanitize import terminal_text

LEDGER = "cs230_ledger"
#: environment switches that change how a notebook grades, and so travel with the kit
SWITCH_PREFIX = "CS230_"
_NOT_SWITCHES = {"CS230_GRADEBOOK_URL", "CS230_DASK_SCHEDULER"}
_IGNORE = (".ipynb_checkpoints", "__pycache__", "*.pyc", ".DS_Store")


# --- what travels ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CourseKit:
    """Everything a worker needs to build its private course (sent once per worker)."""

    #: hash of the inputs below: a change regrades the class on the next run
    sha: str
    #: tar.gz of ``nbgrader_config.py`` and ``source/``
    archive: bytes
    #: course switches (``CS230_*``, ``MPLBACKEND``) for nbgrader and its kernels
    env: dict[str, str]
    #: the central gradebook's schema version: a worker stamps its private gradebook with
    #: it instead of asking alembic (a ~5 s subprocess nbgrader runs for a new database)
    alembic: str | None = None


@dataclasses.dataclass(frozen=True)
class SubmissionTask:
    """One student's submission and the central gradebook rows grading it needs."""

    student: str
    #: path relative to ``<student>/midterm/`` -> file contents
    files: dict[str, bytes]
    sha: str
    feedback: bool = True
    duedate: dt.datetime | None = None
    extension: dt.timedelta | None = None
    #: the central gradebook's manual scores and comments of this student, and the
    #: overrides the out-of-kernel pass wrote before (``second_pass/<student>.json``): the
    #: worker's pass reconciles against them, so an instructor's grade wins there too
    manual_scores: dict[tuple[str, str], float] = dataclasses.field(default_factory=dict)
    manual_comments: dict[tuple[str, str], str] = dataclasses.field(default_factory=dict)
    pass_ledger: dict[str, float] = dataclasses.field(default_factory=dict)
    second_pass: bool = True


#: the phases of one student's grading that :attr:`GradedSubmission.timings` reports
PHASES = ("kernel_start", "execution", "kernel_stop", "bookkeeping", "second_pass", "feedback",
          "driver_write")


@dataclasses.dataclass
class GradedSubmission:
    """What a worker sends back; the driver writes it to the central gradebook."""

    student: str
    success: bool
    seconds: float
    log: str = ""
    error: str = ""
    host: str = ""
    timestamp: dt.datetime | None = None
    #: notebooks present in the submission (nbgrader zeroes the others)
    submitted: list[str] = dataclasses.field(default_factory=list)
    #: (notebook, grade id, auto score, needs manual grade)
    grades: list[tuple[str, str, float | None, bool]] = dataclasses.field(default_factory=list)
    #: (notebook, cell id, auto comment)
    comments: list[tuple[str, str, str | None]] = dataclasses.field(default_factory=list)
    #: notebook -> late penalty
    penalties: dict[str, float | None] = dataclasses.field(default_factory=dict)
    #: zlib-compressed files relative to ``autograded/<student>/midterm`` and ``feedback/...``
    autograded: dict[str, bytes] = dataclasses.field(default_factory=dict)
    feedback: dict[str, bytes] = dataclasses.field(default_factory=dict)
    #: notebooks that ran out of their time budget in the kernel
    overruns: list[Overrun] = dataclasses.field(default_factory=list)
    #: report lines of the worker's passes (second pass, static scan, limits, time budgets)
    findings: list[Any] = dataclasses.field(default_factory=list)
    #: ``"<notebook>/<grade id>"`` -> score the out-of-kernel pass keeps over the kernel's
    overrides: dict[str, float] = dataclasses.field(default_factory=dict)
    #: (notebook, cell id, lines the out-of-kernel pass wrote in the cell's manual comment)
    pass_comments: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    #: (notebook, grade id, mistake id): the named mistakes the out-of-kernel pass recognised
    mistakes: list[tuple[str, str, str]] = dataclasses.field(default_factory=list)
    #: seconds by phase (see :data:`PHASES`); the driver adds ``driver_write``
    timings: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ClassRun:
    """A whole distributed run: a result per student and what happened on the way."""

    results: dict[str, StudentResult]
    graded: list[str] = dataclasses.field(default_factory=list)
    #: graded in an earlier run against the same submission: not graded again
    skipped: list[str] = dataclasses.field(default_factory=list)
    #: student -> workers that died while grading it (re-run elsewhere)
    retried: dict[str, int] = dataclasses.field(default_factory=dict)
    #: submissions that killed every worker they ran on: marked, not graded
    crashed: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    #: driver time spent writing files and gradebook rows (the one serial part)
    write_seconds: float = 0.0
    #: student -> seconds by phase (:data:`PHASES`), for the benchmark's breakdown
    timings: dict[str, dict[str, float]] = dataclasses.field(default_factory=dict)
    #: the cluster being closed in the background (``close_in_background``)
    closing: threading.Thread | None = None

    def wait_closed(self) -> None:
        """Wait until the cluster of this run is closed (at once if it already is)."""
        if self.closing is not None:
            self.closing.join()
            self.closing = None

    def summary(self) -> list[str]:
        lines = [f"graded {len(self.graded)}, unchanged since the last run {len(self.skipped)}, "
                 f"crashed {len(self.crashed)} in {self.seconds:.1f} s"]
        for student, n in sorted(self.retried.items()):
            lines.append(f"retried {student}: {n} worker(s) died while grading it")
        for student in self.crashed:
            lines.append(f"crashed {student}: {self.results[student].error}")
        return lines


# --- hashing and packing -----------------------------------------------------------
def _tree_files(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (caches skipped), keyed by its relative path."""
    if not folder.is_dir():
        return {}
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and not any(rel.match(p) or p in rel.parts for p in _IGNORE):
            files[rel.as_posix()] = path.read_bytes()
    return files


def content_sha(files: Mapping[str, bytes], *extra: str) -> str:
    digest = hashlib.sha256()
    for name in sorted(files):
        digest.update(name.encode() + b"\0" + hashlib.sha256(files[name]).digest())
    for text in extra:
        digest.update(text.encode() + b"\0")
    return digest.hexdigest()


def course_switches() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k.startswith(SWITCH_PREFIX) and k not in _NOT_SWITCHES}
    env.setdefault("MPLBACKEND", os.environ.get("MPLBACKEND", "Agg"))
    return env


def build_kit(course: Course) -> CourseKit:
    """Pack the course's configuration and ``source/`` for the workers."""
    files = {"nbgrader_config.py": (course.root / "nbgrader_config.py").read_bytes()}
    files.update({f"source/{k}": v for k, v in _tree_files(course.root / "source").items()})
    env = course_switches()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    sha = content_sha(files, *(f"{k}={v}" for k, v in sorted(env.items())))
    return CourseKit(sha, buf.getvalue(), env, _alembic_version(course.db_url))


def _alembic_version(db_url: str) -> str | None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except Exception:  # noqa: BLE001 - no stamp: the worker lets nbgrader ask alembic
        return None
    finally:
        engine.dispose()


# --- the worker side ---------------------------------------------------------------
try:
    from contextlib import chdir as _chdir
except ImportError:  # Python 3.10

    @contextlib.contextmanager
    def _chdir(path: str | os.PathLike[str]) -> Iterator[None]:
        before = os.getcwd()
        os.chdir(path)
        try:
            yield
        finally:
            os.chdir(before)


def _unpack_kit(archive: bytes, dest: Path) -> None:
    """Unpack a course kit: regular files inside ``dest`` only.

    By hand rather than ``extractall(filter="data")``, which Python gained in 3.11.4 and
    3.10.12: Debian 12's Python 3.11.2 does not have it.
    """
    root = dest.resolve()
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar.getmembers():
            target = (root / member.name).resolve()
            if not member.isfile() or not target.is_relative_to(root):
                raise ValueError(f"course kit: refusing {member.name!r} (not a file inside "
                                 "the course)")
            source = tar.extractfile(member)
            if source is None:
                raise ValueError(f"course kit: cannot read {member.name!r}")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read())


class WorkerCourse:
    """A private course on a worker: built once from a kit, reused for every task."""

    def __init__(self, kit: CourseKit) -> None:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        sweep_dead_owners(Path(base), "cs230-worker-")  # courses of workers that died
        self.root = claimed_folder(Path(base), f"cs230-worker-{os.getpid()}-")
        _unpack_kit(kit.archive, self.root)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}?timeout=60"
        os.environ.update(nbgrader_env(kit.env))
        os.environ["CS230_GRADEBOOK_URL"] = self.db_url
        _quiet_sqlalchemy()
        _validate_metadata_once_per_schema()
        if kit.alembic:
            self._stamp_gradebook(kit.alembic)
        _keep_gradebook_engine(self.db_url)
        self.api = self._load_api()
        self._feedback: Any = None
        with _chdir(self.root):
            made = self.api.generate_assignment(ASSIGNMENT, force=True, create=True)
        if not made.get("success"):
            raise RuntimeError(f"generate_assignment failed on the worker: {made.get('error')}")
        # Kernels start as children of one sandboxed fork server per worker: its sandbox
        # shows this course's autograded/, which holds the one student being graded.
        (self.root / "autograded").mkdir(exist_ok=True)
        forkserver.serve_under(self.root / "autograded")

    def _stamp_gradebook(self, version: str) -> None:
        """Create the private gradebook's tables, stamped with the central schema version."""
        from nbgrader.api import Base
        from sqlalchemy import create_engine, text

        engine = create_engine(self.db_url)
        try:
            Base.metadata.create_all(bind=engine)
            with engine.begin() as conn:
                conn.execute(text("CREATE TABLE alembic_version "
                                  "(version_num VARCHAR(32) NOT NULL)"))
                conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"),
                             {"v": version})
        finally:
            engine.dispose()

    def _load_api(self) -> Any:
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory
        from traitlets.config.loader import PyFileConfigLoader

        config = PyFileConfigLoader("nbgrader_config.py", path=str(self.root)).load_config()
        config.CourseDirectory.root = str(self.root)
        config.CourseDirectory.db_url = self.db_url
        return NbGraderAPI(CourseDirectory(config=config), config=config)

    def _clear(self, student: str) -> None:
        for top in ("submitted", "autograded", "feedback"):
            remove_tree(self.root / top / student)
        (self.root / "second_pass" / f"{student}.json").unlink(missing_ok=True)

    def grade(self, task: SubmissionTask) -> GradedSubmission:
        """Autograde, second pass and feedback for one submission, all in this course."""
        from nbgrader.api import Gradebook, MissingEntry

        from .sandbox.kernel import KERNEL_SECONDS

        start = time.perf_counter()
        student = task.student
        timings: dict[str, float] = dict.fromkeys(PHASES[:-1], 0.0)
        KERNEL_SECONDS.clear()
        self._clear(student)
        folder = self.root / "submitted" / student / ASSIGNMENT
        for rel, data in task.files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        with Gradebook(self.db_url) as gb:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=task.duedate)
            gb.update_or_create_student(student)
            with contextlib.suppress(MissingEntry):
                gb.remove_submission(ASSIGNMENT, student)
            if task.extension:
                gb.add_submission(ASSIGNMENT, student, extension=task.extension)
        findings: list[Any] = []
        mistakes: list[tuple[str, str, str]] = []
        try:
            with _chdir(self.root), student_clock() as clock:
                result = self.api.autograde(ASSIGNMENT, student, force=True, create=True)
                log = result.get("log", "")
                if result.get("success") and task.second_pass:
                    tick = time.perf_counter()
                    findings, mistakes = self._second_pass(task)
                    timings["second_pass"] = time.perf_counter() - tick
                if result.get("success") and task.feedback:
                    tick = time.perf_counter()
                    fb = self._generate_feedback(student)
                    timings["feedback"] = time.perf_counter() - tick
                    log += fb.get("log", "")
                    if not fb.get("success"):
                        result = {"success": False, "error": fb.get("error", "feedback failed")}
            graded = GradedSubmission(student, bool(result.get("success")), 0.0, log=log,
                                      error=_last_line(result.get("error", "")),
                                      host=os.uname().nodename, overruns=clock.overruns)
            if graded.success:
                graded.findings = findings + overrun_findings(student, clock.overruns)
                graded.mistakes = mistakes
                self._collect(graded, folder, task)
        finally:
            self._clear(student)
            with Gradebook(self.db_url) as gb, contextlib.suppress(MissingEntry):
                gb.remove_submission(ASSIGNMENT, student)
        graded.seconds = time.perf_counter() - start
        timings["kernel_start"] = KERNEL_SECONDS["kernel_start"]
        timings["kernel_stop"] = KERNEL_SECONDS["kernel_stop"]
        timings["execution"] = max(0.0, KERNEL_SECONDS["kernel"] - timings["kernel_start"]
                                   - timings["kernel_stop"])
        timings["bookkeeping"] = max(0.0, graded.seconds - sum(timings.values()))
        graded.timings = timings
        return graded

    def _generate_feedback(self, student: str) -> dict[str, Any]:
        """``NbGraderAPI.generate_feedback`` for one student, with one feedback converter
        kept for every student of this worker (its templates are compiled once)."""
        from nbgrader.utils import capture_log, temp_attrs
        from traitlets.config import Config

        if self._feedback is None:
            config = Config()
            config.HTMLExporter.template_name = "feedback"  # as NbGraderAPI sets it
            self._feedback = _kept_feedback_converter()(coursedir=self.api.coursedir,
                                                         parent=self.api)
            self._feedback.update_config(config)
            self._feedback.force = True
        with temp_attrs(self.api.coursedir, assignment_id=ASSIGNMENT, student_id=student):
            return capture_log(self._feedback)

    def _second_pass(self, task: SubmissionTask
                     ) -> tuple[list[Any], list[tuple[str, str, str]]]:
        """The out-of-kernel pass, here on the worker, reconciled in the private gradebook.

        The private gradebook is first given the central rows the rule needs (manual scores
        and comments, the pass's earlier overrides), so the feedback rendered next shows the
        scores that are kept; the driver then applies the same rule to the central gradebook.
        """
        from nbgrader.api import Gradebook, MissingEntry

        from .autograde import StudentJob
        from .second_pass import LEDGER_DIR, check_student

        student = task.student
        with Gradebook(self.db_url) as gb:
            for (nb, gid), score in task.manual_scores.items():
                with contextlib.suppress(MissingEntry):
                    gb.find_grade(gid, nb, ASSIGNMENT, student).manual_score = score
            for (nb, cell), text in task.manual_comments.items():
                with contextlib.suppress(MissingEntry):
                    gb.find_comment(cell, nb, ASSIGNMENT, student).manual_comment = text
            gb.db.commit()
        ledger = self.root / LEDGER_DIR / f"{student}.json"
        ledger.parent.mkdir(parents=True, exist_ok=True)
        ledger.write_text(json.dumps(task.pass_ledger), encoding="utf-8")
        done = check_student(StudentJob(str(self.root), self.db_url, student,
                                                   task.feedback, "submitted"))
        return list(done.findings), list(done.mistakes)

    def _collect(self, out: GradedSubmission, folder: Path, task: SubmissionTask) -> None:
        from nbgrader.api import Gradebook

        from .second_pass import COMMENT_TAG, LEDGER_DIR

        present = {p.stem for p in folder.glob("*.ipynb")}
        with Gradebook(self.db_url) as gb:
            sub = gb.find_submission(ASSIGNMENT, out.student)
            out.timestamp = sub.timestamp
            for nb in sub.notebooks:
                if nb.name in present:
                    out.submitted.append(nb.name)
                    out.penalties[nb.name] = nb.late_submission_penalty
                    out.comments += [(nb.name, c.name, c.auto_comment) for c in nb.comments]
                    for c in nb.comments:
                        tagged = [ln for ln in (c.manual_comment or "").splitlines()
                                  if ln.startswith(COMMENT_TAG)]
                        if tagged:
                            out.pass_comments.append((nb.name, c.name, "\n".join(tagged)))
                out.grades += [(nb.name, g.name, g.auto_score, bool(g.needs_manual_grade))
                               for g in nb.grades]
        ledger = self.root / LEDGER_DIR / f"{out.student}.json"
        if task.second_pass and ledger.exists():
            out.overrides = json.loads(ledger.read_text(encoding="utf-8"))
        for attr, top in (("autograded", "autograded"), ("feedback", "feedback")):
            files = _tree_files(self.root / top / out.student / ASSIGNMENT)
            # level 1: a quarter of level 6's time for a slightly larger message
            setattr(out, attr, {k: zlib.compress(v, 1) for k, v in files.items()})


def _kept_feedback_converter() -> type:
    """nbgrader's ``GenerateFeedback``, keeping its HTML exporter from one student to the next.

    ``BaseConverter.start`` builds a new exporter, and so compiles the feedback templates
    again, on every call; here the first call builds it and the later ones reuse it (the
    same preprocessors and templates, a new file writer and notebook list each time). The
    exporter is :class:`~cs230_grading.feedback_html.FeedbackHTMLExporter`: the same page,
    without nbconvert's second parse of it.
    """
    from nbconvert.exporters import Exporter
    from nbconvert.writers import FilesWriter
    from nbgrader.converters import GenerateFeedback
    from traitlets import Type

    from .feedback_html import FeedbackHTMLExporter

    class KeptFeedback(GenerateFeedback):
        kept: Any = None
        #: HTMLExporter, without re-parsing each page for its images' alt texts
        exporter_class = Type(FeedbackHTMLExporter, klass=Exporter).tag(config=True)

        def start(self) -> None:
            if self.kept is None:
                super().start()
                self.kept = self.exporter
                return
            self.init_notebooks()
            self.writer = FilesWriter(parent=self, config=self.config)
            self.exporter = self.kept
            with _chdir(self.coursedir.root):
                self.convert_notebooks()

    return KeptFeedback


def release_worker_courses() -> int:
    """Run on each worker at the end of a run: delete its private courses."""
    with _WORKER_LOCK:
        forkserver.serve_under(None)
        for course in _WORKER_COURSES.values():
            _release_gradebook_engine(course.db_url)
            release_claim(course.root)
        count = len(_WORKER_COURSES)
        _WORKER_COURSES.clear()
    return count


_WORKER_COURSES: dict[str, WorkerCourse] = {}
#: nbgrader runs in the worker's own process (working folder, environment): on a worker
#: with several threads, its tasks take turns. Give workers one thread (docs/cluster.md).
_WORKER_LOCK = threading.Lock()


def grade_submission(kit: CourseKit, task: SubmissionTask) -> GradedSubmission:
    """The task run on a worker: grade one submission in the worker's private course."""
    from .worker_health import grade_on_sound_course  # a damaged course is replaced

    with _WORKER_LOCK:
        return grade_on_sound_course(_WORKER_COURSES, kit, task, WorkerCourse, _retire_course)


def _retire_course(course: WorkerCourse) -> None:
    """Stop a private course's fork servers and gradebook engine, and remove its folder."""
    forkserver.serve_under(None)
    _release_gradebook_engine(course.db_url)
    release_claim(course.root)


# --- the driver side: the ledger and the central gradebook ---------------------------
def _ledger_table(metadata: Any) -> Any:
    from sqlalchemy import Column, Float, Integer, String, Table, Text

    return Table(
        LEDGER, metadata,
        Column("assignment", String(128), primary_key=True),
        Column("student", String(128), primary_key=True),
        Column("submission_sha", String(64), nullable=False),
        Column("kit_sha", String(64), nullable=False),
        Column("status", String(16), nullable=False),  # graded | crashed
        Column("retries", Integer, nullable=False, default=0),
        Column("writes", Integer, nullable=False, default=0),
        Column("worker", String(256), nullable=False, default=""),
        Column("updated", Float, nullable=False),
        Column("note", Text, nullable=False, default=""),
    )


def _ledger(gb: Any) -> Any:
    from sqlalchemy import MetaData

    table = _ledger_table(MetaData())
    table.create(gb.engine, checkfirst=True)
    return table


def read_ledger(db_url: str) -> dict[str, dict[str, Any]]:
    """``{student: ledger row}`` for the midterm, from the central gradebook."""
    from nbgrader.api import Gradebook
    from sqlalchemy import select

    with Gradebook(db_url) as gb:
        table = _ledger(gb)
        rows = gb.db.execute(select(table).where(table.c.assignment == ASSIGNMENT)).mappings()
        return {r["student"]: dict(r) for r in rows}


def _upsert_ledger(gb: Any, table: Any, student: str, **values: Any) -> None:
    from sqlalchemy import select

    key = (table.c.assignment == ASSIGNMENT) & (table.c.student == student)
    old = gb.db.execute(select(table.c.writes).where(key)).first()
    values["updated"] = time.time()
    if old is None:
        gb.db.execute(table.insert().values(assignment=ASSIGNMENT, student=student, **values))
    else:
        if "writes" in values:
            values["writes"] = old[0] + values["writes"]
        gb.db.execute(table.update().where(key).values(**values))


def _write_tree(target: Path, files: Mapping[str, bytes]) -> None:
    """Replace ``target`` with ``files`` as a whole (a crash leaves the old or the new)."""
    with staged_folder(target) as fresh:
        for rel, blob in files.items():
            (fresh / rel).parent.mkdir(parents=True, exist_ok=True)
            (fresh / rel).write_bytes(zlib.decompress(blob))


def record_graded(course: Course, kit_sha: str, task: SubmissionTask, res: GradedSubmission,
                  retries: int, worker: str) -> None:
    """Driver only: write one graded submission's files, then its scores and ledger row.

    Scores, the out-of-kernel pass's overrides and the ledger row are one transaction; the
    pass's own record of its overrides (``second_pass/<student>.json``) follows the commit.
    """
    from nbgrader.api import (
        Comment,
        Grade,
        Gradebook,
        MissingEntry,
        Student,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    _write_tree(course.autograded_dir(res.student), res.autograded)
    if res.feedback:
        _write_tree(course.feedback_dir(res.student), res.feedback)
    with Gradebook(course.db_url) as gb:
        table = _ledger(gb)
        mistakes = mistakes_table(gb)
        session = gb.db
        try:
            try:
                student = gb.find_student(res.student)
            except MissingEntry:
                student = Student(id=res.student)
                session.add(student)
            try:
                sub = gb.find_submission(ASSIGNMENT, res.student)
            except MissingEntry:  # add_submission without its commit
                assignment = gb.find_assignment(ASSIGNMENT)
                with session.no_autoflush:
                    sub = SubmittedAssignment(assignment=assignment, student=student)
                    for notebook in assignment.notebooks:
                        nb = SubmittedNotebook(notebook=notebook, assignment=sub)
                        for cell in notebook.grade_cells:
                            Grade(cell_id=cell.id, notebook=nb)
                        for cell in (*notebook.solution_cells, *notebook.task_cells):
                            Comment(cell_id=cell.id, notebook=nb)
                        for cell in notebook.task_cells:
                            Grade(cell_id=cell.id, notebook=nb)
                    session.add(sub)  # cascades to the notebooks, grades and comments
            if res.timestamp is not None:
                sub.timestamp = res.timestamp
            session.flush()
            grades, comments, notebooks = _submission_rows(session, sub.id)
            present = set(res.submitted)
            earlier = _pass_ledger(course, res.student)
            for nb_name, grade_id, auto, manual in res.grades:
                grade = grades[(nb_name, grade_id)]
                grade.auto_score = auto
                # nbgrader's rule: an earlier manual score keeps the cell in review
                grade.needs_manual_grade = manual or (
                    nb_name in present and grade.manual_score is not None
                    and not _pass_wrote(earlier, f"{nb_name}/{grade_id}", grade.manual_score))
            for nb_name, cell_id, text in res.comments:
                comments[(nb_name, cell_id)].auto_comment = text
            for nb_name, penalty in res.penalties.items():
                notebooks[nb_name].late_submission_penalty = penalty
            kept = _apply_overrides(grades, comments, earlier, res) if task.second_pass \
                else None
            # the report lines travel with the row: a resumed run reports them again
            note = json.dumps([dataclasses.asdict(f) for f in res.findings])
            if task.second_pass:  # what the class got wrong, with the scores it explains
                replace_student_mistakes(gb, mistakes, res.student, res.mistakes)
            _upsert_ledger(gb, table, res.student, submission_sha=task.sha, kit_sha=kit_sha,
                           status="graded", retries=retries, writes=1, worker=worker, note=note)
            session.commit()
        except Exception:
            session.rollback()
            raise
    if kept is not None:
        _write_pass_ledger(course, res.student, kept)


def _pass_ledger(course: Course, student: str) -> dict[str, float]:
    """The overrides the out-of-kernel pass wrote for ``student`` (``second_pass/*.json``)."""
    from .second_pass import LEDGER_DIR

    path = course.root / LEDGER_DIR / f"{student}.json"
    if not path.exists():
        return {}
    return {k: float(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


def _write_pass_ledger(course: Course, student: str, kept: Mapping[str, float]) -> None:
    from .second_pass import LEDGER_DIR

    path = course.root / LEDGER_DIR / f"{student}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dict(kept), indent=1), encoding="utf-8")
    tmp.replace(path)


def _pass_wrote(earlier: Mapping[str, float], key: str, manual: Any) -> bool:
    """True when a cell's manual score is the one the out-of-kernel pass wrote there."""
    return manual is not None and key in earlier and abs(float(manual) - earlier[key]) < 1e-9


def _apply_overrides(grades: Mapping[tuple[str, str], Any], comments: Mapping[tuple[str, str], Any],
                     earlier: Mapping[str, float], res: GradedSubmission) -> dict[str, float]:
    """The rule of :func:`cs230_grading.second_pass.reconcile`, on the central gradebook.

    The worker decided the overrides against the central rows it was given; here they are
    applied against the rows as they are now: a manual score an instructor set (one the
    pass did not write) is never replaced. Returns the overrides kept.
    """
    from .second_pass import COMMENT_TAG

    kept: dict[str, float] = {}
    for (nb_name, grade_id), grade in grades.items():
        key = f"{nb_name}/{grade_id}"
        ours = _pass_wrote(earlier, key, grade.manual_score)
        if grade.manual_score is not None and not ours:
            continue  # an instructor's own grade wins over both passes
        if key in res.overrides:
            grade.manual_score = kept[key] = float(res.overrides[key])
            grade.needs_manual_grade = False
        elif ours:
            grade.manual_score = None
    for nb_name, cell_id, text in res.pass_comments:
        comment = comments.get((nb_name, cell_id))
        lines = [ln for ln in text.splitlines()
                 if f"{nb_name}/{ln[len(COMMENT_TAG):].strip().split(':')[0]}" in kept]
        if comment is None or not lines:
            continue
        ids = {ln[len(COMMENT_TAG):].strip().split(":")[0] for ln in lines}
        mine = [ln for ln in (comment.manual_comment or "").splitlines()
                if not any(ln.startswith(f"{COMMENT_TAG} {gid}:") for gid in ids)]
        comment.manual_comment = "\n".join([*mine, *lines])
    return kept


def _submission_rows(session: Any, submission_id: str) -> tuple[dict, dict, dict]:
    """A submission's grades, comments and notebooks keyed by names: three queries in all."""
    from nbgrader.api import BaseCell, Comment, Grade, Notebook, SubmittedNotebook

    def keyed(kind: Any) -> dict[tuple[str, str], Any]:
        rows = (session.query(kind, Notebook.name, BaseCell.name)
                .join(BaseCell, BaseCell.id == kind.cell_id)
                .join(SubmittedNotebook, SubmittedNotebook.id == kind.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .filter(SubmittedNotebook.assignment_id == submission_id))
        return {(nb, cell): row for row, nb, cell in rows}

    notebooks = {nb.name: nb for nb in session.query(SubmittedNotebook)
                 .filter(SubmittedNotebook.assignment_id == submission_id)}
    return keyed(Grade), keyed(Comment), notebooks


def record_crashed(course: Course, kit_sha: str, task: SubmissionTask, retries: int,
                   note: str) -> None:
    from nbgrader.api import Gradebook

    with Gradebook(course.db_url) as gb:
        _upsert_ledger(gb, _ledger(gb), task.student, submission_sha=task.sha, kit_sha=kit_sha,
                       status="crashed", retries=retries, writes=0, worker="", note=note)
        gb.db.commit()


def _gradebook_inputs(db_url: str, students: Iterable[str]
                      ) -> tuple[dt.datetime | None, dict[str, dt.timedelta | None]]:
    """The due date and each student's extension: the central rows a task carries."""
    from nbgrader.api import Gradebook, MissingEntry

    with Gradebook(db_url) as gb:
        try:
            duedate = gb.find_assignment(ASSIGNMENT).duedate
        except MissingEntry:
            raise RuntimeError(f"the gradebook at {db_url} has no assignment {ASSIGNMENT!r}: "
                               "run `nbgrader generate_assignment` first") from None
        extensions: dict[str, dt.timedelta | None] = {}
        for student in students:
            try:
                extensions[student] = gb.find_submission(ASSIGNMENT, student).extension
            except MissingEntry:
                extensions[student] = None
    return duedate, extensions


def _manual_rows(db_url: str) -> tuple[dict[str, dict[tuple[str, str], float]],
                                       dict[str, dict[tuple[str, str], str]]]:
    """Every manual score and manual comment of the midterm, by student: two queries.

    ``({student: {(notebook, grade id): score}}, {student: {(notebook, cell): text}})``
    """
    from nbgrader.api import (
        Assignment,
        BaseCell,
        Comment,
        Grade,
        Gradebook,
        Notebook,
        SubmittedAssignment,
        SubmittedNotebook,
    )

    def rows(session: Any, kind: Any, column: Any) -> Iterator[tuple[str, str, str, Any]]:
        return (session.query(SubmittedAssignment.student_id, Notebook.name, BaseCell.name,
                              column)
                .join(BaseCell, BaseCell.id == kind.cell_id)
                .join(SubmittedNotebook, SubmittedNotebook.id == kind.notebook_id)
                .join(Notebook, Notebook.id == SubmittedNotebook.notebook_id)
                .join(SubmittedAssignment,
                      SubmittedAssignment.id == SubmittedNotebook.assignment_id)
                .join(Assignment, Assignment.id == SubmittedAssignment.assignment_id)
                .filter(Assignment.name == ASSIGNMENT, column.isnot(None)))

    scores: dict[str, dict[tuple[str, str], float]] = {}
    texts: dict[str, dict[tuple[str, str], str]] = {}
    with Gradebook(db_url) as gb:
        for student, nb, cell, value in rows(gb.db, Grade, Grade.manual_score):
            scores.setdefault(student, {})[(nb, cell)] = float(value)
        for student, nb, cell, value in rows(gb.db, Comment, Comment.manual_comment):
            texts.setdefault(student, {})[(nb, cell)] = str(value)
    return scores, texts


# --- the driver ----------------------------------------------------------------------
def grade_class(course: Course, students: list[str], *, workers: int | None = None,
                scheduler: str | None = None, feedback: bool = True, progress: bool = True,
                out: TextIO = sys.stdout, max_retries: int = 2, submitted: str = STAGED_DIR,
                resume: bool = True, close_in_background: bool = False,
                when_idle: Callable[[], None] | None = None) -> ClassRun:
    """Grade ``students`` from ``<course>/<submitted>/`` on Dask; the driver writes everything.

    ``max_retries``: worker deaths a submission may cause before it is marked
    ``crashed`` (LocalCluster; a remote scheduler uses its own allowed-failures).
    ``close_in_background``: once every result is written, close the cluster in a thread
    (:meth:`ClassRun.wait_closed` waits for it) so that the caller can go on meanwhile.
    ``when_idle``: called once when the last submission has been handed out and a worker
    is free (:meth:`GradingEngine.run`): the driver may start work of its own then.
    """
    from tqdm import tqdm

    start = time.perf_counter()
    kit = build_kit(course)
    ledger = read_ledger(course.db_url) if resume else {}
    duedate, extensions = _gradebook_inputs(course.db_url, students)
    second_pass = _second_pass_enabled()
    manual_scores, manual_comments = _manual_rows(course.db_url) if second_pass else ({}, {})
    run = ClassRun({})
    tasks: list[SubmissionTask] = []
    for student in students:
        files = _tree_files(course.root / submitted / student / ASSIGNMENT)
        sha = content_sha(files)
        row = ledger.get(student)
        if row and row["submission_sha"] == sha and row["kit_sha"] == kit.sha:
            if row["status"] == "crashed":
                run.crashed.append(student)
                run.results[student] = StudentResult(
                    student=student, success=False, seconds=0.0,
                    error=f"{row['note']} (marked in an earlier run; submission unchanged)")
                continue
            if course.autograded_dir(student).is_dir() and (
                    not feedback or course.feedback_dir(student).is_dir()):
                run.skipped.append(student)
                run.results[student] = StudentResult(
                    student=student, success=True, seconds=0.0,
                    log="unchanged since it was graded: not graded again",
                    findings=_ledger_findings(row["note"]))
                continue
        tasks.append(SubmissionTask(
            student, files, sha, feedback, duedate, extensions.get(student),
            manual_scores=manual_scores.get(student, {}),
            manual_comments=manual_comments.get(student, {}),
            pass_ledger=_pass_ledger(course, student) if second_pass else {},
            second_pass=second_pass))

    if tasks:
        engine = GradingEngine(workers=workers, scheduler=scheduler, env={},
                               allowed_failures=max_retries)
        engine.__enter__()
        in_background = False
        try:
            with tqdm(total=len(tasks), unit="student", desc="grading", disable=not progress,
                      file=out, dynamic_ncols=True) as bar:
                for outcome in engine.run(grade_submission, tasks, shared=kit,
                                          when_idle=when_idle):
                    task: SubmissionTask = outcome.item
                    if task.student in run.results:
                        continue  # never write a student twice in one run
                    if outcome.retries:
                        run.retried[task.student] = outcome.retries
                    tick = time.perf_counter()
                    run.results[task.student] = _settle(course, kit, task, outcome, run)
                    write = time.perf_counter() - tick
                    run.write_seconds += write
                    if outcome.ok and outcome.value is not None and outcome.value.timings:
                        run.timings[task.student] = {**outcome.value.timings,
                                                     "driver_write": write}
                    bar.set_postfix_str(terminal_text(task.student))
                    bar.update()
            engine.run_on_workers(release_worker_courses)
            in_background = close_in_background  # every result is written
        finally:
            if in_background:
                run.closing = threading.Thread(target=engine.__exit__, args=(None, None, None),
                                               name="cs230-close-cluster")
                run.closing.start()
            else:
                engine.__exit__(None, None, None)
    run.seconds = time.perf_counter() - start
    return run


def _settle(course: Course, kit: CourseKit, task: SubmissionTask, outcome: Any,
            run: ClassRun) -> StudentResult:
    """Turn one task outcome into a result, writing what it graded."""
    retried = (f"; retried after {outcome.retries} worker death(s)" if outcome.retries else "")
    if outcome.killed_workers:
        note = (f"submission crashed its worker {outcome.retries + 1} times: marked as crashing, "
                "not graded (inspect it by hand)")
        record_crashed(course, kit.sha, task, outcome.retries, note)
        run.crashed.append(task.student)
        return StudentResult(student=task.student, success=False, seconds=0.0, error=note)
    if not outcome.ok:
        return StudentResult(student=task.student, success=False, seconds=0.0,
                             error=(outcome.error or "grading failed") + retried)
    res: GradedSubmission = outcome.value
    if not res.success:
        return StudentResult(student=task.student, success=False, seconds=res.seconds,
                             log=res.log, error=(res.error or "nbgrader failed") + retried)
    try:
        record_graded(course, kit.sha, task, res, outcome.retries, outcome.worker)
    except Exception as exc:  # noqa: BLE001 - one student's write must not stop the class
        return StudentResult(student=task.student, success=False, seconds=res.seconds,
                             log=res.log, error=f"could not record the grades: "
                             f"{type(exc).__name__}: {_last_line(str(exc))}")
    run.graded.append(task.student)
    log = res.log + (f"\n[cs230] graded on {outcome.worker}{retried}\n")
    return StudentResult(student=task.student, success=True, seconds=res.seconds, log=log,
                         findings=list(res.findings),
                         second_pass_seconds=res.timings.get("second_pass", 0.0))


def ledger_findings(db_url: str, students: Iterable[str]) -> list[Any]:
    """The report lines of the last run for ``students``, from their graded ledger rows."""
    rows = read_ledger(db_url)
    return [f for s in students if (row := rows.get(s)) and row["status"] == "graded"
            for f in _ledger_findings(row["note"] or "")]


def _ledger_findings(note: str) -> list[Any]:
    """The report lines a ledger row kept (empty for rows written before they were kept)."""
    from .intake import Finding

    try:
        rows = json.loads(note) if note.startswith("[") else []
        return [Finding(**{k: tuple(v) if isinstance(v, list) else v for k, v in row.items()})
                for row in rows]  # JSON has no tuples: the evidence comes back as a list
    except (ValueError, TypeError):
        return []


def _second_pass_enabled() -> bool:
    """The out-of-kernel pass of :mod:`cs230_grading.second_pass` (on unless turned off)."""
    from .autograde import second_pass_enabled

    return bool(second_pass_enabled())


def grade_all_distributed(course: Course, students: list[str], *, workers: int | None = None,
                          scheduler: str | None = None, feedback: bool = True,
                          progress: bool = True, out: TextIO = sys.stdout
                          ) -> dict[str, StudentResult]:
    """:func:`grade_class`, its summary lines printed: ``{student: StudentResult}``."""
    run = grade_class(course, students, workers=workers, scheduler=scheduler,
                      feedback=feedback, progress=progress, out=out)
    if run.skipped or run.retried or run.crashed:
        for line in run.summary():  # quotes student names and errors: printed as text
            print(terminal_text(line), file=out, flush=True)
    return run.results


# --- comparing gradebooks ------------------------------------------------------------
def gradebook_snapshot(db_url: str) -> dict[str, dict[tuple[str, str], tuple[Any, ...]]]:
    """``{student: {(notebook, cell): (auto score, manual score, needs review | comment)}}``."""
    from nbgrader.api import Gradebook

    snap: dict[str, dict[tuple[str, str], tuple[Any, ...]]] = {}
    with Gradebook(db_url) as gb:
        for sub in gb.find_assignment(ASSIGNMENT).submissions:
            cells: dict[tuple[str, str], tuple[Any, ...]] = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    cells[(nb.name, g.name)] = (g.auto_score, g.manual_score,
                                                bool(g.needs_manual_grade))
                for c in nb.comments:
                    cells[(nb.name, "comment:" + c.name)] = (c.auto_comment,)
                cells[(nb.name, "late_penalty")] = (nb.late_submission_penalty,)
            snap[sub.student.id] = cells
    return snap


# --- small helpers -------------------------------------------------------------------
def _validate_metadata_once_per_schema() -> None:
    """nbgrader's cell-metadata check, without re-validating its own schema for every cell.

    ``jsonschema.validate(instance, schema)`` checks ``schema`` itself first; nbgrader calls
    it for every cell of every notebook (0.1 s a notebook). Here the validator is built once
    per schema; every cell is still validated against it, with the same error raised.
    """
    import types

    import jsonschema
    from nbgrader.nbgraderformat import common

    if isinstance(common.jsonschema, types.SimpleNamespace):
        return
    validators: dict[int, tuple[Any, Any]] = {}

    def validate(instance: Any, schema: Any) -> None:
        kept = validators.get(id(schema))
        if kept is None or kept[0] is not schema:
            cls = jsonschema.validators.validator_for(schema)
            cls.check_schema(schema)
            kept = validators[id(schema)] = (schema, cls(schema))
        error = jsonschema.exceptions.best_match(kept[1].iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate)


#: private gradebook URL -> the one engine every nbgrader ``Gradebook`` of it uses
_KEPT_ENGINES: dict[str, Any] = {}
#: (private gradebook URL, course id) whose course row ``check_course`` has made or found
_CHECKED_COURSES: set[tuple[str, str]] = set()


def _keep_gradebook_engine(db_url: str) -> None:
    """One engine for the worker's private gradebook, and its schema checked once.

    nbgrader opens a ``Gradebook`` about 45 times per student (a new engine each time, the
    table names read and every table checked); for the private gradebook this process built,
    later opens reuse the first one's engine and skip the checks (and the course row's query,
    once the row is there). Sessions are still one per
    ``Gradebook`` and closed with it; every other database is opened as nbgrader does.
    """
    from nbgrader import api
    from sqlalchemy.orm import scoped_session, sessionmaker

    _KEPT_ENGINES.setdefault(db_url, None)
    if getattr(api.Gradebook, "_cs230_kept", False):
        return
    init, close = api.Gradebook.__init__, api.Gradebook.close

    def kept_init(self: Any, db_url: str, course_id: str = "default_course",
                  authenticator: Any = None) -> None:
        engine = _KEPT_ENGINES.get(db_url)
        if engine is None:
            init(self, db_url, course_id, authenticator)
            if db_url in _KEPT_ENGINES:
                _KEPT_ENGINES[db_url] = self.engine
                self._cs230_kept_engine = True
            return
        self.engine = engine
        self.db = scoped_session(sessionmaker(autoflush=True, bind=engine, future=True))
        if (db_url, course_id) not in _CHECKED_COURSES:  # its row, once made, stays
            self.check_course(course_id=course_id)
            _CHECKED_COURSES.add((db_url, course_id))
        self.course_id, self.authenticator = course_id, authenticator
        self._cs230_kept_engine = True

    def kept_close(self: Any) -> None:
        if getattr(self, "_cs230_kept_engine", False):
            self.db.remove()  # the engine stays for the next Gradebook of this worker
            return
        close(self)

    api.Gradebook.__init__ = kept_init  # type: ignore[method-assign]
    api.Gradebook.close = kept_close  # type: ignore[method-assign]
    api.Gradebook._cs230_kept = True  # type: ignore[attr-defined]


def _release_gradebook_engine(db_url: str) -> None:
    _CHECKED_COURSES.difference_update({k for k in _CHECKED_COURSES if k[0] == db_url})
    engine = _KEPT_ENGINES.pop(db_url, None)
    if engine is not None:
        engine.dispose()


def _quiet_sqlalchemy() -> None:
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)


def _last_line(text: str) -> str:
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""
