"""The life of worker processes: started in one process group, on loopback ports, stopped at their limits.

Two users, one mechanism. ``labkit.course`` runs each job (a graded submission, a lesson run) in
a fresh process; lesson 08 launches ``torch.distributed`` workers. Either way:

- a child starts in a **process group of its own** (``start_group``), so that it and everything
  it starts can be stopped as one (``kill_group``: SIGTERM, a grace period, then SIGKILL for what
  is left);
- every wait has a **limit** (``wait_group``): at the limit, on a cancel, on Ctrl-C and after a
  normal end the group is killed, so nothing outlives its launch;
- anything that listens does so on **127.0.0.1**, on a port the system picks unless told
  otherwise (``listen``).

The distributed launch (``launch``) is ``python -m labkit.processes FOLDER``: a launcher that
listens on 127.0.0.1 and starts the workers with ``torch.multiprocessing``. Each worker joins the
group through the launcher's store, runs its *tasks* and writes each rank's results into FOLDER.
A task is a function ``(rank, world_size, data, cfg) -> dict`` named ``"module:function"`` or
``"path/to/file.py:function"``; the lessons keep their own tasks. torch's TCPStore listens on every
interface unless it is handed a socket, so the launcher hands it one bound to 127.0.0.1. Nothing
here imports torch at import time: the course tools use this module without it.

``launch_script`` runs a whole training script instead, the way ``torchrun`` runs one: each rank
calls its entry function with the environment torchrun sets (``RANK``, ``WORLD_SIZE``,
``MASTER_ADDR``, ...), and the function joins the group itself with
``init_process_group("gloo")`` (the ``env://`` method) and leaves it with ``destroy_process_group``.
As under torchrun's agent, the store it joins is the launcher's, on 127.0.0.1
(``TORCHELASTIC_USE_AGENT_STORE``), and each rank runs in a scratch folder of its own.
"""

from __future__ import annotations

import argparse
import datetime
import errno
import faulthandler
import importlib
import importlib.util
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from labkit.errors import LabkitError, ParameterError

HOST = "127.0.0.1"  # loopback only: nothing a launch starts is reachable from another machine
STACKS_SIGNAL = signal.SIGUSR1  # asks a launch's processes to write where they are (faulthandler)


class LaunchError(LabkitError, RuntimeError):
    """A launch of worker processes that failed, hung or could not start; the message says which, in one line."""


# ---- one process group -------------------------------------------------------------------------


def start_group(cmd: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start ``cmd`` as the leader of a new session and process group (``subprocess.Popen`` options pass through)."""
    return subprocess.Popen(list(cmd), start_new_session=True, **popen)


def kill_group(proc: subprocess.Popen | int, grace: float = 2.0) -> None:
    """SIGTERM ``proc``'s whole process group, wait up to ``grace`` s for it, then SIGKILL whatever is left.

    ``proc`` is a group leader started here (a ``Popen``), or the pid of one that another process
    started (the job fork server's children), waited for through a pidfd where Linux has them.
    The SIGKILL always follows: a leader that ends on SIGTERM may leave children that ignored it.
    Safe to call twice, and after the leader has ended.
    """
    pid = proc if isinstance(proc, int) else proc.pid
    fd = None
    if isinstance(proc, int) and hasattr(os, "pidfd_open"):
        try:
            fd = os.pidfd_open(pid)
        except ProcessLookupError:
            fd = None  # the leader has ended; its group may still have members
    try:
        for sig, wait_s in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
            try:
                os.killpg(pid, sig)
            except (ProcessLookupError, PermissionError):
                return  # no process of the group is left
            _wait_leader(proc, fd, wait_s)
    finally:
        if fd is not None:
            os.close(fd)


def _wait_leader(proc: subprocess.Popen | int, fd: int | None, timeout_s: float) -> None:
    """Wait up to ``timeout_s`` s for a group's leader to end: its Popen, else its pidfd (readable once it ends)."""
    if isinstance(proc, subprocess.Popen):
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            pass
    elif fd is not None:
        select.select([fd], [], [], timeout_s)


def wait_group(proc: subprocess.Popen, *, timeout_s: float, cancelled: Callable[[], bool] = lambda: False,
               poll_s: float = 0.2, grace: float = 2.0,
               on_timeout: Callable[[], None] = lambda: None) -> tuple[str, str | None, str | None]:
    """Wait for ``proc`` (a group leader) at most ``timeout_s`` s; returns (failure, stdout, stderr).

    failure is '' when it ended by itself, 'timeout' or 'cancelled' when its group was killed. Its
    pipes, if any, are drained while it runs, so a chatty child cannot block on a full pipe. The
    group is killed in every case (a normal end too: children left behind go with it), and on an
    exception such as Ctrl-C before that exception goes on. ``on_timeout`` runs at the limit, before
    the kill (to collect evidence of what the group was doing).
    """
    start = time.monotonic()
    failure = ""
    try:
        while True:
            try:
                out, err = proc.communicate(timeout=poll_s)
                break
            except subprocess.TimeoutExpired:
                if proc.poll() is not None:  # it ended, but something it started still holds its pipes open
                    kill_group(proc, grace)
                    out, err = _drain(proc)
                    break
                if cancelled():
                    failure = "cancelled"
                elif time.monotonic() - start > timeout_s:
                    failure = "timeout"
                    on_timeout()
                if failure:
                    kill_group(proc, grace)
                    out, err = _drain(proc)
                    break
    finally:
        kill_group(proc, grace)
    return failure, out, err


def _drain(proc: subprocess.Popen) -> tuple[str | None, str | None]:
    """What a killed process had written, without waiting forever on a pipe a runaway child still holds."""
    try:
        return proc.communicate(timeout=5.0)
    except subprocess.TimeoutExpired:
        for pipe in (proc.stdout, proc.stderr):
            if pipe:
                pipe.close()
        return None, None


def listen(port: int = 0) -> socket.socket:
    """A socket listening on 127.0.0.1: on ``port``, or on a free one the system picks (port 0)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise LaunchError(f"port {port} on {HOST} is in use by another program: "
                              "use port = 0 to let the system choose a free one") from None
        raise LaunchError(f"cannot listen on {HOST}:{port}: {err.strerror}") from None
    sock.listen(128)
    return sock


def loopback_interface() -> str:
    """The name of the loopback network interface, which gloo is told to use ('lo' on Linux)."""
    return "lo0" if sys.platform == "darwin" else "lo"


def one_line(err: BaseException, limit: int = 300) -> str:
    """'Type: first line of the message', without gloo's '[file.cc:78]' prefix, shortened to ``limit`` characters."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    first = re.sub(r"^\[[^\]]*\]\s*", "", lines[0]) if lines else ""
    text = f"{type(err).__name__}: {first}".rstrip(": ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- tasks: what a worker runs ------------------------------------------------------------------

def resolve(reference: str) -> Callable[..., dict[str, Any]]:
    """The function a task reference names: 'package.module:function' or 'path/to/file.py:function'."""
    where, _, name = reference.rpartition(":") if isinstance(reference, str) else ("", "", "")
    if not where or not name.isidentifier():
        raise ParameterError(f"task {reference!r} is not allowed: must be 'module:function' or 'file.py:function'")
    try:
        if where.endswith(".py"):
            spec = importlib.util.spec_from_file_location(f"labkit_task_{Path(where).stem}", where)
            if spec is None or spec.loader is None or not Path(where).is_file():
                raise FileNotFoundError(where)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        else:
            module = importlib.import_module(where)
        fn = getattr(module, name)
    except (ImportError, FileNotFoundError, AttributeError) as err:
        raise ParameterError(f"task {reference!r} cannot be loaded: {one_line(err)}") from None
    if not callable(fn):
        raise ParameterError(f"task {reference!r} is not a function")
    return fn


def _write(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_text(json.dumps(payload))
    tmp.replace(path)  # whole files only: a reader never sees half of one


# What torchrun tells each process; launch_script sets the same, and each rank reports what it saw.
TORCHRUN_ENV = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")


# Process groups a worker keeps until it exits (see _keep_process_groups).
_KEPT: list[Any] = []


def _keep_process_groups() -> None:
    """Hold every default process group this process creates, so that none is freed before the process ends.

    torch 2.13 can deadlock when the last reference to a gloo process group goes away with the GIL
    held, as it does when a script's DistributedDataParallel model is freed at the end of its
    function: ~ProcessGroupGloo joins its worker thread, and that thread, destroying its last
    all-reduce, waits for the GIL to drop a Python object. (Seen here about once in ten DDP runs
    under load; gdb showed exactly those two threads.) A group held here is never freed: the worker
    leaves with os._exit once its results are written, and the operating system closes the sockets.
    """
    import torch.distributed as dist
    import torch.distributed.distributed_c10d as c10d

    original = c10d.init_process_group

    def init_process_group(*args: Any, **kwargs: Any) -> None:
        original(*args, **kwargs)
        _KEPT.append(c10d._get_default_group())

    init_process_group.__doc__, init_process_group.__wrapped__ = original.__doc__, original
    dist.init_process_group = c10d.init_process_group = init_process_group


def _run_script(rank: int, world_size: int, port: int, out: Path, cfg: dict[str, Any]) -> None:
    """One rank of launch_script: torchrun's environment, a scratch folder, the entry function, a report."""
    import torch.distributed as dist

    scratch = out / f"rank{rank}"
    scratch.mkdir(exist_ok=True)
    os.chdir(scratch)  # the script's relative paths land in this rank's own folder
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(world_size),
                      LOCAL_WORLD_SIZE=str(world_size), MASTER_ADDR=HOST, MASTER_PORT=str(port),
                      TORCHELASTIC_USE_AGENT_STORE="True")  # join the launcher's store, as torchrun's workers do
    started = time.perf_counter()
    _keep_process_groups()  # before the script is loaded: its `from torch.distributed import ...` sees it
    resolve(cfg["entry"])(cfg["config"])
    left_open = dist.is_initialized()
    if left_open:
        dist.destroy_process_group()
    _write(out / f"script-rank{rank}.json", {
        "rank": rank, "env": {name: os.environ[name] for name in TORCHRUN_ENV}, "destroyed": not left_open,
        "files": sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*") if p.is_file()),
        "seconds": time.perf_counter() - started})


def worker(rank: int, world_size: int, port: int, folder: str, cfg: dict[str, Any]) -> None:
    """One process: join the group over the launcher's store, run the tasks, write each rank's results."""
    import torch
    import torch.distributed as dist

    torch.set_num_threads(1)  # N processes share this machine's cores
    out = Path(folder)
    stacks = open(out / f"stack-rank{rank}.txt", "w")  # noqa: SIM115 - open while the worker lives
    faulthandler.register(STACKS_SIGNAL, file=stacks, all_threads=True)  # where it is, when a launch times out
    timeout = datetime.timedelta(seconds=cfg["collective_timeout_s"])
    stage = "init_process_group"
    try:
        if cfg["entry"]:
            stage = cfg["entry"].rpartition(":")[2]
            _run_script(rank, world_size, port, out, cfg)
            _leave()
        store = dist.TCPStore(HOST, port, world_size, is_master=False, timeout=timeout)
        dist.init_process_group("gloo", store=store, rank=rank, world_size=world_size, timeout=timeout)
        _KEPT.append(dist.group.WORLD)  # freed by no one: see _keep_process_groups
        data = torch.load(out / "data.pt", weights_only=True) if (out / "data.pt").exists() else {}
        for task, reference in cfg["tasks"]:
            stage = task
            started = time.perf_counter()
            result = resolve(reference)(rank, world_size, data, cfg)
            result["seconds"] = time.perf_counter() - started
            weights = result.pop("weights", None)
            if weights is not None:
                torch.save(weights, out / f"{task}-rank{rank}.pt")
            _write(out / f"{task}-rank{rank}.json", result)
        dist.destroy_process_group()
    except BaseException as err:
        line = f"in {stage}: {one_line(err)}"
        if stage == "init_process_group" or "init_process_group" in line:
            line += f" (world_size = {world_size}: did {world_size} processes start and join?)"
        _write(out / f"error-rank{rank}.json", {"rank": rank, "time": time.time(), "line": line})
        raise
    _leave()


def _leave() -> None:
    """End a worker that succeeded, without freeing what it holds (the process groups: _keep_process_groups)."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(0)


# ---- the launcher: python -m labkit.processes FOLDER --------------------------------------------


def _first_error(folder: Path, world_size: int) -> str | None:
    """The earliest error a rank wrote (later ones are usually its peers noticing it was gone)."""
    errors = []
    for path in folder.glob("error-rank*.json"):
        try:
            errors.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    if not errors:
        return None
    first = min(errors, key=lambda e: e["time"])
    others = "; the other ranks were stopped" if world_size > 1 else ""
    return f"rank {first['rank']} of {world_size} failed {first['line']}{others}"


def main(argv: Sequence[str] | None = None) -> int:
    """The launcher: listen on 127.0.0.1, start the workers with torch.multiprocessing, wait for all of them."""
    import torch.distributed as dist
    import torch.multiprocessing as mp

    parser = argparse.ArgumentParser(prog="python -m labkit.processes")
    parser.add_argument("folder", help="the launch's folder: config.json in, results out")
    args = parser.parse_args(argv)
    folder = Path(args.folder)
    cfg = json.loads((folder / "config.json").read_text())
    stacks = open(folder / "stack-launcher.txt", "w")  # noqa: SIM115 - open while the launcher lives
    faulthandler.register(STACKS_SIGNAL, file=stacks, all_threads=True)
    world_size, processes = cfg["world_size"], cfg.get("processes", cfg["world_size"])
    try:
        sock = listen(cfg.get("port", 0))
    except LaunchError as err:
        (folder / "error.txt").write_text(str(err) + "\n")
        return 1
    port = sock.getsockname()[1]
    for name in cfg.get("preload", []):
        importlib.import_module(name)  # once here, not once per worker (DDP imports torch._dynamo when built)
    # fork: the workers share this process's imported torch instead of importing it again (seconds each)
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    context = mp.start_processes(worker, args=(world_size, port, str(folder), cfg), nprocs=processes,
                                 join=False, start_method=method)
    timeout = datetime.timedelta(seconds=cfg["collective_timeout_s"])
    store = dist.TCPStore(HOST, port, world_size, is_master=True, timeout=timeout, wait_for_workers=False,
                          master_listen_fd=sock.fileno())  # the rendezvous, on the socket bound to 127.0.0.1
    try:
        while not context.join():
            pass
    except mp.ProcessRaisedException:
        line = _first_error(folder, world_size) or "a worker raised an exception"
    except mp.ProcessExitedException as err:
        line = _first_error(folder, world_size) or (
            f"rank {err.error_index} of {world_size} exited with "
            + (f"signal {err.signal_name}" if err.signal_name else f"status {err.exit_code}"))
    else:
        del store
        return 0
    (folder / "error.txt").write_text(line + "\n")
    return 1


# ---- launching, from a notebook or a test --------------------------------------------------------


def launch_script(entry: str, world_size: int, folder: str | Path, config: dict[str, Any] | None = None, *,
                  timeout_s: float = 60.0, preload: Sequence[str] = ()) -> list[dict[str, Any]]:
    """Run ``entry`` ('file.py:function' or 'module:function') on ``world_size`` processes, as torchrun would.

    Each rank calls ``entry(config)`` inside ``FOLDER/rank<r>/`` with torchrun's environment
    variables set, and must join the group itself (``dist.init_process_group("gloo")``). Returns,
    per rank: the environment it saw, whether it destroyed its process group, the files it wrote
    in its folder and the seconds it took. A rank that raises, or a launch past ``timeout_s``,
    raises LaunchError with one line, as ``launch`` does.
    """
    if not isinstance(config, (dict, type(None))):
        raise ParameterError(f"config = {config!r} is not allowed: must be a dict of JSON values")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("rank*/**/*"):
        if old.is_file():
            old.unlink()  # a rank's folder starts empty, so that its list of files is this run's
    return launch({}, world_size, folder, timeout_s=timeout_s, preload=preload, entry=entry,
                  config=config or {})["script"]


def launch(tasks: Mapping[str, str], world_size: int, folder: str | Path, *, timeout_s: float = 60.0,
           collective_timeout_s: float = 20.0, port: int = 0, processes: int | None = None,
           data: dict[str, Any] | None = None, preload: Sequence[str] = (), entry: str | None = None,
           **config: Any) -> dict[str, list[dict[str, Any]]]:
    """Run ``tasks`` (name -> 'module:function') on ``world_size`` worker processes; each task's results per rank.

    The launcher is a subprocess in a process group of its own: after ``timeout_s`` seconds the
    whole group is killed. A failure (a rank raised, a collective or init_process_group timed out,
    the port is taken, the time limit passed) raises LaunchError with one line. ``processes``
    (default: world_size) starts another number of processes than world_size says, to show what
    a wrong world size does. ``data`` (tensors) is saved for the workers to load; ``preload``
    names modules the launcher imports once before it forks; ``config`` goes to the tasks. ``entry``
    ('file.py:function') runs a whole script instead of tasks: see ``launch_script``.
    """
    if not isinstance(tasks, Mapping) or not (tasks or entry):
        raise ParameterError(f"tasks = {tasks!r} is not allowed: must map task names to 'module:function'")
    for reference in [*tasks.values(), *([entry] if entry else [])]:
        resolve(reference)  # a task that cannot be loaded fails here, before any process starts
    if not isinstance(world_size, int) or isinstance(world_size, bool) or world_size < 1:
        raise ParameterError(f"world_size = {world_size!r} is not allowed: must be a whole number >= 1")
    processes = world_size if processes is None else processes
    if not 1 <= processes <= 64:
        raise ParameterError(f"processes = {processes!r} is not allowed: must be >= 1 and <= 64")
    for name, value in (("timeout_s", timeout_s), ("collective_timeout_s", collective_timeout_s)):
        if not value > 0:
            raise ParameterError(f"{name} = {value!r} is not allowed: must be > 0")
    if not 0 <= port <= 65535:
        raise ParameterError(f"port = {port!r} is not allowed: must be 0 (any free port) to 65535")
    folder = Path(folder).resolve()  # a script's ranks change directory: their results still land here
    folder.mkdir(parents=True, exist_ok=True)
    for old in [*folder.glob("*-rank*.*"), folder / "error.txt", folder / "data.pt"]:
        old.unlink(missing_ok=True)
    if data is not None:
        import torch

        torch.save(data, folder / "data.pt")
    cfg = dict(config, tasks=[[name, reference] for name, reference in tasks.items()], entry=entry,
               world_size=world_size, processes=processes, port=port, collective_timeout_s=collective_timeout_s,
               preload=list(preload))
    (folder / "config.json").write_text(json.dumps(cfg))
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", GLOO_SOCKET_IFNAME=loopback_interface(),
               PYTHONUNBUFFERED="1")
    with open(folder / "launcher.log", "w") as log:
        proc = start_group([sys.executable, "-m", "labkit.processes", str(folder)], stdout=log,
                           stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)
        failure, _, _ = wait_group(proc, timeout_s=timeout_s, on_timeout=lambda: _dump_stacks(proc, folder))
    if failure:
        done = [r for r in range(world_size) if (folder / f"{(list(tasks) or ['script'])[-1]}-rank{r}.json").exists()]
        waiting = [r for r in range(world_size) if r not in done]
        raise LaunchError(f"the {processes} worker process(es) were still running after {timeout_s:g} s "
                          "and were stopped: a rank waits for something that never comes "
                          f"(unfinished: rank {', '.join(map(str, waiting)) or 'none'} of {world_size}; "
                          f"where each one was: {folder / 'stack-rank<r>.txt'})")
    if proc.returncode != 0:
        error = folder / "error.txt"
        if error.exists():
            raise LaunchError(error.read_text().strip())
        tail = [line for line in (folder / "launcher.log").read_text(errors="replace").splitlines() if line.strip()]
        raise LaunchError(f"the launcher exited with status {proc.returncode}: {tail[-1] if tail else 'no output'}")
    return read_results(folder, list(tasks) or ["script"], world_size)


def _dump_stacks(proc: subprocess.Popen, folder: Path, wait_s: float = 3.0) -> None:
    """Ask every process of the launch to write its Python stacks (``faulthandler``) before it is killed."""
    try:
        os.killpg(proc.pid, STACKS_SIGNAL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:  # a process in C code writes as soon as the signal arrives
        if all(p.stat().st_size for p in folder.glob("stack-*.txt")):
            return
        time.sleep(0.1)


def read_results(folder: str | Path, tasks: Sequence[str], world_size: int) -> dict[str, list[dict[str, Any]]]:
    """Each task's JSON per rank (with its weights from the .pt file beside it, where there is one)."""
    folder = Path(folder)
    results: dict[str, list[dict[str, Any]]] = {}
    for task in tasks:
        ranks = []
        for rank in range(world_size):
            path = folder / f"{task}-rank{rank}.json"
            if not path.exists():
                raise LaunchError(f"rank {rank} wrote no result for {task} ({path.name} is missing)")
            result = json.loads(path.read_text())
            weights = path.with_suffix(".pt")
            if weights.exists():
                import torch

                result["weights"] = torch.load(weights, weights_only=True)
            ranks.append(result)
        results[task] = ranks
    return results


if __name__ == "__main__":
    sys.exit(main())
