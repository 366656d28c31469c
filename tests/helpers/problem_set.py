"""An instructor's own assignment in nbgrader's format, modelled on nbgrader's documented example problem set.

Like nbgrader's "ps1" it has a function to write with visible and hidden tests, a second one that
builds on it, a written answer graded by hand, a code answer graded by hand, and a task. The
submissions below answer it in the ways a class does: perfectly, in part, not at all, and with an
honest part next to code that attacks the grader.
"""

from __future__ import annotations

import copy
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from labkit.course.release import nbg, student_version

NAME = "ps1"
POINTS = {"correct_squares": 1.0, "squares_invalid_input": 1.0, "correct_sum_of_squares": 0.5,
          "sum_of_squares_equation": 1.0, "plot_squares": 2.0, "task_explain": 1.0}
AUTO = ("correct_squares", "squares_invalid_input", "correct_sum_of_squares")
MANUAL = ("sum_of_squares_equation", "plot_squares", "task_explain")

SQUARES = '''def squares(n):
    """The squares of 1, 2, ..., n, as a list; a ValueError for n < 1."""
    ### BEGIN SOLUTION
    if n < 1:
        raise ValueError("n must be greater than or equal to 1")
    return [i ** 2 for i in range(1, n + 1)]
    ### END SOLUTION'''

SUM_OF_SQUARES = '''def sum_of_squares(n):
    """1² + 2² + ... + n², using squares."""
    ### BEGIN SOLUTION
    return sum(squares(n))
    ### END SOLUTION'''


def _meta(grade_id: str, *, solution: bool = False, grade: bool = False, task: bool = False,
          locked: bool = False) -> dict:
    meta = {"grade_id": grade_id, "solution": solution, "grade": grade, "locked": locked, "schema_version": 3}
    if task:
        meta["task"] = True
    if grade or task:
        meta["points"] = POINTS[grade_id]
    return {"nbgrader": meta}


def instructor_notebook() -> nbformat.NotebookNode:
    """The instructor's version: solutions, hidden tests, manual items and a task."""
    cells = [
        new_markdown_cell("# Problem set 1\n\nWrite the functions, then answer the questions."),
        new_markdown_cell("## Part A (2 points)\n\nWrite `squares(n)`: the squares of 1 to n; a `ValueError` "
                          "for n < 1."),
        new_code_cell(SQUARES, metadata=_meta("squares", solution=True)),
        new_code_cell('"""Check that squares returns the correct output for several inputs"""\n'
                      "assert squares(1) == [1]\n"
                      "assert squares(2) == [1, 4]\n"
                      "### BEGIN HIDDEN TESTS\n"
                      "assert squares(10) == [1, 4, 9, 16, 25, 36, 49, 64, 81, 100]\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta("correct_squares", grade=True, locked=True)),
        new_code_cell('"""Check that squares raises an error for invalid inputs"""\n'
                      "for bad in (0, -4):\n"
                      "    try:\n"
                      "        squares(bad)\n"
                      "    except ValueError:\n"
                      "        pass\n"
                      "    else:\n"
                      "        raise AssertionError(f'did not raise for n = {bad}')",
                      metadata=_meta("squares_invalid_input", grade=True, locked=True)),
        new_markdown_cell("## Part B (0.5 points)\n\nWrite `sum_of_squares(n)` using `squares`."),
        new_code_cell(SUM_OF_SQUARES, metadata=_meta("sum_of_squares", solution=True)),
        new_code_cell('"""Check that sum_of_squares returns the correct answer"""\n'
                      "assert sum_of_squares(1) == 1\n"
                      "assert sum_of_squares(2) == 5\n"
                      "### BEGIN HIDDEN TESTS\n"
                      "assert sum_of_squares(10) == 385\n"
                      "### END HIDDEN TESTS",
                      metadata=_meta("correct_sum_of_squares", grade=True, locked=True)),
        new_markdown_cell("## Part C (1 point)\n\nUsing LaTeX, write the closed form of the sum of squares."),
        new_markdown_cell("$\\sum_{i=1}^n i^2 = \\frac{n(n+1)(2n+1)}{6}$",
                          metadata=_meta("sum_of_squares_equation", solution=True, grade=True)),
        new_markdown_cell("## Part D (2 points)\n\nPlot `squares(n)` for n = 10 (graded by hand)."),
        new_code_cell("### BEGIN SOLUTION\nimport matplotlib.pyplot as plt\n"
                      "plt.plot(range(1, 11), squares(10))\nplt.close('all')\n### END SOLUTION",
                      metadata=_meta("plot_squares", solution=True, grade=True)),
        new_markdown_cell("## Part E (1 point)\n\nIn a cell below, explain why `sum_of_squares` grows like n³.",
                          metadata=_meta("task_explain", task=True, locked=True)),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


def write_instructor(folder: Path) -> Path:
    """The instructor's notebook as ``folder/ps1.ipynb``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{NAME}.ipynb"
    nbformat.write(instructor_notebook(), path)
    return path


def _answer(nb, grade_id: str, source: str) -> None:
    for cell in nb.cells:
        if nbg(cell).get("grade_id") == grade_id:
            cell.source = source


def _honest(*, raise_on_bad: bool = True) -> nbformat.NotebookNode:
    """The released version, answered: squares (with or without the ValueError), sum_of_squares, the manual items."""
    nb = student_version(instructor_notebook())
    guard = "    if n < 1:\n        raise ValueError('n must be >= 1')\n" if raise_on_bad else ""
    _answer(nb, "squares", f"def squares(n):\n{guard}    return [i * i for i in range(1, n + 1)]")
    _answer(nb, "sum_of_squares", "def sum_of_squares(n):\n    return sum(squares(n))")
    _answer(nb, "sum_of_squares_equation", "$n(n+1)(2n+1)/6$")
    _answer(nb, "plot_squares", "import matplotlib.pyplot as plt\nplt.plot(squares(10))\nplt.close('all')")
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == "task_explain")
    nb.cells.insert(at + 1, new_markdown_cell("Each term is at most n², and there are n of them."))
    return nb


def _with_cell(nb, code: str) -> nbformat.NotebookNode:
    """``nb`` with a student's own code cell right after the answer to squares."""
    nb = copy.deepcopy(nb)
    at = next(i for i, c in enumerate(nb.cells) if nbg(c).get("grade_id") == "squares")
    nb.cells.insert(at + 1, new_code_cell(code))
    return nb


def honest_submissions() -> dict[str, nbformat.NotebookNode]:
    """{student: notebook}: perfect, partial, blank. What each earns: see ``EXPECTED``."""
    return {
        "perfect": instructor_notebook(),
        "partial": _honest(raise_on_bad=False),
        "blank": student_version(instructor_notebook()),
    }


# (auto points earned, statuses of the manual items) for the honest submissions
EXPECTED = {
    "perfect": (2.5, {"sum_of_squares_equation": "manual", "plot_squares": "manual", "task_explain": "manual"}),
    "partial": (1.5, {"sum_of_squares_equation": "manual", "plot_squares": "manual", "task_explain": "manual"}),
    "blank": (0.0, {"sum_of_squares_equation": "not answered", "plot_squares": "not answered",
                    "task_explain": "manual"}),
}


def hostile_submissions(secrets: dict[str, str], port: int, marker: str) -> dict[str, tuple[nbformat.NotebookNode,
                                                                                              str]]:
    """{student: (notebook, what the sandbox must say it stopped)}; each also answers squares honestly.

    ``secrets`` maps names to files the student must not read (the instructor's notebook, another
    student's submission, the grades); ``port`` is a server on the host's 127.0.0.1; ``marker``
    tags the processes and files a submission tries to leave behind.
    """
    honest = _honest(raise_on_bad=False)  # earns 1.5 automatic points
    reads = "\n".join(f"open({path!r}).read()  # {name}" for name, path in secrets.items())
    return {
        "reader": (_with_cell(honest, "import labkit, pathlib\n"
                                      "print(sorted(pathlib.Path(labkit.__file__).parents[1].iterdir()))\n" + reads),
                   "exists outside the sandbox but not inside it"),
        "writer": (_with_cell(honest, f"open('/tmp/{marker}-tmp', 'w').write('x')\n"
                                      "import labkit, pathlib\n"
                                      f"(pathlib.Path(labkit.__file__).parent / '{marker}.py').write_text('x = 1')"),
                   "write outside the scratch folder refused"),
        "network": (_with_cell(honest, "import socket\n"
                                       f"socket.create_connection(('127.0.0.1', {port}), timeout=5)"),
                    "only the sandbox's own loopback is reachable"),
        "internet": (_with_cell(honest, "import socket\nsocket.create_connection(('1.1.1.1', 80), timeout=5)"),
                     "no network in the sandbox"),
        "lingerer": (_with_cell(honest, "import subprocess\n"
                                        f"subprocess.Popen(['sh', '-c', 'exec -a {marker} sleep 600'], "
                                        "start_new_session=True)"),
                     "process(es) the submission started were still running at the end"),
        "hog": (_with_cell(honest, "big = bytearray(64 * 2**30)  # 64 GiB"), "memory limit"),
        "forker": (_with_cell(honest, "import os\n"
                                      "children = []\n"
                                      "while True:\n"
                                      "    pid = os.fork()\n"
                                      "    if pid == 0:  # each child becomes a sleeper named by the marker\n"
                                      f"        os.execvp('sh', ['sh', '-c', 'exec -a {marker} sleep 600'])\n"
                                      "    children.append(pid)"),
                   "process limit"),
    }
