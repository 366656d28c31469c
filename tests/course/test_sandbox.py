"""Grading hostile submissions in the sandbox: each earns its honest part, is told what was stopped, leaves nothing.

Every hostile submission answers the problem set's first part exactly like the honest "partial"
one (1.5 automatic points) and adds one cell that attacks: reading the instructor's notebook,
another student's submission or the grades; writing into labkit/ or /tmp; reaching a server on the
host's loopback or the internet; leaving a process running; allocating 64 GiB; forking without
end. Needs bubblewrap: skipped without it, a failure under LABKIT_REQUIRE_SANDBOX=1 (CI sets it).
"""

from __future__ import annotations

import csv
import socket
import uuid
from pathlib import Path

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_missing
from helpers.paths import ROOT
from labkit.course.cli import main
from labkit.course.grade import Options, grade
from labkit.course.sandbox import Limits, Sandbox

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module", autouse=True)
def _needs_the_sandbox() -> None:
    why = sandbox_missing()  # fails instead under LABKIT_REQUIRE_SANDBOX=1
    if why:
        pytest.skip(f"the grading sandbox cannot run here: {why}")


def _processes(needle: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in text and "pytest" not in text:
            found.append(text)
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    """The problem set graded for honest and hostile students at once (2 jobs), with what was there before."""
    base = tmp_path_factory.mktemp("sandbox")
    marker = f"labkit-hostile-{uuid.uuid4().hex[:8]}"
    instructor = problem_set.write_instructor(base / "instructor")
    out = base / "grades"
    subs = base / "submissions"
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    secrets = {"the instructor's notebook": str(instructor),
               "another student's submission": str(subs / "perfect" / "ps1.ipynb"),
               "the grades": str(out / "grades.csv")}
    hostile = problem_set.hostile_submissions(secrets, listener.getsockname()[1], marker)
    for student, nb in {**problem_set.honest_submissions(), **{s: nb for s, (nb, _) in hostile.items()}}.items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "ps1.ipynb")
    before = {"labkit": sorted(p.name for p in (ROOT / "labkit").iterdir())}
    rows = grade([subs], out, sources=[instructor], jobs=2, options=Options(cell_timeout=30, notebook_timeout=120))
    listener.close()
    return {"rows": rows, "hostile": hostile, "marker": marker, "out": out, "before": before}


def _student(graded, name: str):
    return [r for r in graded["rows"] if r.student == name]


def _auto_points(rows) -> float:
    return sum(r.score for r in rows if r.exercise in problem_set.AUTO)


@pytest.mark.parametrize("student", ["reader", "writer", "network", "internet", "lingerer", "hog", "forker"])
def test_a_hostile_submission_earns_its_honest_part_and_is_told_what_was_stopped(graded, student) -> None:
    rows = _student(graded, student)
    honest = _auto_points(_student(graded, "partial"))
    assert honest == 1.5
    assert _auto_points(rows) == honest, [(r.exercise, r.status, r.reason) for r in rows]
    sandbox = [r for r in rows if r.exercise == "sandbox"]
    expected = graded["hostile"][student][1]
    assert sandbox and sandbox[0].status == "stopped" and expected in sandbox[0].reason, [
        (r.exercise, r.status, r.reason) for r in rows]
    feedback = (graded["out"] / "feedback" / student / "ps1.ipynb").read_text()
    assert "stopped by the sandbox" in feedback and expected in feedback


def test_nothing_is_left_behind(graded) -> None:
    marker = graded["marker"]
    assert not Path(f"/tmp/{marker}-tmp").exists(), "a file written to the sandbox's /tmp reached the host's"
    assert sorted(p.name for p in (ROOT / "labkit").iterdir()) == graded["before"]["labkit"]
    assert not (ROOT / "labkit" / f"{marker}.py").exists()
    assert not _processes(marker), f"processes left running: {_processes(marker)}"


def test_the_honest_students_are_graded_as_if_alone(graded) -> None:
    for student, (auto, manual) in problem_set.EXPECTED.items():
        rows = _student(graded, student)
        assert _auto_points(rows) == auto, (student, [(r.exercise, r.status, r.reason) for r in rows])
        assert {r.exercise: r.status for r in rows if r.exercise in problem_set.MANUAL} == manual, student
        assert not [r for r in rows if r.exercise == "sandbox"], f"{student} was honest, yet something was stopped"


def test_the_grades_file_is_in_a_fixed_order(graded) -> None:
    with open(graded["out"] / "grades.csv", newline="") as f:
        students = [row["student"] for row in csv.DictReader(f)]
    assert students == sorted(students), "rows come in the submissions' order, whatever finished first"


def test_a_sandbox_that_cannot_start_says_why(tmp_path, monkeypatch, capsys) -> None:
    import labkit.course.grade as grading

    broken = Limits()
    # A sandbox whose readable paths include one that does not exist cannot be built: bwrap says so.
    monkeypatch.setattr(grading, "Sandbox", lambda sockets, **kw: Sandbox(
        sockets, limits=broken, readable=[tmp_path / "does-not-exist"]))
    instructor = problem_set.write_instructor(tmp_path / "instructor")
    nbformat.write(problem_set.instructor_notebook(), tmp_path / "ps1.ipynb")
    assert main(["grade", str(tmp_path / "ps1.ipynb"), "--assignment", str(instructor), "--out",
                 str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labkit: error: the sandbox cannot start:") and "does-not-exist" in err, err
    assert "\n" not in err and not (tmp_path / "out" / "grades.csv").exists()


def test_limits_are_checked_before_anything_runs(tmp_path, capsys) -> None:
    nbformat.write(problem_set.instructor_notebook(), tmp_path / "ps1.ipynb")
    assert main(["grade", str(tmp_path / "ps1.ipynb"), "--memory", "0", "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err.strip() == "labkit: error: --memory 0 is not allowed: must be a whole number >= 1"


def test_the_reported_attack_on_lesson_02_earns_nothing_more(tmp_path) -> None:
    from helpers.paths import NOTEBOOKS
    from helpers.submissions import honest_and_thief

    for student, nb in honest_and_thief(NOTEBOOKS / "02_gradient_descent.ipynb").items():
        (tmp_path / "subs" / student).mkdir(parents=True)
        nbformat.write(nb, tmp_path / "subs" / student / "02_gradient_descent.ipynb")
    rows = grade([tmp_path / "subs"], tmp_path / "out", jobs=2, options=Options(cell_timeout=60))
    score = {s: sum(r.score for r in rows if r.student == s) for s in ("honest", "thief")}
    assert score["honest"] == 2, score  # the first exercise's 2 points
    assert score["thief"] == score["honest"], f"reading the instructor's notebook paid: {score}"
    stopped = [r.reason for r in rows if r.student == "thief" and r.exercise == "sandbox"]
    assert stopped and "02_gradient_descent.ipynb exists outside the sandbox but not inside it" in stopped[0]


def test_the_lessons_libraries_import_quietly_inside(tmp_path) -> None:
    """Lessons 06 and 07 load scikit-learn's digits: inside the sandbox that must print nothing on stderr
    (joblib warned about /dev/shm on every import until the sandbox switched its multiprocessing off)."""
    import subprocess
    import sys

    box = Sandbox(tmp_path)
    code = "from sklearn.datasets import load_digits; import torch; print(len(load_digits().data))"
    done = subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "1797", done.stderr
    assert done.stderr == "", f"stderr inside the sandbox: {done.stderr}"


def test_what_it_may_read_stays_readable_when_it_lives_under_tmp(tmp_path) -> None:
    """A workbook cloned under /tmp (its .venv, labkit and data/ there) must not vanish under the sandbox's own
    empty /tmp; the sandbox's /tmp stays writable and the grader's other files under /tmp stay absent."""
    import subprocess
    import sys

    assert str(tmp_path).startswith("/tmp/"), f"pytest's tmp_path {tmp_path} is not under /tmp"
    shared = tmp_path / "workbook" / "data"
    shared.mkdir(parents=True)
    (shared / "numbers.txt").write_text("42\n")
    secret = tmp_path / "grades.csv"
    secret.write_text("alice,7\n")
    box = Sandbox(tmp_path / "sockets", readable=[*Sandbox(tmp_path / "probe").readable, shared])
    box.prepare()
    scratch = f"/tmp/labkit-sandbox-{uuid.uuid4().hex}.txt"
    code = (f"import pathlib; print(pathlib.Path({str(shared / 'numbers.txt')!r}).read_text().strip()); "
            f"print(pathlib.Path({str(secret)!r}).exists()); "
            f"pathlib.Path({scratch!r}).write_text('ok'); print('wrote /tmp')")
    done = subprocess.run(box.command([sys.executable, "-c", code]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["42", "False", "wrote", "/tmp"], done.stdout
    assert not Path(scratch).exists(), "the sandbox's /tmp is its own: nothing reaches the host's"
