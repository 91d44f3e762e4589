"""The attention benchmark runs (quick mode) and prints its table of ratios.

No timing is asserted here: timings depend on the machine. The full run checks the speed-up.
"""

from __future__ import annotations

import re
import subprocess
import sys

from cs230_grading.course import REPO_ROOT

SCRIPT = REPO_ROOT / "benchmarks" / "bench_attention.py"


def test_quick_benchmark_prints_ratios() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--repeat", "2"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    header = next(line for line in lines if "loops/vec" in line)
    assert "per-pos/vec" in header and "vec peak MiB" in header
    rows = [line for line in lines if re.match(r"\s*\d+x\d+x3 \|", line)]
    assert [row.split()[0] for row in rows] == ["12x12x3", "16x16x3", "24x24x3"]
    for row in rows:
        cells = [cell.strip() for cell in row.split("|")]
        assert len(cells) == 9
        assert all(re.fullmatch(r"\d+(\.\d+)?x", cells[i]) for i in (4, 5, 6)), row
        assert float(cells[7]) > 0 and float(cells[8]) > 0
