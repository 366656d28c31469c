"""labkit.processes: process groups killed whole, waits with limits, loopback only, and the distributed launch."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from helpers import worker_tasks as tasks
from labkit import processes
from labkit.errors import ParameterError

# A child that starts a grandchild ignoring SIGTERM, prints both pids, then does what argv[1] says.
FAMILY = r"""
import os, signal, subprocess, sys, time
grandchild = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(600)"],
    stdout=subprocess.PIPE, text=True)
grandchild.stdout.readline()  # it ignores SIGTERM from here on
print(os.getpid(), grandchild.pid, flush=True)
if sys.argv[1] == "sleep":
    time.sleep(600)
elif sys.argv[1] == "chatty":
    sys.stderr.write("x" * 1_000_000)  # far more than a pipe holds: the parent must read while it waits
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"))  # a zombie is gone


def _family(tmp_path: Path, what: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "pids.txt"
    proc = processes.start_group([sys.executable, "-c", FAMILY, what], stdout=out.open("w"), stderr=subprocess.PIPE,
                                 text=True)
    return proc, out


def _pids(out: Path, timeout: float = 30.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        words = out.read_text().split()
        if len(words) == 2:
            return [int(w) for w in words]
        time.sleep(0.05)
    raise AssertionError(f"the child never printed its pids; {out} holds {out.read_text()!r}")


def _gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    return [p for p in pids if _alive(p)]


def test_a_wait_past_its_limit_kills_the_whole_group(tmp_path: Path) -> None:
    proc, out = _family(tmp_path, "sleep")
    pids = _pids(out)
    started = time.monotonic()
    failure, _, _ = processes.wait_group(proc, timeout_s=0.5, grace=0.5)
    assert failure == "timeout"
    assert time.monotonic() - started < 10
    assert not _gone(pids), "the grandchild that ignored SIGTERM outlived the group's kill"


def test_a_cancel_kills_the_group_and_says_so(tmp_path: Path) -> None:
    proc, out = _family(tmp_path, "sleep")
    pids = _pids(out)
    failure, _, _ = processes.wait_group(proc, timeout_s=60, cancelled=lambda: True, grace=0.5)
    assert failure == "cancelled" and not _gone(pids)


def test_a_normal_end_takes_the_leftovers_with_it(tmp_path: Path) -> None:
    proc, out = _family(tmp_path, "exit")
    failure, _, _ = processes.wait_group(proc, timeout_s=60, grace=0.5)
    child, grandchild = _pids(out)
    assert failure == "" and proc.returncode == 0
    assert not _gone([child, grandchild]), "a process the child left behind is still running"


def test_a_chatty_child_is_read_while_it_runs(tmp_path: Path) -> None:
    proc, _ = _family(tmp_path, "chatty")
    failure, _, err = processes.wait_group(proc, timeout_s=60, grace=0.5)
    assert failure == "" and len(err) == 1_000_000


def test_ctrl_c_while_waiting_kills_the_group(tmp_path: Path) -> None:
    proc, out = _family(tmp_path, "sleep")
    pids = _pids(out)

    def interrupt() -> bool:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        processes.wait_group(proc, timeout_s=60, cancelled=interrupt, grace=0.5)
    assert not _gone(pids)


def test_kill_group_twice_and_after_the_end_is_harmless() -> None:
    proc = processes.start_group([sys.executable, "-c", "import time; time.sleep(600)"])
    processes.kill_group(proc, grace=0.5)
    assert proc.returncode == -signal.SIGTERM
    started = time.monotonic()
    processes.kill_group(proc, grace=5.0)  # nothing left: returns at once, raises nothing
    assert time.monotonic() - started < 1


def test_kill_group_by_pid_stops_a_group_this_process_did_not_start_as_popen(tmp_path: Path) -> None:
    # the fork server's jobs: only a pid is known here; the family's grandchild ignores SIGTERM
    proc, out = _family(tmp_path, "sleep")
    pids = _pids(out)
    processes.kill_group(proc.pid, grace=0.5)
    assert not _gone(pids), "the grandchild that ignored SIGTERM outlived the group's kill"
    proc.wait(timeout=10)
    processes.kill_group(proc.pid, grace=5.0)  # nothing left: harmless


def test_start_group_gives_the_child_its_own_session() -> None:
    proc = processes.start_group([sys.executable, "-c", "import os; print(os.getsid(0), os.getpgid(0), os.getpid())"],
                                 stdout=subprocess.PIPE, text=True)
    sid, pgid, pid = map(int, proc.communicate(timeout=30)[0].split())
    assert sid == pgid == pid == proc.pid


def test_listen_binds_loopback_and_names_a_taken_port() -> None:
    sock = processes.listen(0)
    try:
        host, port = sock.getsockname()
        assert host == "127.0.0.1" and port > 0
        with pytest.raises(processes.LaunchError, match=f"port {port} on 127.0.0.1 is in use"):
            processes.listen(port)
    finally:
        sock.close()
    assert processes.loopback_interface() in ("lo", "lo0")


def test_one_line_drops_glooss_prefix() -> None:
    err = RuntimeError("[/__w/pytorch/third_party/gloo/unbound_buffer.cc:78] Timed out waiting 3000ms\nmore")
    assert processes.one_line(err) == "RuntimeError: Timed out waiting 3000ms"
    assert len(processes.one_line(ValueError("x" * 1000), limit=50)) == 50


def test_task_references_resolve_by_module_or_by_file() -> None:
    assert processes.resolve("labkit.processes:one_line") is processes.one_line
    assert processes.resolve(tasks.ref("summed")).__name__ == "summed"
    for bad, match in (("no_colon", "must be 'module:function'"), ("labkit.processes:", "must be"),
                       ("labkit.nowhere:f", "cannot be loaded"), ("labkit.processes:absent", "cannot be loaded"),
                       (f"{tasks.FILE.parent / 'missing.py'}:f", "cannot be loaded"),
                       (tasks.ref("NOT_A_FUNCTION"), "is not a function")):
        with pytest.raises(ParameterError, match=match):
            processes.resolve(bad)


# ---- the distributed launch ----------------------------------------------------------------------


def _left_over(folder: Path) -> list[int]:
    """Processes still running whose command line names ``folder`` (the launcher's argument)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if str(folder).encode() in (entry / "cmdline").read_bytes() and _alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_launch_runs_tasks_from_a_file_with_data_config_and_weights(tmp_path: Path) -> None:
    data = {"x": torch.arange(10.0)}
    out = processes.launch({"summed": tasks.ref("summed")}, 2, tmp_path, timeout_s=120, data=data, greeting="hi")
    ranks = out["summed"]
    assert [r["rank"] for r in ranks] == [0, 1]
    assert all(r["sum"] == 3.0 and r["data_sum"] == 45.0 and r["greeting"] == "hi" for r in ranks)
    assert all(torch.equal(r["weights"], torch.full((2,), float(k))) for k, r in enumerate(ranks))
    assert all(r["seconds"] >= 0 for r in ranks)
    assert not _left_over(tmp_path)


def test_a_worker_that_raises_is_one_line(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(processes.LaunchError) as caught:
        processes.launch({"fail": tasks.ref("fail")}, 2, tmp_path, timeout_s=60)
    line = str(caught.value)
    assert line.startswith("rank 1 of 2 failed in fail: RuntimeError: failing on purpose") and "\n" not in line
    assert "the other ranks were stopped" in line
    assert time.monotonic() - started < 30, "the waiting rank was stopped, not left to time out"
    assert not _left_over(tmp_path)


def test_a_collective_nobody_joins_times_out(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(processes.LaunchError, match=r"rank 0 of 2 failed in hang: .*[Tt]imed out") as caught:
        processes.launch({"hang": tasks.ref("hang")}, 2, tmp_path, timeout_s=60, collective_timeout_s=2)
    assert "\n" not in str(caught.value) and "gloo/" not in str(caught.value)
    assert time.monotonic() - started < 30
    assert not _left_over(tmp_path)


def test_a_launch_over_its_time_limit_is_killed_with_all_its_processes(tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(processes.LaunchError, match="still running after 3 s and were stopped") as caught:
        processes.launch({"sleep": tasks.ref("sleep")}, 2, tmp_path, timeout_s=3)
    assert time.monotonic() - started < 15
    assert "unfinished: rank 0, 1 of 2" in str(caught.value) and "\n" not in str(caught.value)
    for rank in (0, 1):  # the evidence: where each rank was when it was stopped
        assert "in sleep" in (tmp_path / f"stack-rank{rank}.txt").read_text()
    assert not _gone(_left_over(tmp_path)), "a worker outlived the launch"


@pytest.mark.parametrize(("world_size", "count"), [(3, 2), (2, 3)])
def test_a_wrong_world_size_is_one_line(world_size: int, count: int, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(processes.LaunchError, match=r"failed in init_process_group: .*world_size = ") as caught:
        processes.launch({"summed": tasks.ref("summed")}, world_size, tmp_path, processes=count, timeout_s=60,
                         collective_timeout_s=2)
    assert "\n" not in str(caught.value)
    assert time.monotonic() - started < 30
    assert not _left_over(tmp_path)


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        with pytest.raises(processes.LaunchError, match=f"port {port} on 127.0.0.1 is in use"):
            processes.launch({"summed": tasks.ref("summed")}, 2, tmp_path, port=port, timeout_s=60)


@pytest.mark.parametrize("world_size", [1, 3])
def test_a_script_joins_by_env_as_under_torchrun_each_rank_in_its_own_folder(world_size: int, tmp_path: Path) -> None:
    ranks = processes.launch_script(tasks.ref("script_allreduce"), world_size, tmp_path, {"out": "sum.txt"})
    assert [r["rank"] for r in ranks] == list(range(world_size))
    for r in ranks:
        assert r["env"]["RANK"] == r["env"]["LOCAL_RANK"] == str(r["rank"])
        assert r["env"]["WORLD_SIZE"] == str(world_size) and r["env"]["MASTER_ADDR"] == "127.0.0.1"
        assert r["destroyed"] is True
        assert r["files"] == (["sum.txt"] if r["rank"] == 0 else [])
    assert (tmp_path / "rank0" / "sum.txt").read_text() == f"{world_size * (world_size + 1) / 2:g} {world_size}"
    again = processes.launch_script(tasks.ref("script_allreduce"), world_size, tmp_path, {"out": "sum.txt",
                                                                                          "destroy": False})
    assert [r["destroyed"] for r in again] == [False] * world_size  # reported, and closed by the worker


def test_a_script_that_raises_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(processes.LaunchError, match=r"^rank 1 of 2 failed in script_raises: ValueError: this script "
                                                    r"found nothing to train on; the other ranks were stopped$"):
        processes.launch_script(tasks.ref("script_raises"), 2, tmp_path, timeout_s=60)
    with pytest.raises(ParameterError, match="cannot be loaded"):
        processes.launch_script(f"{tmp_path / 'missing.py'}:main", 2, tmp_path)


def test_bad_launch_arguments_fail_before_any_process_starts(tmp_path: Path) -> None:
    good = {"summed": tasks.ref("summed")}
    for kwargs, match in (({"tasks": {}, "world_size": 2}, "tasks"),
                          ({"tasks": ["summed"], "world_size": 2}, "tasks"),
                          ({"tasks": {"x": "labkit.nowhere:f"}, "world_size": 2}, "cannot be loaded"),
                          ({"tasks": good, "world_size": 0}, "world_size = 0"),
                          ({"tasks": good, "world_size": 2, "processes": 0}, "processes = 0"),
                          ({"tasks": good, "world_size": 2, "timeout_s": 0}, "timeout_s"),
                          ({"tasks": good, "world_size": 2, "port": 70000}, "port")):
        with pytest.raises(ParameterError, match=match):
            processes.launch(folder=tmp_path / "never", **kwargs)
    assert not (tmp_path / "never").exists(), "a refused launch wrote nothing"
