"""Fixtures shared by the whole suite.

``newcomer_env`` is the environment of a newcomer's shell on a fresh machine: an empty
``HOME``, ``LANG`` and the system's bare ``PATH``, with nothing activated. Tests that start
the kit's entry points (``.venv/bin/cs230-grade``, ``.venv/bin/jupyter lab`` ...) start them
with it, so that a tool found only through the developer's ``PATH`` (or a file under their
``HOME``) cannot stand in for a missing install step. The suite's own process cannot show
that: importing :mod:`cs230_grading` puts ``.venv/bin`` first on its ``PATH``.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The PATH of a login shell on a fresh Debian machine, with nothing activated.
BARE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="session")
def venv_bin() -> Path:
    """The folder of the interpreter running the suite (``.venv/bin``): the entry points."""
    return Path(sys.executable).parent


@pytest.fixture(scope="session")
def newcomer_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """``env -i HOME=<empty> LANG=C.UTF-8 PATH=<bare>`` (plus ``CI`` when set)."""
    env = {"HOME": str(tmp_path_factory.mktemp("newcomer-home")), "LANG": "C.UTF-8",
           "PATH": BARE_PATH}
    if "CI" in os.environ:
        env["CI"] = os.environ["CI"]
    return env


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    """On CI a skipped test fails: CI installs everything, so a skip means a missing step."""
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = (f"skipped on CI ({reason}): .ci/run installs everything the suite "
                           "needs, so a skip here means an install step is missing")


@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """pytest-xdist (``-n 2``, set in pyproject.toml) hands out whole test files.

    A file's tests run on one worker, in their order, so a module's fixture (a graded class)
    is built once; the browser files are one unit, so one JupyterLab and one Chromium serve
    them all. (``--dist loadgroup`` would do this with marks, but pytest 9.2's node ids no
    longer take the group suffix that xdist 3.8 adds, so each test went its own way.)
    """
    from xdist.scheduler import LoadScopeScheduling

    class WholeFiles(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return "tests/browser" if path.startswith("tests/browser/") else path

    return WholeFiles(config, log)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclasses.dataclass
class PostgresServer:
    """A throw-away PostgreSQL server on 127.0.0.1 (trust authentication)."""

    port: int

    def create_database(self, name: str, *, password: str | None = None) -> str:
        """Create database ``name``; its SQLAlchemy URL (with ``password`` in it, if given).

        The server trusts local connections, so a password in the URL is accepted and
        ignored: what it tests is that the URL's password goes nowhere it should not.
        """
        import psycopg2

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres",
                                dbname="postgres")
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        auth = f"postgres:{password}" if password else "postgres"
        return f"postgresql+psycopg2://{auth}@127.0.0.1:{self.port}/{name}"


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Debian's PostgreSQL in its own data folder, listening only on 127.0.0.1 on a free
    port (as the ``postgres`` user when the tests run as root: the server refuses root)."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        pytest.skip("PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin "
                    "(Debian package `postgresql`)")
    pytest.importorskip("psycopg2", reason="psycopg2 (PostgreSQL driver) missing")
    bin_dir = bins[-1].parent
    as_root = os.geteuid() == 0
    if as_root and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: cannot start postgres as its own user")
    prefix = ["runuser", "-u", "postgres", "--"] if as_root else []
    data = Path(tempfile.mkdtemp(prefix="cs230-pg-"))
    if as_root:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()

    def pg(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, text=True,
                       timeout=120)

    try:
        pg(str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres",
           "-E", "UTF8", "--no-sync")
        pg(str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-l", str(data / "server.log"),
           "-w", "-t", "90", "-o",
           f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off", "start")
        yield PostgresServer(port)
    finally:
        subprocess.run([*prefix, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast",
                        "-w", "stop"], capture_output=True, timeout=120, check=False)
        shutil.rmtree(data, ignore_errors=True)
