"""Find the lessons and re-execute them in place, so stored outputs are what the code prints now."""

from __future__ import annotations

import os
import time
from pathlib import Path


def notebooks_dir() -> Path:
    """The workbook's ``notebooks/`` folder (beside ``data/``)."""
    from labkit.data import data_dir

    return data_dir().parent / "notebooks"


def lessons(names: list[str] | None = None) -> list[Path]:
    """Lesson paths in teaching order; ``names`` picks some by file name, stem or number prefix."""
    found = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        matches = [p for p in found if name in (p.name, p.stem, p.stem[:2]) or Path(name).resolve() == p.resolve()]
        if not matches:
            raise FileNotFoundError(f"unknown notebook {name!r}; lessons: {', '.join(p.stem for p in found)}")
        chosen += [p for p in matches if p not in chosen]
    return chosen


def execute_in_place(path: Path, *, timeout: int = 600) -> float:
    """Run ``path`` top to bottom in a fresh python3 kernel and save it with its new outputs."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["LABKIT_HEADLESS"] = "1"  # inherited by the kernel: no live widgets or bars in stored outputs
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,
        store_widget_state=False,
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start
