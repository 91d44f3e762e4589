"""The central gradebook on a real PostgreSQL server.

Starts Debian's PostgreSQL in its own data folder, listening only on 127.0.0.1
on a free port (as the ``postgres`` user when the tests run as root: the server
refuses root), grades a small class into it on a LocalCluster, and checks that
the gradebook equals the one serial ``nbgrader autograde`` writes to SQLite.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from cs230_grading.course import Course
from cs230_grading.distributed import grade_class, gradebook_snapshot, read_ledger
from cs230_grading.intake import stage_submissions
from cs230_grading.results import collect_grades
from cs230_grading.samples import sample_plan, write_sample_class

CLASS = ("sample-blank", "sample-partial")  # "No response." comments; scores, manual items
PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


@pytest.fixture(autouse=True)
def _nbgrader_only(monkeypatch) -> None:
    """Compare with plain nbgrader: the out-of-kernel pass (issue 8) is tested on its own."""
    monkeypatch.setenv("CS230_SECOND_PASS", "0")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL server; yields the SQLAlchemy URL of an empty database."""
    if not PG_BINS:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                    "(Debian package `postgresql`)")
    psycopg2 = pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL driver) missing")
    bin_dir = PG_BINS[-1].parent
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start postgres as its own user")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="cs230-pg-"))
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()

    def pg(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True,
                       timeout=120)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres",
           "-E", "UTF8", "--no-sync")
        pg(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "server.log"),
           "-w", "-t", "90", "-o",
           f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off", "start")
        conn = psycopg2.connect(host="127.0.0.1", port=port, user="postgres",
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("CREATE DATABASE cs230")
        conn.close()
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/cs230"
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(data, ignore_errors=True)


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
