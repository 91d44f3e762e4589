"""Fixtures shared by the whole suite.

``newcomer_env`` is the environment of a newcomer's shell on a fresh machine: an empty
``HOME``, ``LANG`` and the system's bare ``PATH``, with nothing activated. Tests that start
the kit's entry points (``.venv/bin/cs230-grade``, ``.venv/bin/jupyter lab`` ...) start them
with it, so that a tool found only through the developer's ``PATH`` (or a file under their
``HOME``) cannot stand in for a missing install step. The suite's own process cannot show
that: importing :mod:`cs230_grading` puts ``.venv/bin`` first on its ``PATH``.
"""

from __future__ import annotations

import os
import sys
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
