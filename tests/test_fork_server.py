"""The sandboxed fork server (cs230_grading/sandbox/forkserver.py, zygote.py).

Every notebook must still run in a fresh process inside the sandbox with nothing shared
between two notebooks: processes a notebook started are killed and what it wrote in ``/tmp``
or its run folder is gone before the next kernel is forked; a kernel cannot signal, trace or
read the zygote; when the zygote dies the next notebook still runs.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from cs230_grading.sandbox import effective_mode, forkserver
from cs230_grading.sandbox.kernel import SandboxedExecute

pytestmark = pytest.mark.skipif(effective_mode() != "bwrap",
                                reason="the fork server runs under bubblewrap only")

LEAVE_TRACES = r"""
import os, subprocess, sys
child = subprocess.Popen(["sleep", "300"])
open("/tmp/left-behind", "w").write("secret of notebook A")
open(os.path.join(os.environ.get("HOME", "/tmp"), ".left-in-home"), "w").write("x")
print(os.getpid(), os.getppid(), child.pid)
"""
LOOK_AROUND = r"""
import os
others = []
for pid in (p for p in os.listdir("/proc") if p.isdigit()):
    try:
        argv = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    if argv and argv[0].endswith(b"sleep"):
        others.append(b" ".join(argv).decode())
print(sorted(os.listdir("/tmp")), others, os.getpid(), os.getppid())
"""
PROBE_PARENT = r"""
import os
found = []
for probe in ("kill", "mem", "fd"):
    try:
        if probe == "kill":
            os.kill(os.getppid(), 0)
        elif probe == "mem":
            open(f"/proc/{os.getppid()}/mem", "rb").read(1)
        else:
            os.listdir(f"/proc/{os.getppid()}/fd")
        found.append(probe + ":allowed")
    except OSError as exc:
        found.append(probe + ":" + type(exc).__name__)
print(" ".join(found), os.getuid())
"""


def _run(folder: Path, *sources: str) -> list[str]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    out, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(folder)}})
    return ["".join(str(o.get("text", o.get("evalue", ""))) for o in cell.outputs)
            for cell in out.cells]


@pytest.fixture
def served(tmp_path: Path):
    folder = tmp_path / "autograded"
    notebook_dir = folder / "student" / "midterm"
    notebook_dir.mkdir(parents=True)
    forkserver.serve_under(folder)
    try:
        yield notebook_dir
    finally:
        forkserver.serve_under(None)


def test_nothing_a_notebook_leaves_reaches_the_next(served: Path) -> None:
    first = _run(served, LEAVE_TRACES)[0].split()
    server = forkserver.current_server()
    assert server is not None and server.alive, "the kernel did not start from the fork server"
    pid, parent = int(first[0]), int(first[1])
    assert parent != 1, "a forked kernel's parent is the zygote, not the sandbox's init"
    second = _run(served, LOOK_AROUND)[0]
    listing, _, rest = second.partition("] ")
    assert "left-behind" not in listing and ".left-in-home" not in listing, (
        f"/tmp of the previous notebook survived: {listing}]")
    assert rest.startswith("[]"), f"a process of the previous notebook survived: {rest}"
    assert int(rest.split()[-2]) != pid, "the second notebook reused the first one's process"
    assert forkserver.current_server() is server, "the zygote was restarted between notebooks"


def test_each_kernel_draws_its_own_random_numbers(served: Path) -> None:
    """The zygote imports what kernels share, never a generator seeded at import: two
    notebooks that draw without a seed get different numbers, as two fresh processes do."""
    draw = "import random, numpy as np\nprint(np.random.rand(), random.random())"
    first, second = _run(served, draw)[0], _run(served, draw)[0]
    assert forkserver.current_server() is not None, "the kernels were not forked"
    np_a, py_a = first.split()
    np_b, py_b = second.split()
    assert np_a != np_b, "two kernels drew the same NumPy numbers: the zygote seeded them"
    assert py_a != py_b, "two kernels drew the same random.random(): the zygote seeded them"


def test_a_kernel_cannot_reach_the_zygote(served: Path) -> None:
    probes, uid = _run(served, PROBE_PARENT)[0].rsplit(" ", 1)
    assert "allowed" not in probes, f"the kernel reached the zygote: {probes}"
    if os.geteuid() == 0:  # the zygote keeps root; every kernel is dropped to its own uid
        assert int(uid) != 0


def test_a_dead_zygote_costs_no_notebook(served: Path) -> None:
    assert _run(served, "print(6 * 7)") == ["42\n"]
    server = forkserver.current_server()
    assert server is not None
    server.proc.kill()
    server.proc.wait()
    assert _run(served, "print(6 * 7)") == ["42\n"]  # started the ordinary way
    assert _run(served, "print(6 * 7)") == ["42\n"]  # and then from a new zygote
    assert forkserver.current_server() is not server


def test_a_notebook_that_kills_everything_it_can_is_graded_alone(served: Path) -> None:
    outputs = _run(served, "import os, signal\nos.kill(-1, signal.SIGKILL)\nprint('alive')",
                   "print('still here')")
    if os.geteuid() == 0:  # the zygote is out of the kernel's reach: only the kernel is left
        assert outputs == ["alive\n", "still here\n"]
    assert _run(served, "print('next notebook')") == ["next notebook\n"]


def test_only_the_served_folder_uses_the_fork_server(tmp_path: Path, served: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    parent = int(_run(elsewhere, "import os; print(os.getppid())")[0])
    assert parent == 1, "a kernel outside the served folder must start in its own sandbox"


def test_the_scoring_runner_is_forked_without_the_kit(served: Path) -> None:
    from cs230_grading.grading.student_process import StudentProcess
    from cs230_grading.sandbox.runner import decode

    def value(reply: dict, name: str) -> object:
        return decode(reply["names"][name]["value"])

    first = StudentProcess(served, served.parents[1], timeout=30)
    try:
        code = ("import os, subprocess, sys\n"
                "try:\n    import cs230_grading\n    kit = True\n"
                "except ImportError:\n    kit = False\n"
                "numpy_preloaded = 'numpy' in sys.modules\n"
                "child = subprocess.Popen(['sleep', '300']).pid\n"
                "open('/tmp/runner-trace', 'w').write('x')\n")
        assert first.request({"op": "exec", "source": code, "file": "c1"}, 30)["status"] == "ok"
        names = first.request({"op": "names"}, 30)
        assert isinstance(first.proc, forkserver.ForkedProcess), "the runner was not forked"
        assert value(names, "kit") is False, "the runner can import the grading kit"
        assert value(names, "numpy_preloaded") is True
    finally:
        first.stop()
    second = StudentProcess(served, served.parents[1], timeout=30)
    try:
        look = ("import os\ntrace = os.path.exists('/tmp/runner-trace')\n"
                "sleeping = [p for p in os.listdir('/proc') if p.isdigit() and "
                "open(f'/proc/{p}/cmdline', 'rb').read().startswith(b'sleep')]\n")
        assert second.request({"op": "exec", "source": look, "file": "c2"}, 30)["status"] == "ok"
        names = second.request({"op": "names"}, 30)
        assert value(names, "trace") is False and value(names, "sleeping") == []
    finally:
        second.stop()


def test_run_folders_of_dead_workers_are_swept(tmp_path: Path, monkeypatch) -> None:
    import subprocess
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.Popen(["true"])  # a process id that is no longer alive
    gone.wait()
    dead = tmp_path / f"cs230-fork-kernel-{gone.pid}-abc"
    (dead / "cs230-kernel-x").mkdir(parents=True)
    alive = tmp_path / f"cs230-fork-runner-{os.getpid()}-abc"
    alive.mkdir()
    folder = tmp_path / "autograded"
    folder.mkdir()
    forkserver.serve_under(folder)
    try:
        made = {forkserver.current_rundir(kind) for kind in forkserver.KINDS}
        assert not dead.exists() and alive.exists()
        assert all(p is not None and p.parent == tmp_path and f"-{os.getpid()}-" in p.name
                   for p in made)
    finally:
        forkserver.serve_under(None)
    assert not any(p.exists() for p in made if p is not None)
