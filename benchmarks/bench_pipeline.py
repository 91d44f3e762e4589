"""Benchmark: ``cs230-grade run`` against stock serial nbgrader, on one class, in one run.

Both sides grade the same class in two scratch copies of the course:

* **stock**: ``nbgrader autograde midterm`` then ``nbgrader generate_feedback midterm``,
  one student after another, as an instructor without this kit would: nbgrader's own
  preprocessors (no sandbox) and feedback page (nbconvert's ``HTMLExporter``, hidden tests
  cleared), and hidden tests that run the graders in the student's kernel
  (each test cell's hidden part calls ``graders.qN.CHECKS[grade id](globals())``, the way
  nbgrader courses usually grade);
* **pipeline**: what ``cs230-grade run`` does (:func:`cs230_grading.pipeline.run_pipeline`:
  release regenerated, intake, a LocalCluster of one worker per core, each notebook executed
  in a sandboxed kernel without the key and scored outside it, the feedback on the workers,
  the driver writing the gradebook, the exports and the report), timed from start to the
  report.

The class is the sample class (full, blank, partial and seeded random mixes of the named
mistakes) plus, unless ``--no-tamper``, submissions of ``tests/adversarial`` that tamper
with the grading (stock nbgrader trusts their kernel; the pipeline never asks it). The
script checks that every student who does not tamper has the same total on both sides,
prints both times and their ratio, and a per-student breakdown of the pipeline's time
(kernel start, execution, kernel stop, scoring, nbgrader's bookkeeping, feedback, driver
write). The machine's load average is printed before and after: on a shared
machine the ratio says as much about the neighbours as about the code.

    python benchmarks/bench_pipeline.py                  # 19 students + 3 tampering
    python benchmarks/bench_pipeline.py --students 3     # a quick run (sample-* only)
"""

from __future__ import annotations

import argparse
import io
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from cs230_grading.course import ASSIGNMENT, NOTEBOOKS, REPO_ROOT, Course
from cs230_grading.engine import default_workers
from cs230_grading.grading.kit import PHASES
from cs230_grading.pipeline import run_pipeline
from cs230_grading.results import collect_grades
from cs230_grading.samples import sample_plan, write_sample_class

#: submissions of tests/adversarial/attacks.py that change their own score in a kernel that
#: runs the hidden tests
TAMPERING = ("adv-patch-builtins", "adv-input-transformer", "adv-patch-numpy")
SAMPLES = ("sample-full", "sample-blank", "sample-partial")


#: nbgrader's own autograde preprocessors (nbgrader 0.9's defaults), for the stock side
STOCK_CONFIG = """
# --- bench_pipeline.py: stock nbgrader, with the hidden tests in the kernel ---
from nbconvert.preprocessors import ClearMetadataPreprocessor as _ClearMetadata
from nbgrader import preprocessors as _pp
c.Autograde.autograde_preprocessors = [
    _pp.Execute, _pp.IgnorePattern, _ClearMetadata, _pp.LimitOutput, _pp.SaveAutoGrades,
    _pp.AssignLatePenalties, _pp.CheckCellMetadata]
c.Exporter.optimistic_validation = False  # nbconvert's default: validate after each one
# nbgrader's own feedback: its preprocessors and nbconvert's HTMLExporter (no MathML, no notes)
from nbconvert.exporters import HTMLExporter as _HTMLExporter
c.GenerateFeedback.preprocessors = [_pp.GetGrades, _pp.ClearHiddenTests,
                                    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"]
c.GenerateFeedback.exporter_class = _HTMLExporter
"""
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS", re.S)


def make_stock(course: Course) -> None:
    """Turn a scratch course into one graded the usual nbgrader way: the hidden part of each
    test cell calls its check in the kernel (partial credit as the cell's last value), and
    nbgrader_config.py uses nbgrader's own autograde preprocessors."""
    from cs230_grading.grading.score import graders_for
    from cs230_grading.notebooks import nbgrader_meta, read_notebook, write_notebook
    from cs230_grading.questions import question

    for name in NOTEBOOKS:
        path = course.source_dir / f"{name}.ipynb"
        nb = read_notebook(path)
        grader = question(name).grader
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if grader and gid in graders_for(name) and "BEGIN HIDDEN TESTS" in cell.source:
                call = (f"### BEGIN HIDDEN TESTS\nfrom cs230_grading.graders import {grader} "
                        f"as _grader\n_grader.CHECKS[{gid!r}](globals())\n"
                        "### END HIDDEN TESTS")
                source = HIDDEN.sub("", cell.source).rstrip("\n")
                cell.source = "\n".join(ln for ln in source.splitlines()
                                        if not ln.startswith("assert _ok")) + "\n" + call
        write_notebook(nb, path)
    with (course.root / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(STOCK_CONFIG)


def build_course(root: Path, n_students: int, tamper: bool, stock: bool = False
                 ) -> tuple[Course, list[str]]:
    """A generated course with the class in ``submitted/``; returns it and the tamperers."""
    course = Course.scratch(root)
    if stock:
        make_stock(course)
    course.generate_assignment()
    plan = sample_plan(n_random=max(0, n_students - len(SAMPLES)), seed=4230)
    plan = dict(list(plan.items())[:n_students])
    write_sample_class(root, plan)
    tampering: list[str] = []
    if tamper:
        sys.path.insert(0, str(REPO_ROOT))
        from tests.adversarial.attacks import attacks, write_submission

        for attack in attacks():
            if attack.student in TAMPERING:
                write_submission(course, attack)
                tampering.append(attack.student)
    return course, tampering


def totals(course: Course, students: list[str]) -> dict[str, float]:
    grades = collect_grades(course.db_url, students).by_student()
    return {s: round(grades[s].total, 6) for s in students if s in grades}


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min) on {os.cpu_count()} cores"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=19,
                        help="students of the sample class (default 19)")
    parser.add_argument("--no-tamper", action="store_true",
                        help="leave out the tampering submissions")
    parser.add_argument("--workers", type=int, default=default_workers(),
                        help="local workers (default: the pipeline's, one per core)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="cs230-bench-") as tmp:
        stock, tampering = build_course(Path(tmp) / "stock", args.students, not args.no_tamper,
                                        stock=True)
        ours, _ = build_course(Path(tmp) / "pipeline", args.students, not args.no_tamper)
        students = sorted(p.name for p in stock.submitted_root.iterdir())
        n_notebooks = len(students) * len(NOTEBOOKS)
        print(f"class: {len(students)} students ({len(tampering)} tampering) x "
              f"{len(NOTEBOOKS)} notebooks = {n_notebooks} notebooks; "
              f"{args.workers} workers on {os.cpu_count()} cores")
        print(f"before: {load()}", flush=True)

        start = time.perf_counter()
        stock.autograde(check=False)  # a failed notebook is a score, not the end of the run
        stock.nbgrader("generate_feedback", ASSIGNMENT, "--force", check=False)
        t_stock = time.perf_counter() - start
        print(f"stock serial nbgrader autograde + generate_feedback: {t_stock:7.1f} s  "
              f"({n_notebooks / t_stock:.2f} notebooks/s)", flush=True)

        start = time.perf_counter()
        result = run_pipeline(ours.root, workers=args.workers, progress=False,
                              out=io.StringIO())
        t_ours = time.perf_counter() - start
        print(f"cs230-grade run (sandbox, scoring outside the kernel, feedback): {t_ours:7.1f} s  "
              f"({n_notebooks / t_ours:.2f} notebooks/s)")
        print(f"after: {load()}")
        print(f"ratio stock/pipeline: {t_stock / t_ours:.2f}x")

        honest = [s for s in students if s not in tampering]
        a, b = totals(stock, honest), totals(ours, honest)
        mismatched = [s for s in honest if a.get(s) != b.get(s)]
        print(f"totals identical for the {len(honest)} students who do not tamper: "
              f"{not mismatched}" + (f" (differ: {[(s, a.get(s), b.get(s)) for s in mismatched]})"
                                     if mismatched else ""))
        for s in tampering:
            print(f"  tampering {s}: stock {a.get(s, totals(stock, [s]).get(s))}, "
                  f"pipeline {totals(ours, [s]).get(s)}")
        failed = sorted(set(students) - set(result.graded))
        if failed:
            print(f"not graded by the pipeline: {failed}")

        print()
        print("pipeline, seconds per student on its worker (driver_write on the driver):")
        head = " ".join(f"{p:>12}" for p in PHASES)
        print(f"{'student':<24}{head} {'total':>8}")
        rows = result.timings
        for s in sorted(rows):
            cells = " ".join(f"{rows[s].get(p, 0.0):12.2f}" for p in PHASES)
            print(f"{s:<24}{cells} {sum(rows[s].values()):8.2f}")
        if rows:
            mean = {p: sum(r.get(p, 0.0) for r in rows.values()) / len(rows) for p in PHASES}
            cells = " ".join(f"{mean[p]:12.2f}" for p in PHASES)
            print(f"{'mean':<24}{cells} {sum(mean.values()):8.2f}")
            print(f"stock nbgrader, mean per student (one process): {t_stock / len(students):.2f}")
        return 1 if mismatched or failed else 0


if __name__ == "__main__":
    sys.exit(main())
