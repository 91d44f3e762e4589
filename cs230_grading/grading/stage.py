"""Stage the submission: a worker's private course, and one student's files and rows in it.

The worker builds a private temporary course from the kit (``generate_assignment`` into a
private SQLite gradebook, with nbgrader's API loaded once per worker process) and keeps it for
every later task. Staging a task writes the student's submitted files into the course's
``submitted/`` and gives the private gradebook the rows grading reads (the due date, the
student's extension); unstaging removes both, so the course holds one student at a time.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

from ..course import ASSIGNMENT, nbgrader_env
from ..folders import chdir, claimed_folder, release_claim, remove_tree, sweep_dead_owners
from ..sandbox import forkserver
from .kit import CourseKit, SubmissionTask, unpack_kit
from .nbgrader_speedups import (
    keep_gradebook_engine,
    quiet_sqlalchemy,
    release_gradebook_engine,
    validate_metadata_once_per_schema,
)


class PrivateCourse:
    """A private course on a worker: built once from a kit, reused for every task."""

    def __init__(self, kit: CourseKit) -> None:
        base = "/dev/shm" if os.access("/dev/shm", os.W_OK) else tempfile.gettempdir()
        sweep_dead_owners(Path(base), "cs230-worker-")  # courses of workers that died
        self.root = claimed_folder(Path(base), f"cs230-worker-{os.getpid()}-")
        unpack_kit(kit.archive, self.root)
        self.db_url = f"sqlite:///{self.root / 'gradebook.db'}?timeout=60"
        os.environ.update(nbgrader_env(kit.env))
        os.environ["CS230_GRADEBOOK_URL"] = self.db_url
        quiet_sqlalchemy()
        validate_metadata_once_per_schema()
        if kit.alembic:
            self._stamp_gradebook(kit.alembic)
        keep_gradebook_engine(self.db_url)
        self.api = self._load_api()
        with chdir(self.root):
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

    def folder(self, top: str, student: str) -> Path:
        """``<course>/<top>/<student>/midterm``."""
        return self.root / top / student / ASSIGNMENT

    def clear(self, student: str) -> None:
        for top in ("submitted", "autograded", "feedback"):
            remove_tree(self.root / top / student)

    def stage(self, task: SubmissionTask) -> Path:
        """Write the task's files and gradebook rows; the student's ``submitted`` folder."""
        from nbgrader.api import Gradebook, MissingEntry

        self.clear(task.student)
        folder = self.folder("submitted", task.student)
        for rel, data in task.files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            (folder / rel).write_bytes(data)
        with Gradebook(self.db_url) as gb:
            gb.update_or_create_assignment(ASSIGNMENT, duedate=task.duedate)
            gb.update_or_create_student(task.student)
            with contextlib.suppress(MissingEntry):
                gb.remove_submission(ASSIGNMENT, task.student)
            if task.extension:
                gb.add_submission(ASSIGNMENT, task.student, extension=task.extension)
        return folder

    def unstage(self, student: str) -> None:
        """Remove the student's files and submission rows: the course is empty again."""
        from nbgrader.api import Gradebook, MissingEntry

        self.clear(student)
        with Gradebook(self.db_url) as gb, contextlib.suppress(MissingEntry):
            gb.remove_submission(ASSIGNMENT, student)

    def release(self) -> None:
        """Delete the course (the end of a run, or a damaged course retired)."""
        release_gradebook_engine(self.db_url)
        release_claim(self.root)
