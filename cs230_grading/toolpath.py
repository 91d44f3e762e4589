"""This interpreter's own tools first on ``PATH``, for every process the kit starts.

nbgrader looks up command-line tools by name: its gradebook runs ``alembic`` as a
subprocess when it creates a database, and ``nbgrader db upgrade`` does the same. When the
kit runs as ``.venv/bin/cs230-grade`` (or ``.venv/bin/nbgrader``, ``.venv/bin/jupyter lab``)
without the environment being activated, ``PATH`` holds only the system's folders, and
those tools are not found, or worse, a different installation's copies are.

:func:`use_interpreter_tools` puts the folder where this interpreter's console scripts live
(``.venv/bin``, a conda env's ``bin``) first on ``PATH`` of the current process, so every
subprocess started afterwards (nbgrader's ``alembic``, kernels, Dask workers, the
scoring pass) finds the same installation. It runs when :mod:`cs230_grading` is imported,
and ``nbgrader_config.py`` calls it too, which covers every nbgrader app and the Jupyter
server extensions (formgrader, Validate) that load the course's configuration.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from collections.abc import MutableMapping
from pathlib import Path


def interpreter_bin() -> Path:
    """The folder holding this interpreter's console scripts (``alembic``, ``nbgrader``...)."""
    scripts = sysconfig.get_path("scripts")
    return Path(scripts) if scripts else Path(sys.executable).parent


def with_interpreter_bin(path: str | None) -> str:
    """``path`` (a ``PATH`` value) with :func:`interpreter_bin` first, listed once."""
    first = str(interpreter_bin())
    rest = [p for p in (path or "").split(os.pathsep) if p and p != first]
    if not rest and not path:
        rest = os.defpath.split(os.pathsep)
    return os.pathsep.join([first, *rest])


def use_interpreter_tools(env: MutableMapping[str, str] | None = None) -> None:
    """Put this interpreter's ``bin`` folder first on ``env['PATH']`` (default: ours)."""
    target = os.environ if env is None else env
    target["PATH"] = with_interpreter_bin(target.get("PATH"))
