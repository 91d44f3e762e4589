"""The task a Dask worker runs: grade one submission in the worker's private course.

Stage (:mod:`.stage`), execute and score (:mod:`.execute`, :mod:`.score`), report
(:mod:`.outcome`), write feedback (:mod:`.feedback`), and send back a
:class:`~cs230_grading.grading.kit.GradedSubmission` for the driver to record
(:mod:`.record`). The worker writes nothing outside its private course.
"""

from __future__ import annotations

import os
import threading
import time
import zlib
from pathlib import Path

from ..budget import overrun_findings
from ..course import ASSIGNMENT
from ..folders import chdir, tree_files
from ..sandbox import forkserver
from .execute import autograde
from .feedback import FeedbackWriter, apply_manual_rows
from .health import grade_on_sound_course
from .kit import PHASES, CourseKit, GradedSubmission, SubmissionTask
from .outcome import scoring_findings
from .stage import PrivateCourse


class Worker:
    """A worker's private course and its feedback writer."""

    def __init__(self, kit: CourseKit) -> None:
        self.course = PrivateCourse(kit)
        self.feedback = FeedbackWriter(self.course.api)

    @property
    def root(self) -> Path:
        """The private course's folder (what :mod:`.health` checks)."""
        return self.course.root

    def grade(self, task: SubmissionTask) -> GradedSubmission:
        """Stage, autograde (execute, then score), report and feedback for one submission."""
        from ..sandbox.kernel import KERNEL_SECONDS

        start = time.perf_counter()
        student, course = task.student, self.course
        timings: dict[str, float] = dict.fromkeys(PHASES[:-1], 0.0)
        KERNEL_SECONDS.clear()
        folder = course.stage(task)
        try:
            done = autograde(course, student)
            graded = GradedSubmission(student, done.success, 0.0, log=done.log,
                                      error=last_line(done.error), host=os.uname().nodename,
                                      overruns=done.overruns)
            timings["scoring"] = sum(s.seconds for s in done.scores)
            if graded.success:
                findings, graded.mistakes = scoring_findings(
                    student, done.scores, course.folder("autograded", student), folder,
                    course.root / "source" / ASSIGNMENT)
                graded.findings = findings + overrun_findings(student, done.overruns)
                apply_manual_rows(course.db_url, student, task.manual_scores,
                                  task.manual_comments)
            if graded.success and task.feedback:
                tick = time.perf_counter()
                with chdir(course.root):
                    written = self.feedback.write(student)
                timings["feedback"] = time.perf_counter() - tick
                graded.log += written.get("log", "")
                if not written.get("success"):
                    graded.success = False
                    graded.error = last_line(written.get("error", "feedback failed"))
            if graded.success:
                self._collect(graded, folder)
        finally:
            course.unstage(student)
        graded.seconds = time.perf_counter() - start
        timings["kernel_start"] = KERNEL_SECONDS["kernel_start"]
        timings["kernel_stop"] = KERNEL_SECONDS["kernel_stop"]
        timings["execution"] = max(0.0, KERNEL_SECONDS["kernel"] - timings["kernel_start"]
                                   - timings["kernel_stop"])
        timings["bookkeeping"] = max(0.0, graded.seconds - sum(timings.values()))
        graded.timings = timings
        return graded

    def _collect(self, out: GradedSubmission, folder: Path) -> None:
        from nbgrader.api import Gradebook

        present = {p.stem for p in folder.glob("*.ipynb")}
        with Gradebook(self.course.db_url) as gb:
            sub = gb.find_submission(ASSIGNMENT, out.student)
            out.timestamp = sub.timestamp
            for nb in sub.notebooks:
                if nb.name in present:
                    out.submitted.append(nb.name)
                    out.penalties[nb.name] = nb.late_submission_penalty
                    out.comments += [(nb.name, c.name, c.auto_comment) for c in nb.comments]
                out.grades += [(nb.name, g.name, g.auto_score, bool(g.needs_manual_grade))
                               for g in nb.grades]
        for attr, top in (("autograded", "autograded"), ("feedback", "feedback")):
            files = tree_files(self.course.folder(top, out.student))
            # level 1: a quarter of level 6's time for a slightly larger message
            setattr(out, attr, {k: zlib.compress(v, 1) for k, v in files.items()})


def last_line(text: str) -> str:
    """The last non-empty line of ``text`` (an error's summary)."""
    lines = [ln for ln in str(text).strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""


_WORKERS: dict[str, Worker] = {}
#: nbgrader runs in the worker's own process (working folder, environment): on a worker
#: with several threads, its tasks take turns. Give workers one thread (docs/cluster.md).
_WORKER_LOCK = threading.Lock()


def grade_submission(kit: CourseKit, task: SubmissionTask) -> GradedSubmission:
    """The task run on a worker: grade one submission in the worker's private course (a
    damaged course is replaced, and its student graded again on the fresh one)."""
    with _WORKER_LOCK:
        return grade_on_sound_course(_WORKERS, kit, task, Worker, _retire)


def _retire(worker: Worker) -> None:
    """Stop a private course's fork servers and gradebook engine, and remove its folder."""
    forkserver.serve_under(None)
    worker.course.release()


def release_worker_courses() -> int:
    """Run on each worker at the end of a run: delete its private courses."""
    with _WORKER_LOCK:
        forkserver.serve_under(None)
        for worker in _WORKERS.values():
            worker.course.release()
        count = len(_WORKERS)
        _WORKERS.clear()
    return count
