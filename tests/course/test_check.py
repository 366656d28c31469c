"""`labkit check`, for students: a released notebook's visible tests, run as grading runs them, and its locked cells.

The problem set (tests/helpers/problem_set.py) is released, answered in part, and checked: each test's
verdict must be what `labkit grade` gives the same submission, a test cell or task changed after release
is listed with the checksum recorded at release, and bad input is one line.
"""

from __future__ import annotations

import csv

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_flags, sandbox_missing
from labkit.course import check, release
from labkit.course.cli import main
from labkit.errors import CourseError

pytestmark = pytest.mark.notebook


def _cell(nb, grade_id: str):
    return next(c for c in nb.cells if release.nbg(c).get("grade_id") == grade_id)


@pytest.fixture(scope="module")
def partial(tmp_path_factory):
    """The released problem set with squares answered without its ValueError; checked, and graded."""
    base = tmp_path_factory.mktemp("check")
    instructor = problem_set.write_instructor(base / "source")
    nb = problem_set.honest_submissions()["partial"]
    path = base / "ann" / "ps1.ipynb"
    path.parent.mkdir()
    nbformat.write(nb, path)
    before = path.read_bytes()
    report = check.check(path, sandbox=not sandbox_missing())
    assert path.read_bytes() == before, "checking changed the student's notebook"
    assert main(["grade", str(path.parent), "--assignment", str(instructor), "--out", str(base / "grades"),
                 "--quiet", *sandbox_flags()]) == 0
    with open(base / "grades" / "grades.csv", newline="") as f:
        graded = {r["exercise"]: r for r in csv.DictReader(f)}
    return report, graded


def test_the_verdicts_are_gradings(partial) -> None:
    report, graded = partial
    got = {v.test: (v.status, v.points) for v in report.verdicts}
    assert got == {"correct_squares": ("passed", 1.0), "squares_invalid_input": ("failed", 1.0),
                   "correct_sum_of_squares": ("passed", 0.5)}, got
    for v in report.verdicts:  # the visible tests here decide as the hidden ones do, so grading must agree
        assert (v.status, v.points) == (graded[v.test]["status"], float(graded[v.test]["max_score"])), v
    failed = next(v for v in report.verdicts if v.status == "failed")
    assert failed.message == "AssertionError: did not raise for n = 0", failed.message
    assert not report.edits and not report.ready


def test_unanswered_and_changed_locked_cells(tmp_path) -> None:
    released = release.student_version(problem_set.instructor_notebook())
    nb = nbformat.from_dict(released)
    test = _cell(nb, "squares_invalid_input")
    test.source = "pass  # the check was in my way"
    task = _cell(nb, "task_explain")
    task.source += "\n\n(I think it grows like n².)"
    path = tmp_path / "ps1.ipynb"
    nbformat.write(nb, path)
    report = check.check(path, sandbox=not sandbox_missing())
    assert {v.test: v.status for v in report.verdicts} == dict.fromkeys(problem_set.AUTO, "not answered")
    assert "squares is still the released stub" in report.verdicts[0].message
    edits = {e.grade_id: e for e in report.edits}
    assert set(edits) == {"squares_invalid_input", "task_explain"}, edits
    for gid in edits:
        assert edits[gid].released == release.nbg(_cell(released, gid))["checksum"]
        assert edits[gid].now != edits[gid].released
    assert (edits["squares_invalid_input"].kind, edits["squares_invalid_input"].at_stake) == ("test", 1.0)
    assert (edits["task_explain"].kind, edits["task_explain"].at_stake) == ("task", 1.0)
    text = check.render(report)
    assert f"checksum at release {edits['task_explain'].released}" in text and "not ready" in text


def test_a_locked_code_cell_puts_the_tests_after_it_at_stake() -> None:
    from nbgrader.preprocessors import ComputeChecksums

    nb = release.student_version(problem_set.instructor_notebook())
    setup = nbformat.v4.new_code_cell("SIZE = 10")
    setup.metadata["nbgrader"] = {"grade_id": "setup", "grade": False, "solution": False, "locked": True,
                                  "schema_version": 3}
    nb.cells.insert(3, setup)
    nb = release.apply(nb, [ComputeChecksums()])
    nb.cells[3].source = "SIZE = 3"
    [edit] = check.locked_edits(nb)
    after = [release.nbg(c) for c in nb.cells[4:] if release.nbg(c).get("grade") and not release.nbg(c)["solution"]]
    assert edit.kind == "read-only" and edit.at_stake == sum(m["points"] for m in after) == 2.5
    assert f"the {len(after)} test(s) after it" in edit.why


def test_a_finished_notebook_is_ready(tmp_path, capsys) -> None:
    path = tmp_path / "ps1.ipynb"
    nbformat.write(problem_set.instructor_notebook(), path)  # every answer right
    assert main(["check", str(path), *sandbox_flags()]) == 0
    out = capsys.readouterr().out
    assert "visible tests passed: 2.5 / 2.5 points" in out and out.rstrip().endswith("ready to hand in"), out


@pytest.mark.parametrize("content, message", [
    (None, "no notebook at .*: give the path of the .ipynb file you will hand in"),
    ("not json", r"is not a Jupyter notebook \(.*\)"),
    ('{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}', "has no graded cells: check a lesson"),
])
def test_bad_input_is_one_line(tmp_path, capsys, content, message) -> None:
    path = tmp_path / "mine.ipynb"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CourseError, match=message):
        check.read_released(path)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("labkit: error: "), err


def test_released_notebooks_start_with_how_to_check_and_hand_in(tmp_path) -> None:
    [path] = release.release(tmp_path, ["00"])
    first = nbformat.read(path, as_version=4).cells[0]
    assert first.cell_type == "markdown" and f"!labkit check {path.name}" in first.source
    assert "labkit check path/to/" in first.source and "hand it in" in first.source
    assert first.metadata == {"editable": False, "deletable": False} and "nbgrader" not in first.metadata
