"""nbgrader's bookkeeping made cheaper on a grading worker, with the same results.

A worker grades every student of its share in one private course and one process: nbgrader's
per-cell schema validation and its ~45 gradebook opens per student are the same work every
time. These are done once per worker instead (each with what it keeps and why, below).
"""

from __future__ import annotations

from typing import Any


def validate_metadata_once_per_schema() -> None:
    """nbgrader's cell-metadata check, without re-validating its own schema for every cell.

    ``jsonschema.validate(instance, schema)`` checks ``schema`` itself first; nbgrader calls
    it for every cell of every notebook (0.1 s a notebook). Here the validators are built once
    per schema: every cell is validated by fastjsonschema's compiled one, and a cell it
    refuses by jsonschema's, which raises the error nbgrader would.
    """
    import types

    import jsonschema
    from nbgrader.nbgraderformat import common

    if isinstance(common.jsonschema, types.SimpleNamespace):
        return
    import json

    import fastjsonschema

    #: id of a schema object -> (the object, its validators); nbgrader loads its schema again
    #: for each notebook, so the validators are kept by the schema's text too
    validators: dict[int, tuple[Any, Any, Any]] = {}
    by_text: dict[str, tuple[Any, Any]] = {}

    def validate(instance: Any, schema: Any) -> None:
        kept = validators.get(id(schema))
        if kept is None or kept[0] is not schema:
            text = json.dumps(schema, sort_keys=True)
            if text not in by_text:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
                by_text[text] = (cls(schema), fastjsonschema.compile(schema))
            kept = validators[id(schema)] = (schema, *by_text[text])
        try:  # fastjsonschema (nbformat's validator) answers a valid cell ten times sooner
            kept[2](instance)
            return
        except fastjsonschema.JsonSchemaException:
            pass  # jsonschema finds the error nbgrader would raise
        error = jsonschema.exceptions.best_match(kept[1].iter_errors(instance))
        if error is not None:
            raise error

    common.jsonschema = types.SimpleNamespace(validate=validate)

#: private gradebook URL -> the one engine every nbgrader ``Gradebook`` of it uses
_KEPT_ENGINES: dict[str, Any] = {}

#: (private gradebook URL, course id) whose course row ``check_course`` has made or found
_CHECKED_COURSES: set[tuple[str, str]] = set()

def keep_gradebook_engine(db_url: str) -> None:
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

def release_gradebook_engine(db_url: str) -> None:
    _CHECKED_COURSES.difference_update({k for k in _CHECKED_COURSES if k[0] == db_url})
    engine = _KEPT_ENGINES.pop(db_url, None)
    if engine is not None:
        engine.dispose()

def quiet_sqlalchemy() -> None:
    import warnings

    from sqlalchemy.exc import SAWarning

    warnings.filterwarnings("ignore", category=SAWarning)
