"""Benchmark: the pipeline's Dask fan-out against plain serial ``nbgrader autograde``.

Both grade the same synthetic class (default 40 students x 6 notebooks, a seeded
mix of model answers, blanks and mistakes) in two scratch copies of the course,
side by side in one run. The script checks that every cell's score is
identical, then prints notebooks per second for both and their ratio.

    python benchmarks/bench_pipeline.py                 # 40 students, one worker per core
    python benchmarks/bench_pipeline.py --students 4    # a quick run
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from cs230_grading.course import NOTEBOOKS, Course
from cs230_grading.intake import stage_submissions
from cs230_grading.pipeline import grade_all
from cs230_grading.samples import sample_plan, write_sample_class


def build_course(root: Path, n_students: int) -> Course:
    course = Course.scratch(root)
    course.generate_assignment()
    plan = sample_plan(n_random=n_students, seed=4230)
    plan = {k: v for k, v in plan.items() if k.startswith("student-")}
    write_sample_class(root, plan)
    return course


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cs230-bench-") as tmp:
        serial = build_course(Path(tmp) / "serial", args.students)
        fanout = build_course(Path(tmp) / "pipeline", args.students)
        students = sorted(p.name for p in serial.submitted_root.iterdir())
        n_notebooks = len(students) * len(NOTEBOOKS)

        start = time.perf_counter()
        serial.autograde()
        t_serial = time.perf_counter() - start

        stage_submissions(fanout.root, fanout.source_dir)
        start = time.perf_counter()
        results = grade_all(fanout, students, workers=args.workers, feedback=False,
                            progress=False, out=io.StringIO())
        t_fanout = time.perf_counter() - start
        failed = [s for s, r in results.items() if not r.success]

        mismatched = [s for s in students if serial.scores(s) != fanout.scores(s)]
        serial_rate = n_notebooks / t_serial
        fanout_rate = n_notebooks / t_fanout
        print(f"class: {len(students)} students x {len(NOTEBOOKS)} notebooks = "
              f"{n_notebooks} notebooks; {args.workers} workers on {os.cpu_count()} cores")
        print(f"serial nbgrader autograde : {t_serial:7.1f} s  {serial_rate:6.2f} notebooks/s")
        print(f"pipeline (Dask, in-process): {t_fanout:7.1f} s  {fanout_rate:6.2f} notebooks/s")
        print(f"ratio pipeline/serial: {fanout_rate / serial_rate:.2f}x")
        print(f"scores identical: {not mismatched}" + (f" (differ: {mismatched})"
                                                       if mismatched else ""))
        if failed:
            print(f"grading failed for: {failed}")
        return 1 if mismatched or failed else 0


if __name__ == "__main__":
    sys.exit(main())
