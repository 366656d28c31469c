"""Student versions of the lessons in nbgrader's notebook format, made with nbgrader's own preprocessors.

*Release* turns each instructor notebook in ``notebooks/`` into a student version, laid out like
nbgrader's ``release/<assignment>/<notebook>.ipynb`` (one assignment per lesson): solutions become
stubs, hidden tests go, outputs are cleared, test and read-only cells are locked and checksums are
recorded: the same preprocessors, in the same order, as ``nbgrader generate_assignment``.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

from labkit.course.catalog import assignments
from labkit.paths import safe_output_dir

# nbgrader's loggers and nbclient report timeouts and restored cells as warnings; the grade table
# says the same in words, so keep the terminal quiet.
LOG = logging.getLogger("labkit.course")
LOG.setLevel(logging.CRITICAL)
KERNEL_SPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}


def nbg(cell: Any) -> dict:
    """A cell's nbgrader metadata ({} for a cell nbgrader does not know)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_cells(nb: Any) -> list[Any]:
    """The graded cells of a notebook (``grade: true``: tests and manually graded answers), in order."""
    return [c for c in nb.cells if nbg(c).get("grade") and nbg(c).get("grade_id")]


def solution_cells(nb: Any) -> list[Any]:
    """The cells students answer in (``solution: true``), in order."""
    return [c for c in nb.cells if nbg(c).get("solution") and nbg(c).get("grade_id")]


def exercises(nb: Any) -> dict[str, float]:
    """``{grade_id: points}`` of every graded cell and task, in notebook order."""
    return {nbg(c)["grade_id"]: float(nbg(c).get("points", 0)) for c in nb.cells
            if nbg(c).get("grade_id") and (nbg(c).get("grade") or nbg(c).get("task"))}


def read_notebook(path: Path) -> Any:
    """A notebook file as nbformat version 4."""
    import nbformat

    return nbformat.read(path, as_version=4)


def apply(nb: Any, preprocessors: list[Any]) -> Any:
    """``nb`` after each of nbgrader's preprocessors in turn."""
    resources: dict = {}
    for pre in preprocessors:
        nb, resources = pre.preprocess(nb, resources)
    return nb


def gradebook_version(nb: Any) -> Any:
    """The instructor cells as ``nbgrader generate_assignment`` stores them in its database.

    Solutions are already stubs, hidden tests are still there, and checksums are computed: this
    is what grading restores test cells from.
    """
    from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, ClearSolutions, ComputeChecksums, LockCells

    steps = [LockCells(log=LOG), ClearSolutions(log=LOG), ClearOutput(log=LOG), CheckCellMetadata(log=LOG),
             ComputeChecksums(log=LOG)]
    return apply(copy.deepcopy(nb), steps)


def student_version(nb: Any) -> Any:
    """What students get: ``gradebook_version`` without hidden tests, checksums recomputed."""
    from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, ComputeChecksums

    return apply(gradebook_version(nb), [ClearHiddenTests(log=LOG), ComputeChecksums(log=LOG),
                                        CheckCellMetadata(log=LOG)])


def hand_in_cell(name: str) -> Any:
    """The first cell of a released notebook: how to check it with ``labkit check`` and hand it in."""
    from nbformat.v4 import new_markdown_cell

    text = (f"**Before you hand this notebook in**, save it (Ctrl+S) and check it. In a new cell of this notebook "
            f"run\n\n    !labkit check {name}\n\nor, in a terminal of this lab, `labkit check path/to/{name}`. "
            "It runs your notebook's visible tests the way grading runs them (in a fresh kernel, in the grading "
            "sandbox) and prints each exercise as passed, failed (with the test's message) or not answered; it "
            "also lists any locked cell you changed and the points that change puts at stake (grading puts "
            "locked cells back as released). Hidden tests run only at grading.\n\n"
            f"**To hand it in**, upload this file, `{name}`, to your course's assignment as it is, "
            "under its own name.")
    # Read-only in JupyterLab, and no nbgrader metadata: grading neither needs nor restores it.
    return new_markdown_cell(text, metadata={"editable": False, "deletable": False})


def release(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write the student version of each assignment to ``out/<name>/<name>.ipynb``; return the paths.

    ``names`` are lessons (names or numbers) or paths of nbgrader-format notebooks; default: every lesson.
    Each starts with ``hand_in_cell``: how to check it and hand it in.
    """
    import nbformat

    out = safe_output_dir(out)
    written = []
    for path in assignments(names):
        nb = student_version(read_notebook(path))
        nb.cells.insert(0, hand_in_cell(path.name))
        target = out / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written
