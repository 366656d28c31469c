"""The fork server: each job a fresh process of its own, forked from one that has imported the tools already.

A job forked from it must behave as a job started as a plain process does: the same grades and
feedback, the same reason when it crashes, and its process group stopped as one at its limit.
"""

from __future__ import annotations

import os
import subprocess
import time

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_flags
from labkit.course import executor, forkserver
from labkit.course.cli import main

pytestmark = pytest.mark.skipif(not forkserver.available(), reason="the fork server needs Linux (fork, pidfd_open)")


def _group_with_a_grandchild(seconds: int = 60) -> tuple[subprocess.Popen, int]:
    """A process leading its own group, which started another that would outlive it; (leader, grandchild pid)."""
    leader = subprocess.Popen(["sh", "-c", f"sleep {seconds} & echo $!; wait"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    return leader, int(leader.stdout.readline())


def _gone(pid: int, within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        if state == "Z":  # ended; our own child, not reaped yet
            return True
        time.sleep(0.05)
    return False


@pytest.mark.parametrize("how, kwargs", [("timeout", {"timeout_s": 0.5}),
                                         ("cancelled", {"timeout_s": 60, "cancelled": lambda: True})])
def test_a_job_stopped_at_its_limit_goes_with_its_group(how, kwargs) -> None:
    leader, grandchild = _group_with_a_grandchild()
    assert forkserver.wait_forked(leader.pid, grace=0.5, **kwargs) == how
    leader.wait(timeout=5)
    assert _gone(grandchild), f"a process the job started outlived it ({how})"


def test_a_job_that_ends_leaves_nothing_behind() -> None:
    leader = subprocess.Popen(["sh", "-c", "sleep 60 & echo $!"], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    grandchild = int(leader.stdout.readline())
    assert forkserver.wait_forked(leader.pid, timeout_s=30, grace=0.5) == ""
    assert _gone(grandchild), "what the job left running was not stopped with its group"


@pytest.mark.parametrize("mode", ["1", "0"])
def test_a_crashing_job_gives_its_reason_either_way(mode, monkeypatch) -> None:
    monkeypatch.setenv(forkserver.ENV_VAR, mode)
    result = executor.run_job("grade", {"student": "x"}, timeout=60)  # no options: the job fails at once
    assert result["failure"] == "crashed" and result["error"] == "KeyError: 'options'", result


def test_forked_jobs_grade_exactly_as_fresh_processes_do(tmp_path, monkeypatch) -> None:
    instructor = problem_set.write_instructor(tmp_path / "source")
    for student, nb in problem_set.honest_submissions().items():
        (tmp_path / "class" / student).mkdir(parents=True)
        (tmp_path / "class" / student / "ps1.ipynb").write_text(nbformat.writes(nb))
    outs = {}
    for mode in ("1", "0"):
        monkeypatch.setenv(forkserver.ENV_VAR, mode)
        outs[mode] = tmp_path / f"grades-{mode}"
        assert main(["grade", str(tmp_path / "class"), "--assignment", str(instructor), "--out", str(outs[mode]),
                     "--quiet", "--jobs", "2", *sandbox_flags()]) == 0
    assert (outs["1"] / "grades.csv").read_text() == (outs["0"] / "grades.csv").read_text()
    feedback = sorted(p.relative_to(outs["0"]) for p in (outs["0"] / "feedback").rglob("*.ipynb"))
    assert feedback and feedback == sorted(p.relative_to(outs["1"]) for p in (outs["1"] / "feedback").rglob("*.ipynb"))
    for name in feedback:  # the same feedback, but for the fresh ids nbformat gives each new cell
        assert _without_ids(outs["1"] / name) == _without_ids(outs["0"] / name), name


def _without_ids(path) -> list:
    cells = nbformat.read(path, as_version=4).cells
    return [{k: v for k, v in cell.items() if k != "id"} for cell in cells]
