"""The audit log of hand grades: who changed which score or comment, when, with which tool.

One gradebook table, ``cs230_audit``, beside nbgrader's tables and the kit's other
``cs230_*`` tables. A row is one change of one answer's manual score or manual comment:
(when, grade id, notebook, student, field, old value, new value, who, tool). It is written
in the same database transaction as the change itself, so a grade and its audit row are
committed together or not at all.

Two writers record changes:

* :mod:`cs230_grading.manual` (the grading console and the Python API), through
  :func:`recording`, with the TA's name;
* nbgrader's formgrader, inside the Jupyter server that serves it: the course's
  ``nbgrader_config.py`` calls :func:`audit_running_server`, which listens to every flush of
  nbgrader's database sessions in that process and records the changes of
  ``Grade.manual_score`` and ``Comment.manual_comment``. The name recorded is
  ``$CS230_TA``, else ``$JUPYTERHUB_USER``, else ``formgrader (no TA name set)``, so an
  unnamed change says so rather than showing the machine's login name.

``cs230-grade audit`` prints the log; the report shows the latest changes.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any

TABLE = "cs230_audit"
SCORE, COMMENT = "score", "comment"
FORMGRADER = "formgrader"
#: the name recorded for a formgrader change when neither variable names the TA
UNNAMED = "formgrader (no TA name set)"


def _table() -> Any:
    from sqlalchemy import Column, DateTime, Integer, MetaData, String, Table, Text

    meta = MetaData()
    return Table(TABLE, meta,
                 Column("id", Integer, primary_key=True, autoincrement=True),
                 Column("changed_at", DateTime, nullable=False),
                 Column("grade_id", String(64), nullable=False),
                 Column("notebook", String(128), nullable=False),
                 Column("student", String(128), nullable=False),
                 Column("field", String(16), nullable=False),
                 Column("old", Text, nullable=True),
                 Column("new", Text, nullable=True),
                 Column("who", String(128), nullable=False),
                 Column("tool", String(32), nullable=False))


AUDIT = _table()


@dataclasses.dataclass(frozen=True)
class Change:
    """One recorded change of a manual score or comment."""

    changed_at: dt.datetime
    grade_id: str
    notebook: str
    student: str
    field: str
    old: str | None
    new: str | None
    who: str
    tool: str

    def line(self) -> str:
        """One line for the terminal: when, who with what, what changed."""
        def show(value: str | None) -> str:
            if value is None:
                return "(none)"
            flat = " ".join(value.split())
            return repr(flat if len(flat) <= 60 else flat[:57] + "...")

        return (f"{self.changed_at:%Y-%m-%d %H:%M:%S} {self.who} ({self.tool}): "
                f"{self.student} {self.grade_id} {self.field} {show(self.old)} -> "
                f"{show(self.new)}")


def ensure_table(bind: Any) -> None:
    """Create ``cs230_audit`` in the gradebook if it is not there."""
    AUDIT.metadata.create_all(bind, checkfirst=True)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def record(session: Any, *, grade_id: str, notebook: str, student: str, field: str,
           old: Any, new: Any, who: str, tool: str) -> bool:
    """Add one change to the session's transaction; nothing when the value is unchanged."""
    old_text, new_text = _text(old), _text(new)
    if old_text == new_text or (field == COMMENT and not old_text and not new_text):
        return False
    session.connection().execute(AUDIT.insert().values(
        changed_at=_now(), grade_id=grade_id, notebook=notebook, student=student,
        field=field, old=old_text, new=new_text, who=who, tool=tool))
    return True


# -- recording the changes a session flushes ------------------------------------------------
#: (who, tool) of the writer in this context; None: not recorded by :func:`recording`
_WRITER: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "cs230_audit_writer", default=None)


@contextlib.contextmanager
def recording(who: str, tool: str) -> Iterator[None]:
    """Within the block, changes flushed by nbgrader's sessions are recorded as ``who``/``tool``
    (:func:`install` must have been called; :mod:`cs230_grading.manual` does)."""
    token = _WRITER.set((who, tool))
    try:
        yield
    finally:
        _WRITER.reset(token)


def _changes(obj: Any) -> list[tuple[str, Any, Any]]:
    """``[(field, old, new)]`` of a Grade's manual score or a Comment's manual comment."""
    from nbgrader.api import Comment, Grade
    from sqlalchemy import inspect

    attribute = {Grade: ("manual_score", SCORE), Comment: ("manual_comment", COMMENT)}
    for cls, (name, field) in attribute.items():
        if isinstance(obj, cls):
            history = inspect(obj).attrs[name].history
            if history.added or history.deleted:
                old = history.deleted[0] if history.deleted else None
                new = history.added[0] if history.added else None
                return [(field, old, new)]
    return []


def _before_flush(session: Any, flush_context: Any, instances: Any) -> None:
    writer = _WRITER.get() or _default_writer()
    if writer is None:
        return
    who, tool = writer
    found = []
    for obj in list(session.dirty):
        for field, old, new in _changes(obj):
            notebook = obj.notebook
            found.append((notebook.student.id, obj.name, field != SCORE, notebook.name, field,
                          old, new))
    for student, grade_id, _, notebook, field, old, new in sorted(found, key=lambda f: f[:3]):
        record(session, grade_id=grade_id, notebook=notebook, student=student, field=field,
               old=old, new=new, who=who, tool=tool)


#: the writer of changes made outside :func:`recording` (the formgrader's server sets it)
_DEFAULT: tuple[str, str] | None = None


def _default_writer() -> tuple[str, str] | None:
    return _DEFAULT


def install() -> None:
    """Listen to every flush of a SQLAlchemy session in this process (idempotent)."""
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "before_flush", _before_flush):
        event.listen(Session, "before_flush", _before_flush)


def formgrader_who() -> str:
    """The name recorded for a change typed in the formgrader (see the module docstring)."""
    return (os.environ.get("CS230_TA", "").strip()
            or os.environ.get("JUPYTERHUB_USER", "").strip() or UNNAMED)


def audit_running_server(db_url: str) -> bool:
    """Record the formgrader's changes, when this process is a Jupyter server (idempotent).

    Called by ``nbgrader_config.py``, which the formgrader loads inside the server.
    """
    global _DEFAULT
    module = sys.modules.get("jupyter_server.serverapp")
    if module is None or not module.ServerApp.initialized():
        return False  # an nbgrader command or a grading worker: they write no hand grades
    from sqlalchemy import create_engine

    engine = create_engine(db_url)
    try:
        ensure_table(engine)
    finally:
        engine.dispose()
    _DEFAULT = (formgrader_who(), FORMGRADER)
    install()
    return True


# -- reading the log ------------------------------------------------------------------------
def history(db_url: str, *, student: str | None = None, grade_id: str | None = None,
            limit: int | None = None) -> list[Change]:
    """The changes, oldest first (the newest ``limit`` of them when given)."""
    from sqlalchemy import create_engine, inspect, select

    engine = create_engine(db_url)
    try:
        if not inspect(engine).has_table(TABLE):
            return []
        query = select(AUDIT)
        if student is not None:
            query = query.where(AUDIT.c.student == student)
        if grade_id is not None:
            query = query.where(AUDIT.c.grade_id == grade_id)
        query = query.order_by(AUDIT.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        with engine.connect() as conn:
            rows = list(conn.execute(query))
    finally:
        engine.dispose()
    return [Change(r.changed_at, r.grade_id, r.notebook, r.student, r.field, r.old, r.new,
                   r.who, r.tool) for r in reversed(rows)]


def latest(session: Any, grade_id: str, students: Sequence[str],
           tools: Sequence[str] | None = None) -> dict[tuple[str, str], Change]:
    """``{(student, field): change}``: the latest change of each answer's score and comment
    (by one of ``tools``, when given), read in the session's transaction."""
    from sqlalchemy import select

    if not students:
        return {}
    query = select(AUDIT).where(AUDIT.c.grade_id == grade_id,
                                AUDIT.c.student.in_(list(students)))
    if tools is not None:
        query = query.where(AUDIT.c.tool.in_(list(tools)))
    out: dict[tuple[str, str], Change] = {}
    for r in session.execute(query.order_by(AUDIT.c.id)):
        out[(r.student, r.field)] = Change(r.changed_at, r.grade_id, r.notebook, r.student,
                                           r.field, r.old, r.new, r.who, r.tool)
    return out


def print_log(db_url: str, *, student: str | None = None, grade_id: str | None = None,
              out: Any = None) -> int:
    """``cs230-grade audit``: every recorded change, oldest first, one line each."""
    from .sanitize import terminal_text

    out = out or sys.stdout
    changes = history(db_url, student=student, grade_id=grade_id)
    if not changes:
        print("No change of a hand grade is recorded"
              + (" for that student or part." if student or grade_id else "."), file=out)
    for change in changes:
        print(terminal_text(change.line()), file=out)
    return 0
