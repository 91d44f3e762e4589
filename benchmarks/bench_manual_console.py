"""Benchmark of hand grading with answer groups (``cs230_grading.manual`` and the console).

    python benchmarks/bench_manual_console.py              # classes of 100 and 500, ~2 min
    python benchmarks/bench_manual_console.py --sizes 50   # one small class

The small Q2 class of :mod:`cs230_grading.variants.hand_graded` is autograded once, then
padded with N students (gradebook rows and autograded notebooks) whose ``q2_b`` answers are
drawn from a few phrasings with punctuation noise. Per class size it prints the time to group
the answers (first read of the notebooks, then cached), to apply an item to the largest
group, to re-point that item, and to open the console and click an item, with the time per
answer graded by that click side by side (what one click costs per answer it grades).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cs230_grading import manual  # noqa: E402
from cs230_grading.notebooks import grade_cells, read_notebook, write_notebook  # noqa: E402
from cs230_grading.variants.hand_graded import build_hand_graded_class  # noqa: E402

PART = "q2_b"
PHRASES = ("The F1 score because it balances precision and recall", "Accuracy",
           "Recall, we must catch criminals", "Precision so innocents are not flagged",
           "F1, the harmonic mean of precision and recall", "Use F-beta with beta above 1")


def padded_class(size: int, seed: int = 0) -> Path:
    from nbgrader.api import Gradebook

    course = build_hand_graded_class(tempfile.mkdtemp(prefix="bench-manual-"))
    nb = read_notebook(course.autograded_dir("ana") / "q2_short_answers.ipynb")
    rng = random.Random(seed)
    with warnings.catch_warnings(), Gradebook(course.db_url) as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy autoflush notes from nbgrader's API
        for i in range(size):
            gb.add_student(f"s{i:04d}")
            gb.add_submission("midterm", f"s{i:04d}")
    for i in range(size):
        grade_cells(nb)[PART].source = rng.choice(PHRASES) + rng.choice(("", ".", "!", " ok"))
        write_notebook(nb, course.autograded_dir(f"s{i:04d}") / "q2_short_answers.ipynb")
    return course.root


def timed(call) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 500])
    args = parser.parse_args(argv)
    from cs230_grading.console import GradingConsole

    print(f"{'answers':>8} | {'groups cold s':>13} | {'groups warm s':>13} | "
          f"{'apply s':>8} | {'re-point s':>10} | {'open s':>7} | {'click s':>8} | "
          f"{'graded':>6} | {'ms/answer':>9}")
    for size in args.sizes:
        root = padded_class(size)
        cold, groups = timed(lambda r=root: manual.answer_groups(r, PART))
        warm, groups = timed(lambda r=root: manual.answer_groups(r, PART))
        top = groups[0]
        apply_s, _ = timed(lambda r=root, g=top: manual.apply_items(
            r, PART, g.students, ["f1-justified"], "bench"))
        point_s, _ = timed(lambda r=root: manual.set_item_points(r, PART, "f1-justified", 1.5))
        open_s, con = timed(lambda r=root: GradingConsole(r, PART, "bench"))
        con.move(1)
        n = len(con.group)
        click_s, _ = timed(lambda c=con: c.items.children[1].children[0].click())
        total = len(manual.answers(root, PART))
        print(f"{total:>8} | {cold:>13.2f} | {warm:>13.2f} | {apply_s:>8.2f} | "
              f"{point_s:>10.2f} | {open_s:>7.2f} | {click_s:>8.2f} | {n:>6} | "
              f"{1000 * click_s / n:>9.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
