"""Whether ``release/`` is current, so that a run regenerates it only when it must.

``nbgrader generate_assignment`` takes a few seconds (a new process, every notebook converted,
the gradebook's assignment rows rewritten); most runs of the pipeline follow a run that already
did it. After each generation the pipeline stamps the gradebook (table ``cs230_release``) with
a hash of ``nbgrader_config.py``, ``source/midterm`` and ``release/midterm``. The next run
regenerates unless the stamp is there and the three still hash the same: an edited source
notebook, a release folder changed or deleted by hand, another configuration or a new gradebook
(no stamp) all regenerate.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Protocol

from .folders import content_sha, tree_files
from .questions import ASSIGNMENT


class Course(Protocol):
    """What of a :class:`cs230_grading.course.Course` the stamp reads."""

    root: Path
    db_url: str

    @property
    def source_dir(self) -> Path: ...

    @property
    def release_dir(self) -> Path: ...

TABLE = "cs230_release"


def release_sha(course: Course) -> str:
    """Hash of the configuration, ``source/midterm`` and ``release/midterm``."""

    files = {"nbgrader_config.py": (course.root / "nbgrader_config.py").read_bytes()}
    files.update({f"source/{k}": v for k, v in tree_files(course.source_dir).items()})
    files.update({f"release/{k}": v for k, v in tree_files(course.release_dir).items()})
    return content_sha(files)


def _table(metadata: object) -> object:
    from sqlalchemy import Column, Float, String, Table

    return Table(TABLE, metadata,
                 Column("assignment", String(128), primary_key=True),
                 Column("sha", String(64), nullable=False),
                 Column("updated", Float, nullable=False))


def release_is_current(course: Course) -> bool:
    """True when the gradebook's stamp matches the course as it is now."""
    from sqlalchemy import MetaData, create_engine, inspect, select

    if not course.release_dir.is_dir():
        return False
    from .exam_text import write_cover

    if write_cover(course.root, check=True):  # the question table changed the cover's table
        return False
    engine = create_engine(course.db_url)
    try:
        if not inspect(engine).has_table(TABLE):
            return False
        table = _table(MetaData())
        with engine.connect() as conn:
            stamp = conn.execute(select(table.c.sha).where(  # type: ignore[attr-defined]
                table.c.assignment == ASSIGNMENT)).scalar()  # type: ignore[attr-defined]
    finally:
        engine.dispose()
    return stamp is not None and stamp == release_sha(course)


def stamp_release(course: Course) -> None:
    """Record that ``release/`` was just generated from the course as it is now."""
    from sqlalchemy import MetaData, create_engine

    sha = release_sha(course)
    engine = create_engine(course.db_url)
    try:
        table = _table(MetaData())
        table.create(engine, checkfirst=True)  # type: ignore[attr-defined]
        with engine.begin() as conn:
            conn.execute(table.delete().where(  # type: ignore[attr-defined]
                table.c.assignment == ASSIGNMENT))  # type: ignore[attr-defined]
            conn.execute(table.insert().values(  # type: ignore[attr-defined]
                assignment=ASSIGNMENT, sha=sha, updated=time.time()))
    finally:
        engine.dispose()
