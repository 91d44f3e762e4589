"""Benchmark: shared-nothing grading on Dask (two workers) against serial ``nbgrader autograde``.

Both grade the same synthetic class (a seeded mix of model answers, blanks and
mistakes) in two scratch copies of the course. The Dask run is timed from the
start of the cluster to the last gradebook row the driver writes, so worker
start-up (nbgrader's import, the private course) is included, once per worker.
The script checks that both gradebooks are identical, prints notebooks per
second and their ratio, and projects from the measured per-notebook cost how
many workers grade a 10,000-student class in an hour.

On a shared machine the figures depend on what else runs: the script prints the load
average before and after, and the per-notebook cost it projects from is the wall time
a task took on a worker, so a busy machine makes the projection pessimistic.

    python benchmarks/bench_distributed.py                  # 40 students, 2 workers
    python benchmarks/bench_distributed.py --students 8     # a quick run
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

from cs230_grading.course import NOTEBOOKS, Course
from cs230_grading.grading.driver import grade_class
from cs230_grading.grading.record import gradebook_snapshot
from cs230_grading.intake import stage_submissions
from cs230_grading.samples import sample_plan, write_sample_class


def build_course(root: Path, n_students: int) -> Course:
    course = Course.scratch(root)
    course.generate_assignment()
    plan = sample_plan(n_random=n_students, seed=4230)
    write_sample_class(root, {k: v for k, v in plan.items() if k.startswith("student-")})
    return course


def projection(per_notebook: float, write_per_student: float, *, students: int = 10_000,
               hours: float = 1.0) -> tuple[int, float]:
    """Workers (one core each) to grade ``students`` in ``hours``, and the driver's share.

    Returns the worker count and the fraction of the hour the driver spends writing
    (it writes one student at a time, so that fraction must stay below 1).
    """
    notebooks = students * len(NOTEBOOKS)
    workers = math.ceil(notebooks * per_notebook / (hours * 3600))
    return workers, students * write_per_student / (hours * 3600)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cs230-bench-dist-") as tmp:
        serial = build_course(Path(tmp) / "serial", args.students)
        dask_course = build_course(Path(tmp) / "dask", args.students)
        students = sorted(p.name for p in serial.submitted_root.iterdir())
        n_notebooks = len(students) * len(NOTEBOOKS)
        load_before = os.getloadavg()

        start = time.perf_counter()
        serial.autograde()
        t_serial = time.perf_counter() - start

        stage_submissions(dask_course.root, dask_course.source_dir)
        start = time.perf_counter()
        run = grade_class(dask_course, students, workers=args.workers, feedback=False,
                          progress=False, out=io.StringIO(), resume=False)
        t_dask = time.perf_counter() - start
        load_after = os.getloadavg()

        failed = [s for s, r in run.results.items() if not r.success]
        same = gradebook_snapshot(serial.db_url) == gradebook_snapshot(dask_course.db_url)
        serial_rate, dask_rate = n_notebooks / t_serial, n_notebooks / t_dask
        graded = [run.results[s] for s in run.graded]
        per_notebook = sum(r.seconds for r in graded) / max(1, len(graded) * len(NOTEBOOKS))
        write_each = run.write_seconds / max(1, len(graded))
        workers, driver_share = projection(per_notebook, write_each)

        print(f"class: {len(students)} students x {len(NOTEBOOKS)} notebooks = {n_notebooks} "
              f"notebooks; {args.workers} Dask workers on {os.cpu_count()} cores")
        print(f"load average (1/5/15 min): before {_load(load_before)}, after {_load(load_after)}")
        print(f"serial nbgrader autograde  : {t_serial:7.1f} s  {serial_rate:6.2f} notebooks/s")
        print(f"Dask shared-nothing        : {t_dask:7.1f} s  {dask_rate:6.2f} notebooks/s")
        print(f"ratio Dask/serial: {dask_rate / serial_rate:.2f}x (target >= 2x on 2 cores)")
        print(f"gradebooks identical: {same}")
        print(f"per notebook on a worker: {per_notebook:.2f} s; driver write per student: "
              f"{write_each * 1000:.0f} ms")
        print(f"projection: 10,000 students x {len(NOTEBOOKS)} notebooks in "
              f"one hour needs {workers} workers (one core each); the driver would spend "
              f"{driver_share:.0%} of the hour writing")
        if failed:
            print(f"grading failed for: {failed}")
        return 0 if same and not failed else 1


def _load(values: tuple[float, float, float]) -> str:
    return "/".join(f"{v:.1f}" for v in values)


if __name__ == "__main__":
    sys.exit(main())
