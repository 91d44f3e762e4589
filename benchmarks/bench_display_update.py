"""Peak memory of the display-update attack (issue 31), with and without the output cap.

    python benchmarks/bench_display_update.py                # 150 MB updates, as in the issue
    python benchmarks/bench_display_update.py --mb 30        # smaller, a few seconds

A notebook cell shows ``display({'text/plain': 'x'}, raw=True, display_id=True)`` and
updates it twice with ``MB`` megabytes of text. Each variant executes that notebook in a fresh
grading process, writes the executed notebook to disk (as autograde does), renders it to HTML with
nbconvert (as the feedback does), and reports the process's peak resident memory
(``VmHWM``), the notebook's size and the page's:

* ``capped``: the kit's :class:`cs230_grading.sandbox.kernel.SandboxedExecute` (sandboxed
  kernel, output cap counting display updates);
* ``stock``: nbclient's own ``NotebookClient`` with a plain kernel, which applies no cap to
  display updates (nbgrader's ``Execute`` is that client).

Both run one after the other in this one invocation; the ratio is printed side by side. The
peak of the capped run is mostly the two messages themselves, which the grading process has
to receive and parse before it can drop them.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys
from pathlib import Path
import nbformat
variant, mb, folder = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
attack = ("h = display({'text/plain': 'x'}, raw=True, display_id=True)\n"
          f"h.update({{'text/plain': 'A' * {mb} * 1000 * 1000}}, raw=True)\n"
          f"h.update({{'text/plain': 'A' * {mb} * 1000 * 1000}}, raw=True)\n")
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell(attack), nbformat.v4.new_code_cell("print('after')")]
if variant == "capped":
    from cs230_grading.sandbox.kernel import SandboxedExecute
    nb, _ = SandboxedExecute(timeout=600).preprocess(nb, {"metadata": {"path": str(folder)}})
else:
    from nbclient import NotebookClient
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(folder)}}).execute()
out = folder / "executed.ipynb"
nbformat.write(nb, str(out))
from nbconvert import HTMLExporter
html, _ = HTMLExporter().from_notebook_node(nb)  # the feedback page is such an export
(folder / "feedback.html").write_text(html)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM:"))
print(json.dumps({"peak_kib": peak, "notebook_bytes": out.stat().st_size,
                  "html_bytes": len(html)}))
"""


def measure(variant: str, mb: int) -> dict[str, int]:
    with tempfile.TemporaryDirectory(prefix="cs230-bench-display-") as folder:
        Path(folder).chmod(0o755)
        proc = subprocess.run([sys.executable, "-c", CHILD, variant, str(mb), folder],
                              capture_output=True, text=True, cwd=REPO, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"{variant} failed:\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=150, help="megabytes per update (150)")
    args = parser.parse_args(argv)
    results = {variant: measure(variant, args.mb) for variant in ("capped", "stock")}
    print(f"display-update attack, two updates of {args.mb} MB each")
    print(f"{'variant':8} {'peak memory':>12} {'notebook':>12} {'HTML page':>12}")
    for variant, r in results.items():
        print(f"{variant:8} {r['peak_kib'] / 1024:8.0f} MiB {r['notebook_bytes'] / 1e6:9.2f} MB "
              f"{r['html_bytes'] / 1e6:9.2f} MB")
    capped, stock = results["capped"], results["stock"]
    print(f"stock / capped: {stock['peak_kib'] / capped['peak_kib']:.1f}x the peak memory, "
          f"{stock['notebook_bytes'] / capped['notebook_bytes']:.0f}x the notebook")
    return 0


if __name__ == "__main__":
    sys.exit(main())
