"""Command line: ``python -m labkit doctor | execute | assign | grade ...``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def _doctor(args: argparse.Namespace) -> int:
    from labkit.device import doctor

    doctor(args.device)
    return 0


def _execute(args: argparse.Namespace) -> int:
    from labkit.notebooks import execute_in_place, lessons

    for path in lessons(args.notebooks):
        print(f"executing {path.name} ...", flush=True)
        seconds = execute_in_place(path, timeout=args.timeout)
        print(f"  done in {seconds:.1f} s", flush=True)
    return 0


def _assign(args: argparse.Namespace) -> int:
    from labkit.assign import exercises, release

    for path in release(args.out, args.notebooks):
        import nbformat

        points = exercises(nbformat.read(path, as_version=4))
        print(f"{path}  ({len(points)} tests, {sum(points.values()):g} points)")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from labkit.assign import CSV_NAME, grade, totals

    rows = grade(args.submissions, args.out, cell_timeout=args.cell_timeout, notebook_timeout=args.notebook_timeout,
                 show_hidden=args.show_hidden, progress=True)
    print()
    for student, assignment, score, best in totals(rows):
        print(f"{student:20s} {assignment:28s} {score:6g} / {best:g}")
    print(f"\ngrades: {args.out / CSV_NAME}\nfeedback: {args.out / 'feedback'}/<student>/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``labkit`` command and its sub-commands."""
    parser = argparse.ArgumentParser(prog="python -m labkit", description=__doc__)
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

    p = sub.add_parser("grade", help="grade submitted notebooks: a CSV of scores and feedback per student")
    p.add_argument("submissions", nargs="+", type=Path,
                   help="submitted files, a student's folder, or a folder of student folders")
    p.add_argument("--out", type=Path, default=Path("build/grades"), help="folder to write (default: build/grades)")
    p.add_argument("--cell-timeout", type=int, default=60, help="seconds allowed per cell (default: 60)")
    p.add_argument("--notebook-timeout", type=int, default=600, help="seconds allowed per notebook (default: 600)")
    p.add_argument("--show-hidden", action="store_true", help="show hidden tests in the feedback")
    p.set_defaults(func=_grade)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``python -m labkit`` and the ``labkit`` script."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FileNotFoundError, ValueError) as err:
        print(f"labkit: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
