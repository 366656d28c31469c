"""A real Dask cluster for the tests: a scheduler and workers as separate processes on 127.0.0.1, always stopped."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from labkit import processes

START_TIMEOUT = 90  # seconds for the scheduler to write its address and the workers to join it


class Cluster:
    """``dask scheduler`` on a free port of 127.0.0.1 and ``workers`` ``dask worker`` processes (each with a nanny)."""

    def __init__(self, folder: Path, workers: int = 2) -> None:
        self.folder = folder
        self.workers = workers
        self.procs: list[subprocess.Popen] = []
        self.address = ""

    def _start(self, module: str, *args: str, log: str) -> subprocess.Popen:
        out = open(self.folder / log, "w")  # noqa: SIM115 - written by the process until stop()
        proc = processes.start_group([sys.executable, "-m", module, *args], stdout=out, stderr=subprocess.STDOUT,
                                     cwd=self.folder)
        self.procs.append(proc)
        return proc

    def start(self) -> Cluster:
        """Start the scheduler, then the workers; wait until all have joined (or fail with the logs)."""
        file = self.folder / "scheduler.json"
        self._start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                    "--scheduler-file", str(file), log="scheduler.log")
        self._wait("the scheduler to write its address", lambda: file.is_file() and file.stat().st_size > 0)
        self.address = json.loads(file.read_text())["address"]
        for i in range(self.workers):
            self._start("distributed.cli.dask_worker", "--scheduler-file", str(file), "--host", "127.0.0.1",
                        "--nthreads", "1", "--nworkers", "1", "--no-dashboard", "--name", f"worker-{i}",
                        "--memory-limit", "0", log=f"worker-{i}.log")
        self._wait(f"{self.workers} workers to join", lambda: len(self.worker_addresses()) >= self.workers)
        return self

    def client(self):
        """A Dask client of this cluster (close it)."""
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def worker_addresses(self) -> list[str]:
        """The addresses of the workers connected now."""
        with self.client() as c:
            return sorted(c.scheduler_info()["workers"])

    def _wait(self, what: str, check) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            for proc in self.procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"a Dask process exited ({proc.args[2]}) while waiting for {what}:\n"
                                       + self.logs())
            try:
                if check():
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise RuntimeError(f"timed out after {START_TIMEOUT} s waiting for {what}:\n" + self.logs())

    def logs(self, lines: int = 15) -> str:
        """The end of every process's log."""
        parts = []
        for log in sorted(self.folder.glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(parts)

    def stop(self) -> None:
        """Stop every process of the cluster (their process groups), politely and then not."""
        for proc in self.procs:
            processes.kill_group(proc, grace=15)
