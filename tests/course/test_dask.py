"""Grading on a Dask cluster: a real scheduler and two workers on 127.0.0.1 give exactly the local grades.csv.

Also what goes wrong with a cluster: a scheduler that cannot be reached (one line within 10 s), a
worker that dies while it grades (retried once, then ``worker lost``, the others graded), and bad
input refused before any work (``--jobs 0``, a folder without notebooks).
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import nbformat
import pytest

from helpers import problem_set
from helpers.dask_cluster import Cluster
from helpers.grading import sandbox_flags, sandbox_missing
from labkit.course.cli import main
from labkit.course.grade import Options, grade

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """A scheduler and two workers, each a process of its own on 127.0.0.1; stopped whatever happens."""
    running = Cluster(tmp_path_factory.mktemp("dask"), workers=2)
    try:
        yield running.start()
    finally:
        running.stop()


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    """The problem set and five submissions of it: the honest three and two hostile ones."""
    base = tmp_path_factory.mktemp("class")
    instructor = problem_set.write_instructor(base / "instructor")
    hostile = problem_set.hostile_submissions({"the instructor's notebook": str(instructor)}, 9, "labkit-dask")
    subs = {**problem_set.honest_submissions(), "reader": hostile["reader"][0], "internet": hostile["internet"][0]}
    for student, nb in subs.items():
        (base / "subs" / student).mkdir(parents=True)
        nbformat.write(nb, base / "subs" / student / "ps1.ipynb")
    return {"base": base, "instructor": instructor, "subs": base / "subs"}


def test_a_dask_cluster_grades_exactly_as_this_machine_does(cluster, course) -> None:
    common = ["grade", str(course["subs"]), "--assignment", str(course["instructor"]), "--quiet", *sandbox_flags()]
    assert main([*common, "--out", str(course["base"] / "local"), "--jobs", "2"]) == 0
    assert main([*common, "--out", str(course["base"] / "dask"), "--scheduler", cluster.address]) == 0
    local = (course["base"] / "local" / "grades.csv").read_text()
    remote = (course["base"] / "dask" / "grades.csv").read_text()
    assert remote == local, f"local:\n{local}\ndask:\n{remote}"
    assert local.count("\n") == 1 + 3 * 6 + 2 * 7, "every submission graded on every item (hostile: +sandbox row)"
    for student in ("perfect", "reader"):
        assert (course["base"] / "dask" / "feedback" / student / "ps1.html").is_file(), "feedback came back"


def test_a_worker_that_dies_mid_task_is_retried_once_then_reported(cluster, course, tmp_path) -> None:
    slow = problem_set.honest_submissions()["perfect"]
    slow.cells.insert(1, nbformat.v4.new_code_cell("import time\ntime.sleep(120)"))
    for student, nb in (("sleeper", slow), ("perfect", problem_set.honest_submissions()["perfect"])):
        (tmp_path / "subs" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "subs" / student / "ps1.ipynb")
    result: dict = {}
    options = Options(cell_timeout=200, notebook_timeout=300, sandbox=not sandbox_missing())

    def grading() -> None:
        try:
            result["rows"] = grade([tmp_path / "subs"], tmp_path / "out", sources=[course["instructor"]],
                                   options=options, scheduler=cluster.address)
        except BaseException as err:  # noqa: BLE001 - handed to the test below
            result["error"] = err

    thread = threading.Thread(target=grading, daemon=True)
    thread.start()
    with cluster.client() as client:
        for attempt in (1, 2):
            # The sleeper's task is the one still running after a fast submission would have finished.
            worker, key = _long_running_task(client, seconds=10, timeout=180)
            pid = client.run(os.getpid, workers=[worker])[worker]
            os.kill(pid, signal.SIGKILL)  # the worker dies; its nanny starts a new one
            _wait(f"the killed worker {worker} to leave (attempt {attempt})",
                  lambda w=worker: w not in client.scheduler_info()["workers"], 60)
    thread.join(timeout=240)
    assert not thread.is_alive(), "grading did not finish after the worker was lost twice"
    assert "error" not in result, result.get("error")
    rows = {(r.student, r.exercise): r for r in result["rows"]}
    sleeper = [r for (s, _), r in rows.items() if s == "sleeper"]
    assert sleeper and all(r.status == "worker lost" and r.score == 0 for r in sleeper), sleeper
    assert "died twice" in sleeper[0].reason
    assert sum(r.score for (s, _), r in rows.items() if s == "perfect") == 2.5, "the other submission was graded"


def _long_running_task(client, seconds: float, timeout: float) -> tuple[str, str]:
    """(worker, key) of a task that has been running on a worker for at least ``seconds``."""
    seen: dict[tuple[str, str], float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = time.monotonic()
        for worker, keys in client.processing().items():
            for key in keys:
                seen.setdefault((worker, key), now)
                if now - seen[(worker, key)] >= seconds:
                    return worker, key
        time.sleep(0.5)
    raise AssertionError(f"no task ran for {seconds} s within {timeout} s; seen: {seen}")


def _wait(what: str, check, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.5)


def test_a_scheduler_that_cannot_be_reached_is_said_within_10_s(course, tmp_path, capsys) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nobody listens here once the socket is closed
    start = time.monotonic()
    code = main(["grade", str(course["subs"] / "perfect"), "--assignment", str(course["instructor"]), "--out",
                 str(tmp_path / "out"), "--scheduler", f"tcp://127.0.0.1:{port}", *sandbox_flags()])
    took = time.monotonic() - start
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 2 and took < 10, (code, took)
    assert err.startswith(f"labkit: error: cannot reach the Dask scheduler at tcp://127.0.0.1:{port} within")
    assert not (tmp_path / "out" / "grades.csv").exists()


@pytest.mark.parametrize(("argv", "message"), [
    (["--jobs", "0"], "labkit: error: --jobs 0 is not allowed: give 1 or more"),
    (["--cell-timeout", "0"], "labkit: error: --cell-timeout 0 is not allowed: give whole seconds >= 1"),
])
def test_bad_options_are_one_line_before_any_work(course, tmp_path, capsys, argv, message) -> None:
    code = main(["grade", str(course["subs"]), "--assignment", str(course["instructor"]), "--out",
                 str(tmp_path / "out"), *argv])
    assert code == 2 and capsys.readouterr().err.strip().startswith(message)
    assert not (tmp_path / "out").exists()


def test_a_folder_without_notebooks_is_one_line(tmp_path, capsys) -> None:
    (tmp_path / "class" / "ann").mkdir(parents=True)
    (tmp_path / "class" / "ann" / "notes.txt").write_text("no notebook here")
    assert main(["grade", str(tmp_path / "class"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"labkit: error: no notebooks (.ipynb) under {tmp_path / 'class'}") and "\n" not in err


def test_runs_go_to_the_cluster_too(cluster, tmp_path) -> None:
    from labkit import results

    assert main(["run", "00", "--out", str(tmp_path / "wb"), "-p", "n", "64", "--scheduler", cluster.address,
                 "--no-html", "--quiet"]) == 0
    saved = results.load(tmp_path / "wb" / "00_start_here.json")
    assert saved["parameters"]["n"] == 64 and saved["metrics"]["matrix_bytes_float32"] == 4 * 64 * 64
