"""The central gradebook on a real PostgreSQL server.

On the session's throw-away PostgreSQL server (``postgres_server`` in conftest.py),
grades a small class into it on a LocalCluster, and checks that
the gradebook equals the one serial ``nbgrader autograde`` writes to SQLite.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from cs230_grading.course import Course
from cs230_grading.grading.driver import grade_class
from cs230_grading.grading.record import gradebook_snapshot, read_ledger
from cs230_grading.intake import stage_submissions
from cs230_grading.results import collect_grades
from cs230_grading.samples import sample_plan, write_sample_class

CLASS = ("sample-blank", "sample-partial")  # "No response." comments; scores, manual items


@pytest.fixture(scope="module")
def postgres_url(postgres_server) -> str:
    """An empty database on the session's throw-away PostgreSQL server."""
    return postgres_server.create_database("cs230")


@pytest.mark.slow  # 85 s, outside CI; test_secrets.py uses the PostgreSQL server in CI
def test_postgres_gradebook_equals_serial_sqlite(postgres_url: str, tmp_path: Path) -> None:
    lite = Course.scratch(tmp_path / "sqlite")
    lite.generate_assignment()
    write_sample_class(lite.root, {k: v for k, v in sample_plan().items() if k in CLASS})
    shutil.copytree(lite.root, tmp_path / "pg")
    (tmp_path / "pg" / "gradebook.db").unlink()
    pg = Course(tmp_path / "pg", db_url=postgres_url)
    pg.generate_assignment()  # the assignment's rows, in PostgreSQL
    stage_submissions(pg.root, pg.source_dir)

    lite.autograde()
    run = grade_class(pg, list(CLASS), workers=2, progress=False, out=io.StringIO())
    assert sorted(run.graded) == sorted(CLASS), run.results

    assert gradebook_snapshot(postgres_url) == gradebook_snapshot(lite.db_url)
    assert collect_grades(postgres_url, list(CLASS)) == collect_grades(lite.db_url, list(CLASS))
    ledger = read_ledger(postgres_url)
    assert {s: (r["status"], r["writes"]) for s, r in ledger.items()} == dict.fromkeys(
        CLASS, ("graded", 1))
    assert not (pg.root / "gradebook.db").exists()  # nothing went to an SQLite file

    again = grade_class(pg, list(CLASS), workers=2, progress=False, out=io.StringIO())
    assert sorted(again.skipped) == sorted(CLASS) and not again.graded
