"""The hidden tests' logic, one module per notebook.

A hidden test cell in ``source/midterm`` is a thin call, for example::

    ### BEGIN HIDDEN TESTS
    from cs230_grading.graders import q3
    q3.check_part_i(globals())
    ### END HIDDEN TESTS

Each ``check_*`` function takes the notebook's namespace, calls the student's
code through :func:`cs230_grading.checks.call_student`, compares it with
:mod:`cs230_grading.reference`, and raises :class:`~cs230_grading.checks.GradingError`
with a message naming the likely mistake. It returns ``None`` (full points) or,
for partial credit, the points as a float, which the test cell shows as its
last expression so that nbgrader records it. Keeping the logic here makes it
unit-testable and lets the out-of-kernel pass reuse it unchanged.

Each module also exports ``CHECKS: dict[str, Callable[[Mapping[str, Any]], float | None]]``
mapping each test cell's grade id to its check, for the out-of-kernel pass.
"""
