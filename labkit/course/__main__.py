"""``python -m labkit.course``: the course command line (``labkit.course.cli``), also installed as ``labkit``."""

import sys

from labkit.course.cli import main

if __name__ == "__main__":
    sys.exit(main(prog="python -m labkit.course"))
