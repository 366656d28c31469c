"""Run lessons headless with papermill: the whole workbook, or one lesson over a grid of parameters.

Every run is ``papermill.execute_notebook`` in a child process of its own, so each run has a hard
time limit (its process group is killed), its own thread count (``OMP_NUM_THREADS`` and friends,
read by torch when the kernel starts) and ``LABKIT_HEADLESS=1``. The parent only checks the input,
starts the children, draws the progress bar and collects what the lessons wrote to ``result_path``.

Layout of a sweep's output folder::

    OUT/runs/<key>.ipynb   the executed notebook of one run (key: ``lr=0.1_batch_size=8``)
    OUT/runs/<key>.json    its result (schema labkit.result/1), written by the lesson itself
    OUT/sweep.json         every run: parameters, status, seconds, error line (rewritten as runs finish)
    OUT/results.csv        one row per run: run, status, seconds, parameters, metrics, error
    OUT/results.md         the same table in Markdown
    OUT/results.png        a metric against a parameter, one line per combination of the others
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labkit.notebooks import lessons, notebooks_dir

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")
# Folders of the project that hold sources: no run may write into them.
SOURCE_DIRS = ("notebooks", "data", "labkit", "tests", "benchmarks", "etc", ".git")
_TYPE_WORDS = {"int": "a whole number", "float": "a number", "str": "a string", "bool": "True or False"}


class RunnerError(ValueError):
    """Bad input to a run or a sweep, found before anything runs (one line)."""


@dataclass(frozen=True)
class Param:
    """One parameter of a lesson, as papermill inspects its tagged ``parameters`` cell."""

    name: str
    type: str
    default: str
    help: str


@dataclass
class RunRecord:
    """What happened to one run: its status is ``ok``, ``failed``, ``timeout`` or ``interrupted``."""

    key: str
    notebook: str
    parameters: dict[str, Any]
    status: str = "pending"
    seconds: float = 0.0
    error: str = ""
    output: str = ""
    result_path: str = ""
    reused: bool = False
    metrics: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- inspection


def _lesson(notebook: str | Path) -> Path:
    try:
        return lessons([str(notebook)])[0]
    except FileNotFoundError as err:
        raise RunnerError(str(err)) from None


def inspect_params(notebook: str | Path) -> dict[str, Param]:
    """A lesson's parameters (name, type, default, help), read by ``papermill.inspect_notebook``."""
    import papermill as pm

    path = _lesson(notebook)
    found = pm.inspect_notebook(str(path))
    return {
        name: Param(name, p.get("inferred_type_name") or "None", p.get("default", ""), p.get("help", ""))
        for name, p in found.items()
    }


def params_table(notebook: str | Path) -> str:
    """The parameters of a lesson as an aligned text table, for ``python -m labkit params``."""
    params = list(inspect_params(notebook).values())
    rows = [("name", "type", "default", "help")] + [(p.name, p.type, p.default, p.help) for p in params]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(line.rstrip() for line in lines)


# ----------------------------------------------------------------------------- checking input


def _wrong_type(name: str, value: Any, kind: str) -> RunnerError:
    return RunnerError(f"{name} = {value!r} is not allowed: must be {_TYPE_WORDS.get(kind, kind)} ({kind})")


def check_value(name: str, value: Any, kind: str) -> Any:
    """``value`` if it fits the inspected type ``kind`` (an int is fine where a float is asked), else RunnerError."""
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
    }.get(kind, True)  # unannotated or compound types: the lesson's own check decides
    if not ok:
        raise _wrong_type(name, value, kind)
    return value


def parse_value(name: str, text: str, kind: str) -> Any:
    """Turn command-line text into a value of the inspected type ``kind``."""
    import ast

    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "bool":
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            return words[text.lower()]
        if kind == "str":
            return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text
    except (ValueError, KeyError):
        raise _wrong_type(name, text, kind) from None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def split_values(text: str) -> list[str]:
    """Split ``0.01,0.1,1.0`` at top-level commas (commas inside brackets or quotes stay)."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_grid(notebook: str | Path, pairs: Sequence[tuple[str, str]]) -> dict[str, list[Any]]:
    """``[("lr", "0.01,0.1"), ...]`` from the command line into a typed grid for ``notebook``."""
    params = inspect_params(notebook)
    grid: dict[str, list[Any]] = {}
    for name, text in pairs:
        _known(name, params, _lesson(notebook).stem)
        grid.setdefault(name, []).extend(parse_value(name, t, params[name].type) for t in split_values(text))
    return grid


def _known(name: str, params: dict[str, Param], stem: str) -> None:
    if name not in params:
        raise RunnerError(f"unknown parameter {name!r} for {stem}; its parameters: {', '.join(params)}")
    if name == "result_path":
        raise RunnerError("result_path is set by the runner for each run; leave it out")


def check_grid(notebook: str | Path, grid: dict[str, Iterable[Any]]) -> dict[str, list[Any]]:
    """Check a grid against the lesson's inspected parameters: known names, right types, no empty lists."""
    stem = _lesson(notebook).stem
    if not grid:
        raise RunnerError(f"empty grid: give each parameter to sweep at least one value, e.g. -p n 64,128 for {stem}")
    params = inspect_params(notebook)
    checked = {}
    for name, values in grid.items():
        _known(name, params, stem)
        values = list(values) if isinstance(values, (list, tuple, range)) else [values]
        if not values:
            raise RunnerError(f"empty grid: parameter {name!r} has no values")
        checked[name] = [check_value(name, v, params[name].type) for v in values]
    return checked


def check_out(out: str | Path) -> Path:
    """The output folder, resolved; refuses the project folder itself and any of its source folders."""
    out = Path(out).expanduser().resolve()
    root = notebooks_dir().parent.resolve()
    if out == root:
        raise RunnerError(f"output folder {str(out)!r} is the project folder; use a folder such as build/run")
    for name in SOURCE_DIRS:
        if out == root / name or (root / name) in out.parents:
            raise RunnerError(
                f"output folder {str(out)!r} is inside {name}/ and could overwrite sources; use build/..."
            )
    if out.exists() and not out.is_dir():
        raise RunnerError(f"output folder {str(out)!r} is a file")
    return out


def expand(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values, the last parameter varying fastest."""
    names = list(grid)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(grid[n] for n in names))]


def run_key(params: dict[str, Any]) -> str:
    """A file-name-safe name for a run: ``lr=0.1_batch_size=8``."""
    text = "_".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    return re.sub(r"[^A-Za-z0-9._=+-]+", "-", text)[:150]


# ----------------------------------------------------------------------------- one run


def threads_per_run(workers: int, cores: int | None = None) -> int:
    """Threads each kernel may use so that ``workers`` kernels together fill, not oversubscribe, the CPU."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


def _child_env(threads: int) -> dict[str, str]:
    env = dict(os.environ, LABKIT_HEADLESS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    env.update({var: str(threads) for var in THREAD_VARS})
    env.pop("PYTEST_CURRENT_TEST", None)
    return env


def error_line(notebook_path: str | Path) -> str:
    """The first error an executed notebook holds, as one line ``Name: message`` ('' if none)."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook has no error to show
        return ""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                message = (out.get("evalue") or "").strip().splitlines()
                return f"{out.get('ename', 'Error')}: {message[0] if message else ''}".rstrip(": ")
    return ""


def _kill(proc: subprocess.Popen, grace: float = 10.0) -> None:
    # SIGTERM first: the job turns it into an exception, so papermill shuts its kernel down (the
    # kernel runs in a session of its own and would outlive a plain kill of the job).
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (AttributeError, ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait()


def execute_one(
    record: RunRecord, *, source: Path, timeout: float, threads: int, html: bool,
    cancelled: Callable[[], bool] = lambda: False,
) -> RunRecord:
    """Run one notebook with papermill in a child process; fill in the record's status, seconds and error."""
    output, result = Path(record.output), Path(record.result_path)
    output.parent.mkdir(parents=True, exist_ok=True)
    result.unlink(missing_ok=True)
    spec = {
        "input": str(source), "output": str(output), "cwd": str(output.parent), "html": html,
        "timeout": timeout, "parameters": dict(record.parameters, result_path=str(result)),
    }
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "labkit.runner", json.dumps(spec)],
        env=_child_env(threads), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )
    stderr = ""
    while True:
        try:
            _, stderr = proc.communicate(timeout=0.2)
            break
        except subprocess.TimeoutExpired:
            if cancelled():
                _kill(proc)
                record.status, record.error = "interrupted", "interrupted before it finished"
                record.seconds = round(time.perf_counter() - start, 2)
                return record
            if time.perf_counter() - start > timeout:
                _kill(proc)
                record.status, record.error = "timeout", f"stopped at the time limit of {timeout:g} s"
                record.seconds = round(time.perf_counter() - start, 2)
                return record
    record.seconds = round(time.perf_counter() - start, 2)
    if proc.returncode == 0 and result.is_file():
        record.status, record.error = "ok", ""
        record.metrics = _metrics(result)
    else:
        record.status = "failed"
        lines = [line for line in (stderr or "").splitlines() if line.strip()]
        record.error = error_line(output) or (lines[-1].strip() if lines else f"exit code {proc.returncode}")
        if proc.returncode == 0:
            record.error = "the lesson wrote no result_path JSON"
    return record


def _metrics(result: Path) -> dict[str, Any]:
    from labkit.results import load

    try:
        return load(result)["metrics"]
    except (ValueError, OSError):
        return {}


def _job(spec: dict[str, Any]) -> int:
    """Inside the child: papermill runs the notebook; then (even after a failure) the HTML export."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        pm.execute_notebook(
            spec["input"], spec["output"], parameters=spec["parameters"], kernel_name="python3",
            cwd=spec["cwd"], progress_bar=False, request_save_on_cell_execute=True,
            execution_timeout=int(spec["timeout"]) + 1,
        )
    except PapermillExecutionError as err:
        print(f"{err.ename}: {(err.evalue or '').strip().splitlines()[0] if err.evalue else ''}", file=sys.stderr)
        code = 1
    finally:
        if spec.get("html") and Path(spec["output"]).is_file():
            export_html(spec["output"])
    return code


def export_html(notebook_path: str | Path) -> Path:
    """Write ``X.html`` beside ``X.ipynb`` (nbconvert's lab template) for reading without Jupyter."""
    import nbformat
    from nbconvert import HTMLExporter

    notebook_path = Path(notebook_path)
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(notebook_path, as_version=4))
    target = notebook_path.with_suffix(".html")
    target.write_text(body, encoding="utf-8")
    return target


# ----------------------------------------------------------------------------- many runs


def run_many(
    records: list[RunRecord], sources: dict[str, Path], *, workers: int, timeout: float, html: bool,
    progress: bool = True, desc: str = "runs", on_done: Callable[[RunRecord], None] = lambda r: None,
) -> list[RunRecord]:
    """Run ``records`` with up to ``workers`` at once; a failure never stops the others.

    On Ctrl-C the runs in progress are stopped and marked ``interrupted``; finished ones keep their
    files, and ``KeyboardInterrupt`` is raised again once the bookkeeping is done.
    """
    from tqdm.auto import tqdm

    todo = [r for r in records if not r.reused]
    workers = max(1, min(workers, len(todo) or 1))
    threads = threads_per_run(workers)
    stop = False
    bar = tqdm(total=len(records), initial=len(records) - len(todo), desc=desc, unit="run", disable=not progress)
    pool = ThreadPoolExecutor(max_workers=workers)
    futures: dict[Future, RunRecord] = {
        pool.submit(
            execute_one, r, source=sources[r.notebook], timeout=timeout, threads=threads, html=html,
            cancelled=lambda: stop,
        ): r
        for r in todo
    }
    pending = set(futures)
    try:
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                record = future.result()
                bar.update(1)
                bar.set_postfix_str(f"{record.key}: {record.status}")
                on_done(record)
    except KeyboardInterrupt:
        stop = True
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True)
        for future, record in futures.items():
            if future.cancelled() or record.status == "pending":
                record.status, record.error = "interrupted", "not run: the sweep was interrupted"
            on_done(record)
        raise
    finally:
        bar.close()
        pool.shutdown(wait=True)
    return records


def run_workbook(
    notebooks: Sequence[str] | None = None,
    out: str | Path = "build/workbook",
    *,
    timeout: float = 600,
    parameters: dict[str, Any] | None = None,
    workers: int = 1,
    html: bool = True,
    progress: bool = True,
) -> list[RunRecord]:
    """Execute lessons (all, or the chosen) headless into ``out``: notebook, HTML and result JSON each.

    ``parameters`` go to every chosen lesson that declares them. One at a time by default, so that
    lessons that time things (CPU vs GPU) are not disturbed by each other.
    """
    try:
        paths = lessons(list(notebooks) if notebooks else None)
    except FileNotFoundError as err:
        raise RunnerError(str(err)) from None
    out = check_out(out)
    parameters = dict(parameters or {})
    declared = {p.stem: inspect_params(p) for p in paths}
    for name, value in parameters.items():
        owners = [stem for stem, params in declared.items() if name in params]
        if not owners:
            raise RunnerError(f"unknown parameter {name!r}: none of {', '.join(declared)} declares it")
        if name == "result_path":
            raise RunnerError("result_path is set by the runner for each run; leave it out")
        for stem in owners:
            check_value(name, value, declared[stem][name].type)
    out.mkdir(parents=True, exist_ok=True)
    records = [
        RunRecord(
            key=p.stem, notebook=p.stem,
            parameters={k: v for k, v in parameters.items() if k in declared[p.stem]},
            output=str(out / p.name), result_path=str(out / f"{p.stem}.json"),
        )
        for p in paths
    ]
    sources = {p.stem: p for p in paths}
    try:
        run_many(records, sources, workers=workers, timeout=timeout, html=html, progress=progress, desc="workbook")
    finally:
        write_summary(records, out)
    return records


def summary_table(records: Sequence[RunRecord]) -> str:
    """Notebook, status, seconds and error line of each run, as a Markdown table."""
    rows = [[r.key, r.status, f"{r.seconds:.1f}", r.error] for r in records]
    return markdown_table(["notebook", "status", "seconds", "error"], rows)


def write_summary(records: Sequence[RunRecord], out: Path) -> None:
    """``summary.md`` and ``summary.csv`` of a workbook run."""
    (out / "summary.md").write_text(summary_table(records) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "status", "seconds", "error"])
        writer.writerows([r.key, r.status, r.seconds, r.error] for r in records)


def _done_before(record: RunRecord) -> bool:
    """A run counts as done when its result JSON exists and records the same parameters."""
    from labkit.results import load

    try:
        saved = load(record.result_path)
    except (ValueError, OSError):
        return False
    return all(saved["parameters"].get(k) == v for k, v in record.parameters.items()) and Path(record.output).is_file()


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
) -> list[RunRecord]:
    """Run ``notebook`` once per combination in ``grid``, several at once, then collect the results.

    ``workers`` defaults to one per core; each kernel gets ``cores // workers`` threads. ``fixed``
    parameters go to every run. Runs whose result JSON already exists are reused unless ``force``.
    Writes the table (CSV, Markdown) and a figure of ``metric`` against ``x`` into ``out``.
    """
    source = _lesson(notebook)
    grid = check_grid(source, grid)
    fixed = dict(fixed or {})
    if fixed:
        params = inspect_params(source)
        for name, value in fixed.items():
            _known(name, params, source.stem)
            check_value(name, value, params[name].type)
    out = check_out(out if out is not None else Path("build/sweep") / source.stem)
    if x is not None and x not in grid:
        raise RunnerError(f"x = {x!r} is not a swept parameter; swept: {', '.join(grid)}")
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
            record.metrics = _metrics(Path(record.result_path))
            saved = float(json.loads(Path(record.result_path).read_text()).get("seconds", 0.0))
            record.seconds = earlier.get(record.key) or saved

    def save_manifest(_: RunRecord | None = None) -> None:
        manifest = {"notebook": source.stem, "grid": grid, "fixed": fixed, "runs": [asdict(r) for r in records]}
        (out / "sweep.json").write_text(json.dumps(manifest, indent=2, default=str) + "\n")

    save_manifest()
    try:
        run_many(
            records, {source.stem: source}, workers=workers or os.cpu_count() or 1, timeout=timeout,
            html=html, progress=progress, desc=f"sweep {source.stem}", on_done=save_manifest,
        )
    finally:
        save_manifest()
        collect(out, x=x, metric=metric)
    return records


# ----------------------------------------------------------------------------- collecting


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-style Markdown table; ``|`` inside cells is escaped."""
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(_cell(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join(" --- " for _ in header) + "|", *map(line, rows)])


def collect(out: str | Path, *, x: str | None = None, metric: str | None = None) -> list[dict[str, Any]]:
    """Gather a sweep's runs into ``results.csv``, ``results.md`` and ``results.png``; return the rows."""
    out = Path(out)
    manifest = json.loads((out / "sweep.json").read_text())
    swept = list(manifest["grid"])
    rows, metric_names = [], []
    for run in manifest["runs"]:
        metrics = {k: v for k, v in (run.get("metrics") or {}).items() if _scalar(v)}
        metric_names += [k for k in metrics if k not in metric_names]
        row = {"run": run["key"], "status": run["status"], "seconds": run["seconds"]}
        row.update({name: run["parameters"].get(name) for name in swept})
        row.update(metrics)
        row["error"] = run["error"]
        rows.append(row)
    header = ["run", "status", "seconds", *swept, *metric_names, "error"]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    table = markdown_table(header, [[r.get(h) for h in header] for r in rows])
    (out / "results.md").write_text(f"# Sweep of {manifest['notebook']}\n\n{table}\n")
    figure_path = out / "results.png"
    fig = results_figure(rows, swept, metric_names, x=x, metric=metric, title=manifest["notebook"])
    if fig is not None:
        fig.savefig(figure_path)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return rows


def results_figure(
    rows: Sequence[dict[str, Any]], swept: Sequence[str], metrics: Sequence[str], *,
    x: str | None = None, metric: str | None = None, title: str = "",
):
    """``metric`` against the swept parameter ``x``, one line per combination of the other swept values."""
    ok = [r for r in rows if r["status"] == "ok"]
    if x is None:
        numeric = [p for p in swept if all(_number(r.get(p)) for r in ok)]
        varied = [p for p in numeric if len({r.get(p) for r in ok}) > 1]
        x = (varied or numeric or [None])[0]
    if metric is None:
        numeric = [m for m in metrics if ok and all(_number(r.get(m)) for r in ok)]
        varied = [m for m in numeric if len({r.get(m) for r in ok}) > 1]
        metric = (varied or numeric or [None])[0]
    if x is None or metric is None or not ok:
        return None
    if metric not in metrics:
        raise RunnerError(f"metric {metric!r} is not among the results; metrics: {', '.join(metrics)}")
    from labkit.plot import figure

    fig, ax = figure()
    others = [p for p in swept if p != x]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault(tuple(r.get(p) for p in others), []).append(r)
    for group, members in groups.items():
        points = sorted((r[x], r[metric]) for r in members if _number(r.get(x)) and _number(r.get(metric)))
        if not points:
            continue
        label = ", ".join(f"{p}={v}" for p, v in zip(others, group, strict=True)) or None
        ax.plot(*zip(*points, strict=True), marker="o", label=label)
    for axis, values in (("x", [r.get(x) for r in ok]), ("y", [r.get(metric) for r in ok])):
        values = [v for v in values if _number(v)]
        if values and min(values) > 0 and max(values) / min(values) >= 100:
            getattr(ax, f"set_{axis}scale")("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.set_title(f"{title}: {metric} against {x}" if title else f"{metric} against {x}")
    if others:
        ax.legend(title=None)
    return fig


if __name__ == "__main__":
    sys.exit(_job(json.loads(sys.argv[1])))
