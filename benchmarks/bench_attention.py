"""Benchmark of the Q6 attention reference: vectorised vs per-position vs loops.

    python benchmarks/bench_attention.py            # 32x32 .. 512x512, about a minute
    python benchmarks/bench_attention.py --quick    # small sizes, a few seconds

Images are H x H x 3 (RGB) with oC = 5. Times are the best of several repeats; peak memory
is measured separately with tracemalloc (which slows Python code, so never while timing) and
also given in units of the (H-2, W-2, iC, 3, 3) window tensor. The Python loops run only up to
128x128 and the per-position version up to 256x256 ("-" beyond).

The full run checks the issue's requirements and exits with status 1 if one fails: the
vectorised version is at least 100x faster than the loops at 128x128, and its peak memory is
at most a few (4) window tensors.
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cs230_grading.reference import attention as ref  # noqa: E402

IN_CHANNELS, OUT_CHANNELS = 3, 5
FULL = {"sizes": (32, 64, 128, 256, 512), "loops_max": 128, "per_position_max": 256}
QUICK = {"sizes": (12, 16, 24), "loops_max": 24, "per_position_max": 24}
REQUIRED_SPEEDUP_AT_128 = 100.0
MAX_WINDOW_TENSORS = 4.0

Version = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def make_case(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    image = rng.uniform(0, 1, size=(size, size, IN_CHANNELS))
    k = rng.normal(size=(3, 3, IN_CHANNELS, OUT_CHANNELS)) * 3 * size
    v = rng.normal(size=(3, 3, 1, OUT_CHANNELS))
    return image, k, v


def best_time(func: Version, args: tuple[np.ndarray, ...], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        func(*args)
        best = min(best, time.perf_counter() - start)
    return best


def peak_bytes(func: Version, args: tuple[np.ndarray, ...]) -> int:
    """Peak bytes traced by tracemalloc during one call (after a warm-up call)."""
    func(*args)
    tracemalloc.start()
    try:
        func(*args)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def window_tensor_bytes(size: int) -> int:
    return (size - 2) ** 2 * IN_CHANNELS * 9 * 8


def run(config: dict, repeat: int) -> list[dict]:
    rows = []
    for size in config["sizes"]:
        args = make_case(size)
        row: dict = {"size": size}
        row["vectorized"] = best_time(ref.attention_vectorized, args, repeat)
        expected = ref.attention_vectorized(*args)
        if size <= config["per_position_max"]:
            row["per_position"] = best_time(ref.attention_per_position, args, max(1, repeat - 1))
            np.testing.assert_allclose(ref.attention_per_position(*args), expected, rtol=1e-8)
        if size <= config["loops_max"]:
            row["loops"] = best_time(ref.attention_loops, args, max(1, repeat - 1))
            np.testing.assert_allclose(ref.attention_loops(*args), expected, rtol=1e-8)
        row["peak_vectorized"] = peak_bytes(ref.attention_vectorized, args)
        row["window_tensors"] = row["peak_vectorized"] / window_tensor_bytes(size)
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    header = (f"{'image':>11} | {'vectorised s':>12} | {'per-pos s':>10} | {'loops s':>9} | "
              f"{'loops/vec':>9} | {'per-pos/vec':>11} | {'loops/per-pos':>13} | "
              f"{'vec peak MiB':>12} | {'windows':>7}")
    lines = [header, "-" * len(header)]

    def cell(value: float | None, fmt: str, width: int) -> str:
        return f"{value:{width}{fmt}}" if value is not None else f"{'-':>{width}}"

    for row in rows:
        vec, per, loops = row["vectorized"], row.get("per_position"), row.get("loops")
        lines.append(" | ".join([
            f"{row['size']}x{row['size']}x3".rjust(11),
            cell(vec, ".5f", 12),
            cell(per, ".4f", 10),
            cell(loops, ".3f", 9),
            cell(loops / vec if loops else None, ".0f", 8) + ("x" if loops else " "),
            cell(per / vec if per else None, ".0f", 10) + ("x" if per else " "),
            cell(loops / per if loops and per else None, ".1f", 12) + ("x" if loops else " "),
            cell(row["peak_vectorized"] / 2**20, ".2f", 12),
            cell(row["window_tensors"], ".2f", 7),
        ]))
    return "\n".join(lines)


def requirement_failures(rows: list[dict]) -> list[str]:
    failures = []
    for row in rows:
        if row["size"] == 128 and "loops" in row:
            ratio = row["loops"] / row["vectorized"]
            if ratio < REQUIRED_SPEEDUP_AT_128:
                failures.append(f"vectorised only {ratio:.0f}x faster than loops at 128x128 "
                                f"(needs {REQUIRED_SPEEDUP_AT_128:.0f}x)")
        if row["window_tensors"] > MAX_WINDOW_TENSORS:
            failures.append(f"{row['size']}x{row['size']}: peak memory "
                            f"{row['window_tensors']:.1f} window tensors "
                            f"(at most {MAX_WINDOW_TENSORS:.0f})")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (a smoke test)")
    parser.add_argument("--repeat", type=int, default=3, help="timing repeats (best of)")
    args = parser.parse_args(argv)
    config = QUICK if args.quick else FULL
    print(f"Q6 attention reference, iC={IN_CHANNELS}, oC={OUT_CHANNELS}, "
          f"best of {args.repeat} (loops and per-position: best of {max(1, args.repeat - 1)})")
    rows = run(config, args.repeat)
    print(format_table(rows))
    print("windows = peak memory of the vectorised version / bytes of the "
          "(H-2, W-2, iC, 3, 3) window tensor")
    if args.quick:
        return 0
    failures = requirement_failures(rows)
    for failure in failures:
        print(f"FAIL: {failure}")
    if not failures:
        print(f"OK: >= {REQUIRED_SPEEDUP_AT_128:.0f}x faster than loops at 128x128, "
              f"peak <= {MAX_WINDOW_TENSORS:.0f} window tensors")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
