"""All of nbgrader's format: an instructor's own problem set releases and grades, and agrees with nbgrader itself.

The problem set (tests/helpers/problem_set.py) has tests and a hidden test, a written answer and a
code answer graded by hand, and a task. It is released with ``labkit assign``, graded with
``labkit grade`` and with nbgrader's own ``autograde`` on the same submissions; every automatic
pass or fail and every item left to the instructor must agree.
"""

from __future__ import annotations

import csv
import os
import sys
from pathlib import Path

import nbformat
import pytest

from helpers import problem_set
from helpers.grading import sandbox_flags
from labkit.course import release
from labkit.course.cli import main

pytestmark = pytest.mark.notebook


@pytest.fixture(scope="module")
def course(tmp_path_factory: pytest.TempPathFactory):
    """The problem set, its honest submissions, and the grades both graders gave them."""
    base = tmp_path_factory.mktemp("ps1")
    instructor = problem_set.write_instructor(base / "instructor")
    subs = base / "submissions"
    for student, nb in problem_set.honest_submissions().items():
        (subs / student).mkdir(parents=True)
        nbformat.write(nb, subs / student / "ps1.ipynb")
    assert main(["grade", str(subs), "--assignment", str(instructor), "--out", str(base / "ours"), "--quiet",
                 *sandbox_flags()]) == 0
    with open(base / "ours" / "grades.csv", newline="") as f:
        ours = list(csv.DictReader(f))
    return {"base": base, "instructor": instructor, "subs": subs, "ours": ours,
            "theirs": _nbgrader_autograde(base / "nbgrader", instructor, subs)}


def _nbgrader_autograde(root, instructor, subs) -> dict[tuple[str, str], dict]:
    """nbgrader's own pipeline in a course folder of its own: generate_assignment, then autograde each student."""
    import shutil

    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from traitlets.config import Config

    # nbgrader upgrades its database by running the `alembic` command: the environment's bin on PATH
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    (root / "source" / "ps1").mkdir(parents=True)
    shutil.copy(instructor, root / "source" / "ps1" / "ps1.ipynb")
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.db_url = f"sqlite:///{root / 'gradebook.db'}"
    api = NbGraderAPI(config=config)
    made = api.generate_assignment("ps1")
    assert made["success"], made.get("log")
    students = sorted(p.name for p in subs.iterdir())
    for student in students:
        (root / "submitted" / student / "ps1").mkdir(parents=True)
        shutil.copy(subs / student / "ps1.ipynb", root / "submitted" / student / "ps1" / "ps1.ipynb")
        done = api.autograde("ps1", student)
        assert done["success"], done.get("log")
    theirs = {}
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        for student in students:
            for gid in problem_set.POINTS:
                grade = gb.find_grade(gid, "ps1", "ps1", student)  # a grade cell's or a task cell's
                theirs[(student, gid)] = {"auto": grade.auto_score, "max": grade.max_score,
                                          "manual": grade.needs_manual_grade}
    return theirs


def test_the_problem_set_releases_in_nbgrader_format(course, tmp_path) -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    assert main(["assign", str(course["instructor"]), "--out", str(tmp_path / "release")]) == 0
    student = nbformat.read(tmp_path / "release" / "ps1" / "ps1.ipynb", as_version=4)
    MetadataValidator().validate_nb(student)
    text = "\n".join(c.source for c in student.cells)
    assert "squares(10)" not in text and "385" not in text, "hidden tests leaked"
    assert "BEGIN SOLUTION" not in text and "n(n+1)(2n+1)" not in text, "solutions leaked"
    written = next(c for c in student.cells if release.nbg(c).get("grade_id") == "sum_of_squares_equation")
    assert written.cell_type == "markdown" and "YOUR ANSWER HERE" in written.source
    task = next(c for c in student.cells if release.nbg(c).get("grade_id") == "task_explain")
    assert task.metadata["editable"] is False and "explain why" in task.source
    assert release.exercises(student) == problem_set.POINTS


def test_automatic_grades_agree_with_nbgraders_autograder(course) -> None:
    for row in course["ours"]:
        if row["exercise"] not in problem_set.AUTO:
            continue
        theirs = course["theirs"][(row["student"], row["exercise"])]
        assert float(row["max_score"]) == theirs["max"]
        assert float(row["score"]) == theirs["auto"], (row, theirs)
        assert (row["status"] == "passed") == (theirs["auto"] == theirs["max"]), (row, theirs)


def test_manual_items_are_left_to_the_instructor_as_nbgrader_leaves_them(course) -> None:
    for row in course["ours"]:
        if row["exercise"] not in problem_set.MANUAL:
            continue
        theirs = course["theirs"][(row["student"], row["exercise"])]
        assert float(row["max_score"]) == theirs["max"] == problem_set.POINTS[row["exercise"]]
        if row["status"] == "manual":
            assert theirs["auto"] is None and theirs["manual"], (row, theirs)
        else:
            assert row["status"] == "not answered" and theirs["auto"] == 0 and not theirs["manual"], (row, theirs)
    statuses = {(r["student"], r["exercise"]): r["status"] for r in course["ours"]}
    for student, (_, manual) in problem_set.EXPECTED.items():
        assert {gid: statuses[(student, gid)] for gid in manual} == manual


def test_the_feedback_shows_the_answers_to_grade_by_hand(course) -> None:
    feedback = nbformat.read(course["base"] / "ours" / "feedback" / "perfect" / "ps1.ipynb", as_version=4)
    text = "\n".join(c.source for c in feedback.cells)
    assert "\\frac{n(n+1)(2n+1)}{6}" in text, "the written answer is in the feedback"
    assert "plt.plot(range(1, 11), squares(10))" in text, "the code answer is in the feedback"
    assert "✍ `sum_of_squares_equation`: 0 / 1** — manual" in text
    assert "squares(10) == [1, 4, 9" not in text, "hidden tests stay hidden"
