"""Grade submitted notebooks against the instructor's: restore the tests, run the submission, score each test.

Grading runs ``nbgrader autograde``'s steps on each submission without nbgrader's database: the
instructor notebook itself plays the gradebook. Test cells are restored by ``grade_id`` (hidden
tests included, deleted ones added back), the submission runs in a fresh kernel with a per-cell and
a per-notebook time limit, and every test cell is scored. Whatever a submission is or does, it is
graded with a reason, never crashed on.
"""

from __future__ import annotations

import copy
import csv
import json
import re
import shutil
import tempfile
import time
from dataclasses import asdict, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from labkit.course.catalog import lessons
from labkit.course.feedback import KERNEL_SPEC, feedback_notebook, write_feedback
from labkit.course.release import LOG, apply, exercises, gradebook_version, nbg, read_notebook, student_version
from labkit.course.report import Row, first_line
from labkit.course.runs import kernel_env
from labkit.errors import CourseError
from labkit.paths import safe_output_dir

CSV_NAME = "grades.csv"
KERNEL = KERNEL_SPEC["name"]


# ---------------------------------------------------------------- grading: restore the tests


class _SourceBook:
    """Answers the few questions nbgrader's ``OverwriteCells`` asks its database, from a notebook."""

    def __init__(self, source_nb: Any) -> None:
        cells = [c for c in source_nb.cells if nbg(c).get("grade_id")]
        self.source_cells = [
            SimpleNamespace(name=nbg(c)["grade_id"], cell_type=c.cell_type, source=c.source,
                            checksum=nbg(c)["checksum"], locked=_is_locked(c))
            for c in cells
        ]
        self._by_name = {c.name: c for c in self.source_cells}
        self._points = {nbg(c)["grade_id"]: float(nbg(c).get("points", 0)) for c in cells if nbg(c).get("grade")}
        self.grade_cells = [SimpleNamespace(name=n, max_score=p) for n, p in self._points.items()]
        self.solution_cells = [SimpleNamespace(name=nbg(c)["grade_id"]) for c in cells if nbg(c).get("solution")]
        self.task_cells: list = []

    def __enter__(self) -> _SourceBook:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def find_notebook(self, *_: object) -> _SourceBook:
        return self

    def find_source_cell(self, name: str, *_: object) -> SimpleNamespace:
        from nbgrader.api import MissingEntry

        if name not in self._by_name:
            raise MissingEntry()
        return self._by_name[name]

    def find_graded_cell(self, name: str, *_: object) -> SimpleNamespace:
        return SimpleNamespace(max_score=self._points.get(name, 0.0))


def _is_locked(cell: Any) -> bool:
    from nbgrader import utils

    return bool(utils.is_locked(cell))


def _restore_cells_class() -> type:
    from nbgrader.preprocessors import OverwriteCells

    class RestoreCells(OverwriteCells):
        """nbgrader's ``OverwriteCells``, asking the instructor notebook instead of the database."""

        source_nb: Any = None

        def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
            self.gradebook = _SourceBook(self.source_nb)
            self.notebook_id = self.assignment_id = ""
            with self.gradebook:
                nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
                if self.add_missing_cells:
                    nb, resources = self.add_missing_grade_cells(nb, resources)
            return nb, resources

    return RestoreCells


def _insert_missing_cells(nb: Any, source: Any, notes: list[str]) -> None:
    """Add back graded or answer cells the student deleted, after the nearest cell that is still there.

    nbgrader's ``add_missing_grade_cells`` fails when a deleted test cell's answer cell is gone too,
    so deleted cells go back here, in nbgrader's own format for a missing cell.
    """
    import nbformat
    from nbgrader.preprocessors import OverwriteCells

    book = _SourceBook(source)
    make = OverwriteCells(log=LOG)
    present = {nbg(c).get("grade_id") for c in nb.cells}
    source_ids = [c.name for c in book.source_cells]
    for i, cell in enumerate(book.source_cells):
        if cell.name in present:
            continue
        if cell.name in book._points:
            new = nbformat.from_dict(make.missing_cell_transform(cell, book._points[cell.name], is_solution=False))
            new["id"] = re.sub(r"[^A-Za-z0-9_-]", "-", f"restored-{cell.name}")[:64]
            notes.append(f"test cell {cell.name} was deleted; restored from the instructor's version")
        else:
            new = copy.deepcopy(next(c for c in source.cells if nbg(c).get("grade_id") == cell.name))
            notes.append(f"answer cell {cell.name} was deleted; put back empty")
        before = [j for j, c in enumerate(nb.cells) if nbg(c).get("grade_id") in source_ids[:i]]
        if before:
            at = before[-1] + 1
        else:
            at = min(next(j for j, c in enumerate(source.cells) if nbg(c).get("grade_id") == cell.name),
                     len(nb.cells))
        nb.cells.insert(at, new)
        present.add(cell.name)


def _sanitize(nb: Any, source: Any, released: Any, notes: list[str]) -> Any:
    """nbgrader autograde's sanitizing steps: clear outputs, drop duplicate ids, restore graded cells."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds

    known = {nbg(c)["grade_id"]: c for c in source.cells if nbg(c).get("grade_id")}
    visible = {nbg(c)["grade_id"]: nbg(c)["checksum"] for c in released.cells if nbg(c).get("grade_id")}
    full = {nbg(c)["grade_id"]: nbg(c)["checksum"] for c in source.cells if nbg(c).get("grade_id")}
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        gid = (meta.get("nbgrader") or {}).get("grade_id")
        if gid not in known:
            del meta["nbgrader"]  # a student cannot add test cells, nor turn their cells into them
            continue
        # Flags come from the instructor: a test cell cannot be unmarked, re-pointed or made editable.
        original = nbg(known[gid])
        meta["nbgrader"] = {k: original[k] for k in ("grade", "solution", "locked", "grade_id", "schema_version",
                                                     "points") if k in original}
        if original.get("grade"):
            meta["nbgrader"]["checksum"] = visible[gid]
            if cell.cell_type != known[gid].cell_type or utils.compute_checksum(cell) not in (visible[gid], full[gid]):
                notes.append(f"test cell {gid} was edited; restored from the instructor's version")
    nb.metadata["kernelspec"] = dict(KERNEL_SPEC)
    nb = apply(nb, [ClearOutput(log=LOG), DeduplicateIds(log=LOG)])
    _insert_missing_cells(nb, source, notes)
    restore = _restore_cells_class()(log=LOG, add_missing_cells=True)
    restore.source_nb = source
    nb, _ = restore.preprocess(nb, {})
    return nb


# ---------------------------------------------------------------- grading: run


def _timed_execute(cell_timeout: int, notebook_timeout: int) -> Any:
    from nbformat import NotebookNode
    from nbgrader.preprocessors import Execute

    class TimedExecute(Execute):
        """nbgrader's ``Execute`` with a budget for the whole notebook on top of the per-cell limit."""

        def preprocess(self, nb: Any, resources: Any = None, km: Any = None) -> tuple[Any, dict]:
            self.deadline = time.monotonic() + notebook_timeout
            self.ran: set[int] = set()
            self.skipped: set[int] = set()
            return super().preprocess(nb, resources, km)

        async def async_start_new_kernel(self, **kwargs: Any) -> None:
            kwargs.setdefault("env", kernel_env())  # headless, and the data found from the scratch folder
            await super().async_start_new_kernel(**kwargs)

        def preprocess_cell(self, cell: Any, resources: Any, index: int) -> tuple[Any, dict]:
            if cell.cell_type != "code":
                return cell, resources
            left = self.deadline - time.monotonic()
            if left < 1:
                cell.outputs = [NotebookNode(output_type="error", ename="NotebookTimeout",
                                             evalue=f"not run: the notebook used up its {notebook_timeout} s",
                                             traceback=[])]
                self.skipped.add(index)
                return cell, resources
            self.timeout = int(max(1, min(cell_timeout, left)))
            result = super().preprocess_cell(cell, resources, index)
            self.ran.add(index)  # only once it finished: a cell that killed the kernel earns nothing
            return result

    return TimedExecute(log=LOG, timeout=cell_timeout, kernel_name=KERNEL, interrupt_on_timeout=True,
                        allow_errors=True, record_timing=False, store_widget_state=False,
                        # A kernel slow to go idle after an interrupt must not abort the whole notebook.
                        raise_on_iopub_timeout=False, iopub_timeout=10,
                        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"no result within {cell_timeout} s",
                                          "traceback": [f"CellTimeoutError: no result within {cell_timeout} s"]})


def run_notebook(nb: Any, *, cell_timeout: int, notebook_timeout: int, sources: Path) -> tuple[Any, set[int], str]:
    """Run ``nb`` in a fresh kernel, cwd a copy of ``sources`` (no notebooks); return it, the cells run, a problem."""
    from nbgrader.preprocessors import LimitOutput

    problem = ""
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as tmp:
        # The instructor notebooks stay behind: the kernel must not find the answers beside it.
        work = Path(tmp) / "notebooks"
        shutil.copytree(sources, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        executor = _timed_execute(cell_timeout, notebook_timeout)
        try:
            nb, _ = executor.preprocess(nb, {"metadata": {"path": str(work)}})
        except Exception as err:  # a dead kernel, a kernel that never answers: grade what did run
            problem = f"execution stopped: {type(err).__name__}: {first_line(str(err))}"
    ran = set(getattr(executor, "ran", set()))
    if getattr(executor, "skipped", None):
        problem = problem or f"the notebook ran past its {notebook_timeout} s; later cells were not run"
    nb, _ = LimitOutput(log=LOG).preprocess(nb, {})
    return nb, ran, problem


# ---------------------------------------------------------------- grading: score


def _error_text(cell: Any) -> tuple[str, str]:
    """(status, reason) from a cell's error output, or ('', '') if it has none."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # A timed-out cell holds the KeyboardInterrupt of the interrupt too; the timeout is the reason.
    errors.sort(key=lambda o: o.get("ename") not in ("CellTimeoutError", "NotebookTimeout"))
    for out in errors:
        ename, evalue = out.get("ename", ""), first_line(out.get("evalue", ""))
        if ename == "CellTimeoutError":
            return "timeout", f"timed out: {evalue} (interrupted)"
        if ename == "NotebookTimeout":
            return "not run", evalue
        return "failed", f"{ename}: {evalue}" if evalue else ename
    return "", ""


def _stderr(cell: Any) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", [])
                   if o.get("output_type") == "stream" and o.get("name") == "stderr")


def _score(nb: Any, ran: set[int], points: dict[str, float], problem: str) -> list[tuple[str, float, str, str]]:
    """(exercise, score, status, reason) for every test cell, with nbgrader's rule minus its stderr trap."""
    from nbgrader import utils

    results = {}
    last_answer = None
    for index, cell in enumerate(nb.cells):
        meta = nbg(cell)
        if meta.get("solution") and not meta.get("grade"):
            last_answer = cell
        gid = meta.get("grade_id")
        if not meta.get("grade") or gid not in points or gid in results:
            continue
        if index not in ran:
            status, reason = _error_text(cell)
            results[gid] = (0.0, "not run", reason or problem or "not run")
            continue
        status, reason = _error_text(cell)
        # nbgrader gives zero to a test cell with any stderr output (a warning, a progress bar);
        # only an error fails a test here, and the warning is reported.
        quiet = copy.deepcopy(cell)
        quiet.outputs = [o for o in quiet.outputs
                         if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
        score, _ = utils.determine_grade(quiet, LOG)
        score = 0.0 if score is None else float(score)
        if not status:
            status, reason = ("passed", "") if score >= points[gid] else ("partial", f"partial credit {score}")
        if status != "passed" and last_answer is not None:
            answer_status, answer_reason = _error_text(last_answer)
            if answer_status:
                reason += f"; the answer cell {nbg(last_answer)['grade_id']} raised {answer_reason}"
        err = _stderr(cell)
        if err:
            reason += ("; " if reason else "") + f"stderr (ignored for the score): {first_line(err)}"
        results[gid] = (score, status, reason)
    return [(gid, *results.get(gid, (0.0, "missing", "test cell not found"))) for gid in points]


def grade_notebook(path: Path, lesson: Path, *, cell_timeout: int = 60, notebook_timeout: int = 600
                   ) -> tuple[list[tuple[str, float, str, str]], Any, list[str]]:
    """Grade one submitted file against one lesson: per-test results, the graded notebook (or None), notes."""
    import nbformat

    source = gradebook_version(read_notebook(lesson))
    released = student_version(read_notebook(lesson))
    points = exercises(source)
    notes: list[str] = []
    try:
        text = Path(path).read_text(encoding="utf-8")
        nb = nbformat.reads(text, as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
        nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # plain NotebookNodes all the way down
        nbformat.validate(nb, relax_add_props=True)
    except Exception as err:
        kind = "not valid notebook JSON" if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)) or \
            "JSON" in str(err) else "not a Jupyter notebook"
        reason = f"{kind} ({type(err).__name__}: {first_line(str(err))})"
        return [(gid, 0.0, "unreadable", reason) for gid in points], None, [reason]
    try:
        nb = _sanitize(nb, source, released, notes)
    except Exception as err:
        reason = f"its graded cells could not be restored ({type(err).__name__}: {first_line(str(err))})"
        return [(gid, 0.0, "unreadable", reason) for gid in points], None, [reason]
    nb, ran, problem = run_notebook(nb, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout,
                                sources=lesson.parent)
    if problem:
        notes.append(problem)
    results = _score(nb, ran, points, problem)
    return results, nb, notes


# ---------------------------------------------------------------- grading: many students


def find_submissions(paths: list[Path]) -> list[tuple[str, Path]]:
    """(student, file) pairs: a file; a student's folder (it holds .ipynb files); or a folder of those."""
    found: list[tuple[str, Path]] = []

    def files_in(folder: Path) -> list[Path]:
        return sorted(p for p in folder.rglob("*") if p.is_file() and not any(
            part.startswith(".") for part in p.relative_to(folder).parts))

    for path in map(Path, paths):
        if path.is_file():
            found.append((path.parent.name or "student", path))
        elif path.is_dir():
            if any(p.is_file() and p.suffix == ".ipynb" for p in path.iterdir()):
                found += [(path.name, f) for f in files_in(path)]
            else:
                for folder in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
                    found += [(folder.name, f) for f in files_in(folder)]
        else:
            raise CourseError(f"no submission at {path}: no such file or folder")
    return found


def match_lesson(path: Path, lessons: list[Path]) -> Path | None:
    """The lesson a submitted file answers: by its NN_ number, else by the grade_ids inside it."""
    prefix = re.match(r"(\d\d)(?:_|\b|\.)", path.name)
    if prefix:
        hits = [p for p in lessons if p.name[:2] == prefix.group(1)]
        if hits:
            return hits[0]
    try:
        ids = {nbg(c).get("grade_id") for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
    except Exception:
        return None
    overlap = [(len(ids & set(exercises(read_notebook(p)))), p) for p in lessons]
    best = max(overlap, default=(0, None))
    return best[1] if best[0] else None


def grade(paths: list[Path], out: Path, *, cell_timeout: int = 60, notebook_timeout: int = 600,
          show_hidden: bool = False, progress: bool = False) -> list[Row]:
    """Grade every submission under ``paths``; write ``out/grades.csv`` and ``out/feedback/<student>/``."""
    out = safe_output_dir(out)
    known = lessons()
    submissions = find_submissions(paths)
    if not submissions:
        raise CourseError(f"no submitted files under {', '.join(map(str, paths))}")
    rows: list[Row] = []
    for student, path in submissions:
        lesson = match_lesson(path, known)
        if progress:
            print(f"grading {student}: {path.name} ...", flush=True)
        if lesson is None:
            reason = f"{path.name} is not a notebook of any lesson"
            new = [Row(student, "?", "?", 0.0, 0.0, "unreadable", reason, str(path))]
            nb, notes = None, [reason]
        else:
            start = time.perf_counter()
            results, nb, notes = grade_notebook(path, lesson, cell_timeout=cell_timeout,
                                                notebook_timeout=notebook_timeout)
            points = exercises(read_notebook(lesson))
            new = [Row(student, lesson.stem, gid, score, points[gid], status, reason, str(path))
                   for gid, score, status, reason in results]
            if progress:
                total, best = sum(r.score for r in new), sum(r.max_score for r in new)
                print(f"  {total:g} / {best:g} points in {time.perf_counter() - start:.1f} s", flush=True)
        rows += new
        assignment = new[0].assignment if new[0].assignment != "?" else Path(path).stem
        feedback = feedback_notebook(nb, student, assignment, new, notes, show_hidden=show_hidden)
        write_feedback(feedback, out / "feedback" / student, Path(path).stem)
    write_csv(rows, out / CSV_NAME)
    return rows


def write_csv(rows: list[Row], path: Path) -> Path:
    """The per-student, per-exercise table."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=[fl.name for fl in fields(Row)])
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    return path


def totals(rows: list[Row]) -> list[tuple[str, str, float, float]]:
    """(student, assignment, score, max_score) per submission, in the order graded."""
    sums: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        entry = sums.setdefault((r.student, r.assignment, r.file), [0.0, 0.0])
        entry[0] += r.score
        entry[1] += r.max_score
    return [(s, a, score, best) for (s, a, _), (score, best) in sums.items()]
