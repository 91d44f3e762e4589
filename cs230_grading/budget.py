"""Time budgets: a slow submission costs its own points, not the class's time.

nbgrader bounds each cell (``Execute.timeout``), but nothing bounded a notebook or a student:
a function that sleeps 50 s per call held a worker for the whole of its notebook's cells in
the kernel, and then for every call of every check in the scoring pass. Three budgets
hold in both stages, on the wall clock (sleeping uses no CPU, so the CPU limit does not
see it):

* **a check or test cell**: ``Execute.timeout`` (``CS230_EXECUTE_TIMEOUT``, 60 s), however
  many calls of the student's functions it makes;
* **a notebook**: ``CS230_LIMIT_NOTEBOOK_SECONDS`` (default 300 s) per pass;
* **a student**: ``CS230_LIMIT_STUDENT_SECONDS`` (default 900 s), both passes and all
  notebooks together.

When a notebook runs out, its remaining cells (kernel) or checks (scoring) are not run
and score 0 with the message :data:`NOT_RUN`; the student gets a finding and the worker
moves on. The defaults are far above an honest submission: measured on the model solutions
on a loaded 2-core machine, the slowest notebook (Q6, in the kernel) took 6.3 s and the whole
student (six notebooks, both passes and the feedback) 44.5 s: about 1/50 of the notebook
budget and 1/20 of the student budget.

The grading worker opens a :class:`StudentClock` for each student (:func:`student_clock`);
the kernel preprocessor and the scoring pass read it through :func:`current_clock`, and the
worker turns what it recorded into findings.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator

from .finding import Finding
from .settings import limit_from_env

#: The kind of the findings this module makes (see :class:`cs230_grading.intake.Finding`).
KIND = "time budget"
#: Message of a cell or check that was not run because a budget ran out.
NOT_RUN = "not run: the notebook exceeded its time budget"


@dataclasses.dataclass(frozen=True)
class TimeBudget:
    """Wall-clock seconds a notebook (per pass) and a student (in all) may use."""

    notebook_seconds: float = 300.0
    student_seconds: float = 900.0

    @classmethod
    def from_env(cls) -> TimeBudget:
        base = cls()
        return cls(limit_from_env("NOTEBOOK_SECONDS", base.notebook_seconds),
                   limit_from_env("STUDENT_SECONDS", base.student_seconds))


@dataclasses.dataclass
class Overrun:
    """A notebook whose budget (or the student's) ran out in one pass."""

    notebook: str
    stage: str  # "kernel" or "scoring"
    seconds: float  # time the notebook had used in that pass
    not_run: int  # cells or checks left unrun
    limit: str  # which budget: "notebook (300 s)" or "student (900 s)"

    def message(self) -> str:
        return (f"time budget: {self.notebook} used {self.seconds:.0f} s in the {self.stage} "
                f"and hit the {self.limit} budget; {self.not_run} "
                f"{'cell' if self.stage == 'kernel' else 'check'}"
                f"{'s' if self.not_run != 1 else ''} not run (scored 0)")


class StudentClock:
    """The time one student's grading has used, and what ran out."""

    def __init__(self, budget: TimeBudget | None = None, used: float = 0.0) -> None:
        self.budget = budget or TimeBudget.from_env()
        self.start = time.monotonic() - used
        self.overruns: list[Overrun] = []
        #: (notebook, stage) -> seconds it used
        self.timings: dict[tuple[str, str], float] = {}

    def used(self) -> float:
        return time.monotonic() - self.start

    def notebook_timer(self, notebook: str, stage: str) -> NotebookTimer:
        return NotebookTimer(self, notebook, stage)


class NotebookTimer:
    """One notebook in one pass: how long it may still run, and what was left unrun."""

    def __init__(self, clock: StudentClock, notebook: str, stage: str) -> None:
        self.clock = clock
        self.notebook = notebook
        self.stage = stage
        self.start = time.monotonic()
        self.not_run = 0
        #: the budget that binds: "notebook (300 s)" or "student (900 s)"
        self.limit = ""

    def remaining(self) -> float:
        """Seconds left before the notebook's or the student's budget runs out."""
        now = time.monotonic()
        budget = self.clock.budget
        notebook_left = budget.notebook_seconds - (now - self.start)
        student_left = budget.student_seconds - (now - self.clock.start)
        if notebook_left <= student_left:
            self.limit = f"notebook ({budget.notebook_seconds:g} s)"
        else:
            self.limit = f"student ({budget.student_seconds:g} s)"
        return min(notebook_left, student_left)

    def out_of_time(self) -> bool:
        return self.remaining() <= 0

    def skip(self) -> str:
        """Count one cell or check as not run; the message it gets."""
        self.not_run += 1
        return f"{NOT_RUN} ({self.limit or 'budget'})"

    def close(self) -> None:
        used = time.monotonic() - self.start
        self.clock.timings[(self.notebook, self.stage)] = used
        if self.not_run:
            self.clock.overruns.append(Overrun(self.notebook, self.stage, used, self.not_run,
                                               self.limit))


_CURRENT: StudentClock | None = None


@contextlib.contextmanager
def student_clock(budget: TimeBudget | None = None, used: float = 0.0
                  ) -> Iterator[StudentClock]:
    """Open the clock of the student this process grades now (``used`` seconds already
    spent on them elsewhere, e.g. the kernel pass on a cluster worker)."""
    global _CURRENT
    previous, _CURRENT = _CURRENT, StudentClock(budget, used)
    try:
        yield _CURRENT
    finally:
        _CURRENT = previous


def current_clock() -> StudentClock:
    """The open student clock, or a fresh one (an nbgrader run outside the pipeline)."""
    return _CURRENT if _CURRENT is not None else StudentClock()


def overrun_findings(student: str, overruns: list[Overrun]) -> list:
    """The report's lines for what ran out of time (one per notebook and pass)."""

    return [Finding(student, o.message(), o.notebook, "error", KIND) for o in overruns]
