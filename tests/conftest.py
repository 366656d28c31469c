"""Shared fixtures: the repo's paths, and a papermill runner that keeps kernels headless."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def lesson_paths() -> list[Path]:
    """Every lesson, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels started by tests inherit this: no progress bars or live widgets in outputs.
    monkeypatch.setenv("LABKIT_HEADLESS", "1")


def run_papermill(path: Path, out: Path, params: dict) -> object:
    """Execute ``path`` into ``out`` with ``params`` in a fresh python3 kernel; return the notebook."""
    import papermill as pm

    os.environ["LABKIT_HEADLESS"] = "1"
    return pm.execute_notebook(
        str(path), str(out), parameters=params, kernel_name="python3", cwd=str(path.parent),
        progress_bar=False, request_save_on_cell_execute=False,
    )
