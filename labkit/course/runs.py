"""Run one lesson headless with papermill in a child process: a time limit, a kill, its own kernel environment.

Every run is ``papermill.execute_notebook`` in a child process of its own, so each run has a hard
time limit (its process group is killed), its own thread count (``OMP_NUM_THREADS`` and friends,
read by torch when the kernel starts) and ``LABKIT_HEADLESS=1``. The parent only checks the input,
starts the children, draws the progress bar and collects what the lessons wrote to ``result_path``.
``run_workbook`` runs every chosen lesson this way; ``execute_in_place`` re-executes a lesson into
its own file, so its stored outputs are what the code prints now.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.course.catalog import check_value, inspect_params, lessons
from labkit.course.executor import run_many
from labkit.course.report import error_line, export_html, write_summary
from labkit.errors import CourseError, DataNotFoundError
from labkit.paths import DATA_ENV_VAR, data_dir, safe_output_dir

THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMEXPR_NUM_THREADS")


def kernel_env(threads: int | None = None, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a child kernel: headless, the data folder found from anywhere, a share of the threads."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTEST_CURRENT_TEST", None)  # the kernel is not a test; LABKIT_HEADLESS says what matters
    env.update(LABKIT_HEADLESS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
    try:
        env[DATA_ENV_VAR] = str(data_dir())
    except DataNotFoundError:
        pass
    if threads:
        env.update({var: str(threads) for var in THREAD_VARS})
    return env


def threads_per_run(workers: int, cores: int | None = None) -> int:
    """Threads each kernel may use so that ``workers`` kernels together fill, not oversubscribe, the CPU."""
    cores = cores or os.cpu_count() or 1
    return max(1, cores // max(1, workers))


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


def metrics_of(result: Path) -> dict[str, Any]:
    """The metrics a run's result JSON holds ({} when it holds none)."""
    from labkit.results import load

    try:
        return load(result)["metrics"]
    except (ValueError, OSError):
        return {}


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
        [sys.executable, "-m", "labkit.course.runs", json.dumps(spec)],
        env=kernel_env(threads), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
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
        record.metrics = metrics_of(result)
    else:
        record.status = "failed"
        lines = [line for line in (stderr or "").splitlines() if line.strip()]
        record.error = error_line(output) or (lines[-1].strip() if lines else f"exit code {proc.returncode}")
        if proc.returncode == 0:
            record.error = "the lesson wrote no result_path JSON"
    return record


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


def run_records(
    records: list[RunRecord], sources: dict[str, Path], *, workers: int, timeout: float, html: bool,
    progress: bool = True, desc: str = "runs", on_done: Callable[[RunRecord], None] = lambda r: None,
) -> list[RunRecord]:
    """Run every record not reused, up to ``workers`` at once; a failure never stops the others.

    On Ctrl-C the runs in progress are stopped and marked ``interrupted``, as are those never
    started; finished ones keep their files, and ``KeyboardInterrupt`` is raised again.
    """
    todo = [r for r in records if not r.reused]
    threads = threads_per_run(max(1, min(workers, len(todo) or 1)))

    def work(record: RunRecord, cancelled: Callable[[], bool]) -> RunRecord:
        return execute_one(record, source=sources[record.notebook], timeout=timeout, threads=threads, html=html,
                           cancelled=cancelled)

    try:
        run_many(todo, work, workers=workers, desc=desc, progress=progress,
                 on_done=lambda record, _: on_done(record), describe=lambda r: f"{r.key}: {r.status}")
    except KeyboardInterrupt:
        for record in todo:
            if record.status == "pending":
                record.status, record.error = "interrupted", "not run: the runs were interrupted"
            on_done(record)
        raise
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
                    progress=progress, desc="workbook")
    finally:
        write_summary(records, out)
    return records


def execute_in_place(path: Path, *, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in a fresh python3 kernel and save it with its new outputs; return the seconds."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=False,
        coalesce_streams=True,  # one stdout output per cell, however the kernel flushed it
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute(env=kernel_env())  # headless: no live widgets or bars in stored outputs
    nbformat.write(nb, path)
    return time.perf_counter() - start


if __name__ == "__main__":
    sys.exit(_job(json.loads(sys.argv[1])))
