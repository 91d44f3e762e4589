"""Fast checks of the pieces: the wire format, the static scan, the cell plan, the sandbox."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from cs230_grading.grading.student_process import notebook_cells
from cs230_grading.sandbox import Limits, effective_mode, wrap_command
from cs230_grading.sandbox.runner import WireError, decode, encode
from cs230_grading.tamper_scan import scan_source


def test_plain_data_round_trips() -> None:
    value = (1, 2.5, -0.0, float("nan"), "s", None, True, {"a": [1, {2, 3}]}, frozenset({4}),
             np.arange(6.0).reshape(2, 3), np.float32(1.5), np.array(3), 10**30, 1 + 2j)
    back = decode(encode(value))
    assert back[:3] == value[:3] and np.isnan(back[3]) and back[4:7] == value[4:7]
    assert back[7] == {"a": [1, {2, 3}]} and back[8] == frozenset({4})
    np.testing.assert_array_equal(back[9], value[9])
    assert back[10].dtype == np.float32 and back[11].shape == () and back[12] == 10**30


def test_objects_do_not_cross() -> None:
    class AlwaysEqual:
        def __eq__(self, other: object) -> bool:
            return True

    with pytest.raises(WireError):
        encode(AlwaysEqual())
    with pytest.raises(WireError):
        encode(lambda: 0)  # functions only travel as grader-side callbacks
    with pytest.raises(WireError):
        decode({"$": "fn", "id": 0, "name": "f"})  # no grader-side stubs on this side
    with pytest.raises(WireError):
        decode({"$": "ndarray", "dtype": "|O", "shape": [1], "b64": ""})


def test_scan_flags_tampering_not_honest_code() -> None:
    bad = "np.allclose = lambda *a, **k: True\nget_ipython().input_transformers_cleanup.append(f)"
    whys = {h.why for h in scan_source("q6", "cell", bad)}
    assert any("NumPy" in w for w in whys) and any("IPython" in w for w in whys)
    honest = "def f(x):\n    return np.allclose(x, 0)  # uses allclose, does not rebind it\n"
    assert scan_source("q6", "cell", honest) == []


def _cell(source: str, grade_id: str | None = None, **meta: object):
    cell = new_code_cell(source)
    if grade_id:
        cell.metadata["nbgrader"] = {"grade_id": grade_id, **meta}
    return cell


def test_cell_plan_skips_tests_and_restores_locked_cells() -> None:
    source = new_notebook(cells=[
        _cell("import numpy as np", "setup", locked=True),
        _cell("def f(): ...", "answer", solution=True),
        _cell("check(globals())", "test", grade=True, points=1, locked=True),
    ])
    student = new_notebook(cells=[
        _cell("check = lambda ns: None", "test", grade=True, points=1),
        _cell("def f(): return 1", "answer", solution=True),
        _cell("helper = 2"),
    ])
    plan = notebook_cells(student, source)
    assert plan == [("setup", "import numpy as np"), ("answer", "def f(): return 1"),
                    ("cell 3", "helper = 2")]


def test_limits_read_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("CS230_LIMIT_MEMORY_MB", "512")
    monkeypatch.setenv("CS230_LIMIT_NPROC", "7")
    limits = Limits.from_env()
    assert limits.memory_bytes == 512 << 20 and limits.processes == 7


@pytest.mark.skipif(effective_mode() == "off", reason="sandbox off")
def test_sandboxed_process_gets_the_limits(tmp_path: Path) -> None:
    secret = tmp_path / "source"
    secret.mkdir()
    (secret / "key.txt").write_text("42")
    code = ("import os, resource\n"
            "print(resource.getrlimit(resource.RLIMIT_NPROC)[0],"
            " resource.getrlimit(resource.RLIMIT_AS)[0],"
            f" os.path.exists({str(secret / 'key.txt')!r}))")
    cmd = wrap_command([sys.executable, "-c", code], kind="runner", cwd=Path("/"),
                       limits=Limits(processes=9, memory_bytes=1 << 31), hidden=[secret])
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=True).stdout
    nproc, memory, visible = out.split()
    assert (int(nproc), int(memory)) == (9, 1 << 31)
    assert visible == ("False" if effective_mode() == "bwrap" else "True")
