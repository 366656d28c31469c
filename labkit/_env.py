"""Where is this code running? Answers for the progress bar, the live plot, the explorers."""

from __future__ import annotations

import os
import sys

HEADLESS_VARS = ("LABKIT_HEADLESS", "PYTEST_CURRENT_TEST")


def _shell():
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None


def in_ipython() -> bool:
    """True inside any IPython shell (a Jupyter kernel or the terminal IPython)."""
    return _shell() is not None


def in_kernel() -> bool:
    """True inside a Jupyter (IPython) kernel, False in a plain terminal or script."""
    return _shell().__class__.__name__ == "ZMQInteractiveShell"


def batch_run() -> bool:
    """True under a runner: papermill via labkit, ``make notebooks``, nbval or the tests.

    Runners set ``LABKIT_HEADLESS=1`` for the kernels they start (papermill and nbval set
    nothing a kernel can see), and pytest's own variable is inherited by nbval's kernels.
    """
    return any(os.environ.get(name) for name in HEADLESS_VARS)


def headless() -> bool:
    """True when no notebook front end is watching live: a batch run, a terminal or a script."""
    return batch_run() or not in_kernel()
