"""The ``labkit`` command line: parses arguments, calls the course stages, prints; it decides nothing itself.

``labkit doctor | execute | assign | check | grade | export | run | sweep | params``, also ``python -m labkit ...``
(and ``python -m labkit.course ...``); the usage line names the way it was started. A user error
(``LabkitError``) is printed as one line and exits with status 2; anything else is a bug and keeps
its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from labkit.errors import LabkitError


def _doctor(args: argparse.Namespace) -> int:
    from labkit.machine import doctor

    doctor(args.device)
    return 0


def _execute(args: argparse.Namespace) -> int:
    from labkit.course.catalog import lessons
    from labkit.course.runs import execute_in_place

    for path in lessons(args.notebooks):
        print(f"executing {path.name} ...", flush=True)
        seconds = execute_in_place(path, timeout=args.timeout)
        print(f"  done in {seconds:.1f} s", flush=True)
    return 0


def _assign(args: argparse.Namespace) -> int:
    from labkit.course.release import exercises, read_notebook, release

    for path in release(args.out, args.notebooks):
        points = exercises(read_notebook(path))
        print(f"{path}  ({len(points)} tests, {sum(points.values()):g} points)")
    return 0


def _check(args: argparse.Namespace) -> int:
    from labkit.course.check import check, render

    report = check(args.notebook, sandbox=not args.no_sandbox, cell_timeout=args.cell_timeout,
                   notebook_timeout=args.notebook_timeout)
    print(render(report))
    return 0 if report.ready else 1


NO_SANDBOX_WARNING = (
    "labkit: warning: --no-sandbox: student code runs with your rights: it can read your files (the solutions "
    "too), write anywhere you can, use the network and leave processes running. Use it only for code you trust."
)


def _grade(args: argparse.Namespace) -> int:
    from labkit.course.grade import CSV_NAME, ROSTER, Options, grade, totals
    from labkit.course.lms import read_roster
    from labkit.course.sandbox import Limits

    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    limits = Limits(memory_mb=args.memory, processes=args.max_procs, file_mb=args.file_size, scratch_mb=args.scratch)
    options = Options(cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                      show_hidden=args.show_hidden, sandbox=not args.no_sandbox, limits=limits)
    _interrupt_on_sigterm()
    try:
        rows = grade(args.submissions, args.out, sources=args.assignment, options=options, jobs=args.jobs,
                     scheduler=args.scheduler, regrade=args.regrade, progress=not args.quiet, lms=args.lms,
                     on_note=lambda note: print(note, flush=True))
    except KeyboardInterrupt:
        print(f"interrupted: the submissions graded so far are in {args.out / CSV_NAME}; run the same command "
              "again to grade the rest", file=sys.stderr)
        return 130
    print()
    for student, assignment, got, best in totals(rows):
        print(f"{student:20s} {assignment:28s} {got:6g} / {best:g}")
    print(f"\ngrades: {args.out / CSV_NAME}\nfeedback: {args.out / 'feedback'}/<student>/")
    for lms in sorted({r["lms"] for r in read_roster(args.out / ROSTER)} - {""}):
        print(f"to import into {lms.title()}: labkit export {args.out} --lms {lms}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from labkit.course.grade import CSV_NAME, ROSTER
    from labkit.course.lms import export

    out = args.out or args.grades / f"export-{args.lms}"
    written = export(args.grades / CSV_NAME, args.grades / ROSTER, args.grades / "feedback", out, args.lms,
                     column=args.column)
    for path in written:
        print(path)
    return 0


def _interrupt_on_sigterm() -> None:
    # A course server or CI stops a job with SIGTERM: treat it like Ctrl-C so finished runs are kept.
    import signal

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, stop)


def _pairs(args: argparse.Namespace) -> list[tuple[str, str]]:
    return [(name, value) for name, value in (args.param or [])]


def _run(args: argparse.Namespace) -> int:
    from labkit.course.catalog import lessons, parse_grid
    from labkit.course.report import summary_table
    from labkit.course.runs import run_workbook
    from labkit.errors import CourseError

    parameters = {}
    for name, text in _pairs(args):
        # A value for every chosen lesson that declares the name; parsed by the first one's type.
        owners = []
        for path in lessons(args.notebooks or None):
            try:
                owners.append(parse_grid(path, [(name, text)]))
            except CourseError as err:
                if not str(err).startswith("unknown parameter"):
                    raise
        if not owners:
            raise CourseError(f"unknown parameter {name!r}: none of the chosen lessons declares it")
        values = owners[0][name]
        if len(values) != 1:
            raise CourseError(f"{name}: give one value for a workbook run (a list of values is a sweep)")
        parameters[name] = values[0]
    _interrupt_on_sigterm()
    try:
        records = run_workbook(
            args.notebooks, args.out, timeout=args.timeout, parameters=parameters, workers=args.jobs,
            html=not args.no_html, progress=not args.quiet, scheduler=args.scheduler,
        )
    except KeyboardInterrupt:
        print(f"interrupted: the lessons already run are kept in {args.out} (summary.md)", file=sys.stderr)
        return 130
    print(summary_table(records))
    print(f"notebooks, HTML, results and summary.md in {args.out}")
    return 0 if all(r.status == "ok" for r in records) else 1


def _sweep(args: argparse.Namespace) -> int:
    from labkit.course.catalog import parse_grid
    from labkit.course.sweep import sweep

    grid = parse_grid(args.notebook, _pairs(args))
    fixed = {}
    for name, values in parse_grid(args.notebook, [tuple(f) for f in (args.fixed or [])]).items():
        fixed[name] = values[0] if len(values) == 1 else values
    _interrupt_on_sigterm()
    try:
        records = sweep(
            args.notebook, grid, args.out, workers=args.jobs, timeout=args.timeout, fixed=fixed, force=args.force,
            html=args.html, progress=not args.quiet, x=args.x, metric=args.metric, scheduler=args.scheduler,
        )
    except KeyboardInterrupt:
        print("interrupted: finished runs are kept; run the same command again to do the rest", file=sys.stderr)
        return 130
    out = records[0].output.rsplit("/runs/", 1)[0] if records else args.out
    print((Path(out) / "results.md").read_text())
    reused = sum(r.reused for r in records)
    failed = [r for r in records if r.status != "ok"]
    print(f"{len(records)} runs ({reused} reused from before), {len(failed)} failed; "
          f"table: {out}/results.csv, {out}/results.md; figure: {out}/results.png")
    return 0 if not failed else 1


def _params(args: argparse.Namespace) -> int:
    from labkit.course.catalog import params_table

    print(params_table(args.notebook))
    return 0


def _gpu_check(args: argparse.Namespace) -> int:
    from labkit.course.gpu_check import gpu_check
    from labkit.course.report import summary_table

    records, written = gpu_check(args.out, notebooks=args.notebooks or None, timeout=args.timeout,
                                 progress=not args.quiet)
    print(summary_table(records))
    if written:
        print(f"measured on this GPU: {len(written)} result(s) in {args.out}. To share them, copy them beside the "
              f"specification sheets and commit them:\n  cp {args.out}/measured_*.json data/reference/")
    return 0 if all(r.status == "ok" for r in records) else 1


def _scheduler_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="send the work to this Dask scheduler (e.g. tcp://10.0.0.5:8786) instead of this machine")


def build_parser(prog: str = "labkit") -> argparse.ArgumentParser:
    """The ``labkit`` command and its sub-commands; ``prog`` is how the usage line names the command."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("doctor", help="print an environment report to paste into a question")
    p.add_argument("--device", default="auto", help="device to report on (default: auto)")
    p.set_defaults(func=_doctor)

    p = sub.add_parser("execute", help="re-execute lessons in place from a clean kernel (stored outputs)")
    p.add_argument("notebooks", nargs="*", help="lesson names or numbers (default: all)")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    p.set_defaults(func=_execute)

    p = sub.add_parser("assign", help="write student versions of the lessons (nbgrader format) to a build folder")
    p.add_argument("notebooks", nargs="*", help="lesson names or numbers (default: all)")
    p.add_argument("--out", type=Path, default=Path("build/release"), help="folder to write (default: build/release)")
    p.set_defaults(func=_assign)

    p = sub.add_parser("check", help="for students: run a notebook's visible tests as grading does, before handing "
                                     "it in, and list the locked cells changed")
    p.add_argument("notebook", type=Path, help="the notebook you will hand in (.ipynb)")
    p.add_argument("--cell-timeout", type=int, default=60, help="seconds allowed per cell (default: 60, as grading)")
    p.add_argument("--notebook-timeout", type=int, default=600,
                   help="seconds allowed for the notebook (default: 600, as grading)")
    p.add_argument("--no-sandbox", action="store_true", help="run without the sandbox (grading always uses it)")
    p.set_defaults(func=_check)

    p = sub.add_parser("grade", help="grade submitted notebooks, sandboxed and in parallel: a CSV and feedback")
    p.add_argument("submissions", nargs="+", type=Path,
                   help="submitted files, a student's folder, a folder of student folders, or a Canvas or Moodle "
                        "submissions download (its zip or unpacked folder)")
    p.add_argument("--out", type=Path, default=Path("build/grades"), help="folder to write (default: build/grades)")
    p.add_argument("--assignment", action="append", metavar="NB",
                   help="an instructor notebook to grade against: a lesson name or number, or a .ipynb in "
                        "nbgrader's format (repeat for several; default: every lesson)")
    p.add_argument("--jobs", type=int, default=None,
                   help=f"submissions graded at once (default: one per core, {os.cpu_count()} here)")
    _scheduler_option(p)
    p.add_argument("--regrade", action="store_true", help="grade again the submissions already graded unchanged")
    p.add_argument("--cell-timeout", type=int, default=60, help="seconds allowed per cell (default: 60)")
    p.add_argument("--notebook-timeout", type=int, default=600, help="seconds allowed per notebook (default: 600)")
    p.add_argument("--show-hidden", action="store_true", help="show hidden tests in the feedback")
    p.add_argument("--no-sandbox", action="store_true",
                   help="run student code without bubblewrap's isolation (a warning each time; trusted code only)")
    p.add_argument("--memory", type=int, default=4096, metavar="MB",
                   help="address space each kernel process may use, in MiB (default: 4096)")
    p.add_argument("--max-procs", type=int, default=256, metavar="N",
                   help="processes and threads a submission may run at once (default: 256)")
    p.add_argument("--file-size", type=int, default=64, metavar="MB",
                   help="largest file a submission may write, in MiB (default: 64)")
    p.add_argument("--scratch", type=int, default=256, metavar="MB",
                   help="size of a submission's scratch folder and of its /tmp, in MiB (default: 256)")
    p.add_argument("--lms", default=None, metavar="canvas|moodle",
                   help="the submissions are this LMS's download (default: told from the file names)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_grade)

    p = sub.add_parser("export", help="write graded results in an LMS's import formats: grades and feedback files")
    p.add_argument("grades", type=Path, nargs="?", default=Path("build/grades"),
                   help="the folder labkit grade wrote (default: build/grades)")
    p.add_argument("--lms", required=True, metavar="canvas|moodle", help="the LMS to import into")
    p.add_argument("--out", type=Path, default=None, help="folder to write (default: GRADES/export-<lms>)")
    p.add_argument("--column", default=None,
                   help='Canvas: the gradebook column to fill, as Canvas names it, e.g. "Lab 02 (48213)" '
                        "(default: a new assignment named after the lessons)")
    p.set_defaults(func=_export)

    p = sub.add_parser("run", help="run lessons headless with papermill into a build folder (never over the sources)")
    p.add_argument("notebooks", nargs="*", help="lesson names or numbers (default: all)")
    p.add_argument("--out", default="build/workbook", help="output folder (default: build/workbook)")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a parameter for every chosen lesson that declares it")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per notebook (default: 600)")
    p.add_argument("--jobs", type=int, default=1, help="lessons run at once (default: 1, so timings stay honest)")
    _scheduler_option(p)
    p.add_argument("--no-html", action="store_true", help="skip the HTML export")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_run)

    p = sub.add_parser("gpu-check", help="run every lesson on this machine's GPU and keep the measured results")
    p.add_argument("notebooks", nargs="*", help="lesson names or numbers (default: all)")
    p.add_argument("--out", default="build/gpu-check", help="output folder (default: build/gpu-check)")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per notebook (default: 600)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_gpu_check)

    p = sub.add_parser("sweep", help="run one lesson over a grid of parameters in parallel and collect the results")
    p.add_argument("notebook", help="lesson name or number")
    p.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUES"),
                   help="a swept parameter and its comma-separated values, e.g. -p lr 0.01,0.1,1.0")
    p.add_argument("-f", "--fixed", nargs=2, action="append", metavar=("NAME", "VALUE"),
                   help="a parameter held at one value in every run")
    p.add_argument("--out", default=None, help="output folder (default: build/sweep/<lesson>)")
    p.add_argument("--jobs", type=int, default=None, help="runs at once (default: one per core)")
    _scheduler_option(p)
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per run (default: 600)")
    p.add_argument("--force", action="store_true", help="run again even the runs already done")
    p.add_argument("--html", action="store_true", help="also export each run's notebook to HTML")
    p.add_argument("--x", default=None, help="parameter on the figure's x axis (default: the first swept number)")
    p.add_argument("--metric", default=None, help="metric on the figure's y axis (default: the first that varies)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_sweep)

    p = sub.add_parser("params", help="list a lesson's parameters: type, default and help (papermill's inspection)")
    p.add_argument("notebook", help="lesson name or number")
    p.set_defaults(func=_params)
    return parser


def main(argv: list[str] | None = None, prog: str = "labkit") -> int:
    """Entry point of the ``labkit`` script, ``python -m labkit`` and ``python -m labkit.course`` (each its prog)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    for i, token in enumerate(argv[:-2]):
        # argparse reads a value such as "-1,16" as an option; a leading space keeps it a value.
        if token in ("-p", "--param", "-f", "--fixed") and argv[i + 2].startswith("-"):
            argv[i + 2] = " " + argv[i + 2]
    args = build_parser(prog).parse_args(argv)
    try:
        return args.func(args)
    except LabkitError as err:
        print(f"labkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(prog="python -m labkit.course.cli"))
