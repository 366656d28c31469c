"""Lesson 03, linear regression: the loss of a line, its surface over (β₀, β₁), and the line explorer."""

from __future__ import annotations

import math
from typing import Any

import torch

from labkit.explorer import Row, explorer


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
    return f"y = {b0:.2f} + {b1:.3f}·x;  loss J/n = {loss:,.1f}  (best possible {best:,.1f}{ratio})"


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
) -> None:
    """Sliders for β₀ and β₁ over the scatter, the loss live, beside the loss surface with the current point."""
    (b0_lo, b0_hi), (b1_lo, b1_hi) = line_ranges(x, y)

    def controls(w: Any) -> list[Row]:
        common = {"continuous_update": False, "layout": w.Layout(width="45%")}
        return [[
            ("b0", w.FloatSlider(value=b0, min=min(b0_lo, b0), max=max(b0_hi, b0), step=(b0_hi - b0_lo) / 400,
                                 description="β₀", readout_format=".1f", **common)),
            ("b1", w.FloatSlider(value=b1, min=min(b1_lo, b1), max=max(b1_hi, b1), step=(b1_hi - b1_lo) / 400,
                                 description="β₁", readout_format=".3f", **common)),
        ]]

    explorer(
        controls,
        lambda b0, b1: (line_text(x, y, b0, b1), line_figure(x, y, b0, b1, xlabel=xlabel, ylabel=ylabel)),
        b0=b0, b1=b1,
    )
