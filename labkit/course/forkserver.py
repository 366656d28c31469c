"""Start each job in a fresh process forked from one that has already imported what jobs import.

A job's process used to spend seconds importing nbgrader, nbconvert and jupyter_client, and
loading nbconvert's templates, before it graded anything: for a class, minutes of the same imports.
The *fork server* (``python -m labkit.course.forkserver``) does them once, then forks a child for
each job it is asked to start. The child is still a fresh process of its own: a new session and
process group (stopped as one, as ``labkit.processes.start_group``'s are), the job's environment and
working folder, stdin and stdout closed, stderr into a file. Student code never runs in these
processes: each job runs its submission in a sandboxed kernel of its own, started fresh, as before.

The server starts on first use, once per process that runs jobs (the grader on this machine, or
each Dask worker), and ends when that process does (its stdin closes). It needs Linux's ``fork``
and ``pidfd_open``; elsewhere, or with ``LABKIT_FORKSERVER=0``, ``available()`` is False and jobs
start as plain ``python -m labkit.course.executor`` processes.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NoReturn

from labkit.errors import CourseError
from labkit.processes import kill_group

ENV_VAR = "LABKIT_FORKSERVER"  # "0": start every job as a plain process (a benchmark compares the two)
START_TIMEOUT = 120  # seconds for the server to import everything and say it is ready


def available() -> bool:
    """Whether jobs here start from the fork server (Linux, and not turned off with LABKIT_FORKSERVER=0)."""
    return os.environ.get(ENV_VAR, "1") != "0" and hasattr(os, "fork") and hasattr(os, "pidfd_open")


# ---- the server -------------------------------------------------------------------------------------


def _warm() -> None:
    """Import what jobs import; render a notebook like a feedback one, so that nbconvert's templates, the
    highlighter's Python lexer and the ANSI colours of a traceback are loaded before any job needs them."""
    from labkit.course.jobs import import_tools

    import_tools()
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

    from labkit.course.report import export_html

    error = new_output("error", ename="AssertionError", evalue="warm", traceback=["\x1b[0;31mAssertionError\x1b[0m"])
    cells = [new_markdown_cell("# warm\n\n| a | b |\n| --- | --- |\n| 1 | 2 |"),
             new_code_cell("assert 1 + 1 == 3, 'warm'", outputs=[error]),
             new_code_cell("print('warm')", outputs=[new_output("stream", name="stdout", text="warm\n")])]
    with tempfile.TemporaryDirectory(prefix="labkit-warm-") as tmp:
        export_html(new_notebook(cells=cells), Path(tmp) / "warm.html")


def _serve() -> int:
    """The server's loop: one JSON request per line on stdin, the child's pid per line on stdout."""
    _warm()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps the children: no zombies
    print("ready", flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        pid = os.fork()
        if pid == 0:
            _child(request)
        print(pid, flush=True)
    return 0


def _child(request: dict[str, Any]) -> NoReturn:
    """In the forked child: become a job process of its own, run the job, exit."""
    code = 1
    try:
        os.setsid()  # a session and process group of its own, as start_group gives
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the job waits for its own children
        devnull = os.open(os.devnull, os.O_RDWR)
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        for fd, to in ((0, devnull), (1, devnull), (2, err)):
            os.dup2(to, fd)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        from labkit.course.jobs import run_spec

        code = run_spec(request["spec"])
    except BaseException:  # noqa: BLE001 - whatever it is, its last line is the job's reason
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


# ---- the client -------------------------------------------------------------------------------------


class ForkServer:
    """This process's fork server: started on first use, asked for one child per job."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _launch(self, env: Mapping[str, str]) -> subprocess.Popen:
        # Its stderr goes to a file, not a pipe nobody reads while it runs (a full pipe would block it).
        with tempfile.TemporaryFile(mode="w+") as err:
            proc = subprocess.Popen([sys.executable, "-m", "labkit.course.forkserver"], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err, text=True, env=dict(env),
                                    start_new_session=True)
            assert proc.stdout is not None
            ready, _, _ = select.select([proc.stdout], [], [], START_TIMEOUT)
            line = proc.stdout.readline() if ready else ""
            if line.strip() != "ready":
                proc.kill()
                proc.wait()
                err.seek(0)
                last = [x for x in err.read().splitlines() if x.strip()][-1:] or ["no answer"]
                raise CourseError(f"the job fork server did not start: {last[0]}")
        return proc

    def warm_up(self, env: Mapping[str, str] | None = None) -> None:
        """Start the server now, if it is not running (else the first job starts it)."""
        with self._lock:
            self._running(env)

    def _running(self, env: Mapping[str, str] | None) -> subprocess.Popen:
        if self._proc is None or self._proc.poll() is not None:
            self._proc = self._launch(os.environ if env is None else env)
        return self._proc

    def start(self, spec: Path, env: Mapping[str, str], stderr: Path) -> int:
        """Fork a job process that runs ``python -m labkit.course.executor spec``'s job; its pid."""
        request = json.dumps({"spec": str(spec), "env": dict(env), "stderr": str(stderr), "cwd": os.getcwd()})
        with self._lock:
            self._running(env)
            assert self._proc.stdin is not None and self._proc.stdout is not None
            try:
                self._proc.stdin.write(request + "\n")
                self._proc.stdin.flush()
                line = self._proc.stdout.readline()
            except (BrokenPipeError, OSError):
                line = ""
            if not line.strip().isdigit():
                self._proc = None
                raise CourseError("the job fork server ended while starting a job")
            return int(line)

    def close(self) -> None:
        """End the server (it exits when its stdin closes)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()


SERVER = ForkServer()
atexit.register(SERVER.close)


def wait_forked(pid: int, *, timeout_s: float, cancelled: Callable[[], bool] = lambda: False,
                grace: float = 5.0) -> str:
    """Wait for the forked job ``pid`` at most ``timeout_s`` s: '' when it ended, 'timeout' or 'cancelled'.

    As ``wait_group`` does, its process group is killed in every case (SIGTERM, ``grace`` s, SIGKILL),
    a normal end too, so nothing it started outlives it.
    """
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return ""  # it has ended already
    start, failure = time.monotonic(), ""
    try:
        while not select.select([fd], [], [], 0.2)[0]:  # a pidfd is readable once its process has ended
            if cancelled():
                failure = "cancelled"
            elif time.monotonic() - start > timeout_s:
                failure = "timeout"
            if failure:
                break
    finally:
        os.close(fd)
        kill_group(pid, grace)
    return failure


if __name__ == "__main__":
    sys.exit(_serve())
