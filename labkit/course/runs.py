"""Run one lesson headless with papermill in a child process: a time limit, a kill, its own kernel environment.

Every run is ``papermill.execute_notebook`` in a child process of its own, so each run has a hard
time limit (its process group is killed), its own thread count (``OMP_NUM_THREADS`` and friends,
read by torch when the kernel starts) and ``LABKIT_HEADLESS=1``. The parent only checks the input,
starts the children, draws the progress bar and collects what the lessons wrote to ``result_path``.
``run_workbook`` runs every chosen lesson this way; ``execute_in_place`` re-executes a lesson into
its own file, so its stored outputs are what the code prints now.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.course.catalog import check_value, inspect_params, lessons
from labkit.course.executor import kernel_env, pool
from labkit.course.report import error_line, export_html, write_summary
from labkit.course.sandbox import local_kernel_manager_class
from labkit.errors import CourseError
from labkit.paths import safe_output_dir


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


def metrics_of(result: Path) -> dict[str, Any]:
    """The metrics a run's result JSON holds ({} when it holds none)."""
    from labkit.results import load

    try:
        return load(result)["metrics"]
    except (ValueError, OSError):
        return {}


def run_job(payload: dict[str, Any], out: Path) -> dict[str, Any]:
    """Inside a job's process: run one lesson with papermill into ``out`` (notebook, result JSON, HTML)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    name = payload["name"]
    source = out.parent / "input.ipynb"
    source.write_text(payload["notebook"], encoding="utf-8")
    output = out / f"{name}.ipynb"
    # A relative result_path: the lesson writes it beside the executed notebook, in the job's folder
    # here and beside the copy in the output folder later, so the recorded parameter stays true.
    parameters = dict(payload["parameters"], result_path=f"{name}.json")
    error = ""
    try:
        pm.execute_notebook(
            str(source), str(output), parameters=parameters, kernel_name="python3", cwd=str(out),
            progress_bar=False, request_save_on_cell_execute=True, execution_timeout=int(payload["timeout"]) + 1,
            kernel_manager_class=local_kernel_manager_class(out.parent / "kernel"),  # unix sockets: no port races
        )
    except PapermillExecutionError as err:
        error = f"{err.ename}: {(err.evalue or '').strip().splitlines()[0] if err.evalue else ''}".rstrip(": ")
    finally:
        if payload.get("html") and output.is_file():
            export_html(output)
    return {"error": error}


def _payload(record: RunRecord, source: Path, *, timeout: float, html: bool) -> dict[str, Any]:
    return {"name": record.key, "notebook": source.read_text(encoding="utf-8"), "parameters": record.parameters,
            "timeout": timeout, "html": html}


def finish(record: RunRecord, result: dict[str, Any]) -> RunRecord:
    """Fill in ``record`` from a run job's result, and write the files it made beside ``record.output``."""
    folder = Path(record.output).parent
    folder.mkdir(parents=True, exist_ok=True)
    names = {f"{record.key}.ipynb": Path(record.output), f"{record.key}.json": Path(record.result_path),
             f"{record.key}.html": Path(record.output).with_suffix(".html")}
    for name, text in result.get("files", {}).items():
        if name in names:
            names[name].write_text(text, encoding="utf-8")
    record.seconds = result.get("seconds", 0.0)
    failure = result.get("failure")
    if failure in ("timeout", "cancelled"):
        record.status = "timeout" if failure == "timeout" else "interrupted"
        record.error = result["error"] if failure == "timeout" else "interrupted before it finished"
    elif failure or result.get("error"):
        record.status = "failed"
        record.error = error_line(record.output) or result.get("error") or "the run failed"
    elif not Path(record.result_path).is_file():
        record.status, record.error = "failed", "the lesson wrote no result_path JSON"
    else:
        record.status, record.error = "ok", ""
        record.metrics = metrics_of(Path(record.result_path))
    return record


def run_records(
    records: list[RunRecord], sources: dict[str, Path], *, workers: int, timeout: float, html: bool,
    progress: bool = True, desc: str = "runs", on_done: Callable[[RunRecord], None] = lambda r: None,
    scheduler: str | None = None,
) -> list[RunRecord]:
    """Run every record not reused, up to ``workers`` at once (or on a Dask cluster); a failure never stops the rest.

    On Ctrl-C the runs in progress are stopped and marked ``interrupted``, as are those never
    started; finished ones keep their files, and ``KeyboardInterrupt`` is raised again.
    """
    todo = [r for r in records if not r.reused]
    jobs = pool(workers, scheduler)
    payloads = [_payload(r, sources[r.notebook], timeout=timeout, html=html) for r in todo]

    def done(i: int, result: dict[str, Any]) -> None:
        on_done(finish(todo[i], result))

    try:
        jobs.map("run", payloads, timeout=timeout, on_done=done, desc=desc, progress=progress)
    except KeyboardInterrupt:
        for record in todo:
            if record.status == "pending":
                record.status, record.error = "interrupted", "not run: the runs were interrupted"
            on_done(record)
        raise
    finally:
        if hasattr(jobs, "close"):
            jobs.close()
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
    scheduler: str | None = None,
) -> list[RunRecord]:
    """Execute lessons (all, or the chosen) headless into ``out``: notebook, HTML and result JSON each.

    ``parameters`` go to every chosen lesson that declares them. One at a time by default, so that
    lessons that time things (CPU vs GPU) are not disturbed by each other.
    """
    paths = lessons(list(notebooks) if notebooks else None)
    out = safe_output_dir(out)
    parameters = dict(parameters or {})
    declared = {p.stem: inspect_params(p) for p in paths}
    for name, value in parameters.items():
        if name == "result_path":
            raise CourseError("result_path is set by the runner for each run; leave it out")
        owners = [stem for stem, params in declared.items() if name in params]
        if not owners:
            raise CourseError(f"unknown parameter {name!r}: none of {', '.join(declared)} declares it")
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
    try:
        run_records(records, {p.stem: p for p in paths}, workers=workers, timeout=timeout, html=html,
                    progress=progress, desc="workbook", scheduler=scheduler)
    finally:
        write_summary(records, out)
    return records


def execute_in_place(path: Path, *, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in a fresh python3 kernel and save it with its new outputs; return the seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labkit-kernel-") as sockets:
        client = NotebookClient(
            nb,
            kernel_manager_class=local_kernel_manager_class(Path(sockets)),  # unix sockets: no port races
            timeout=timeout,
            kernel_name="python3",
            record_timing=False,
            store_widget_state=False,
            coalesce_streams=True,  # one stdout output per cell, however the kernel flushed it
            resources={"metadata": {"path": str(path.parent)}},
        )
        client.execute(env=kernel_env())  # headless: no live widgets or bars in stored outputs
    nbformat.write(nb, path)
    return time.perf_counter() - start

