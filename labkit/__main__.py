"""Command line: ``python -m labkit doctor | execute ...``."""

from __future__ import annotations

import argparse
import sys


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
