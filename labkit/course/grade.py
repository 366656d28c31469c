"""Grade a class: every submission against its instructor notebook, sandboxed, in parallel or on a Dask cluster.

Grading runs ``nbgrader autograde``'s steps on each submission without nbgrader's database: the
instructor notebook itself plays the gradebook. Each submission is one job (``grade_job``): its
graded cells are restored (``restore``), it runs in a fresh kernel inside a sandbox with a
per-cell and a per-notebook time limit (``score``, ``sandbox``), and every graded item is scored.
Whatever a submission is or does, it is graded with a reason, never crashed on.

``grade`` sends the jobs to this machine's pool or a Dask cluster (``executor``), writes each
result as it finishes (``grades.csv`` in a fixed order, the feedback), and skips submissions
already graded with the same contents and options.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from labkit.course import lms as lms_formats
from labkit.course.catalog import assignments
from labkit.course.executor import THREAD_VARS, pool
from labkit.course.feedback import feedback_notebook
from labkit.course.jobs import import_tools
from labkit.course.release import gradebook_version, nbg, read_notebook, student_version
from labkit.course.report import Row, export_html, first_line
from labkit.course.restore import restore
from labkit.course.sandbox import Limits, Sandbox, SandboxError, tools_missing
from labkit.course.score import items, run_notebook, score, stopped
from labkit.errors import CourseError
from labkit.paths import safe_output_dir

CSV_NAME = "grades.csv"
ROSTER = "roster.csv"  # who is who: each submission's student, LMS id and file (labkit.course.lms)
MANIFEST = "graded.json"
JOB_SLACK = 120  # seconds a grading job may take beyond its notebook's budget (kernel start, restore, feedback)


@dataclass(frozen=True)
class Options:
    """How every submission is graded."""

    cell_timeout: int = 60
    notebook_timeout: int = 600
    show_hidden: bool = False
    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)

    def check(self) -> Options:
        """``self``, or CourseError naming the option that is not allowed."""
        for name in ("cell_timeout", "notebook_timeout"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise CourseError(f"--{name.replace('_', '-')} {value!r} is not allowed: give whole seconds >= 1")
        self.limits.check()
        return self


# ---- which assignment a file answers --------------------------------------------------------------


def match_lesson(path: Path, sources: Sequence[Path], data: bytes | None = None) -> Path | None:
    """The instructor notebook a submitted file answers: by name (``NN_`` or its stem), else by its grade_ids.

    ``data`` is the file's contents when it is not on disk (a member of an LMS zip); else ``path`` is read.
    """
    prefix = re.match(r"(\d\d)(?:_|\b|\.)", path.name)
    if prefix:
        hits = [p for p in sources if p.name[:2] == prefix.group(1)]
        if hits:
            return hits[0]
    by_stem = [p for p in sources if path.stem == p.stem or path.stem.startswith(p.stem + " ")]
    if by_stem:
        return by_stem[0]
    try:
        text = (path.read_bytes() if data is None else data).decode("utf-8")
        ids = {nbg(c).get("grade_id") for c in json.loads(text)["cells"]}
    except Exception:  # noqa: BLE001 - not a notebook: matched to nothing, graded as unreadable
        return None
    overlap = [(len(ids & set(items(read_notebook(p)))), p) for p in sources]
    best = max(overlap, default=(0, None))
    return best[1] if best[0] else None


# ---- one submission: the job ----------------------------------------------------------------------


def _parse(text: str) -> Any:
    import nbformat

    nb = nbformat.reads(text, as_version=4)
    if not isinstance(nb.get("cells"), list):
        raise ValueError("it has no list of cells")
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # plain NotebookNodes all the way down
    nbformat.validate(nb, relax_add_props=True)
    return nb


def grading_sandbox(folder: Path, options: Options) -> Sandbox | None:
    """The sandbox a submission runs in (its sockets under ``folder``); None with ``--no-sandbox``."""
    if not options.sandbox:
        return None
    env = {"LABKIT_HEADLESS": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
    env.update({var: os.environ[var] for var in THREAD_VARS if var in os.environ})
    try:
        from labkit.paths import DATA_ENV_VAR, data_dir

        env[DATA_ENV_VAR] = str(data_dir().resolve())
    except Exception:  # noqa: BLE001 - no data folder here: lessons that need none still run
        pass
    return Sandbox(folder / "sockets", limits=options.limits, env=env)


def grade_job(payload: dict[str, Any], out: Path) -> dict[str, Any]:
    """Inside a job's process: grade one submission; its rows, and its feedback written into ``out``."""
    begin = time.perf_counter()
    import_tools("grade")  # in a child of the fork server they are imported already: then this costs nothing
    parts: dict[str, float] = {"import the grading tools": time.perf_counter() - begin}
    options = Options(limits=Limits(**payload["options"].pop("limits")), **payload["options"])
    student, name, stem = payload["student"], payload["file"], Path(payload["file"]).stem
    source_nb = _parse(payload["lesson_text"])
    source, released = gradebook_version(source_nb), student_version(source_nb)
    graded = items(source)
    notes: list[str] = []
    nb = None
    try:
        nb = _parse(base64.b64decode(payload["data"]).decode("utf-8"))
    except Exception as err:  # noqa: BLE001 - whatever the file is, it is graded with a reason
        kind = "not valid notebook JSON" if isinstance(err, (json.JSONDecodeError, UnicodeDecodeError)) or \
            "JSON" in str(err) else "not a Jupyter notebook"
        reason = f"{kind} ({type(err).__name__}: {first_line(str(err))})"
        results = [(gid, 0.0, "unreadable", reason) for gid in graded]
        notes.append(reason)
    else:
        try:
            nb = restore(nb, source, released, notes)
        except Exception as err:  # noqa: BLE001
            reason = f"its graded cells could not be restored ({type(err).__name__}: {first_line(str(err))})"
            results, nb = [(gid, 0.0, "unreadable", reason) for gid in graded], None
            notes.append(reason)
        else:
            parts["restore the tests"] = time.perf_counter() - begin - parts["import the grading tools"]
            with tempfile.TemporaryDirectory(prefix="lk-") as tmp:  # short: unix socket paths are limited
                sandbox = grading_sandbox(Path(tmp), options)
                nb, ran, problem, left = run_notebook(nb, cell_timeout=options.cell_timeout,
                                                      notebook_timeout=options.notebook_timeout, sandbox=sandbox,
                                                      workdir=Path(tmp), timings=parts)
            if problem:
                notes.append(problem)
            results = score(nb, ran, graded, problem)
            for what in stopped(nb, limits=options.limits if options.sandbox else None, left_running=left,
                                problem=problem):
                notes.append(f"stopped by the sandbox: {what}")
    notes += payload.get("notes", [])  # what collecting said of this file (an older upload set aside, late)
    assignment = payload["assignment"]
    rows = [Row(student, assignment, gid, got, graded[gid][1], status, reason, payload["path"])
            for gid, got, status, reason in results]
    caught = [n.removeprefix("stopped by the sandbox: ") for n in notes if n.startswith("stopped by the sandbox")]
    if caught:
        rows.append(Row(student, assignment, "sandbox", 0.0, 0.0, "stopped", "; ".join(caught), payload["path"]))
    written = time.perf_counter()
    feedback = feedback_notebook(nb, student, assignment, rows, notes, show_hidden=options.show_hidden)
    import nbformat

    nbformat.write(feedback, out / f"{stem}.ipynb")
    export_html(feedback, out / f"{stem}.html")
    parts["write the feedback"] = time.perf_counter() - written
    parts["the job in all"] = time.perf_counter() - begin
    return {"rows": [asdict(r) for r in rows], "file": name, "parts": {k: round(v, 3) for k, v in parts.items()}}


# ---- a class --------------------------------------------------------------------------------------


def write_csv(rows: Sequence[Row], path: Path) -> Path:
    """The per-student, per-item table, replacing ``path`` whole (see ``_replace``)."""
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=[fl.name for fl in fields(Row)])
    writer.writeheader()
    for row in rows:
        writer.writerow(asdict(row))
    return _replace(path, text.getvalue())


def _replace(path: Path, text: str) -> Path:
    """Write ``text`` beside ``path``, then rename it over ``path``: a reader, or a grader killed
    mid-write, sees the old file or the new one, never a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def totals(rows: Sequence[Row]) -> list[tuple[str, str, float, float]]:
    """(student, assignment, score, max_score) per submission, in the table's order."""
    sums: dict[tuple[str, str, str], list[float]] = {}
    for r in rows:
        entry = sums.setdefault((r.student, r.assignment, r.file), [0.0, 0.0])
        entry[0] += r.score
        entry[1] += r.max_score
    return [(s, a, got, best) for (s, a, _), (got, best) in sums.items()]


def sandbox_works() -> str | None:
    """Why a sandboxed kernel cannot start on this machine (None when it can): tried, not guessed."""
    missing = tools_missing()
    if missing:
        return missing
    with tempfile.TemporaryDirectory(prefix="lk-") as tmp:
        box = Sandbox(Path(tmp) / "sockets")
        box.prepare()
        try:
            done = subprocess.run(box.command([sys.executable, "-c", "import ipykernel, labkit"]),
                                  capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as err:
            return f"{type(err).__name__}: {err}"
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return lines[-1] if lines else f"exit code {done.returncode}"
    return None


def _check_sandbox(jobs: Any) -> None:
    if hasattr(jobs, "run_everywhere"):
        problems = {worker: why for worker, why in jobs.run_everywhere(sandbox_works).items() if why}
        if problems:
            worker, why = next(iter(problems.items()))
            raise SandboxError(f"the sandbox cannot start on worker {worker}: {why}")
        return
    why = sandbox_works()
    if why:
        missing = tools_missing() is not None
        hint = "; or pass --no-sandbox to grade without isolation (only for code you trust)"
        raise SandboxError((f"cannot grade in a sandbox: {why}" if missing else f"the sandbox cannot start: {why}")
                           + hint)


def _digest(data: bytes, lesson_text: str, options: Options) -> str:
    import labkit

    blob = json.dumps([base64.b64encode(data).decode(), lesson_text, asdict(options), labkit.__version__])
    return hashlib.sha256(blob.encode()).hexdigest()


def grade(paths: Sequence[Path], out: Path, *, sources: Sequence[str | Path] | None = None,
          options: Options | None = None, jobs: int | None = None, scheduler: str | None = None,
          regrade: bool = False, progress: bool = False, lms: str | None = None,
          on_note: Callable[[str], None] | None = None) -> list[Row]:
    """Grade every submission under ``paths``; write ``out/grades.csv``, ``out/roster.csv`` and ``out/feedback/``.

    ``paths`` are notebooks, student folders, folders of them, or Canvas or Moodle downloads (zips
    or their folders; ``lms`` says which, else it is told from the names): see ``labkit.course.lms``.
    ``sources`` are the instructor notebooks (default: every lesson). Submissions run ``jobs`` at
    once here (default one per core) or on the Dask cluster at ``scheduler``. Rows are written as
    they finish, in a fixed order; a submission already graded with the same contents and options
    is taken from ``out/graded.json`` unless ``regrade``. What collecting noticed (an older upload
    set aside, late work) goes to ``on_note`` and into that student's feedback.
    """
    options = (options or Options()).check()
    out = safe_output_dir(out)
    known = assignments(sources)
    submissions, notes = lms_formats.collect(paths, lms)
    for note in notes if on_note else []:
        on_note(note)
    runner = pool(jobs, scheduler)
    try:
        if options.sandbox:
            _check_sandbox(runner)
        out.mkdir(parents=True, exist_ok=True)
        lms_formats.write_roster(submissions, out / ROSTER)
        return _grade_all(submissions, known, out, options, runner, regrade=regrade, progress=progress)
    finally:
        if hasattr(runner, "close"):
            runner.close()


def _grade_all(submissions: list[lms_formats.Submission], known: list[Path], out: Path, options: Options,
               runner: Any, *, regrade: bool, progress: bool) -> list[Row]:
    manifest_path = out / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text()) if not regrade else {}
    except (OSError, ValueError):
        manifest = {}
    rows_of: list[list[Row] | None] = [None] * len(submissions)
    todo: list[tuple[int, str, dict[str, Any]]] = []
    texts = {p: p.read_text(encoding="utf-8") for p in known}
    for i, sub in enumerate(submissions):
        student, name, stem = sub.student, sub.file, Path(sub.file).stem
        data = sub.data()
        lesson = match_lesson(Path(name), known, data)
        key = f"{student}/{name}"
        said = sub.remarks()
        if lesson is None:
            reason = f"{name} is not a notebook of any assignment ({', '.join(p.stem for p in known)})"
            rows_of[i] = [Row(student, "?", "?", 0.0, 0.0, "unreadable", reason, sub.origin)]
            feedback = feedback_notebook(None, student, stem, rows_of[i], [reason, *said])
            _write_feedback(out, student, stem, {f"{stem}.ipynb": _nb_text(feedback)})
            continue
        digest = _digest(data, texts[lesson], options)
        saved = manifest.get(key)
        if saved and saved.get("digest") == digest and (out / "feedback" / student / f"{stem}.ipynb").is_file():
            rows_of[i] = [Row(**r) for r in saved["rows"]]
            continue
        payload = {"student": student, "file": name, "path": sub.origin, "assignment": lesson.stem,
                   "lesson_text": texts[lesson], "data": base64.b64encode(data).decode(),
                   "options": {**asdict(options), "limits": asdict(options.limits)}}
        if said:
            payload["notes"] = said
        todo.append((i, digest, payload))

    def save() -> None:
        rows = [r for block in rows_of if block for r in block]
        write_csv(rows, out / CSV_NAME)
        _replace(manifest_path, json.dumps(manifest, indent=1) + "\n")

    def done(j: int, result: dict[str, Any]) -> None:
        i, digest, payload = todo[j]
        student, stem = submissions[i].student, Path(submissions[i].file).stem
        if "rows" in result:
            rows_of[i] = [Row(**r) for r in result["rows"]]
            # what this submission cost, by part (its job's process as a whole is "seconds"): bench-grade reads it
            seconds = {**result.get("parts", {}), "seconds": result.get("seconds")}
            manifest[f"{student}/{submissions[i].file}"] = {"digest": digest, "rows": result["rows"],
                                                            "seconds": seconds}
        else:
            rows_of[i] = _failed_rows(payload, result)
            result["files"] = result.get("files") or {
                f"{stem}.ipynb": _nb_text(feedback_notebook(None, student, payload["assignment"], rows_of[i],
                                                            [rows_of[i][0].reason]))}
        _write_feedback(out, student, stem, result.get("files", {}))
        save()

    out.mkdir(parents=True, exist_ok=True)
    save()
    timeout = options.notebook_timeout + JOB_SLACK
    try:
        runner.map("grade", [payload for _, _, payload in todo], timeout=timeout, on_done=done, desc="grading",
                   progress=progress)
    finally:
        save()
    return [r for block in rows_of if block for r in block]


def _failed_rows(payload: dict[str, Any], result: dict[str, Any]) -> list[Row]:
    """Rows for a submission whose job did not finish: every item zero, with why."""
    graded = items(gradebook_version(_parse(payload["lesson_text"])))
    failure = result.get("failure", "crashed")
    status = {"timeout": "timeout", "worker lost": "worker lost", "cancelled": "not run"}.get(failure, "error")
    reason = {"worker lost": f"its Dask worker died twice ({result.get('error', '')}); not graded",
              "timeout": f"grading {result.get('error', 'ran out of time')}"}.get(
        failure, f"grading {failure}: {result.get('error', '')}")
    return [Row(payload["student"], payload["assignment"], gid, 0.0, points, status, reason, payload["path"])
            for gid, (_, points) in graded.items()]


def _nb_text(nb: Any) -> str:
    import nbformat

    return nbformat.writes(nb)


def _write_feedback(out: Path, student: str, stem: str, files: dict[str, str]) -> None:
    folder = out / "feedback" / student
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        if Path(name).name == name and Path(name).stem == stem:  # only the feedback files of this submission
            (folder / name).write_text(text, encoding="utf-8")
