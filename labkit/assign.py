"""Classroom assignments from the lessons, in nbgrader's notebook format, with nbgrader's preprocessors.

*Release* turns each instructor notebook in ``notebooks/`` into a student version, laid out like
nbgrader's ``release/<assignment>/<notebook>.ipynb`` (one assignment per lesson): solutions become
stubs, hidden tests go, outputs are cleared, test and read-only cells are locked and checksums are
recorded — the same preprocessors, in the same order, as ``nbgrader generate_assignment``.

*Grade* runs ``nbgrader autograde``'s steps on each submission without nbgrader's database: the
instructor notebook itself plays the gradebook. Test cells are restored by ``grade_id`` (hidden
tests included, deleted ones added back), the submission runs in a fresh kernel with a per-cell and
a per-notebook time limit, and every test cell is scored. Whatever a submission is or does, it is
graded with a reason, never crashed on.
"""

from __future__ import annotations

import copy
import csv
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from types import SimpleNamespace
from typing import Any

CSV_NAME = "grades.csv"
KERNEL = "python3"
# nbgrader's loggers and nbclient report timeouts and restored cells as warnings; the grade table
# says the same in words, so keep the terminal quiet.
_LOG = logging.getLogger("labkit.assign")
_LOG.setLevel(logging.CRITICAL)


# ---------------------------------------------------------------- what is an exercise


def _nbg(cell: Any) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def grade_cells(nb: Any) -> list[Any]:
    """The autograded test cells of a notebook (``grade: true``), in order."""
    return [c for c in nb.cells if _nbg(c).get("grade") and _nbg(c).get("grade_id")]


def solution_cells(nb: Any) -> list[Any]:
    """The cells students answer in (``solution: true``), in order."""
    return [c for c in nb.cells if _nbg(c).get("solution") and _nbg(c).get("grade_id")]


def exercises(nb: Any) -> dict[str, float]:
    """``{grade_id: points}`` of every test cell, in notebook order."""
    return {_nbg(c)["grade_id"]: float(_nbg(c).get("points", 0)) for c in grade_cells(nb)}


def _read(path: Path) -> Any:
    import nbformat

    return nbformat.read(path, as_version=4)


# ---------------------------------------------------------------- release


def _run(nb: Any, preprocessors: list[Any]) -> Any:
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

    steps = [LockCells(log=_LOG), ClearSolutions(log=_LOG), ClearOutput(log=_LOG), CheckCellMetadata(log=_LOG),
             ComputeChecksums(log=_LOG)]
    return _run(copy.deepcopy(nb), steps)


def student_version(nb: Any) -> Any:
    """What students get: ``gradebook_version`` without hidden tests, checksums recomputed."""
    from nbgrader.preprocessors import CheckCellMetadata, ClearHiddenTests, ComputeChecksums

    return _run(gradebook_version(nb), [ClearHiddenTests(log=_LOG), ComputeChecksums(log=_LOG),
                                        CheckCellMetadata(log=_LOG)])


def check_output_dir(out: Path, sources: Path) -> Path:
    """``out`` resolved; a ValueError if it is the lessons' folder or inside it."""
    out, sources = Path(out).resolve(), Path(sources).resolve()
    if out == sources or sources in out.parents:
        raise ValueError(f"output folder {out} is (inside) the lessons' folder {sources}; choose a folder outside it")
    return out


def release(out: Path, names: list[str] | None = None) -> list[Path]:
    """Write the student version of each lesson to ``out/<lesson>/<lesson>.ipynb``; return the paths."""
    import nbformat

    from labkit.notebooks import lessons, notebooks_dir

    out = check_output_dir(out, notebooks_dir())
    written = []
    for path in lessons(names):
        nb = student_version(_read(path))
        target = out / path.stem / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written


# ---------------------------------------------------------------- grading: restore the tests


class _SourceBook:
    """Answers the few questions nbgrader's ``OverwriteCells`` asks its database, from a notebook."""

    def __init__(self, source_nb: Any) -> None:
        cells = [c for c in source_nb.cells if _nbg(c).get("grade_id")]
        self.source_cells = [
            SimpleNamespace(name=_nbg(c)["grade_id"], cell_type=c.cell_type, source=c.source,
                            checksum=_nbg(c)["checksum"], locked=_is_locked(c))
            for c in cells
        ]
        self._by_name = {c.name: c for c in self.source_cells}
        self._points = {_nbg(c)["grade_id"]: float(_nbg(c).get("points", 0)) for c in cells if _nbg(c).get("grade")}
        self.grade_cells = [SimpleNamespace(name=n, max_score=p) for n, p in self._points.items()]
        self.solution_cells = [SimpleNamespace(name=_nbg(c)["grade_id"]) for c in cells if _nbg(c).get("solution")]
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
    make = OverwriteCells(log=_LOG)
    present = {_nbg(c).get("grade_id") for c in nb.cells}
    source_ids = [c.name for c in book.source_cells]
    for i, cell in enumerate(book.source_cells):
        if cell.name in present:
            continue
        if cell.name in book._points:
            new = nbformat.from_dict(make.missing_cell_transform(cell, book._points[cell.name], is_solution=False))
            new["id"] = re.sub(r"[^A-Za-z0-9_-]", "-", f"restored-{cell.name}")[:64]
            notes.append(f"test cell {cell.name} was deleted; restored from the instructor's version")
        else:
            new = copy.deepcopy(next(c for c in source.cells if _nbg(c).get("grade_id") == cell.name))
            notes.append(f"answer cell {cell.name} was deleted; put back empty")
        before = [j for j, c in enumerate(nb.cells) if _nbg(c).get("grade_id") in source_ids[:i]]
        if before:
            at = before[-1] + 1
        else:
            at = min(next(j for j, c in enumerate(source.cells) if _nbg(c).get("grade_id") == cell.name),
                     len(nb.cells))
        nb.cells.insert(at, new)
        present.add(cell.name)


def _sanitize(nb: Any, source: Any, released: Any, notes: list[str]) -> Any:
    """nbgrader autograde's sanitizing steps: clear outputs, drop duplicate ids, restore graded cells."""
    from nbgrader import utils
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds

    known = {_nbg(c)["grade_id"]: c for c in source.cells if _nbg(c).get("grade_id")}
    visible = {_nbg(c)["grade_id"]: _nbg(c)["checksum"] for c in released.cells if _nbg(c).get("grade_id")}
    full = {_nbg(c)["grade_id"]: _nbg(c)["checksum"] for c in source.cells if _nbg(c).get("grade_id")}
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        gid = (meta.get("nbgrader") or {}).get("grade_id")
        if gid not in known:
            del meta["nbgrader"]  # a student cannot add test cells, nor turn their cells into them
            continue
        # Flags come from the instructor: a test cell cannot be unmarked, re-pointed or made editable.
        original = _nbg(known[gid])
        meta["nbgrader"] = {k: original[k] for k in ("grade", "solution", "locked", "grade_id", "schema_version",
                                                     "points") if k in original}
        if original.get("grade"):
            meta["nbgrader"]["checksum"] = visible[gid]
            if cell.cell_type != known[gid].cell_type or utils.compute_checksum(cell) not in (visible[gid], full[gid]):
                notes.append(f"test cell {gid} was edited; restored from the instructor's version")
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}
    nb = _run(nb, [ClearOutput(log=_LOG), DeduplicateIds(log=_LOG)])
    _insert_missing_cells(nb, source, notes)
    restore = _restore_cells_class()(log=_LOG, add_missing_cells=True)
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

    return TimedExecute(log=_LOG, timeout=cell_timeout, kernel_name=KERNEL, interrupt_on_timeout=True,
                        allow_errors=True, record_timing=False, store_widget_state=False,
                        # A kernel slow to go idle after an interrupt must not abort the whole notebook.
                        raise_on_iopub_timeout=False, iopub_timeout=10,
                        error_on_timeout={"ename": "CellTimeoutError", "evalue": f"no result within {cell_timeout} s",
                                          "traceback": [f"CellTimeoutError: no result within {cell_timeout} s"]})


def _kernel_env() -> dict[str, str]:
    from labkit.data import ENV_VAR, data_dir

    # The kernel inherits os.environ: headless (no widgets), and the data found from any cwd.
    return {"LABKIT_HEADLESS": "1", ENV_VAR: str(data_dir())}


def run_notebook(nb: Any, *, cell_timeout: int, notebook_timeout: int, sources: Path) -> tuple[Any, set[int], str]:
    """Run ``nb`` in a fresh kernel, cwd a copy of ``sources`` (no notebooks); return it, the cells run, a problem."""
    from nbgrader.preprocessors import LimitOutput

    problem = ""
    saved = {k: os.environ.get(k) for k in _kernel_env()}
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as tmp:
        # The instructor notebooks stay behind: the kernel must not find the answers beside it.
        work = Path(tmp) / "notebooks"
        shutil.copytree(sources, work, ignore=shutil.ignore_patterns("*.ipynb", ".ipynb_checkpoints"))
        executor = _timed_execute(cell_timeout, notebook_timeout)
        os.environ.update(_kernel_env())
        try:
            nb, _ = executor.preprocess(nb, {"metadata": {"path": str(work)}})
        except Exception as err:  # a dead kernel, a kernel that never answers: grade what did run
            problem = f"execution stopped: {type(err).__name__}: {_first_line(str(err))}"
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
    ran = set(getattr(executor, "ran", set()))
    if getattr(executor, "skipped", None):
        problem = problem or f"the notebook ran past its {notebook_timeout} s; later cells were not run"
    nb, _ = LimitOutput(log=_LOG).preprocess(nb, {})
    return nb, ran, problem


def _first_line(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text.splitlines()[0][:300] if text else ""


# ---------------------------------------------------------------- grading: score


@dataclass
class Row:
    """One line of the grade table: a student's result on one test cell of one assignment."""

    student: str
    assignment: str
    exercise: str
    score: float
    max_score: float
    status: str  # passed | failed | timeout | not run | missing | unreadable
    reason: str
    file: str


def _error_text(cell: Any) -> tuple[str, str]:
    """(status, reason) from a cell's error output, or ('', '') if it has none."""
    errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
    # A timed-out cell holds the KeyboardInterrupt of the interrupt too; the timeout is the reason.
    errors.sort(key=lambda o: o.get("ename") not in ("CellTimeoutError", "NotebookTimeout"))
    for out in errors:
        ename, evalue = out.get("ename", ""), _first_line(out.get("evalue", ""))
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
        meta = _nbg(cell)
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
        score, _ = utils.determine_grade(quiet, _LOG)
        score = 0.0 if score is None else float(score)
        if not status:
            status, reason = ("passed", "") if score >= points[gid] else ("partial", f"partial credit {score}")
        if status != "passed" and last_answer is not None:
            answer_status, answer_reason = _error_text(last_answer)
            if answer_status:
                reason += f"; the answer cell {_nbg(last_answer)['grade_id']} raised {answer_reason}"
        err = _stderr(cell)
        if err:
            reason += ("; " if reason else "") + f"stderr (ignored for the score): {_first_line(err)}"
        results[gid] = (score, status, reason)
    return [(gid, *results.get(gid, (0.0, "missing", "test cell not found"))) for gid in points]


def grade_notebook(path: Path, lesson: Path, *, cell_timeout: int = 60, notebook_timeout: int = 600
                   ) -> tuple[list[tuple[str, float, str, str]], Any, list[str]]:
    """Grade one submitted file against one lesson: per-test results, the graded notebook (or None), notes."""
    import nbformat

    source = gradebook_version(_read(lesson))
    released = student_version(_read(lesson))
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
        reason = f"{kind} ({type(err).__name__}: {_first_line(str(err))})"
        return [(gid, 0.0, "unreadable", reason) for gid in points], None, [reason]
    try:
        nb = _sanitize(nb, source, released, notes)
    except Exception as err:
        reason = f"its graded cells could not be restored ({type(err).__name__}: {_first_line(str(err))})"
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
            raise FileNotFoundError(f"no submission at {path}")
    return found


def match_lesson(path: Path, lessons: list[Path]) -> Path | None:
    """The lesson a submitted file answers: by its NN_ number, else by the grade_ids inside it."""
    prefix = re.match(r"(\d\d)(?:_|\b|\.)", path.name)
    if prefix:
        hits = [p for p in lessons if p.name[:2] == prefix.group(1)]
        if hits:
            return hits[0]
    try:
        ids = {_nbg(c).get("grade_id") for c in json.loads(path.read_text(encoding="utf-8"))["cells"]}
    except Exception:
        return None
    overlap = [(len(ids & set(exercises(_read(p)))), p) for p in lessons]
    best = max(overlap, default=(0, None))
    return best[1] if best[0] else None


def _summary_cell(student: str, assignment: str, rows: list[Row], notes: list[str]) -> Any:
    from nbformat.v4 import new_markdown_cell

    total, best = sum(r.score for r in rows), sum(r.max_score for r in rows)
    lines = [f"# Feedback: {assignment}", "", f"**{student}** — **{total:g} / {best:g} points**", "",
             "| exercise | points | result |", "| --- | --- | --- |"]
    for r in rows:
        why = r.reason.replace("|", "\\|") or "all tests pass"
        lines.append(f"| `{r.exercise}` | {r.score:g} / {r.max_score:g} | {r.status}: {why} |")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return new_markdown_cell("\n".join(lines))


def feedback_notebook(nb: Any | None, student: str, assignment: str, rows: list[Row], notes: list[str],
                      *, show_hidden: bool = False) -> Any:
    """The graded notebook for the student: a summary on top, each test cell's result after it.

    Hidden tests stay hidden unless ``show_hidden``: their source is cleared again, and a failing
    test shows its error's message, not the traceback that would quote the hidden line.
    """
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook
    from nbgrader.preprocessors import ClearHiddenTests

    out = new_notebook(metadata={"kernelspec": {"name": KERNEL, "display_name": "Python 3", "language": "python"}})
    out.cells.append(_summary_cell(student, assignment, rows, notes))
    if nb is None:
        return out
    by_id = {r.exercise: r for r in rows}
    clear = ClearHiddenTests(log=_LOG, enforce_metadata=False)
    for cell in copy.deepcopy(nb).cells:
        meta = _nbg(cell)
        row = by_id.get(meta.get("grade_id")) if meta.get("grade") else None
        if row is not None and not show_hidden:
            cell, _ = clear.preprocess_cell(cell, {}, 0)
            for o in cell.outputs:
                if o.get("output_type") == "error":
                    o["traceback"] = [f"{o.get('ename', '')}: {_first_line(o.get('evalue', ''))}"]
        out.cells.append(cell)
        if row is not None:
            mark = "✔" if row.status == "passed" else "✘"
            text = f"**{mark} `{row.exercise}`: {row.score:g} / {row.max_score:g}** — {row.status}"
            out.cells.append(new_markdown_cell(text + (f": {row.reason}" if row.reason else "")))
    nbformat.validate(out)
    return out


def _write_feedback(nb: Any, folder: Path, stem: str) -> list[Path]:
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    written = [folder / f"{stem}.ipynb"]
    nbformat.write(nb, written[0])
    try:
        from nbconvert import HTMLExporter

        html, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
        (folder / f"{stem}.html").write_text(html, encoding="utf-8")
        written.append(folder / f"{stem}.html")
    except Exception as err:  # the .ipynb feedback is there; say why the HTML is not
        _LOG.error("no HTML feedback for %s: %s", stem, err)
    return written


def grade(paths: list[Path], out: Path, *, cell_timeout: int = 60, notebook_timeout: int = 600,
          show_hidden: bool = False, progress: bool = False) -> list[Row]:
    """Grade every submission under ``paths``; write ``out/grades.csv`` and ``out/feedback/<student>/``."""
    from labkit.notebooks import lessons, notebooks_dir

    out = check_output_dir(out, notebooks_dir())
    known = lessons()
    submissions = find_submissions(paths)
    if not submissions:
        raise FileNotFoundError(f"no submitted files under {', '.join(map(str, paths))}")
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
            new = [Row(student, lesson.stem, gid, score, exercises(_read(lesson))[gid], status, reason, str(path))
                   for gid, score, status, reason in results]
            if progress:
                total, best = sum(r.score for r in new), sum(r.max_score for r in new)
                print(f"  {total:g} / {best:g} points in {time.perf_counter() - start:.1f} s", flush=True)
        rows += new
        assignment = new[0].assignment if new[0].assignment != "?" else Path(path).stem
        feedback = feedback_notebook(nb, student, assignment, new, notes, show_hidden=show_hidden)
        _write_feedback(feedback, out / "feedback" / student, Path(path).stem)
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
