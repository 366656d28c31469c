"""Grading a class three ways, side by side in one run (not a test): one at a time, two at once, a Dask cluster.

The same 16 submissions of lesson 02 (each the full solution, so every one runs every cell) are
graded, sandboxed, sequentially (``--jobs 1``), with ``--jobs 2`` and through a local Dask cluster
of two worker processes; the three alternate, round after round, so a slow moment of the machine
hits them alike. Also measured: the per-submission overhead, what one more submission costs when it
only starts a sandboxed kernel and imports what lesson 02 imports (grading two such submissions
minus grading one, one at a time). The last line is
``ratio: X.XX``, sequential time over ``--jobs 2`` time (target: at least 1.7 on 2 cores).

    .venv/bin/python benchmarks/bench_grade.py [--rounds 2] [--submissions 16]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell

from labkit.course.grade import Options, grade
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the three ways (default: 2)")
    parser.add_argument("--submissions", type=int, default=16, help="submissions graded each time (default: 16)")
    args = parser.parse_args()
    from distributed import LocalCluster

    options = Options(cell_timeout=120, notebook_timeout=600)
    with tempfile.TemporaryDirectory(prefix="labkit-bench-grade-") as tmp:
        work = Path(tmp)
        subs = _submissions(work / "subs", args.submissions)
        one, two = _overhead_submissions(work / "overhead")
        times: dict[str, list[float]] = {"sequential": [], "--jobs 2": [], "Dask, 2 workers": [], "one": [],
                                         "two": []}
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address=None) as cluster:
            print(f"grading {args.submissions} submissions of {LESSON}, sandboxed, {args.rounds} round(s):")
            for r in range(args.rounds):
                out = work / f"round{r}"
                _timed("one", times, lambda o=out: grade([one], o / "one", options=options, jobs=1))
                _timed("two", times, lambda o=out: grade([two], o / "two", options=options, jobs=1))
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
    overhead = median["two"] - median["one"]
    print(f"{'overhead':<16} {overhead:7.1f} s per submission (a job's process, the sandboxed kernel's start, "
          "imports, restoring the tests, the feedback)")
    print(f"Dask / --jobs 2: {median['Dask, 2 workers'] / median['--jobs 2']:.2f}")
    print(f"ratio: {median['sequential'] / median['--jobs 2']:.2f}")


if __name__ == "__main__":
    main()
