"""The repository's folders, and the lessons in teaching order."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"


def lesson_paths() -> list[Path]:
    """Every lesson, in order."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
