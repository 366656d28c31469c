"""Benchmark (not a test): the same sweep of 4 runs, sequentially and in parallel, alternating.

Sequential: one run at a time, its kernel allowed every core. Parallel: one run per core, each
kernel with its share of the threads. Both run papermill through ``labkit.course.sweep.sweep`` with
``force=True`` into a temporary folder, so nothing is reused. Prints both wall times (median of the
rounds) and, last, ``ratio: X.XX`` (sequential / parallel); on a quiet 2-core machine parallel
should be at least 1.5x faster.

    .venv/bin/python benchmarks/bench_sweep.py [--notebook 00] [-p n 256,512,1024,2048] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from labkit.course.catalog import parse_grid
from labkit.course.sweep import sweep


def timed_sweep(notebook: str, grid: dict, out: Path, workers: int) -> float:
    """Wall seconds of one full sweep with ``workers`` runs at once; every run must succeed."""
    start = time.perf_counter()
    records = sweep(notebook, grid, out, workers=workers, force=True, progress=False)
    seconds = time.perf_counter() - start
    failed = [f"{r.key}: {r.error}" for r in records if r.status != "ok"]
    if failed:
        raise SystemExit("bench-sweep: a run failed: " + "; ".join(failed))
    return seconds


def main() -> None:
    """Alternate sequential and parallel sweeps and print the wall times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebook", default="00", help="lesson to sweep (default: 00)")
    parser.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUES"),
                        help="swept parameter (default: -p n 256,512,1024,2048 for lesson 00)")
    parser.add_argument("--rounds", type=int, default=2, help="sequential/parallel pairs (default: 2)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="parallel runs (default: cores)")
    args = parser.parse_args()
    grid = parse_grid(args.notebook, args.param or [("n", "256,512,1024,2048")])
    runs = 1
    for values in grid.values():
        runs *= len(values)
    print(f"sweep of {args.notebook}: {runs} runs, {args.rounds} rounds, {os.cpu_count()} cores, "
          f"parallel with {args.workers} workers", flush=True)
    times: dict[str, list[float]] = {"sequential": [], "parallel": []}
    with tempfile.TemporaryDirectory(prefix="bench_sweep_") as tmp:
        for i in range(args.rounds):
            for mode, workers in (("sequential", 1), ("parallel", args.workers)):
                seconds = timed_sweep(args.notebook, grid, Path(tmp) / mode, workers)
                times[mode].append(seconds)
                print(f"  round {i + 1} {mode:<10} {seconds:6.1f} s", flush=True)
    seq, par = statistics.median(times["sequential"]), statistics.median(times["parallel"])
    print(f"sequential: {seq:.1f} s (median of {args.rounds})")
    print(f"parallel:   {par:.1f} s (median of {args.rounds}, {args.workers} at once)")
    print(f"ratio: {seq / par:.2f}")


if __name__ == "__main__":
    main()
