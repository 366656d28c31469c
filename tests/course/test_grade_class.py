"""Grading a class on one machine: a progress bar, Ctrl-C keeps what finished, a re-run grades only what changed."""

from __future__ import annotations

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


def _class(folder: Path, students: dict[str, nbformat.NotebookNode]) -> Path:
    for student, nb in students.items():
        (folder / student).mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, folder / student / "ps1.ipynb")
    return folder


def _grade(args: list[str], **kwargs) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "labkit", "grade", *args, *sandbox_flags()], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


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
        proc.kill()
        raise AssertionError("grading did not stop within 60 s of Ctrl-C") from None
    assert proc.returncode == 130, err
    assert "interrupted: the submissions graded so far are in" in err
    students = {r["student"] for r in _rows(out)}
    assert students == {"a_fast"}, students
    assert sum(float(r["score"]) for r in _rows(out)) == 2.5


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
