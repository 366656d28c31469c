"""``python -m labkit``: the course command line (``labkit.course.cli``)."""

import sys

from labkit.course.cli import main

if __name__ == "__main__":
    sys.exit(main())
