"""Assignments: every lesson's exercises are in nbgrader's format and pass their own tests; the student
versions hold no solutions, hidden tests or outputs and are locked. Running them and grading:
tests/course/test_grade.py."""

from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat
import pytest

from helpers.paths import NOTEBOOKS, lesson_paths
from helpers.submissions import (
    BEGIN,
    END,
    HIDDEN_BEGIN,
    HIDDEN_END,
    exercise_tests,
    region_lines,
)
from labkit.course import grade, lms, release
from labkit.course.cli import main
from labkit.errors import CourseError

LESSONS = lesson_paths()
IDS = [p.stem for p in LESSONS]
SOLUTION_KEYS = {"solution": True, "grade": False, "locked": False, "schema_version": 3}
TEST_KEYS = {"solution": False, "grade": True, "locked": True, "schema_version": 3}


def _read(path: Path):
    return nbformat.read(path, as_version=4)


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


# ------------------------------------------------------------------ the instructor notebooks


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_exercises_are_in_nbgrader_format(path) -> None:
    from nbgrader.nbgraderformat import MetadataValidator

    nb = _read(path)
    MetadataValidator().validate_nb(nb)  # nbgrader's own check of the metadata
    answers, tests = release.solution_cells(nb), release.grade_cells(nb)
    assert answers and tests, "every lesson is an assignment: it needs at least one exercise"
    for cell in answers:
        meta = cell.metadata.nbgrader
        assert {k: meta.get(k) for k in SOLUTION_KEYS} == SOLUTION_KEYS, f"answer cell {meta.get('grade_id')}"
        assert cell.cell_type == "code" and BEGIN in cell.source and END in cell.source, meta["grade_id"]
    for cell in tests:
        meta = cell.metadata.nbgrader
        assert {k: meta.get(k) for k in TEST_KEYS} == TEST_KEYS, f"test cell {meta.get('grade_id')}"
        assert meta.get("points", 0) > 0 and "assert" in cell.source, meta["grade_id"]
        assert BEGIN not in cell.source
    for cell in nb.cells:
        if HIDDEN_BEGIN in cell.source:
            assert cell.metadata.get("nbgrader", {}).get("grade"), "hidden tests belong in test cells"
        if BEGIN in cell.source:
            assert cell.metadata.get("nbgrader", {}).get("solution"), "solution markers belong in answer cells"
    groups = exercise_tests(nb)
    assert all(groups.values()), f"an answer cell without a test cell after it: {groups}"
    assert [c.metadata.nbgrader["grade_id"] for c in tests] == [t for ts in groups.values() for t in ts], \
        "a test cell comes before any answer cell"


def test_grade_ids_are_unique_across_lessons() -> None:
    seen: dict[str, str] = {}
    for path in LESSONS:
        for cell in _read(path).cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid:
                assert gid not in seen, f"grade_id {gid!r} is in both {seen[gid]} and {path.stem}"
                seen[gid] = path.stem


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_instructor_notebook_passes_its_own_tests(path) -> None:
    # Stored outputs come from one clean run (test_notebooks) that strict nbval repeats: a test
    # cell that ran and printed no error and nothing on stderr passed.
    for cell in release.grade_cells(_read(path)):
        gid = cell.metadata.nbgrader["grade_id"]
        assert cell.execution_count is not None, f"test cell {gid} has not been run"
        bad = [o for o in cell.outputs if o.output_type == "error" or o.get("name") == "stderr"]
        assert not bad, f"test cell {gid} fails on the instructor's solution: {bad[0]}"


# ------------------------------------------------------------------ release


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict[str, Path]:
    before = _digest(NOTEBOOKS)
    out = tmp_path_factory.mktemp("release")
    assert main(["assign", "--out", str(out)]) == 0
    assert _digest(NOTEBOOKS) == before, "releasing changed the instructor notebooks"
    return {p.stem: out / p.stem / p.name for p in LESSONS}


def test_every_lesson_is_released(released) -> None:
    assert all(path.is_file() for path in released.values())


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_has_no_solution_hidden_test_or_output(path, released) -> None:
    source, student = _read(path), _read(released[path.stem])
    secret, public = set(), set()
    for cell in source.cells:
        lines = region_lines(cell.source, BEGIN, END) + region_lines(cell.source, HIDDEN_BEGIN, HIDDEN_END)
        secret |= {line.strip() for line in lines if line.strip()}
        public_lines = [line for line in cell.source.splitlines() if line not in lines]
        public |= {line.strip() for line in public_lines}
    text = "\n".join(c.source for c in student.cells)
    student_lines = {line.strip() for line in text.splitlines()}
    leaked = sorted((secret - public) & student_lines)
    assert not leaked, f"solution or hidden-test lines in the student version: {leaked[:3]}"
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "HIDDEN TESTS"):
        assert marker not in text
    for cell in student.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, "the student version has outputs"
    assert "widgets" not in student.metadata


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_student_version_is_locked_with_checksums(path, released) -> None:
    from nbgrader.utils import compute_checksum

    student = _read(released[path.stem])
    assert [c.metadata.nbgrader["grade_id"] for c in release.grade_cells(student)] == \
        list(release.exercises(_read(path))), "test cells are missing from the student version"
    for cell in student.cells:
        meta = cell.metadata.get("nbgrader")
        if not meta:
            continue
        assert meta["checksum"] == compute_checksum(cell), f"checksum of {meta['grade_id']} not recorded"
        assert cell.metadata["deletable"] is False
        if meta.get("grade") or meta.get("locked"):
            assert cell.metadata["editable"] is False, f"{meta['grade_id']} is not read-only"
        if meta.get("solution"):
            assert "raise NotImplementedError()" in cell.source


# ------------------------------------------------------------------ finding submissions


def test_find_submissions_and_lessons(tmp_path) -> None:
    for name in ("ann/00_start_here.ipynb", "ann/notes.txt", "bob/00_start_here (1).ipynb", "bob/.hidden.ipynb"):
        (tmp_path / "class" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "class" / name).write_text("{}")
    found = lms.find_submissions([tmp_path / "class"])
    assert [(s, p.name) for s, p in found] == [("ann", "00_start_here.ipynb"), ("ann", "notes.txt"),
                                               ("bob", "00_start_here (1).ipynb")]
    assert [(s, p.name) for s, p in lms.find_submissions([tmp_path / "class" / "ann"])][0][0] == "ann"
    assert grade.match_lesson(found[2][1], LESSONS) == LESSONS[0]
    assert grade.match_lesson(found[1][1], LESSONS) is None
    renamed = tmp_path / "mine.ipynb"
    nbformat.write(release.student_version(_read(LESSONS[0])), renamed)
    assert grade.match_lesson(renamed, LESSONS) == LESSONS[0], "an unnamed file is matched by its grade_ids"
    with pytest.raises(CourseError, match="no submission at .*nobody: no such file or folder"):
        lms.find_submissions([tmp_path / "nobody"])
