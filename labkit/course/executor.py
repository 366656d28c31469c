"""Send jobs (a lesson run, a graded submission) to a local pool or a Dask cluster; each runs in a fresh process.

A *job* is a function ``fn(payload, out) -> dict`` named in ``JOBS``. Its payload carries by value
everything it needs (the notebook, its lesson, the options) and it writes its files into the
folder ``out``; ``run_job`` runs it in a fresh Python process with a hard time limit and returns
its result with those files, by value again. So the same job gives the same result on this
machine (``LocalPool``, threads that each wait on their own process) and on a Dask cluster
(``DaskPool``; Dask is the engine, this module only submits and gathers): no shared filesystem is
assumed, and a job that hangs or crashes is killed with its process group.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

from labkit.course import forkserver
from labkit.course.jobs import JOBS, run_spec
from labkit.errors import CourseError, DataNotFoundError
from labkit.paths import DATA_ENV_VAR, data_dir
from labkit.processes import start_group, wait_group

CONNECT_TIMEOUT = 8  # seconds to reach a Dask scheduler before saying it cannot be reached (one line within 10 s)
OnDone = Callable[[int, dict[str, Any]], None]

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


# ---- one job in a fresh process -----------------------------------------------------------------


def _files(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_job(kind: str, payload: dict[str, Any], *, timeout: float, threads: int | None = None,
            threads_by_host: dict[str, int] | None = None,
            cancelled: Callable[[], bool] = lambda: False) -> dict[str, Any]:
    """Run job ``kind`` in a fresh process, at most ``timeout`` s; its result, its files and the seconds taken.

    A job that did not finish comes back as ``{"failure": "timeout" | "cancelled" | "crashed", "error": ...}``
    with whatever files it had written. On a Dask worker, ``threads_by_host`` gives its share of the
    host's cores (the host's cores over all task slots of the workers on that host).
    """
    if kind not in JOBS:
        raise CourseError(f"unknown job {kind!r}; jobs: {', '.join(JOBS)}")
    if threads is None and threads_by_host:
        threads = threads_by_host.get(_dask_worker_host() or "")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="labkit-job-") as tmp:
        folder = Path(tmp)
        (folder / "out").mkdir()
        spec = folder / "job.json"
        spec.write_text(json.dumps({"kind": kind, "payload": payload, "out": str(folder / "out"),
                                    "result": str(folder / "result.json")}))
        # its own process group, killed at the limit or on a cancel: the job, its kernel and anything they started;
        # SIGTERM first (grace): the job shuts its kernel down
        left = timeout - (time.perf_counter() - start)
        if forkserver.available():
            pid = forkserver.SERVER.start(spec, kernel_env(threads), folder / "stderr.txt")
            failure = forkserver.wait_forked(pid, timeout_s=left, cancelled=cancelled, grace=5.0)
            stderr = (folder / "stderr.txt").read_text(errors="replace") if (folder / "stderr.txt").exists() else ""
            exit_code = None  # a forked child's status goes to the fork server; the result file says it finished
        else:
            proc = start_group([sys.executable, "-m", "labkit.course.executor", str(spec)], env=kernel_env(threads),
                               stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            failure, _, stderr = wait_group(proc, timeout_s=left, cancelled=cancelled, grace=5.0)
            exit_code = proc.returncode
        result_file = folder / "result.json"
        if not failure and exit_code in (0, None) and result_file.is_file():
            result = json.loads(result_file.read_text())
        else:
            lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
            failure = failure or "crashed"
            detail = {"timeout": f"stopped at the time limit of {timeout:g} s", "cancelled": "interrupted",
                      "crashed": lines[-1] if lines else f"exit code {exit_code}"}[failure]
            result = {"failure": failure, "error": detail}
        result["files"] = _files(folder / "out")
        result["seconds"] = round(time.perf_counter() - start, 2)
        return result


def _host(address: str) -> str:
    from urllib.parse import urlparse

    return urlparse(address).hostname or address


def _dask_worker_host() -> str | None:
    """The host of the Dask worker this runs on; None outside a worker."""
    try:
        from distributed import get_worker

        return _host(get_worker().address)
    except (ImportError, ValueError):
        return None


# ---- many jobs --------------------------------------------------------------------------------


class LocalPool:
    """Jobs on this machine, ``workers`` at once, each with ``cores // workers`` threads."""

    def __init__(self, workers: int) -> None:
        if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
            raise CourseError(f"--jobs {workers} is not allowed: give 1 or more (one per core here: {os.cpu_count()})")
        self.workers = workers

    def describe(self) -> str:
        """Where the jobs run, for the progress bar."""
        return f"{self.workers} at once on this machine"

    def map(self, kind: str, payloads: Sequence[dict[str, Any]], *, timeout: float, on_done: OnDone,
            desc: str = "jobs", progress: bool = True) -> list[dict[str, Any] | None]:
        """Run every payload; ``on_done(i, result)`` as each finishes; results in the payloads' order.

        On Ctrl-C the running jobs are stopped, jobs not started never run (None), and
        KeyboardInterrupt is raised again once the finished ones have been handed to ``on_done``.
        """
        from tqdm.auto import tqdm

        results: list[dict[str, Any] | None] = [None] * len(payloads)
        if not payloads:
            return results
        workers = min(self.workers, len(payloads))
        threads = threads_per_run(workers)
        stop = False
        bar = tqdm(total=len(payloads), desc=desc, unit="job", disable=not progress)
        pool = ThreadPoolExecutor(max_workers=workers)
        futures: dict[Future, int] = {
            pool.submit(run_job, kind, payload, timeout=timeout, threads=threads, cancelled=lambda: stop): i
            for i, payload in enumerate(payloads)
        }
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    i = futures[future]
                    results[i] = future.result()
                    on_done(i, results[i])
                    bar.update(1)
        except KeyboardInterrupt:
            stop = True
            for future in pending:
                future.cancel()
            pool.shutdown(wait=True)
            raise
        finally:
            bar.close()
            pool.shutdown(wait=True)
        return results


def _set_allowed_failures(value: int, dask_scheduler: Any = None) -> int:
    """On the scheduler: how often a task may lose its worker before it fails; returns the old value."""
    old = dask_scheduler.allowed_failures
    dask_scheduler.allowed_failures = value
    return old


class DaskPool:
    """Jobs on an existing Dask distributed cluster, reached at ``address``."""

    def __init__(self, address: str) -> None:
        try:
            from distributed import Client
        except ImportError:
            raise CourseError("a Dask scheduler needs the distributed package: pip install labkit[course]") from None
        try:
            self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise CourseError(
                f"cannot reach the Dask scheduler at {address} within {CONNECT_TIMEOUT} s: {str(err).splitlines()[0]}"
            ) from None
        self.address = address

    def describe(self) -> str:
        """Where the jobs run, for the progress bar."""
        workers = self.client.scheduler_info().get("workers", {})
        return f"Dask at {self.address}, {len(workers)} worker(s)"

    def close(self) -> None:
        """Disconnect from the scheduler (the cluster keeps running)."""
        self.client.close()

    def threads_by_host(self) -> dict[str, int]:
        """Each host's cores shared among the task slots of all its workers, so jobs do not oversubscribe it."""
        workers = self.client.scheduler_info().get("workers", {})
        cores = self.client.run(os.cpu_count)
        slots: dict[str, int] = {}
        host_cores: dict[str, int] = {}
        for address, info in workers.items():
            host = _host(address)
            slots[host] = slots.get(host, 0) + int(info.get("nthreads", 1))
            host_cores[host] = int(cores.get(address) or 1)
        return {host: max(1, host_cores[host] // max(1, n)) for host, n in slots.items()}

    def run_everywhere(self, fn: Callable[[], Any]) -> dict[str, Any]:
        """``fn()`` on every worker: {worker address: result}."""
        return self.client.run(fn)

    def map(self, kind: str, payloads: Sequence[dict[str, Any]], *, timeout: float, on_done: OnDone,
            desc: str = "jobs", progress: bool = True) -> list[dict[str, Any] | None]:
        """Run every payload on the cluster; ``on_done(i, result)`` as each finishes; results in order.

        A job whose worker dies is run once more on another worker; if that worker dies too, its
        result says ``worker lost`` and the other jobs go on. While the jobs run, the scheduler
        allows one such retry (its ``allowed-failures``); the old setting is put back after.
        """
        from distributed import as_completed
        from tqdm.auto import tqdm

        results: list[dict[str, Any] | None] = [None] * len(payloads)
        if not payloads:
            return results
        old = self.client.run_on_scheduler(_set_allowed_failures, 1)
        share = self.threads_by_host()
        bar = tqdm(total=len(payloads), desc=desc, unit="job", disable=not progress)
        futures = {self.client.submit(run_job, kind, payload, timeout=timeout, threads_by_host=share, pure=False): i
                   for i, payload in enumerate(payloads)}
        try:
            for future in as_completed(futures, loop=self.client.loop):
                i = futures[future]
                try:
                    results[i] = future.result()
                except Exception as err:  # noqa: BLE001 - KilledWorker above all: the others go on
                    name = type(err).__name__
                    lost = name == "KilledWorker"
                    results[i] = {"failure": "worker lost" if lost else "crashed",
                                  "error": f"{name}: {str(err).splitlines()[0] if str(err) else ''}", "files": {}}
                on_done(i, results[i])
                bar.update(1)
        except KeyboardInterrupt:
            self.client.cancel(list(futures))
            raise
        finally:
            bar.close()
            try:
                self.client.run_on_scheduler(_set_allowed_failures, old)
            except Exception:  # noqa: BLE001 - the scheduler went away: nothing to put back
                pass
        return results


def pool(jobs: int | None = None, scheduler: str | None = None) -> LocalPool | DaskPool:
    """A Dask pool when ``scheduler`` is given, else a local one (``jobs`` at once, default one per core)."""
    if scheduler:
        return DaskPool(scheduler)
    return LocalPool((os.cpu_count() or 1) if jobs is None else jobs)


if __name__ == "__main__":
    sys.exit(run_spec(sys.argv[1]))
