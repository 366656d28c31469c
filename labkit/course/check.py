"""Check a notebook before handing it in: its visible tests, run as grading runs them, and its locked cells.

A student has only the released notebook, so the check needs nothing of the instructor's: the
notebook's own nbgrader metadata says which cells are answers, tests and locked, and the checksum
nbgrader recorded when the notebook was released (``ComputeChecksums``) shows whether a locked cell
was changed since. The notebook runs in a fresh kernel, in the sandbox grading uses, with grading's
time limits (``score.run_notebook``), and each test cell is scored by grading's rule (``score.score``).
Hidden tests are not in a released notebook: they run only at grading.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.course.release import nbg
from labkit.course.report import first_line
from labkit.errors import CourseError


@dataclass(frozen=True)
class Verdict:
    """One test cell's result: passed, failed, not answered, timeout or not run, with why."""

    test: str
    points: float
    status: str
    message: str


@dataclass(frozen=True)
class Edit:
    """A locked cell that differs from the one released: grading puts the released cell back."""

    index: int  # the cell's position in the notebook
    grade_id: str
    kind: str  # "test", "task" or "read-only"
    released: str  # the checksum recorded at release (the instructor's)
    now: str  # the checksum of the cell as it is
    at_stake: float  # points of the tests whose result the change can alter
    why: str


@dataclass
class Report:
    """What ``check`` found: a verdict per visible test, the locked cells changed, notes."""

    notebook: Path
    verdicts: list[Verdict]
    edits: list[Edit]
    notes: list[str] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """Every visible test passes and no locked cell was changed."""
        return not self.edits and all(v.status == "passed" for v in self.verdicts)


def read_released(path: Path) -> Any:
    """The notebook at ``path``, or CourseError saying in one line why it cannot be checked."""
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise CourseError(f"no notebook at {path}: give the path of the .ipynb file you will hand in")
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - whatever it is, one line says so
        raise CourseError(f"{path} is not a Jupyter notebook ({type(err).__name__}: {first_line(str(err))})") from err
    if not any(nbg(c).get("grade") for c in nb.cells):
        raise CourseError(f"{path.name} has no graded cells: check a lesson as released to you (labkit assign)")
    return nb


def _checksum(cell: Any) -> str:
    from nbgrader import utils

    return utils.compute_checksum(cell)


def _kind(meta: dict) -> str | None:
    """What grading does with a cell: restores a test, a task or a read-only cell; None for others."""
    if meta.get("task"):
        return "task"
    if meta.get("grade") and not meta.get("solution"):
        return "test"
    if meta.get("locked") and not meta.get("solution"):
        return "read-only"
    return None


def locked_edits(nb: Any) -> list[Edit]:
    """The locked cells whose checksum is not the one recorded at release, with the points they put at stake."""
    tests = [(i, nbg(c)["grade_id"], float(nbg(c).get("points", 0))) for i, c in enumerate(nb.cells)
             if _kind(nbg(c)) == "test"]
    edits = []
    for index, cell in enumerate(nb.cells):
        meta = nbg(cell)
        kind, recorded = _kind(meta), meta.get("checksum")
        if kind is None or not recorded or _checksum(cell) == recorded:
            continue
        if kind == "test":
            at_stake = float(meta.get("points", 0))
            why = "grading runs the test as released, so its result here does not count"
        elif kind == "task":
            at_stake, why = float(meta.get("points", 0)), "grading shows the task as released"
        elif cell.cell_type == "code":
            later = [(gid, points) for i, gid, points in tests if i > index]
            at_stake = sum(points for _, points in later)
            why = (f"grading runs the cell as released, and the {len(later)} test(s) after it with it"
                   if later else "grading runs the cell as released; no test comes after it")
        else:
            at_stake, why = 0.0, "grading shows the cell as released"
        edits.append(Edit(index, meta.get("grade_id", ""), kind, recorded, _checksum(cell), at_stake, why))
    return edits


def _unanswered(nb: Any) -> dict[str, list[str]]:
    """{test grade_id: the answer cells of its exercise still as released} (the released stub's checksum)."""
    found: dict[str, list[str]] = {}
    stubs: list[str] = []
    closed = False  # a test ends an exercise: the next answer cell starts the next one
    for cell in nb.cells:
        meta = nbg(cell)
        if meta.get("solution") and not meta.get("grade"):
            if closed:
                stubs, closed = [], False
            if meta.get("checksum") and _checksum(cell) == meta["checksum"]:
                stubs.append(meta["grade_id"])
        elif _kind(meta) == "test":
            found[meta["grade_id"]] = list(stubs)
            closed = True
    return found


def check(path: Path, *, sandbox: bool = True, cell_timeout: int = 60, notebook_timeout: int = 600) -> Report:
    """Run ``path``'s visible tests as grading runs them; its verdicts, and the locked cells changed."""
    from nbgrader.preprocessors import ClearOutput

    from labkit.course.grade import Options, grading_sandbox
    from labkit.course.release import LOG, apply
    from labkit.course.sandbox import tools_missing
    from labkit.course.score import items, run_notebook, score

    missing = tools_missing() if sandbox else None
    options = Options(cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                      sandbox=sandbox and not missing).check()
    nb = read_released(path)
    edits = locked_edits(nb)
    notes = []
    if missing:
        notes.append(f"the sandbox cannot run here ({missing}): the tests ran without it; grading runs them in it, "
                     "where only labkit, its data and a scratch folder are visible")
    graded, stubs = items(nb), _unanswered(nb)
    nb = apply(nb, [ClearOutput(log=LOG)])
    with tempfile.TemporaryDirectory(prefix="lk-") as tmp:  # short: unix socket paths are limited
        box = grading_sandbox(Path(tmp), options)  # None without the sandbox
        nb, ran, problem, _ = run_notebook(nb, cell_timeout=options.cell_timeout,
                                           notebook_timeout=options.notebook_timeout, sandbox=box, workdir=Path(tmp))
    if problem:
        notes.append(problem)
    verdicts = []
    for gid, _, status, reason in score(nb, ran, graded, problem):
        kind, points = graded[gid]
        if kind != "test":
            continue  # answers graded by hand: nothing to check automatically
        if stubs.get(gid):
            status, reason = "not answered", f"{', '.join(stubs[gid])} is still the released stub"
        verdicts.append(Verdict(gid, points, status, reason))
    return Report(Path(path), verdicts, edits, notes)


def render(report: Report) -> str:
    """The report as the terminal shows it: one line per test, then the locked cells changed."""
    lines = [f"{report.notebook.name}: visible tests (hidden tests run only at grading)"]
    width = max((len(v.test) for v in report.verdicts), default=4)
    for v in report.verdicts:
        mark = {"passed": "ok  ", "not answered": "--  "}.get(v.status, "FAIL")
        detail = f": {v.message}" if v.message and v.status != "passed" else ""
        lines.append(f"  {mark} {v.test:<{width}}  {v.points:g} pt  {v.status}{detail}")
    passed = sum(v.points for v in report.verdicts if v.status == "passed")
    lines.append(f"  visible tests passed: {passed:g} / {sum(v.points for v in report.verdicts):g} points")
    if report.edits:
        lines.append("locked cells you changed (grading puts each back as released):")
        for e in report.edits:
            lines.append(f"  cell {e.index} ({e.grade_id}, {e.kind}): checksum at release {e.released}, now {e.now}; "
                         f"at stake: {e.at_stake:g} pt ({e.why})")
        lines.append("  to undo a change, copy the cell back from the notebook as it was handed out")
    lines += [f"note: {n}" for n in report.notes]
    lines.append("ready to hand in" if report.ready else "not ready: see the lines marked FAIL, -- or changed")
    return "\n".join(lines)
