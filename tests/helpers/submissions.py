"""Build graded-submission fixtures from an instructor notebook, so they follow the lessons as they change."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import nbformat

from labkit.course.release import nbg, student_version

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"


def region_lines(source: str, begin: str, end: str) -> list[str]:
    """The lines strictly between the begin and end markers (all regions of the cell)."""
    inside, lines = False, []
    for line in source.splitlines():
        if begin in line:
            inside = True
        elif end in line:
            inside = False
        elif inside:
            lines.append(line)
    return lines


def replace_solution(source: str, body: list[str]) -> str:
    """``source`` with each solution region replaced by ``body``, indented like the region's marker."""
    out, inside = [], False
    for line in source.splitlines():
        if BEGIN in line:
            inside = True
            indent = re.match(r"\s*", line).group(0)
            out += [indent + b for b in body]
        elif END in line:
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def exercise_tests(nb) -> dict[str, list[str]]:
    """{answer grade_id: [test grade_ids after it, up to the next answer cell]}."""
    groups: dict[str, list[str]] = {}
    current = None
    for cell in nb.cells:
        meta = nbg(cell)
        if meta.get("solution") and not meta.get("grade"):
            current = meta["grade_id"]
            groups[current] = []
        elif meta.get("grade") and current is not None:
            groups[current].append(meta["grade_id"])
    return groups


def _with_answer(nb, grade_id: str, body: list[str]):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if nbg(cell).get("grade_id") == grade_id:
            cell.source = replace_solution(cell.source, body)
    return nb


def _hard_coded_bytes_needed() -> list[str]:
    """A body for lesson 00's ``bytes_needed`` that only knows the visible asserts' answers."""
    table = {"((1000, 1000), torch.float32)": 4_000_000, "((1000, 1000), torch.bfloat16)": 2_000_000,
             "((2, 3, 4), torch.float32)": 96}
    return ["known = {"] + [f"    {k}: {v}," for k, v in table.items()] + ["}", "return known[(shape, dtype)]"]


def write_submissions(lesson: Path, folder: Path) -> dict[str, str]:
    """Write one folder per fixture student under ``folder``; return {student: what it tests}."""
    source = nbformat.read(lesson, as_version=4)
    blank = student_version(source)
    first = next(iter(exercise_tests(source)))
    made = {}

    def put(student: str, nb_or_text, what: str, name: str = lesson.name) -> None:
        (folder / student).mkdir(parents=True, exist_ok=True)
        target = folder / student / name
        if isinstance(nb_or_text, str):
            target.write_text(nb_or_text, encoding="utf-8")
        else:
            nbformat.write(nb_or_text, target)
        made[student] = what

    put("full", source, "the instructor's notebook: full marks")
    put("blank", blank, "the student version as released: zero")
    put("wrong", _with_answer(source, first, ["pass"]), f"{first} answered wrongly: loses exactly its points")
    tampered = _with_answer(source, first, _hard_coded_bytes_needed())
    tampered.cells = [c for c in tampered.cells if not nbg(c).get("grade")]
    put("tampered", tampered, "test cells deleted, visible asserts hard-coded: caught by hidden tests")
    edited = _with_answer(source, first, ["pass"])
    for cell in edited.cells:
        if nbg(cell).get("grade"):
            cell.source = "assert True"
    put("edited", edited, "wrong answer and test cells edited to pass: restored, zero")
    put("loop", _with_answer(source, first, ["while True:", "    pass"]), f"{first} loops forever: times out")
    stderr = _with_answer(source, first, ["import sys", "import warnings",
                                          "print('a warning on stderr', file=sys.stderr)",
                                          "warnings.warn('careful', stacklevel=1)"]
                          + _solution_body(source, first))
    put("stderr", stderr, "full solution that warns on stderr: full marks")
    raises = copy.deepcopy(blank)
    for cell in raises.cells:
        if cell.cell_type == "code" and not nbg(cell).get("grade"):
            cell.source = "raise RuntimeError('everything breaks')"
    put("raises", raises, "every cell raises: zero, graded")
    put("junk", "this is not a notebook\n", "plain text named .ipynb: unreadable")
    put("corrupt", nbformat.writes(source)[: len(nbformat.writes(source)) // 2], "truncated JSON: unreadable")
    put("notjson", json.dumps({"hello": "world"}), "JSON that is not a notebook: unreadable")
    return made


def _solution_body(nb, grade_id: str) -> list[str]:
    """The solution region's lines of one answer cell, dedented to the marker's indent."""
    cell = next(c for c in nb.cells if nbg(c).get("grade_id") == grade_id)
    marker = next(line for line in cell.source.splitlines() if BEGIN in line)
    indent = len(re.match(r"\s*", marker).group(0))
    return [line[indent:] for line in region_lines(cell.source, BEGIN, END)]


# The attack reported on lesson 02: find the instructor's notebook through labkit.__file__ and run its
# solution cells, so that every test passes whatever the student wrote.
STEAL_SOLUTIONS = """import json, pathlib, labkit
lesson = pathlib.Path(labkit.__file__).resolve().parents[1] / "notebooks" / "02_gradient_descent.ipynb"
for cell in json.loads(lesson.read_text())["cells"]:
    if "### BEGIN SOLUTION" in "".join(cell["source"]):
        exec("".join(cell["source"]), globals())"""


def honest_and_thief(lesson: Path) -> dict[str, Any]:
    """Lesson 02 answered in its first exercise only, and the same with the stolen solutions run after it."""
    from nbformat.v4 import new_code_cell

    source = nbformat.read(lesson, as_version=4)
    first = next(iter(exercise_tests(source)))
    solved = next(c for c in source.cells if nbg(c).get("grade_id") == first).source
    honest = student_version(source)
    for cell in honest.cells:
        if nbg(cell).get("grade_id") == first:  # the instructor's answer, as a student would type it
            cell.source = "\n".join(line for line in solved.splitlines() if BEGIN not in line and END not in line)
    thief = copy.deepcopy(honest)
    at = next(i for i, c in enumerate(thief.cells) if nbg(c).get("grade_id") == first)
    thief.cells.insert(at + 1, new_code_cell(STEAL_SOLUTIONS))
    return {"honest": honest, "thief": thief}
