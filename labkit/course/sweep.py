"""One lesson over a grid of parameters: every combination a papermill run, several at once, then one table.

Layout of a sweep's output folder::

    OUT/runs/<key>.ipynb   the executed notebook of one run (key: ``lr=0.1_batch_size=8``)
    OUT/runs/<key>.json    its result (schema labkit.result/1), written by the lesson itself
    OUT/sweep.json         every run: parameters, status, seconds, error line (rewritten as runs finish)
    OUT/results.csv        one row per run: run, status, seconds, parameters, metrics, error
    OUT/results.md         the same table in Markdown
    OUT/results.png        a metric against a parameter, one line per combination of the others
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any

from labkit.course.catalog import check_value, inspect_params, known, lesson
from labkit.course.report import collect
from labkit.course.runs import RunRecord, metrics_of, run_records
from labkit.errors import CourseError
from labkit.paths import code_version, safe_output_dir


def check_grid(notebook: str | Path, grid: dict[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """Check a grid against the lesson's inspected parameters: known names, right types, no empty lists."""
    stem = lesson(notebook).stem
    if not grid:
        raise CourseError(f"empty grid: give each parameter to sweep at least one value, e.g. -p n 64,128 for {stem}")
    params = inspect_params(notebook)
    checked = {}
    for name, values in grid.items():
        known(name, params, stem)
        values = list(values) if isinstance(values, (list, tuple, range)) else [values]
        if not values:
            raise CourseError(f"empty grid: parameter {name!r} has no values")
        checked[name] = [check_value(name, v, params[name].type) for v in values]
    return checked


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last parameter varying fastest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


def run_key(params: dict[str, Any]) -> str:
    """A file-name-safe name for a run: ``lr=0.1_batch_size=8``."""
    text = "_".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text)[:150]


def _done_before(record: RunRecord) -> bool:
    """A run counts as done when its result JSON exists and records the same parameters."""
    from labkit.results import load

    try:
        saved = load(record.result_path)
    except (ValueError, OSError):
        return False
    return all(saved["parameters"].get(k) == v for k, v in record.parameters.items()) and Path(record.output).is_file()


def command_line(stem: str, grid: dict[str, list[Any]], fixed: dict[str, Any], *, workers: int | None,
                 timeout: float) -> str:
    """The ``labkit sweep`` command that runs this sweep again (lists as JSON, as ``-f`` reads them)."""
    import shlex

    def value(v: Any) -> str:
        return json.dumps(v) if isinstance(v, list | dict) else str(v)

    words = ["labkit", "sweep", stem]
    for name, values in grid.items():
        words += ["-p", name, ",".join(value(v) for v in values)]
    for name, v in fixed.items():
        words += ["-f", name, value(v)]
    if workers:
        words += ["--jobs", str(workers)]
    words += ["--timeout", f"{timeout:g}"]
    return shlex.join(words)


def sweep(
    notebook: str | Path,
    grid: dict[str, Iterable[Any]],
    out: str | Path | None = None,
    *,
    workers: int | None = None,
    timeout: float = 600,
    fixed: dict[str, Any] | None = None,
    force: bool = False,
    html: bool = False,
    progress: bool = True,
    x: str | None = None,
    metric: str | None = None,
    scheduler: str | None = None,
) -> list[RunRecord]:
    """Run ``notebook`` once per combination in ``grid``, several at once, then collect the results.

    ``workers`` defaults to one per core; each kernel gets ``cores // workers`` threads. ``fixed``
    parameters go to every run. Runs whose result JSON already exists are reused unless ``force``.
    Writes the table (CSV, Markdown) and a figure of ``metric`` against ``x`` into ``out``. With
    ``scheduler`` (a Dask address) the runs go to that cluster instead of this machine.
    """
    source = lesson(notebook)
    grid = check_grid(source, grid)
    fixed = dict(fixed or {})
    if fixed:
        params = inspect_params(source)
        for name, value in fixed.items():
            known(name, params, source.stem)
            check_value(name, value, params[name].type)
    out = safe_output_dir(out if out is not None else Path("build/sweep") / source.stem)
    if x is not None and x not in grid:
        raise CourseError(f"x = {x!r} is not a swept parameter; swept: {', '.join(grid)}")
    combos = expand(grid)
    keys = [run_key(c) for c in combos]
    if len(set(keys)) < len(keys):  # values that differ only in characters a file name cannot hold
        keys = [f"{i:03d}_{k}" for i, k in enumerate(keys)]
    runs = out / "runs"
    records = [
        RunRecord(
            key=k, notebook=source.stem, parameters=dict(fixed, **c),
            output=str(runs / f"{k}.ipynb"), result_path=str(runs / f"{k}.json"),
        )
        for k, c in zip(keys, combos, strict=True)
    ]
    runs.mkdir(parents=True, exist_ok=True)
    try:  # wall seconds of earlier runs, so that a reused row reads like a fresh one
        earlier = {r["key"]: r["seconds"] for r in json.loads((out / "sweep.json").read_text())["runs"]}
    except (OSError, ValueError, KeyError, TypeError):
        earlier = {}
    for record in records:
        if not force and _done_before(record):
            record.status, record.reused = "ok", True
            record.metrics = metrics_of(Path(record.result_path))
            saved = float(json.loads(Path(record.result_path).read_text()).get("seconds", 0.0))
            record.seconds = earlier.get(record.key) or saved

    command = command_line(source.stem, grid, fixed, workers=workers, timeout=timeout)
    code = code_version()

    def save_manifest(_: RunRecord | None = None) -> None:
        manifest = {"notebook": source.stem, "grid": grid, "fixed": fixed, "command": command, "code": code,
                    "runs": [asdict(r) for r in records]}
        (out / "sweep.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")

    save_manifest()
    try:
        run_records(
            records, {source.stem: source}, workers=workers or os.cpu_count() or 1, timeout=timeout,
            html=html, progress=progress, desc=f"sweep {source.stem}", on_done=save_manifest, scheduler=scheduler,
        )
    finally:
        save_manifest()
        collect(out, x=x, metric=metric)
    return records
