"""Grading: each lesson's student version, run as released, fails exactly at its exercises; a matrix of
fixture submissions of lesson 00, built from the instructor notebook, gets the expected scores."""

from __future__ import annotations

import csv
import time

import nbformat
import pytest

from helpers.cases import CASES
from helpers.grading import sandbox_flags, sandbox_missing
from helpers.paths import lesson_paths
from helpers.submissions import HIDDEN_BEGIN, HIDDEN_END, exercise_tests, region_lines, write_submissions
from labkit.course import grade, release, score
from labkit.course.cli import main
from labkit.course.sandbox import Sandbox

pytestmark = pytest.mark.notebook
LESSONS = lesson_paths()
IDS = [p.stem for p in LESSONS]


def _read(path):
    return nbformat.read(path, as_version=4)


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_fails_exactly_at_the_exercises(path, tmp_path) -> None:
    # Run as grading runs it: in the sandbox (wherever it can run), where every lesson must work. The
    # lesson runs with its small papermill case (as a course may set them): the cells are the same,
    # and the test checks where they fail, not what the defaults compute (strict nbval does that).
    from papermill.parameterize import parameterize_notebook

    box = None if sandbox_missing() else Sandbox(tmp_path / "sockets", env={"LABKIT_HEADLESS": "1"})
    student = release.student_version(_read(path))
    student.metadata.setdefault("papermill", {})  # what papermill's loader adds, which its parameterizer expects
    for cell in student.cells:
        cell.metadata.setdefault("tags", [])
    student = parameterize_notebook(student, CASES[path.stem]["params"])
    nb, ran, problem, _ = score.run_notebook(student, cell_timeout=120, notebook_timeout=600, sandbox=box,
                                             workdir=tmp_path)
    assert not problem, problem
    code = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    assert set(code) <= ran, "a cell was not run"
    failed = {i for i in code if any(o.output_type == "error" for o in nb.cells[i].outputs)}
    graded = {i for i in code if nb.cells[i].metadata.get("nbgrader", {}).get("grade")}
    answers = {i for i in code if nb.cells[i].metadata.get("nbgrader", {}).get("solution")}
    assert graded <= failed, f"test cells that pass without an answer: {sorted(graded - failed)}"
    wrong = sorted(failed - graded - answers)
    assert not wrong, "cells outside the exercises fail in the student version: " + "; ".join(
        f"cell {i}: {[o.get('ename') for o in nb.cells[i].outputs if o.output_type == 'error']}" for i in wrong)


def test_notebook_time_budget_skips_the_rest(tmp_path) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(cells=[new_code_cell("while True:\n    pass") for _ in range(3)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    start = time.monotonic()
    nb, ran, problem, _ = score.run_notebook(nb, cell_timeout=3, notebook_timeout=5, sandbox=None, workdir=tmp_path)
    assert time.monotonic() - start < 60
    assert 2 not in ran and "5 s" in problem
    assert nb.cells[2].outputs[0].ename == "NotebookTimeout"
    assert any(o.get("ename") == "CellTimeoutError" for o in nb.cells[0].outputs)


# ------------------------------------------------------------------ grading: the fixture matrix on lesson 00

def test_a_killed_kernel_earns_nothing_after_it(tmp_path) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [new_code_cell("x = 1"), new_code_cell("import os\nos._exit(1)"), new_code_cell("assert x == 1")]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb, ran, problem, _ = score.run_notebook(nb, cell_timeout=30, notebook_timeout=60, sandbox=None, workdir=tmp_path)
    assert ran == {0} and "DeadKernelError" in problem


CELL_TIMEOUT = 20  # room for `import torch` on a busy 2-core machine; the loop waits this long


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> dict:
    lesson = LESSONS[0]
    folder = tmp_path_factory.mktemp("submissions")
    made = write_submissions(lesson, folder)
    out = tmp_path_factory.mktemp("grades")
    code = main(["grade", str(folder), "--out", str(out), "--cell-timeout", str(CELL_TIMEOUT),
                 "--notebook-timeout", "300", *sandbox_flags()])
    assert code == 0
    with (out / grade.CSV_NAME).open(newline="") as f:
        rows = list(csv.DictReader(f))
    by_student: dict[str, dict[str, dict]] = {}
    for row in rows:
        by_student.setdefault(row["student"], {})[row["exercise"]] = row
    source = _read(lesson)
    return {"rows": by_student, "made": made, "out": out, "points": release.exercises(source),
            "groups": exercise_tests(source), "lesson": lesson}


def _total(graded, student: str) -> float:
    return sum(float(r["score"]) for r in graded["rows"][student].values())


def test_every_fixture_is_graded_on_every_exercise(graded) -> None:
    assert set(graded["rows"]) == set(graded["made"]), "a submission was skipped"
    for student, rows in graded["rows"].items():
        assert set(rows) == set(graded["points"]), f"{student}: exercises {set(rows)}"
        for row in rows.values():
            assert float(row["max_score"]) == graded["points"][row["exercise"]]
        html = graded["out"] / "feedback" / student / f"{graded['lesson'].stem}.html"
        assert html.is_file() and "Feedback" in html.read_text(encoding="utf-8")


def test_full_solution_gets_full_marks(graded) -> None:
    assert _total(graded, "full") == sum(graded["points"].values())
    assert {r["status"] for r in graded["rows"]["full"].values()} == {"passed"}


def test_blank_submission_gets_zero(graded) -> None:
    assert _total(graded, "blank") == 0
    assert all("NotImplementedError" in r["reason"] for r in graded["rows"]["blank"].values())


def test_wrong_answer_loses_exactly_its_points(graded) -> None:
    first, tests = next(iter(graded["groups"].items()))
    for gid, row in graded["rows"]["wrong"].items():
        expected = 0 if gid in tests else graded["points"][gid]
        assert float(row["score"]) == expected, f"{gid}: {row}"
    assert graded["rows"]["wrong"][tests[0]]["status"] == "failed"


def test_tampering_is_caught(graded) -> None:
    _, tests = next(iter(graded["groups"].items()))
    for student in ("tampered", "edited"):
        for gid in tests:
            row = graded["rows"][student][gid]
            assert float(row["score"]) == 0 and row["status"] == "failed", f"{student} {gid}: {row}"
            assert "NotImplementedError" not in row["reason"], f"{student} {gid}: the fixture has no answer"
    feedback = (graded["out"] / "feedback" / "tampered" / f"{graded['lesson'].stem}.html").read_text()
    assert "was deleted; restored" in feedback
    feedback = (graded["out"] / "feedback" / "edited" / f"{graded['lesson'].stem}.html").read_text()
    assert "was edited; restored" in feedback


def test_hidden_tests_stay_hidden_in_feedback(graded) -> None:
    source = _read(graded["lesson"])
    hidden = {line.strip() for c in source.cells for line in region_lines(c.source, HIDDEN_BEGIN, HIDDEN_END)}
    feedback = nbformat.read(graded["out"] / "feedback" / "tampered" / graded["lesson"].name, as_version=4)
    text = "\n".join(c.source for c in feedback.cells) + str([c.get("outputs") for c in feedback.cells])
    # a line the student could have written (try:, an import) is not a leak; every other hidden line is
    student = release.student_version(_read(graded["lesson"]))
    visible = {line.strip() for c in student.cells for line in c.source.splitlines()}
    leaked = [line for line in hidden if line and line not in visible and line in text]
    assert not leaked, f"hidden test lines in the feedback: {leaked}"
    assert len([line for line in hidden if line not in visible]) >= 5, "the check would compare nothing"


def test_infinite_loop_times_out_and_the_rest_is_graded(graded) -> None:
    _, tests = next(iter(graded["groups"].items()))
    rows = graded["rows"]["loop"]
    assert rows[tests[0]]["status"] == "timeout" and float(rows[tests[0]]["score"]) == 0, rows[tests[0]]
    assert "timed out" in rows[tests[0]]["reason"]
    others = [gid for gid in graded["points"] if gid not in tests]
    assert all(rows[g]["status"] == "passed" for g in others)
    # The cells after the loop still ran: the notebook's last code cell has its output.
    feedback = nbformat.read(graded["out"] / "feedback" / "loop" / graded["lesson"].name, as_version=4)
    last = [c for c in feedback.cells if c.cell_type == "code"][-1]
    assert last.outputs and not any(o.output_type == "error" for o in last.outputs)


def test_stderr_warnings_do_not_cost_points(graded) -> None:
    assert _total(graded, "stderr") == sum(graded["points"].values())
    first_test = next(iter(graded["groups"].values()))[0]
    assert "stderr" in graded["rows"]["stderr"][first_test]["reason"]


def test_a_notebook_that_raises_everywhere_is_graded(graded) -> None:
    assert _total(graded, "raises") == 0
    assert all(r["status"] == "failed" for r in graded["rows"]["raises"].values())


@pytest.mark.parametrize("student", ["junk", "corrupt", "notjson"])
def test_unreadable_submissions_get_a_reason(graded, student) -> None:
    rows = graded["rows"][student].values()
    assert all(r["status"] == "unreadable" and float(r["score"]) == 0 for r in rows)
    assert all("notebook" in r["reason"] for r in rows)


def test_the_grade_table_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch) -> None:
    # The table is rewritten after every submission; a grader stopped mid-write must not lose it.
    table = tmp_path / "grades.csv"
    first = [grade.Row("ann", "ps1", "ex1", 1.0, 1.0, "passed", "", "ann/ps1.ipynb")]
    grade.write_csv(first, table)
    before = table.read_bytes()

    def killed(src, dst):
        raise KeyboardInterrupt("stopped while writing")

    monkeypatch.setattr(grade.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        grade.write_csv([*first, grade.Row("bob", "ps1", "ex1", 0.0, 1.0, "failed", "x", "bob/ps1.ipynb")], table)
    assert table.read_bytes() == before, "a stopped write changed the table"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grades.csv"], "a stopped write left a partial file"
    monkeypatch.undo()
    grade.write_csv([*first, grade.Row("bob", "ps1", "ex1", 0.0, 1.0, "failed", "x", "bob/ps1.ipynb")], table)
    with open(table, newline="") as f:
        assert [r["student"] for r in csv.DictReader(f)] == ["ann", "bob"]
