"""Interactive explorers for the lessons, each built on pure functions that the tests check.

Each explorer shows live widgets in JupyterLab. Headless (papermill, nbval, the stored
outputs) it shows the same figure as a static image instead, so a lesson reads well where
widgets cannot render, and stored outputs hold no widget state.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from labkit._env import headless

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


def show_static(fig: Any, text: str) -> None:
    """Headless stand-in for an explorer: its text and its figure at the starting values."""
    import matplotlib.pyplot as plt
    from IPython.display import display

    print(text)
    display(fig)
    plt.close(fig)


def memory_explorer(n: int = 4096, dtype_name: str = "float32") -> Any:
    """Slider for n and a dtype menu; the text and bar chart follow. Returns the widget box (None headless)."""
    if headless():
        return show_static(memory_figure(n, dtype_name), memory_text(n, dtype_name))
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    size = w.IntSlider(value=n, min=256, max=65536, step=256, description="n", continuous_update=False)
    dtype = w.Dropdown(options=list(DTYPES), value=dtype_name, description="dtype")
    text = w.HTML()
    out = w.Output()

    def redraw(*_: Any) -> None:
        text.value = f"<b>{memory_text(size.value, dtype.value)}</b>"
        with out:
            out.clear_output(wait=True)
            fig = memory_figure(size.value, dtype.value)
            display(fig)
            plt.close(fig)

    size.observe(redraw, "value")
    dtype.observe(redraw, "value")
    redraw()
    box = w.VBox([w.HBox([size, dtype]), text, out])
    display(box)
    return box
