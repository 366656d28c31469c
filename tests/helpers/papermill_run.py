"""Run a lesson with papermill in this process, its kernel in the environment every child kernel gets."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any


@contextmanager
def kernel_environment():
    """``os.environ`` as ``labkit.course.runs.kernel_env`` makes it, for the kernels started inside."""
    from labkit.course.executor import kernel_env

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(kernel_env(base=saved))
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def run_papermill(path: Path, out: Path, params: dict[str, Any]) -> Any:
    """Execute ``path`` into ``out`` with ``params`` in a fresh python3 kernel; return the notebook."""
    import papermill as pm

    with kernel_environment():
        return pm.execute_notebook(
            str(path), str(out), parameters=params, kernel_name="python3", cwd=str(path.parent),
            progress_bar=False, request_save_on_cell_execute=False,
        )
