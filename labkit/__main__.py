"""``python -m labkit``: hands the command line over to ``labkit.course.cli``, the installed ``labkit`` command.

An entry module, not part of the core: ``import labkit`` never runs it, so the package itself
still loads nothing of the course tools. It is the one file outside ``labkit.course`` that may
import them, and it imports nothing else of labkit.
"""

import sys

if __name__ == "__main__":
    from labkit.course.cli import main

    sys.exit(main(prog="python -m labkit"))
