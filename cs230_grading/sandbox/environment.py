"""The whole environment of a process that runs student code: an allow-list.

A grading kernel, the student half of the scoring pass and ``cs230-selfgrade``'s
kernels start from this list, never from the grader's environment: whatever a student's
code prints (``os.environ``, ``/proc/self/environ``) ends up in the autograded notebook and
the feedback that students receive, so the gradebook URL (with a PostgreSQL password), the
instructor's tokens and every other variable of their shell must never be there.

:data:`STUDENT_ENVIRONMENT` is the list, each entry with why it is needed. An entry's value
is either fixed (a string) or :data:`COPIED` from the grading process when set there.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ..toolpath import interpreter_bin

#: Marks an entry whose value is copied from the grading process (when it has one).
COPIED = None
#: Folders on PATH after the interpreter's own: the system's, never the grader's PATH.
SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"
STUDENT_ENVIRONMENT: dict[str, str | None] = {
    # The kit's interpreter first (ipykernel, and tools a notebook runs by name, come from the
    # same installation), then the system's folders; the grader's own PATH may name private
    # folders and is not copied.
    "PATH": f"{interpreter_bin()}{os.pathsep}{SYSTEM_PATH}",
    # Inside the sandbox's private /tmp: the grader's home (dotfiles, credentials) is not
    # the student's to read, and Python, IPython and matplotlib write their caches under HOME.
    "HOME": "/tmp",
    "MPLCONFIGDIR": "/tmp/matplotlib",
    "IPYTHONDIR": "/tmp/ipython",
    # Text encoding of what the kernel prints; copied when the grader sets them.
    "LANG": COPIED,
    "LC_ALL": COPIED,
    "TZ": COPIED,
    # Plots render to PNG with no display.
    "MPLBACKEND": "Agg",
    # Set by nbgrader while it autogrades or validates: the notebooks' explorers and demos
    # skip their drawing and training under grading.
    "NBGRADER_EXECUTION": COPIED,
    "NBGRADER_VALIDATING": COPIED,
    # One thread per kernel: the grading workers already use every core.
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    # On some processors OpenBLAS computes wrong results or crashes unless told the core type.
    "OPENBLAS_CORETYPE": COPIED,
    "OPENBLAS_L2_SIZE": COPIED,
    # Keep two harmless start-up warnings (ipykernel's debugger, jupyter_core's platform
    # folders) out of the first cell's output.
    "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    "JUPYTER_PLATFORM_DIRS": "1",
}


def student_environment(grader: Mapping[str, str] | None = None,
                        **overrides: str) -> dict[str, str]:
    """The environment for a process that runs student code, and nothing more.

    ``grader`` is the grading process's environment (default: ``os.environ``); only the
    entries :data:`STUDENT_ENVIRONMENT` marks as copied are read from it.
    """
    grader = os.environ if grader is None else grader
    env: dict[str, str] = {}
    for name, value in STUDENT_ENVIRONMENT.items():
        if value is not COPIED:
            env[name] = value
        elif grader.get(name):
            env[name] = grader[name]
    env.setdefault("LANG", "C.UTF-8")
    for name, value in overrides.items():
        if name not in STUDENT_ENVIRONMENT:
            raise KeyError(f"{name} is not on the student environment's allow-list")
        env[name] = value
    return env
