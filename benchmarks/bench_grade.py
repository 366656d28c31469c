"""Grading a class three ways, side by side in one run (not a test): one at a time, two at once, a Dask cluster.

The same 16 submissions of lesson 02 (each the full solution, so every one runs every cell) are
graded, sandboxed, sequentially (``--jobs 1``), with ``--jobs 2`` and through a local Dask cluster
of two worker processes; the three alternate, round after round, so a slow moment of the machine
hits them alike.

Also measured: the fixed cost of a submission, what one more submission costs when it only starts a
sandboxed kernel and imports what lesson 02 imports (grading two such submissions minus grading one,
one at a time, three times a round by default). It is measured two ways, alternating:
with each job forked from the fork server (``labkit.course.forkserver``, the default) and with each
job a fresh Python process (``LABKIT_FORKSERVER=0``, as before), and broken down by part from what
each job reports (``graded.json``). The last line is ``ratio: X.XX``, sequential time over
``--jobs 2`` time (target: at least 1.7 on 2 cores).

    .venv/bin/python benchmarks/bench_grade.py [--rounds 2] [--submissions 16] [--overhead-repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from labkit.course import forkserver
from labkit.course.grade import MANIFEST, Options, grade
from labkit.course.release import nbg, student_version
from labkit.paths import notebooks_dir

LESSON = "02_gradient_descent.ipynb"


def _submissions(folder: Path, count: int) -> Path:
    """``count`` students, each handing in lesson 02's full solution."""
    source = notebooks_dir() / LESSON
    for i in range(count):
        (folder / f"s{i:02d}").mkdir(parents=True)
        shutil.copy(source, folder / f"s{i:02d}" / LESSON)
    return folder


def _overhead_submissions(folder: Path) -> tuple[Path, Path]:
    """Folders of one and of two submissions of lesson 02 that only import what the lesson imports."""
    nb = student_version(nbformat.read(notebooks_dir() / LESSON, as_version=4))
    nb.cells = [new_code_cell("import torch\nimport labkit")] + [c for c in nb.cells if nbg(c).get("grade")]
    for cell in nb.cells:
        if nbg(cell).get("grade"):
            cell.source = "pass"  # restored from the instructor's version; fails fast without answers
    for count in (1, 2):
        for i in range(count):
            (folder / str(count) / f"o{i}").mkdir(parents=True)
            nbformat.write(nb, folder / str(count) / f"o{i}" / LESSON)
    return folder / "1", folder / "2"


def _timed(label: str, times: dict[str, list[float]], fn) -> None:
    start = time.perf_counter()
    fn()
    times[label].append(time.perf_counter() - start)
    print(f"  {label:<22} {times[label][-1]:7.1f} s", flush=True)


MODES = {"fork server": "1", "fresh process": "0"}  # LABKIT_FORKSERVER for each way of starting a job
PARTS = ("start the job's process", "import the grading tools", "restore the tests", "kernel start", "cells",
         "kernel stop", "write the feedback", "the grader's own work")
LABELS = {"kernel start": "start the sandboxed kernel", "cells": "run its cells (imports included)",
          "kernel stop": "stop the kernel"}


def _overhead(one: Path, two: Path, out: Path, options: Options, mode: str) -> dict[str, float]:
    """Grade one, then two submissions; the second submission's cost, by part.

    With the fork server, it is started before each run (its start, once per run, is measured apart).
    """
    os.environ[forkserver.ENV_VAR] = MODES[mode]
    wall = {}
    for label, folder in (("one", one), ("two", two)):
        forkserver.SERVER.close()
        if mode == "fork server":
            forkserver.SERVER.warm_up()
        start = time.perf_counter()
        grade([folder], out / label, options=options, jobs=1)
        wall[label] = time.perf_counter() - start
    os.environ.pop(forkserver.ENV_VAR)
    forkserver.SERVER.close()
    jobs = {label: json.loads((out / label / MANIFEST).read_text()) for label in wall}
    second = jobs["two"][f"o1/{LESSON}"]["seconds"]
    parts = {k: second.get(k, 0.0) for k in PARTS}
    parts["start the job's process"] = second["seconds"] - second["the job in all"]
    # the grader's own time (outside its jobs) in the run of two, less that in the run of one
    own = {label: wall[label] - sum(entry["seconds"]["seconds"] for entry in jobs[label].values()) for label in wall}
    parts["the grader's own work"] = own["two"] - own["one"]
    parts["sum of the parts"] = sum(parts[k] for k in PARTS)
    parts["in all (two minus one)"] = wall["two"] - wall["one"]
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three ways (default: 2)")
    parser.add_argument("--submissions", type=int, default=16, help="submissions graded each time (default: 16)")
    parser.add_argument("--overhead-repeats", type=int, default=3,
                        help="measurements of the fixed cost per way and round (default: 3)")
    args = parser.parse_args()
    from distributed import LocalCluster

    options = Options(cell_timeout=120, notebook_timeout=600)
    with tempfile.TemporaryDirectory(prefix="labkit-bench-grade-") as tmp:
        work = Path(tmp)
        subs = _submissions(work / "subs", args.submissions)
        one, two = _overhead_submissions(work / "overhead")
        times: dict[str, list[float]] = {"sequential": [], "--jobs 2": [], "Dask, 2 workers": [], "server start": []}
        parts: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            print(f"grading {args.submissions} submissions of {LESSON}, sandboxed, {args.rounds} round(s):")
            for r in range(args.rounds):
                out = work / f"round{r}"
                for k in range(args.overhead_repeats):  # the two ways alternate: ABBA, so neither always goes first
                    for mode in (list(MODES) if (r + k) % 2 == 0 else list(reversed(MODES))):
                        parts[mode].append(_overhead(one, two, out / f"{mode.replace(' ', '-')}-{k}", options, mode))
                        print(f"  overhead, {mode:<14} {parts[mode][-1]['in all (two minus one)']:7.2f} s", flush=True)
                forkserver.SERVER.close()
                _timed("server start", times, forkserver.SERVER.warm_up)
                _timed("sequential", times, lambda o=out: grade([subs], o / "seq", options=options, jobs=1))
                _timed("--jobs 2", times, lambda o=out: grade([subs], o / "jobs2", options=options, jobs=2))
                _timed("Dask, 2 workers", times, lambda o=out: grade([subs], o / "dask", options=options,
                                                                    scheduler=cluster.scheduler_address))
                same = {(o / "seq" / "grades.csv").read_text() == (o / k / "grades.csv").read_text()
                        for o, k in ((out, "jobs2"), (out, "dask"))}
                print(f"  round {r + 1}: the three grades.csv are {'identical' if same == {True} else 'DIFFERENT'}")
    median = {k: statistics.median(v) for k, v in times.items()}
    n = args.submissions
    print()
    for label in ("sequential", "--jobs 2", "Dask, 2 workers"):
        print(f"{label:<16} {median[label]:7.1f} s  ({median[label] / n:5.2f} s per submission)")
    samples = args.rounds * args.overhead_repeats
    print(f"\nthe fixed cost of one submission, by part (median of {samples} measurements each, seconds):")
    print(f"  {'':<36} {'fork server':>12} {'fresh process':>14}")
    for part in (*PARTS, "sum of the parts", "in all (two minus one)"):
        cells = [statistics.median(p[part] for p in parts[mode]) for mode in MODES]
        print(f"  {LABELS.get(part, part):<36} {cells[0]:12.2f} {cells[1]:14.2f}")
    print(f"  (once per grading run: the fork server's start, {median['server start']:.2f} s)")
    overhead = {mode: statistics.median(p["in all (two minus one)"] for p in parts[mode]) for mode in MODES}
    print(f"overhead: {overhead['fork server']:.2f} s per submission with the fork server, "
          f"{overhead['fresh process']:.2f} s with a fresh process per job "
          f"({overhead['fresh process'] / overhead['fork server']:.2f}x)")
    print(f"Dask / --jobs 2: {median['Dask, 2 workers'] / median['--jobs 2']:.2f}")
    print(f"ratio: {median['sequential'] / median['--jobs 2']:.2f}")


if __name__ == "__main__":
    main()
