"""The workbook's data: bundled files read with clear errors, seeded synthetic sets."""

from __future__ import annotations

import math
from pathlib import Path

import torch

from labkit.errors import DataFormatError, DataNotFoundError
from labkit.paths import data_dir

__all__ = ["DataFormatError", "data_dir", "data_path", "linear_data", "load_csv"]


def data_path(name: str) -> Path:
    """The path of a bundled file in ``data/``, or a clear error listing what is there."""
    folder = data_dir()
    path = folder / name
    if not path.is_file():
        present = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md")
        raise DataNotFoundError(
            f"data file {name!r} not found in {folder}; present: {', '.join(present) or 'nothing'}"
        )
    return path


def linear_data(
    n: int = 256, *, slope: float = 2.0, intercept: float = 1.0, noise: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded points on y = intercept + slope·x + noise, x uniform in [-3, 3]; shapes (n, 1) and (n, 1)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=gen) * 6 - 3
    y = intercept + slope * x + noise * torch.randn(n, 1, generator=gen)
    return x, y


def load_csv(name: str, *, dtype: torch.dtype = torch.float64) -> tuple[list[str], torch.Tensor]:
    """A numeric CSV in ``data/`` as (header, tensor of shape (rows, columns)); errors name the file and line."""
    import csv

    path = data_path(name)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or not all(column.strip() for column in header):
            raise DataFormatError(f"{path}:1: expected a header row of column names, got {header!r}")
        header = [column.strip() for column in header]
        values: list[list[float]] = []
        for row in reader:
            line = reader.line_num
            if not row:
                continue  # a blank line, e.g. at the end of the file
            if len(row) != len(header):
                raise DataFormatError(
                    f"{path}:{line}: expected {len(header)} values ({', '.join(header)}), got {len(row)}"
                )
            numbers = []
            for column, cell in zip(header, row, strict=True):
                try:
                    number = float(cell)
                except ValueError:
                    raise DataFormatError(f"{path}:{line}: column {column!r} holds {cell!r}, not a number") from None
                if not math.isfinite(number):
                    raise DataFormatError(f"{path}:{line}: column {column!r} holds {cell!r}, not a finite number")
                numbers.append(number)
            values.append(numbers)
    if not values:
        raise DataFormatError(f"{path}: has a header but no data rows")
    return header, torch.tensor(values, dtype=dtype)
