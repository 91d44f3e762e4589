"""The sandbox holds what a container holds (issue 31).

Clean-up that a student cannot defeat (a 10,000-level tree, files without permissions, a
FIFO, a socket), the seccomp filter and the user namespace of every forked kernel, sandbox
uids that cannot collide, every byte counted against the output cap, and bad metadata that
is a finding rather than a crash. ``test_attacks_in_one_run`` grades each attack as a
submission in one pipeline run, with honest students graded after it on the same worker,
then runs the pipeline again on the same machine.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from cs230_grading import folders
from cs230_grading.sandbox import (
    Limits,
    effective_mode,
    forkserver,
    identity,
    removal,
    seccomp,
    userns_works,
    wrap_command,
)
from cs230_grading.sandbox.outputs import OUTPUT_CUT, fit_notebook

BWRAP = pytest.mark.skipif(effective_mode() != "bwrap", reason="needs bubblewrap")
FAST = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())


# --- clean-up that cannot be defeated -------------------------------------------------------
def _deep_tree(top: Path, depth: int) -> None:
    """``top/d/d/.../d`` ``depth`` levels deep, with what a student could leave at the
    bottom: a FIFO, a socket, a file and a folder without any permission."""
    top.mkdir()
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.mkfifo("fifo", dir_fd=fd)
        os.close(os.open("locked-file", os.O_CREAT | os.O_WRONLY, 0, dir_fd=fd))
        os.mkdir("locked-dir", dir_fd=fd)
        os.close(os.open("locked-dir/x", os.O_CREAT | os.O_WRONLY, 0o600, dir_fd=fd))
        os.chmod("locked-dir", 0, dir_fd=fd)
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(f"/proc/self/fd/{fd}/socket")
        os.chmod(f"/proc/self/fd/{fd}", 0o500)  # no write: its entries cannot be unlinked
    finally:
        os.close(fd)


@pytest.fixture
def fast_tmp() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="cs230-test-removal-", dir=FAST))
    yield folder
    removal.remove_tree(folder)


def test_a_10000_level_tree_with_fifos_sockets_and_no_permissions_is_removed(fast_tmp):
    tree = fast_tmp / "run-folder"
    _deep_tree(tree, 10_000)
    lines: list[str] = []
    assert removal.remove_tree(tree, report=lines.append) is True
    assert not tree.exists() and lines == []
    assert os.listdir(fast_tmp) == []  # nothing moved aside either


def test_removal_holds_one_folder_open_at_a_time(fast_tmp):
    """A sandbox allows 256 open files; the tree is deeper than that (as in the zygote)."""
    tree = fast_tmp / "deep"
    _deep_tree(tree, 1_500)
    code = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_NOFILE, (32, 32))\n"
            "from cs230_grading.sandbox.removal import remove_tree\n"
            "sys.exit(0 if remove_tree(sys.argv[1]) else 1)")
    proc = subprocess.run([sys.executable, "-c", code, str(tree)], capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr
    assert not tree.exists() and os.listdir(fast_tmp) == []


def test_shutil_rmtree_is_what_failed(fast_tmp):
    """The baseline of the issue: the standard library's removal gives up on such a tree."""
    tree = fast_tmp / "deep"
    _deep_tree(tree, 1_500)
    with pytest.raises((RecursionError, OSError)):
        shutil.rmtree(tree)
    assert tree.exists()
    assert removal.remove_tree(tree)


def test_what_cannot_be_removed_is_moved_aside_and_reported(fast_tmp, monkeypatch):
    tree = fast_tmp / "run"
    (tree / "stuck").mkdir(parents=True)
    (tree / "stuck" / "f").write_text("x")
    (tree / "other").write_text("y")
    real_rmdir = os.rmdir

    def busy(path, *, dir_fd=None):
        if path == "stuck":
            raise OSError(errno.EBUSY, "Device or resource busy")
        return real_rmdir(path, dir_fd=dir_fd)

    monkeypatch.setattr(removal.os, "rmdir", busy)
    lines: list[str] = []
    assert removal.remove_tree(tree, report=lines.append) is False
    assert not tree.exists(), "the name must be free for the next run"
    aside = [p for p in fast_tmp.iterdir() if p.name.startswith(removal.UNREMOVABLE)]
    assert len(aside) == 1 and sorted(os.listdir(aside[0])) == ["stuck"]
    assert not (aside[0] / "stuck" / "f").exists(), "one failure must not stop the rest"
    assert len(lines) == 1 and "stuck" in lines[0] and str(aside[0]) in lines[0]


def test_remove_tree_never_raises(tmp_path):
    assert removal.remove_tree(tmp_path / "missing") is True
    link = tmp_path / "link"
    link.symlink_to("/etc")
    assert removal.remove_tree(link) is True and Path("/etc").is_dir()
    assert removal.remove_tree("\0bad") is False  # not even a valid path


def test_a_live_owner_keeps_its_folder_whatever_its_pid(tmp_path):
    """Folders are claimed by a lock, not a process id: a process of another container
    (a pid this one cannot see) keeps its folder, a dead owner's is swept."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys\nfrom pathlib import Path\n"
         "from cs230_grading.folders import claimed_folder\n"
         "f = claimed_folder(Path(sys.argv[1]), 'cs230-worker-999999999-')\n"
         "print(f, flush=True)\nsys.stdin.read()", str(tmp_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        theirs = Path(holder.stdout.readline().strip())
        assert theirs.is_dir()
        assert folders.sweep_dead_owners(tmp_path, "cs230-worker-") == 0
        assert theirs.is_dir(), "a live worker's folder was swept (its pid is not visible)"
    finally:
        holder.stdin.close()
        holder.wait()
    assert folders.sweep_dead_owners(tmp_path, "cs230-worker-") == 1
    assert os.listdir(tmp_path) == []  # the folder and its lock


def test_claimed_folder_round_trip(tmp_path):
    mine = folders.claimed_folder(tmp_path, f"cs230-worker-{os.getpid()}-")
    (mine / "x").mkdir()
    assert folders.sweep_dead_owners(tmp_path, "cs230-worker-") == 0
    assert folders.release_claim(mine) is True
    assert os.listdir(tmp_path) == []


# --- unique identities ------------------------------------------------------------------------
_CLAIM = ("import sys\nfrom cs230_grading.sandbox import identity\n"
          "print(identity.claimed_uid('kernel'), flush=True)\nsys.stdin.read()")


def test_two_workers_never_share_a_sandbox_uid(monkeypatch):
    """Two processes that draw the same random uid: the second one's claim fails on the
    first one's lock, and it draws again."""
    first = subprocess.Popen([sys.executable, "-c", _CLAIM], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        taken = int(first.stdout.readline())
        assert identity.UID_FLOOR["kernel"] <= taken < identity.UID_FLOOR["kernel"] + \
            identity.UID_RANGE
        draws = iter([taken - identity.UID_FLOOR["kernel"], 12345])
        monkeypatch.setattr(identity.secrets, "randbelow", lambda _n: next(draws))
        monkeypatch.setattr(identity, "_CLAIMED", {})
        mine = identity.claimed_uid("kernel")
        assert mine == identity.UID_FLOOR["kernel"] + 12345 != taken
        assert identity.claimed_uid("kernel") == mine  # kept for the life of the process
    finally:
        first.stdin.close()
        first.wait()


# --- seccomp and user namespaces --------------------------------------------------------------
def test_the_filter_is_built_for_each_known_architecture():
    for machine, (audit, numbers) in seccomp.ARCHES.items():
        code = seccomp.program(machine)
        assert code is not None and len(code) % 8 == 0
        assert len(code) // 8 < 4096  # the kernel's limit on a classic BPF program
        # the first instruction loads the architecture, the second compares it
        assert code[:2] == bytes([0x20, 0]) and int.from_bytes(code[12:16], "little") == audit
        assert {"add_key", "keyctl", "request_key", "ptrace", "bpf", "unshare"} <= set(numbers)
    assert seccomp.program("sparc64") is None


PROBE_CALLS = r"""
import ctypes, os, platform, subprocess, threading
NR = {"x86_64": {"add_key": 248, "keyctl": 250, "ptrace": 101, "bpf": 321, "unshare": 272,
                 "userfaultfd": 323},
      "aarch64": {"add_key": 217, "keyctl": 219, "ptrace": 117, "bpf": 280, "unshare": 97,
                  "userfaultfd": 282}}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)
found = []
args = {"add_key": (b"user", b"cs230-probe", b"x", 1, -4), "keyctl": (0, -4, 0, 0, 0),
        "ptrace": (16, 1, 0, 0), "bpf": (0, 0, 0), "unshare": (0x20000,), "userfaultfd": (0,)}
for name, nr in NR.items():
    ctypes.set_errno(0)
    r = libc.syscall(nr, *args[name])
    found.append(f"{name}={'EPERM' if r == -1 and ctypes.get_errno() == 1 else 'allowed'}")
pid = os.fork()
if pid == 0:
    os._exit(7)
found.append(f"fork={os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])}")
found.append("subprocess=" + subprocess.run(["echo", "ok"], capture_output=True,
                                            text=True).stdout.strip())
t = threading.Thread(target=lambda: found.append("thread=ok")); t.start(); t.join()
found.append("uid_map=" + "_".join(open("/proc/self/uid_map").read().split()))
print(" ".join(found))
"""
DENIED = {"add_key", "keyctl", "ptrace", "bpf", "unshare", "userfaultfd"}


def _run(folder: Path, *sources: str) -> list[str]:
    from cs230_grading.sandbox.kernel import SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [new_code_cell(s) for s in sources]
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


def _parse(line: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in line.split())


@BWRAP
@pytest.mark.skipif(platform.machine() not in seccomp.ARCHES, reason="no filter here")
def test_a_forked_kernel_runs_filtered_in_its_own_user_namespace(served):
    assert seccomp.available(), "bwrap could not load the seccomp filter on this machine"
    got = _parse(_run(served, PROBE_CALLS)[0])
    assert forkserver.current_server() is not None, "the kernel did not come from the zygote"
    assert {k for k, v in got.items() if v == "EPERM"} == DENIED, got
    assert got["fork"] == "7" and got["subprocess"] == "ok" and got["thread"] == "ok", got
    if userns_works():  # its own namespace maps its uid alone, not the host's 0..2**32
        start, _, count = got["uid_map"].split("_")
        assert count == "1" and start == str(os.getuid() if os.geteuid() else
                                             forkserver.current_server().uid)


@BWRAP
@pytest.mark.skipif(platform.machine() not in seccomp.ARCHES, reason="no filter here")
def test_every_bwrap_sandbox_loads_the_filter(tmp_path):
    script = tmp_path / "probe.py"
    script.write_text(PROBE_CALLS)
    tmp_path.chmod(0o755)  # readable by the sandbox's unprivileged uid
    cmd = wrap_command([sys.executable, str(script)], kind="runner", cwd=tmp_path,
                       readable=[tmp_path])
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    got = _parse(proc.stdout.strip())
    assert {k for k, v in got.items() if v == "EPERM"} == DENIED, (got, proc.stderr)


PIPE_ON_9 = r"""
import json, os, sys
from pathlib import Path
from cs230_grading.grading.student_process import StudentProcess

folder = Path(sys.argv[1])
warm = StudentProcess(folder, folder.parent, timeout=30)  # the one-time probes' pipes first
warm.start()
warm.request({"op": "ping"}, 30)
warm.stop()
held = []
while True:  # occupy every descriptor below 9: the runner's next pipe is on 9
    fd = os.open(os.devnull, os.O_RDONLY)
    if fd >= 9:
        os.close(fd)
        break
    held.append(fd)
pipes = []
real_pipe = os.pipe
os.pipe = lambda: pipes.append(real_pipe()) or pipes[-1]
process = StudentProcess(folder, folder.parent, timeout=30)
process.start()
try:
    reply = process.request({"op": "ping"}, 30)
except Exception as exc:
    reply = {"failed": str(exc), "why": process.exit_description()}
process.stop()
print(json.dumps({"pipes": pipes, "reply": reply}))
"""


@BWRAP
@pytest.mark.skipif(platform.machine() not in seccomp.ARCHES, reason="no filter here")
def test_the_filter_never_takes_a_descriptor_the_runner_is_handed(tmp_path):
    """The shell opens the seccomp filter for bwrap on a descriptor (9): when the scoring
    runner's pipe was 9 too, the runner lost it, and every part of the notebook scored 0
    ("the student process exited with status 1"). Run in a fresh process, where the pipe
    can be made to land on 9."""
    folder = tmp_path / "autograded" / "student" / "midterm"
    folder.mkdir(parents=True)
    tmp_path.chmod(0o755)
    proc = subprocess.run([sys.executable, "-c", PIPE_ON_9, str(folder)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert 9 in got["pipes"][0], f"the case did not happen: the pipes were {got['pipes']}"
    assert got["reply"].get("ename") == "WireError", got["reply"]  # it answered: pipes intact


@BWRAP
def test_a_key_one_notebook_plants_never_reaches_the_next(served, monkeypatch):
    """With the filter switched off, the user namespace alone keeps keyrings apart."""
    if not userns_works():
        pytest.skip("no user namespaces here: the seccomp filter alone closes keyrings")
    monkeypatch.setenv("CS230_SECCOMP", "0")
    plant = ("import ctypes, platform\nnr = {'x86_64': 248, 'aarch64': 217}[platform.machine()]\n"
             "r = ctypes.CDLL(None, use_errno=True).syscall(nr, b'user', b'cs230-planted', "
             "b'secret', 6, -4)\nprint('planted' if r > 0 else 'refused')")
    look = "print('cs230-planted' in open('/proc/keys').read())"
    assert _run(served, plant) == ["planted\n"]  # the attack works inside its own namespace
    assert _run(served, look) == ["False\n"]


# --- every byte counts against the output cap -------------------------------------------------
DISPLAY_ATTACK = """
h = display({'text/plain': 'x'}, raw=True, display_id=True)
h.update({'text/plain': 'A' * 30_000_000}, raw=True)
h.update({'text/plain': 'A' * 30_000_000}, raw=True)
"""
METADATA_ATTACK = """
display({'text/plain': 'x'}, raw=True, metadata={'junk': 'M' * 30_000_000})
"""


@BWRAP
@pytest.mark.parametrize("attack", [DISPLAY_ATTACK, METADATA_ATTACK], ids=["update", "metadata"])
def test_display_updates_and_metadata_count_against_the_cap(served, attack):
    from cs230_grading.sandbox.kernel import SandboxedExecute

    nb = nbformat.v4.new_notebook()
    nb.cells = [new_code_cell(attack), new_code_cell("print('next cell')")]
    out, _ = SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(served)}})
    size = len(nbformat.writes(out))
    assert size < Limits().output_bytes + 100_000, size
    assert any(OUTPUT_CUT in str(o.get("text", "")) for o in out.cells[0].outputs)
    assert out.cells[1].outputs[0]["text"] == "next cell\n"


def test_a_notebook_over_the_cap_keeps_its_errors_and_loses_its_largest_parts():
    nb = nbformat.v4.new_notebook()
    big_error = nbformat.v4.new_output("error", ename="AssertionError", evalue="wrong",
                                       traceback=["T" * 600_000])
    small = nbformat.v4.new_output("stream", name="stdout", text="kept\n")
    test_cell = new_code_cell("assert False")
    test_cell.outputs = [small, big_error]
    printer = new_code_cell("print('x')")
    printer.outputs = [nbformat.v4.new_output("stream", name="stdout", text="P" * 500_000)]
    answer = new_markdown_cell("![a](attachment:a.png)")
    answer["attachments"] = {"a.png": {"image/png": "Q" * 400_000}}
    nb.cells = [test_cell, printer, answer]
    nb.metadata["widgets"] = {"state": "W" * 300_000}
    removed = fit_notebook(nb, 1_000_000)
    assert len(nbformat.writes(nb)) < 1_000_000
    assert len(removed) == 2, removed  # the two largest parts were enough
    errors = [o for o in test_cell.outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "AssertionError", "a failing test passed"
    assert small in test_cell.outputs
    assert any(OUTPUT_CUT in str(o.get("text", "")) for o in test_cell.outputs)
    assert OUTPUT_CUT in printer.outputs[0]["text"] and "a.png" in answer.attachments
    assert fit_notebook(nb, 1_000_000) == []  # it fits now: nothing more goes


# --- bad metadata is a finding, not a crash --------------------------------------------------
def _release_q3():
    from cs230_grading.course import REPO_ROOT

    return nbformat.read(str(REPO_ROOT / "release" / "midterm" / "q3_conv_architectures.ipynb"),
                         as_version=4)


def test_markup_and_junk_metadata_are_reset_with_one_line():
    from nbgrader.nbgraderformat import MetadataValidator

    from cs230_grading.normalize import normalize

    release = _release_q3()
    raw = json.loads(nbformat.writes(release))
    raw["nbformat_minor"] = 99
    raw["metadata"] = {"title": {"<b>": "<script>alert(1)</script>"},
                       "language_info": {"name": "<img src=x onerror=alert(1)>"}}
    for cell in raw["cells"]:
        cell["metadata"]["tags"] = "<script>"  # not even a list
        if cell["cell_type"] == "markdown":
            cell["attachments"] = {"<x>.png": {"text/html": "<script>alert(2)</script>"}}
    done = normalize(raw, release)
    nbformat.validate(done.nb)
    MetadataValidator().validate_nb(done.nb)
    assert done.nb.metadata == release.metadata
    assert done.errors == []
    text = "; ".join(done.warnings)
    for phrase in ("unknown nbformat version 4.99", "language_info", "markup",
                   "attachments that are not plain images"):
        assert phrase in text, (phrase, text)
    assert all(not c.get("attachments") for c in done.nb.cells)


def test_changed_points_and_added_graded_cells_are_the_releases_again():
    from cs230_grading.normalize import normalize
    from cs230_grading.notebooks import grade_cells, nbgrader_meta

    release = _release_q3()
    raw = json.loads(nbformat.writes(release))
    for cell in raw["cells"]:
        if "points" in cell["metadata"].get("nbgrader", {}):
            cell["metadata"]["nbgrader"]["points"] = 1000
    bonus = copy.deepcopy(raw["cells"][-1])
    bonus["metadata"] = {"nbgrader": {"grade": True, "solution": False, "locked": True,
                                      "points": 1000, "grade_id": "q3_bonus_test",
                                      "schema_version": 3}}
    bonus["id"] = "bonus"
    raw["cells"].append(bonus)
    raw["cells"].append(copy.deepcopy(raw["cells"][1]))  # a duplicate, with the same id
    del raw["metadata"]["kernelspec"]
    done = normalize(raw, release)
    nbformat.validate(done.nb)
    points = {g: nbgrader_meta(c).get("points") for g, c in grade_cells(done.nb).items()}
    assert points == {g: nbgrader_meta(c).get("points")
                      for g, c in grade_cells(release).items()}
    assert "q3_bonus_test" not in points
    assert len(done.nb.cells) == len(release.cells)
    assert len({c.id for c in done.nb.cells}) == len(done.nb.cells)
    assert any("points changed" in e for e in done.errors)
    assert any("q3_bonus_test" in e and "dropped" in e for e in done.errors)
    assert any("no kernelspec" in w for w in done.warnings)


# --- each attack as a submission, in one run, honest students graded after it ----------------
DEEP_TREE = r"""
import os, sys
try:
    from ipykernel.connect import get_connection_file
    run_folder = os.path.dirname(get_connection_file())
except Exception:
    run_folder = "/tmp"
for top in dict.fromkeys((run_folder, "/tmp")):
    fd = os.open(top, os.O_RDONLY)
    for _ in range(1500):
        os.makedirs(f"/proc/self/fd/{fd}/deep", exist_ok=True)
        inner = os.open("deep", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    if not os.path.exists(f"/proc/self/fd/{fd}/fifo"):
        os.mkfifo("fifo", dir_fd=fd)
    os.close(fd)
print("planted a 1500-level tree in", run_folder, "and /tmp")
"""
KEYRING = r"""
import ctypes, os, platform
nr = {"x86_64": 248, "aarch64": 217}.get(platform.machine(), -1)
libc = ctypes.CDLL(None, use_errno=True)
ctypes.set_errno(0)
r = libc.syscall(nr, b"user", b"cs230-planted", b"secret", 6, -4)
print("add_key:", r, os.strerror(ctypes.get_errno()))
"""
# (in a try: the scoring pass runs cells without IPython's display(), and a NameError
# there would lose the cell's definitions, which is not what this attack is about)
DISPLAY = r"""
try:
    h = display({'text/plain': 'x'}, raw=True, display_id=True)
    h.update({'text/plain': 'A' * 150_000_000}, raw=True)
    h.update({'text/plain': 'A' * 150_000_000}, raw=True)
except NameError:
    pass
"""
WITNESS = r"""
import os
keys = open("/proc/keys").read() if os.path.exists("/proc/keys") else ""
print("WITNESS keys:", "cs230-planted" in keys, "tmp:", sorted(os.listdir("/tmp")))
"""


def _markup(nb):
    nb.metadata["title"] = "<script>alert(1)</script>"
    nb.metadata["language_info"] = {"name": "<img src=x onerror=alert(1)>"}
    for cell in nb.cells:
        cell.metadata["tags"] = ["<script>x</script>"]
        if cell.cell_type == "markdown":
            cell["attachments"] = {"<x>.png": {"text/html": "<script>alert(2)</script>"}}
    return nb


def _points(nb):
    from cs230_grading.notebooks import grade_cells, nbgrader_meta

    for cell in grade_cells(nb).values():
        if "points" in nbgrader_meta(cell):
            cell.metadata.nbgrader["points"] = 1000
    bonus = new_code_cell("assert True")
    bonus.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True,
                                  "points": 1000, "grade_id": "q3_bonus_test",
                                  "schema_version": 3}
    nb.cells.append(bonus)
    return nb


def _submissions(course):
    """``{student: Q3 notebook}``: the attacks first, honest students after (by name)."""
    from adversarial.attacks import Q3, _prefixed

    from cs230_grading.variants import model

    def prefixed(code):
        return _prefixed("q3_conv_output_shape", code)(course.source_dir, course.release_dir)

    honest = model(Q3).build(course.source_dir, course.release_dir)
    return {
        "a1-deep-tree": prefixed(DEEP_TREE),
        "a2-keyring": prefixed(KEYRING),
        "a3-display-update": prefixed(DISPLAY),
        "a4-metadata-markup": _markup(copy.deepcopy(honest)),
        "a5-points": _points(copy.deepcopy(honest)),
        "z1-honest": copy.deepcopy(honest),
        "z2-witness": prefixed(WITNESS),
    }


def _outputs(course, student):
    from adversarial.attacks import Q3

    path = course.autograded_dir(student) / f"{Q3}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    return path, "\n".join(str(o.get("text", "")) for c in nb.cells
                           for o in c.get("outputs", []))


@BWRAP
def test_attacks_in_one_run(tmp_path_factory):
    """Every attack of the issue graded in one run on one worker, an honest student and a
    witness graded after them; then another run on the same machine grades normally."""
    import io

    from adversarial.attacks import Q3

    from cs230_grading.course import Course, source_points
    from cs230_grading.pipeline import run_pipeline

    root = tmp_path_factory.mktemp("hardening")
    course = Course.scratch(root)
    course.generate_assignment()
    for student, nb in _submissions(course).items():
        course.add_submission(student, {Q3: nb})
    out = io.StringIO()
    result = run_pipeline(root, workers=1, feedback=True, progress=False,
                          regenerate_release=False, out=out)
    full = source_points(course.source_dir)[Q3]
    lines = {s: [f.line() for f in result.findings if f.student == s]
             for s in _submissions(course)}
    for student in _submissions(course):
        assert student in result.graded, (student, out.getvalue()[-2000:])
        scores = course.scores(student)[Q3]
        assert scores == {gid: pytest.approx(p) for gid, p in full.items()}, (student, scores)
    # each attack's outcome is clear
    _, keyring = _outputs(course, "a2-keyring")
    if platform.machine() in seccomp.ARCHES:
        assert "add_key: -1 Operation not permitted" in keyring
    path, display = _outputs(course, "a3-display-update")
    assert OUTPUT_CUT in display and path.stat().st_size < 5 * (1 << 20)
    feedback = course.feedback_dir("a3-display-update") / f"{Q3}.html"
    assert feedback.stat().st_size < 5 * (1 << 20)
    assert any("metadata reset" in ln and "markup" in ln for ln in lines["a4-metadata-markup"])
    assert any("points changed" in ln and "q3_bonus_test" in ln for ln in lines["a5-points"])
    # nothing of the attackers reached the students graded after them on the same worker
    _, witness = _outputs(course, "z2-witness")
    assert "WITNESS keys: False" in witness and "deep" not in witness.split("tmp:")[1]
    # and the next run on this machine grades normally
    again = tmp_path_factory.mktemp("hardening-again")
    second = Course.scratch(again)
    second.generate_assignment()
    second.add_submission("z1-honest", {Q3: _submissions(course)["z1-honest"]})
    rerun = run_pipeline(again, workers=1, feedback=False, progress=False,
                         regenerate_release=False, out=io.StringIO())
    assert rerun.graded == ["z1-honest"]
    assert second.scores("z1-honest")[Q3] == {g: pytest.approx(p) for g, p in full.items()}


# --- checking a machine -----------------------------------------------------------------------
def test_doctor_names_what_is_missing_and_what_is_lost(monkeypatch, capsys):
    from cs230_grading.cli import main

    monkeypatch.setenv("CS230_SECCOMP", "0")
    assert main(["doctor"]) == 1
    text = capsys.readouterr().out
    assert "MISSING seccomp filter: switched off (CS230_SECCOMP=0)" in text
    assert "without it: kernels may use keyrings" in text
    assert text.rstrip().endswith("Missing: seccomp filter (see docs/security.md).")
    monkeypatch.setenv("CS230_SANDBOX", "sideways")
    assert main(["doctor"]) == 1
    assert "CS230_SANDBOX='sideways': use auto, bwrap, rlimits or off" in capsys.readouterr().out


# --- a broken worker is replaced, not trusted ---------------------------------------------------
WORKER_SCRIPT = r"""
import json, sys
from pathlib import Path
from cs230_grading.course import Course
from cs230_grading.folders import content_sha, remove_tree, tree_files
from cs230_grading.grading import kit as kits, worker
from cs230_grading.variants import model

Q3 = "q3_conv_architectures"
course = Course.scratch(Path(sys.argv[1]))
course.generate_assignment()
nb = model(Q3).build(course.source_dir, course.release_dir)
kit = kits.build_kit(course)
tasks = []
for student in ("s1", "s2", "s3"):
    course.add_submission(student, {Q3: nb})
    files = tree_files(course.submission_dir(student))
    tasks.append(kits.SubmissionTask(student, files, content_sha(files), feedback=False))
out = {}
first = worker.grade_submission(kit, tasks[0])
root = worker._WORKERS[kit.sha].root
remove_tree(root)  # the private course disappears between two students
second = worker.grade_submission(kit, tasks[1])
fresh = worker._WORKERS[kit.sha]
real = type(fresh).grade

def damaged(self, task):  # ... and during the third student's grading
    remove_tree(self.root)
    type(self).grade = real
    return real(self, task)

type(fresh).grade = damaged
third = worker.grade_submission(kit, tasks[2])
latest = worker._WORKERS[kit.sha]
print(json.dumps({
    "success": [r.success for r in (first, second, third)],
    "scores": [sum(g[2] or 0 for g in r.grades) for r in (first, second, third)],
    "roots": [str(root), str(fresh.root), str(latest.root)],
    "gone": [not Path(p).exists() for p in (root, fresh.root)],
    "note": "graded again on a fresh private course" in third.log,
}))
worker.release_worker_courses()
"""


@BWRAP
def test_a_damaged_worker_course_is_replaced_and_its_students_graded(tmp_path):
    from cs230_grading.course import source_points

    proc = subprocess.run([sys.executable, "-c", WORKER_SCRIPT, str(tmp_path / "course")],
                          capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    full = sum(source_points(tmp_path / "course" / "source" / "midterm")
               ["q3_conv_architectures"].values())
    assert got["success"] == [True, True, True], got
    assert got["scores"] == [pytest.approx(full)] * 3, got
    assert len(set(got["roots"])) == 3 and got["gone"] == [True, True], got
    assert got["note"], got
