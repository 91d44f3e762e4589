"""The hidden tests' logic, one module per notebook: the answer key's side of scoring.

Only the grading process imports these modules (and :mod:`cs230_grading.reference`); no
process that runs student code can (see docs/security.md). A hidden test cell in
``source/midterm`` runs nothing: its hidden part is a comment, and
:class:`cs230_grading.grading.score.ScoreParts` scores the cell with ``CHECKS[grade id]``.

Each ``check_*`` function takes the notebook's namespace, calls the student's code through
:func:`cs230_grading.checks.call_student`, compares it with :mod:`cs230_grading.reference`,
and raises :class:`~cs230_grading.checks.GradingError` with a message naming the likely
mistake. It returns ``None`` (full points) or, for partial credit, the points as a float. In
the scoring pass the namespace's functions are stand-ins that call the student's code in a
sandboxed student process; in unit tests they are plain functions. The same check serves both.

Each module exports ``CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]]``
mapping each test cell's grade id to its check.
"""
