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


# --- Lesson 03: a line through the house prices, and the loss surface it sits on -------------------


def line_loss(x: torch.Tensor, y: torch.Tensor, b0: float, b1: float) -> float:
    """J/n = ½·mean((y − (b0 + b1·x))²): the lesson's loss, divided by n so it does not grow with the data."""
    residual = y.reshape(-1) - (b0 + b1 * x.reshape(-1))
    return float(0.5 * residual.square().mean())


def loss_surface(x: torch.Tensor, y: torch.Tensor, b0s: torch.Tensor, b1s: torch.Tensor) -> torch.Tensor:
    """``line_loss`` on a grid: entry [i, j] is the loss at b1 = b1s[i], b0 = b0s[j]."""
    x, y = x.reshape(1, 1, -1).double(), y.reshape(1, 1, -1).double()
    pred = b0s.double().reshape(1, -1, 1) + b1s.double().reshape(-1, 1, 1) * x
    return 0.5 * (y - pred).square().mean(dim=2)


def best_line(x: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """The least-squares (b0, b1) for y ≈ b0 + b1·x."""
    x, y = x.reshape(-1).double(), y.reshape(-1).double()
    X = torch.stack([torch.ones_like(x), x], dim=1)
    b0, b1 = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.reshape(-1).tolist()
    return b0, b1


def line_ranges(x: torch.Tensor, y: torch.Tensor) -> tuple[tuple[float, float], tuple[float, float]]:
    """Slider ranges for (b0, b1) centred on the best line, wide enough to see the loss valley."""
    b0, b1 = best_line(x, y)
    x = x.reshape(-1).double()
    y_spread = float(y.double().std()) * 4
    slope_spread = y_spread / max(float(x.max() - x.min()), 1e-12) * 2
    return (b0 - y_spread, b0 + y_spread), (b1 - slope_spread, b1 + slope_spread)


def line_text(x: torch.Tensor, y: torch.Tensor, b0: float, b1: float) -> str:
    """The current line, its loss, and how far that is above the best possible loss."""
    loss, best = line_loss(x, y, b0, b1), line_loss(x, y, *best_line(x, y))
    ratio = f", {loss / best:.2f}× that" if best > 0 else ""
    return f"y = {b0:.2f} + {b1:.3f}·x   loss J/n = {loss:,.1f}   (best possible {best:,.1f}{ratio})"


def line_figure(
    x: torch.Tensor, y: torch.Tensor, b0: float, b1: float, *, xlabel: str = "x", ylabel: str = "y", grid: int = 80
):
    """Left: the data and the line with its residuals. Right: the loss surface, the current point and the minimum."""
    from labkit.plot import figure

    xs, ys = x.reshape(-1).double(), y.reshape(-1).double()
    (b0_lo, b0_hi), (b1_lo, b1_hi) = line_ranges(xs, ys)
    fig, (left, right) = figure(2, width=11, height=4.2)
    pred = b0 + b1 * xs
    left.vlines(xs, ys, pred, color="tab:red", alpha=0.25, linewidth=0.8)
    left.scatter(xs, ys, s=8, alpha=0.6, label="data")
    line_x = torch.linspace(float(xs.min()), float(xs.max()), 2)
    left.plot(line_x, b0 + b1 * line_x, color="tab:orange", label="your line")
    left.set_xlabel(xlabel)
    left.set_ylabel(ylabel)
    left.set_title(f"loss J/n = {line_loss(xs, ys, b0, b1):,.1f}")
    left.legend(loc="upper left")
    b0s = torch.linspace(min(b0_lo, b0), max(b0_hi, b0), grid)
    b1s = torch.linspace(min(b1_lo, b1), max(b1_hi, b1), grid)
    surface = loss_surface(xs, ys, b0s, b1s)
    # Log-spaced levels: the valley is so narrow and deep that even levels show only its walls.
    top = float(surface.max())
    levels = torch.logspace(math.log10(max(float(surface.min()), top * 1e-6)), math.log10(top), 20)
    right.contour(b0s, b1s, surface, levels=levels.tolist(), cmap="viridis", linewidths=1)
    best0, best1 = best_line(xs, ys)
    right.plot([best0], [best1], marker="*", markersize=14, color="tab:green", linestyle="none", label="minimum")
    right.plot([b0], [b1], marker="o", markersize=9, color="tab:orange", linestyle="none", label="your (β₀, β₁)")
    right.set_xlabel("β₀ (intercept)")
    right.set_ylabel("β₁ (slope)")
    right.set_title("loss surface (log-spaced contours)")
    right.legend(loc="upper right")
    return fig


def line_explorer(
    x: torch.Tensor, y: torch.Tensor, b0: float = 0.0, b1: float = 0.0, *, xlabel: str = "x", ylabel: str = "y"
) -> Any:
    """Sliders for β₀ and β₁ over the scatter, the loss live, beside the loss surface; the box (None headless)."""
    if headless():
        return show_static(line_figure(x, y, b0, b1, xlabel=xlabel, ylabel=ylabel), line_text(x, y, b0, b1))
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    (b0_lo, b0_hi), (b1_lo, b1_hi) = line_ranges(x, y)
    common = {"continuous_update": False, "layout": w.Layout(width="45%")}
    s0 = w.FloatSlider(value=b0, min=min(b0_lo, b0), max=max(b0_hi, b0), step=(b0_hi - b0_lo) / 400,
                       description="β₀", readout_format=".1f", **common)
    s1 = w.FloatSlider(value=b1, min=min(b1_lo, b1), max=max(b1_hi, b1), step=(b1_hi - b1_lo) / 400,
                       description="β₁", readout_format=".3f", **common)
    text = w.HTML()
    out = w.Output()

    def redraw(*_: Any) -> None:
        text.value = f"<b>{line_text(x, y, s0.value, s1.value)}</b>"
        with out:
            out.clear_output(wait=True)
            fig = line_figure(x, y, s0.value, s1.value, xlabel=xlabel, ylabel=ylabel)
            display(fig)
            plt.close(fig)

    s0.observe(redraw, "value")
    s1.observe(redraw, "value")
    redraw()
    box = w.VBox([w.HBox([s0, s1]), text, out])
    display(box)
    return box
