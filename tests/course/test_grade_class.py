"""Grading a class on one machine: a progress bar, Ctrl-C keeps what finished, a re-run grades only what changed."""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_flags
from helpers.paths import ROOT

pytestmark = pytest.mark.notebook
EVIDENCE = ROOT / "build" / "grading-failures"  # what a grader that hung was doing


def _class(folder: Path, students: dict[str, nbformat.NotebookNode]) -> Path:
    for student, nb in students.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / "ps1.ipynb")
    return folder


# The grader starts as a terminal starts a command in the foreground: with Ctrl-C at its default. A suite
# started in the background (`make test &`, nohup) ignores SIGINT, and a child inherits that through exec.
AS_IN_A_TERMINAL = ("import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
                    "os.execv(sys.argv[1], sys.argv[1:])")


def _grade(args: list[str], **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1", PYTHONFAULTHANDLER="1")  # SIGABRT prints every thread's stack
    grader = [sys.executable, "-m", "labkit.course", "grade", *args, *sandbox_flags()]
    cmd = [sys.executable, "-c", AS_IN_A_TERMINAL, *grader]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            **kwargs)


def _keep_evidence(proc: subprocess.Popen, name: str) -> Path:
    """For a grader that hangs: the process tree and every thread's stack (faulthandler, on SIGABRT); then
    the grader and everything it started are killed, its jobs (their own sessions) too."""
    where = EVIDENCE / name
    where.mkdir(parents=True, exist_ok=True)
    tree = subprocess.run(["ps", "-eo", "pid,ppid,pgid,sid,stat,etime,args", "--forest"], capture_output=True,
                          text=True, timeout=30)
    signals = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines() if line.startswith("Sig")]
    (where / "processes.txt").write_text(tree.stdout + tree.stderr + "\nthe grader's signal masks (hex):\n"
                                         + "\n".join(signals) + "\n")
    parent_of = dict(tuple(map(int, line.split()[:2])) for line in tree.stdout.splitlines()[1:])
    started = [pid for pid in parent_of if pid != proc.pid and _descends(pid, proc.pid, parent_of)]
    proc.send_signal(signal.SIGABRT)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    (where / "grader-stderr.txt").write_text(err)
    (where / "grader-stdout.txt").write_text(out)
    for pid in started:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return where


def _descends(pid: int, ancestor: int, parent_of: dict[int, int]) -> bool:
    while pid in parent_of and pid != ancestor:
        pid = parent_of[pid]
    return pid == ancestor and pid != 0


def _rows(out: Path) -> list[dict]:
    try:
        with open(out / "grades.csv", newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def test_ctrl_c_keeps_the_finished_rows(tmp_path) -> None:
    instructor = problem_set.write_instructor(tmp_path / "instructor")
    slow = problem_set.honest_submissions()["perfect"]
    slow.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(300)"))
    subs = _class(tmp_path / "subs", {"a_fast": problem_set.honest_submissions()["perfect"], "b_slow": slow,
                                      "c_slow": slow})
    out = tmp_path / "out"
    proc = _grade([str(subs), "--assignment", str(instructor), "--out", str(out), "--jobs", "1"],
                  start_new_session=True)
    deadline = time.monotonic() + 120
    while not any(r["student"] == "a_fast" for r in _rows(out)):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the first submission was not graded within 120 s"
        time.sleep(0.5)
    time.sleep(3)  # b_slow is running now
    os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends to the whole group
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        where = _keep_evidence(proc, "ctrl_c")
        raise AssertionError(f"grading did not stop within 60 s of Ctrl-C; its threads' stacks, its stderr and "
                             f"the process tree are in {where}") from None
    rows = _rows(out)
    graded = [(r["student"], r["score"], r["status"]) for r in rows]
    seen = f"exit code {proc.returncode}; rows {graded}; stderr:\n{err}"
    assert proc.returncode == 130, seen
    assert "interrupted: the submissions graded so far are in" in err, seen
    assert {r["student"] for r in rows} == {"a_fast"}, seen
    assert sum(float(r["score"]) for r in rows) == 2.5, seen


def test_a_rerun_grades_only_what_changed_and_counts_in_a_progress_bar(tmp_path) -> None:
    instructor = problem_set.write_instructor(tmp_path / "instructor")
    honest = problem_set.honest_submissions()
    subs = _class(tmp_path / "subs", {"ann": honest["perfect"], "bob": honest["blank"]})
    out = tmp_path / "out"
    args = [str(subs), "--assignment", str(instructor), "--out", str(out), "--jobs", "2"]
    first = _grade(args)
    _, err = first.communicate(timeout=300)
    assert first.returncode == 0, err
    assert "grading: 100%" in err and "2/2" in err, "the progress bar counts the submissions"
    stamps = {s: (out / "feedback" / s / "ps1.ipynb").stat().st_mtime_ns for s in ("ann", "bob")}
    _class(subs, {"bob": honest["partial"]})  # bob hands in again
    second = _grade(args)
    second.communicate(timeout=300)
    assert (out / "feedback" / "ann" / "ps1.ipynb").stat().st_mtime_ns == stamps["ann"], "ann was graded again"
    assert (out / "feedback" / "bob" / "ps1.ipynb").stat().st_mtime_ns != stamps["bob"], "bob's new file was not"
    totals = {s: sum(float(r["score"]) for r in _rows(out) if r["student"] == s) for s in ("ann", "bob")}
    assert totals == {"ann": 2.5, "bob": 1.5}, totals
    third = _grade([*args, "--regrade"])
    third.communicate(timeout=300)
    assert (out / "feedback" / "ann" / "ps1.ipynb").stat().st_mtime_ns != stamps["ann"], "--regrade skipped ann"
