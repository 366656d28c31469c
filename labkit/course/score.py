"""Run a restored submission (sandboxed) with time limits, then score each graded item as nbgrader would.

Every graded item of nbgrader's format gets a row:

- a test cell (``grade``, not ``solution``, code): passed, failed, partial, timeout or not run, by
  nbgrader's rule (an error output fails it), except that output on stderr costs nothing;
- a manually graded answer (``grade`` and ``solution``, markdown or code) and a task cell
  (``task``): ``manual`` with its points for the instructor to give, or ``not answered`` (zero,
  as nbgrader gives) when the answer is the released stub unchanged.

What the sandbox stopped (a read of a hidden file, a write outside the scratch folder, the
network, a limit) is found in the errors the submission's cells raised and said in words.
"""

from __future__ import annotations

import copy
import errno
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from labkit.course.release import LOG, nbg
from labkit.course.report import first_line
from labkit.course.sandbox import Limits, Sandbox, kernel_manager, processes_in

KERNEL = "python3"


def items(nb: Any) -> dict[str, tuple[str, float]]:
    """``{grade_id: (kind, points)}`` of every graded item: kind is 'test', 'manual' or 'task'."""
    found = {}
    for cell in nb.cells:
        meta = nbg(cell)
        gid = meta.get("grade_id")
        if not gid:
            continue
        if meta.get("task"):
            found[gid] = ("task", float(meta.get("points", 0)))
        elif meta.get("grade"):
            manual = meta.get("solution") or cell.cell_type != "code"
            found[gid] = ("manual" if manual else "test", float(meta.get("points", 0)))
    return found


# ---- run ------------------------------------------------------------------------------------------


def _timed_execute(cell_timeout: int, notebook_timeout: int, sandbox: Sandbox | None, sockets: Path) -> Any:
    from jupyter_core.utils import run_sync
    from nbformat import NotebookNode
    from nbgrader.preprocessors import Execute

    from labkit.course.executor import kernel_env

    class TimedExecute(Execute):
        """nbgrader's ``Execute`` with a budget for the whole notebook, counting what the kernel left running."""

        def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, dict]:
            self.deadline = time.monotonic() + notebook_timeout
            self.ran: set[int] = set()
            self.skipped: set[int] = set()
            self.left_running = 0
            self.marks: dict[str, float] = {}
            self.last_code = max((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), default=-1)
            return super().preprocess(nb, resources, km)

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            if sandbox is None:
                kwargs.setdefault("env", kernel_env())  # headless, the data found from any folder
            # What the kernel process itself prints (its banner) is nobody's business: the cells'
            # outputs come over its sockets. Nor may it fill the terminal of `labkit check`.
            kwargs.setdefault("stdout", subprocess.DEVNULL)
            kwargs.setdefault("stderr", subprocess.DEVNULL)
            await super().async_start_new_kernel(**kwargs)

        # nbclient's synchronous entry point wraps its own coroutine, not an override: wrap this one.
        start_new_kernel = run_sync(async_start_new_kernel)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, dict]:
            if cell.cell_type != "code":
                return cell, resources
            left = self.deadline - time.monotonic()
            if left < 1:
                cell.outputs = [NotebookNode(output_type="error", ename="NotebookTimeout",
                                             evalue=f"not run: the notebook used up its {notebook_timeout} s",
                                             traceback=[])]
                self.skipped.add(index)
                return cell, resources
            self.timeout = int(max(1, min(cell_timeout, left)))
            self.marks.setdefault("first cell", time.perf_counter())  # the kernel is up and answering by now
            result = super().preprocess_cell(cell, resources, index)
            self.marks["last cell"] = time.perf_counter()
            self.ran.add(index)  # only once it finished: a cell that killed the kernel earns nothing
            if index == self.last_code and sandbox is not None:
                self.left_running = _left_running(self.km)
            return result

    km = kernel_manager(sandbox, sockets, kernel_name=KERNEL)
    executor = TimedExecute(log=LOG, timeout=cell_timeout, kernel_name=KERNEL, interrupt_on_timeout=True,
                            allow_errors=True, record_timing=False, store_widget_state=False,
                            # A kernel slow to go idle after an interrupt must not abort the whole notebook.
                            raise_on_iopub_timeout=False, iopub_timeout=10,
                            error_on_timeout={"ename": "CellTimeoutError",
                                              "evalue": f"no result within {cell_timeout} s",
                                              "traceback": [f"CellTimeoutError: no result within {cell_timeout} s"]})
    return executor, km


def _left_running(km: Any) -> int:
    """Processes in the kernel's sandbox besides the sandbox's init and the kernel itself (0 unsandboxed)."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    if process is None:
        return 0
    children = [int(p.name) for p in Path("/proc").glob("[0-9]*") if _ppid(p) == process.pid]
    if not children:
        return 0
    return max(0, len(processes_in(children[0])) - 2)


def _ppid(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def run_notebook(nb: Any, *, cell_timeout: int, notebook_timeout: int, sandbox: Sandbox | None,
                 workdir: Path, timings: dict[str, float] | None = None) -> tuple[Any, set[int], str, int]:
    """Run ``nb`` in a fresh kernel (in ``sandbox`` unless None); the notebook, the cells run, a problem, leftovers.

    ``timings``, when given, gets the seconds spent starting the kernel, running the code cells and
    stopping the kernel (what a benchmark breaks a submission's cost into).
    """
    from nbgrader.preprocessors import LimitOutput

    problem = ""
    with tempfile.TemporaryDirectory(prefix="labkit-kernel-") as sockets:  # used when there is no sandbox
        executor, km = _timed_execute(cell_timeout, notebook_timeout, sandbox, Path(sockets))
        start = time.perf_counter()
        try:
            nb, _ = executor.preprocess(nb, {"metadata": {"path": str(workdir)}}, km)
        except Exception as err:  # noqa: BLE001 - a dead kernel, a kernel that never answers: grade what did run
            problem = f"execution stopped: {type(err).__name__}: {first_line(str(err))}"
        end, marks = time.perf_counter(), getattr(executor, "marks", {})
        if timings is not None:
            first, last = marks.get("first cell", end), marks.get("last cell", end)
            timings.update({"kernel start": first - start, "cells": last - first, "kernel stop": end - last})
    ran = set(getattr(executor, "ran", set()))
    if getattr(executor, "skipped", None):
        problem = problem or f"the notebook ran past its {notebook_timeout} s; later cells were not run"
    nb, _ = LimitOutput(log=LOG).preprocess(nb, {})
    return nb, ran, problem, getattr(executor, "left_running", 0)


# ---- score ----------------------------------------------------------------------------------------


def _error_text(cell: Any) -> tuple[str, str]:
    """(status, reason) from a cell's error output, or ('', '') if it has none."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # A timed-out cell holds the KeyboardInterrupt of the interrupt too; the timeout is the reason.
    errors.sort(key=lambda o: o.get("ename") not in ("CellTimeoutError", "NotebookTimeout"))
    for out in errors:
        ename, evalue = out.get("ename", ""), first_line(out.get("evalue", ""))
        if ename == "CellTimeoutError":
            return "timeout", f"timed out: {evalue} (interrupted)"
        if ename == "NotebookTimeout":
            return "not run", evalue
        return "failed", f"{ename}: {evalue}" if evalue else ename
    return "", ""


def _stderr(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def _manual(cell: Any, kind: str) -> tuple[float, str, str]:
    from nbgrader import utils

    if kind == "task":
        return 0.0, "manual", "a task: grade the work that follows it by hand"
    score, _ = utils.determine_grade(cell, LOG)  # 0 when the answer is the released stub, else None
    if score is not None:
        return 0.0, "not answered", "the answer is the released stub, unchanged: zero, as nbgrader gives"
    return 0.0, "manual", "graded by hand: the answer is in the feedback"


def score(nb: Any, ran: set[int], graded: dict[str, tuple[str, float]], problem: str
          ) -> list[tuple[str, float, str, str]]:
    """(item, score, status, reason) for every graded item, with nbgrader's rule minus its stderr trap."""
    from nbgrader import utils

    results: dict[str, tuple[float, str, str]] = {}
    last_answer = None
    for index, cell in enumerate(nb.cells):
        meta = nbg(cell)
        if meta.get("solution") and not meta.get("grade"):
            last_answer = cell
        gid = meta.get("grade_id")
        if gid not in graded or gid in results:
            continue
        kind, points = graded[gid]
        if kind != "test":
            results[gid] = _manual(cell, kind)
            continue
        if index not in ran:
            status, reason = _error_text(cell)
            results[gid] = (0.0, "not run", reason or problem or "not run")
            continue
        status, reason = _error_text(cell)
        # nbgrader gives zero to a test cell with any stderr output (a warning, a progress bar);
        # only an error fails a test here, and the warning is reported.
        quiet = copy.deepcopy(cell)
        quiet.outputs = [o for o in quiet.outputs
                         if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        got, _ = utils.determine_grade(quiet, LOG)
        got = 0.0 if got is None else float(got)
        if not status:
            status, reason = ("passed", "") if got >= points else ("partial", f"partial credit {got}")
        if status != "passed" and last_answer is not None:
            answer_status, answer_reason = _error_text(last_answer)
            if answer_status:
                reason += f"; the answer cell {nbg(last_answer)['grade_id']} raised {answer_reason}"
        err = _stderr(cell)
        if err:
            reason += ("; " if reason else "") + f"stderr (ignored for the score): {first_line(err)}"
        results[gid] = (got, status, reason)
    return [(gid, *results.get(gid, (0.0, "missing", "graded cell not found"))) for gid in graded]


# ---- what the sandbox stopped ---------------------------------------------------------------------

_PATH = re.compile(r"'(/[^']+)'")


def stopped(nb: Any, *, limits: Limits | None, left_running: int, problem: str) -> list[str]:
    """What the sandbox stopped, in words, from the errors the submission's cells raised."""
    if limits is None:
        return []
    found: list[str] = []

    def add(text: str) -> None:
        if text not in found:
            found.append(text)

    for index, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            if out.get("output_type") != "error":
                continue
            ename, evalue = out.get("ename", ""), str(out.get("evalue", ""))
            where = f"cell {index}"
            paths = _PATH.findall(evalue)
            if ename == "FileNotFoundError" and paths and os.path.exists(paths[0]):
                add(f"{where}: {paths[0]} exists outside the sandbox but not inside it (hidden)")
            elif ename == "PermissionError" or f"[Errno {errno.EACCES}]" in evalue:
                add(f"{where}: permission denied ({first_line(evalue)})")
            elif f"[Errno {errno.EROFS}]" in evalue:
                add(f"{where}: write outside the scratch folder refused ({paths[0] if paths else 'read-only'})")
            elif f"[Errno {errno.ENETUNREACH}]" in evalue or "Network is unreachable" in evalue:
                add(f"{where}: no network in the sandbox ({first_line(evalue)})")
            elif f"[Errno {errno.ECONNREFUSED}]" in evalue:
                add(f"{where}: only the sandbox's own loopback is reachable ({first_line(evalue)})")
            elif ename == "MemoryError" or "can't allocate memory" in evalue or "Cannot allocate memory" in evalue:
                add(f"{where}: memory limit of {limits.memory_mb} MiB reached")
            elif f"[Errno {errno.EAGAIN}]" in evalue or "Resource temporarily unavailable" in evalue:
                add(f"{where}: process limit of {limits.processes} processes and threads reached")
            elif f"[Errno {errno.EFBIG}]" in evalue or "File too large" in evalue:
                add(f"{where}: file size limit of {limits.file_mb} MiB reached")
            elif f"[Errno {errno.ENOSPC}]" in evalue:
                add(f"{where}: scratch space of {limits.scratch_mb} MiB full")
    if left_running:
        add(f"{left_running} process(es) the submission started were still running at the end; stopped with "
            "its sandbox")
    if "DeadKernelError" in problem or "Kernel died" in problem:
        add("the kernel died (a limit reached, or the code ended it); the cells after it were not run")
    return found
