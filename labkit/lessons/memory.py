"""Lesson 00, the memory of tensors: bytes per element, bytes per matrix, and how many fit in a GPU."""

from __future__ import annotations

import math

import torch

from labkit.explorer import explorer

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "int8": torch.int8,
}


def tensor_nbytes(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    """Bytes a dense tensor of ``shape`` and ``dtype`` occupies: elements × bytes per element."""
    return math.prod(shape) * dtype.itemsize


def human_bytes(n: int) -> str:
    """1536 → '1.5 KiB': powers of 1024, as GPU memory is reported."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def memory_text(n: int, dtype_name: str, gpu_gib: float = 80.0) -> str:
    """What an n×n matrix costs in memory, and how many fit in a GPU of ``gpu_gib`` GiB."""
    nbytes = tensor_nbytes((n, n), DTYPES[dtype_name])
    fit = int(gpu_gib * 2**30 // nbytes)
    return f"a {n:,}×{n:,} {dtype_name} matrix needs {human_bytes(nbytes)}; {fit:,} of them fit in {gpu_gib:g} GiB"


def memory_figure(n: int, dtype_name: str):
    """Bar chart: memory of an n×n matrix in each dtype, the chosen one highlighted."""
    from labkit.plot import figure

    fig, ax = figure()
    names = list(DTYPES)
    sizes = [tensor_nbytes((n, n), DTYPES[name]) / 2**20 for name in names]
    colors = ["tab:orange" if name == dtype_name else "tab:blue" for name in names]
    bars = ax.bar(names, sizes, color=colors)
    ax.bar_label(bars, fmt="%.0f MiB" if min(sizes) >= 10 else "%.2f MiB")
    ax.set_ylabel("MiB")
    ax.set_title(f"memory of a {n:,}×{n:,} matrix by dtype")
    return fig


def memory_explorer(n: int = 4096, dtype_name: str = "float32") -> None:
    """Slider for n and a dtype menu; the text and bar chart follow."""
    explorer(
        lambda w: [[
            ("n", w.IntSlider(value=n, min=256, max=65536, step=256, description="n", continuous_update=False)),
            ("dtype_name", w.Dropdown(options=list(DTYPES), value=dtype_name, description="dtype")),
        ]],
        lambda n, dtype_name: (memory_text(n, dtype_name), memory_figure(n, dtype_name)),
        n=n, dtype_name=dtype_name,
    )

