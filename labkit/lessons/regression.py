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


# ---- too flexible: polynomial features, the validation curve, ridge -----------------------------


def polynomial_design(z: torch.Tensor, degree: int, scale: tuple[torch.Tensor, torch.Tensor] | None = None
                      ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
    """[1, z, z², …, z^degree] with each power standardised; returns (design, (means, spreads)).

    Pass the training set's ``scale`` for validation or test rows, so every set is scaled alike.
    Standardised columns keep XᵀX well conditioned and make one ridge penalty fair to every power.
    """
    if not isinstance(degree, int) or isinstance(degree, bool) or degree < 1:
        raise ValueError(f"degree = {degree!r} is not allowed: must be a whole number >= 1")
    z = z.reshape(-1).double()
    powers = torch.stack([z**k for k in range(1, degree + 1)], dim=1)
    if scale is None:
        scale = (powers.mean(0), powers.std(0))
    mean, spread = scale
    if len(mean) != degree:
        raise ValueError(f"scale is for degree {len(mean)}, not {degree}")
    return torch.cat([torch.ones(len(z), 1, dtype=torch.float64), (powers - mean) / spread], dim=1), scale


def ridge(X: torch.Tensor, y: torch.Tensor, lam: float) -> torch.Tensor:
    """β minimising ½‖y − Xβ‖² + ½λ‖β[1:]‖²: (XᵀX + λD)⁻¹Xᵀy with D = diag(0, 1, …, 1).

    The first column is the intercept and is not penalised (shrinking it would pull every
    prediction towards 0, not towards the mean). ``lam = 0`` is ordinary least squares.
    """
    if lam < 0:
        raise ValueError(f"lam = {lam!r} is not allowed: must be >= 0")
    X, y = X.double(), y.reshape(-1).double()
    if lam == 0:
        return torch.linalg.lstsq(X, y.unsqueeze(1)).solution.reshape(-1)
    D = torch.eye(X.shape[1], dtype=X.dtype)
    D[0, 0] = 0
    return torch.linalg.solve(X.T @ X + lam * D, X.T @ y)


def mse_of(X: torch.Tensor, y: torch.Tensor, beta: torch.Tensor) -> float:
    """Mean squared error of the predictions X·β."""
    return float((y.reshape(-1).double() - X.double() @ beta).square().mean())


def validation_curve(z_train: torch.Tensor, y_train: torch.Tensor, z_val: torch.Tensor, y_val: torch.Tensor, *,
                     degrees: list[int], lams: list[float] | None = None) -> dict[str, list[float]]:
    """Training and validation MSE of polynomial fits, against the degree (``lams`` None) or against λ.

    With ``lams`` the degree is ``degrees[0]`` and each λ is one ridge fit.
    """
    out: dict[str, list[float]] = {"train": [], "val": []}
    settings = [(d, 0.0) for d in degrees] if lams is None else [(degrees[0], lam) for lam in lams]
    for degree, lam in settings:
        Xt, scale = polynomial_design(z_train, degree)
        Xv, _ = polynomial_design(z_val, degree, scale)
        beta = ridge(Xt, y_train, lam)
        out["train"].append(mse_of(Xt, y_train, beta))
        out["val"].append(mse_of(Xv, y_val, beta))
    return out


def validation_figure(degrees: list[int], by_degree: dict[str, list[float]], lams: list[float],
                      by_lam: dict[str, list[float]], ridge_degree: int, n_train: int):
    """Left: train and validation MSE against the polynomial degree; right: against ridge's λ at one degree."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=12, height=4.2)
    right.sharey(left)  # one scale: the two panels compare directly
    for ax, xs, curves in ((left, degrees, by_degree), (right, lams, by_lam)):
        ax.plot(xs, curves["train"], "o-", markersize=4, label=f"training ({n_train} houses)")
        ax.plot(xs, curves["val"], "s-", markersize=4, label="validation")
        best = min(range(len(xs)), key=lambda i: curves["val"][i])
        ax.plot(xs[best], curves["val"][best], "*", color="black", markersize=14, label="lowest validation MSE")
        ax.set_yscale("log")
        ax.set_ylabel("mean squared error (log scale)")
    left.set_xlabel("degree of the polynomial in area")
    left.set_title("more flexible: training error falls, validation error turns up")
    right.set_xscale("log")
    right.set_xlabel(f"ridge penalty λ (degree {ridge_degree}, log scale)")
    right.set_title(f"ridge tames degree {ridge_degree}")
    left.legend(fontsize=8, loc="upper left")
    return fig


def fits_figure(x_train: torch.Tensor, y_train: torch.Tensor, x_val: torch.Tensor, y_val: torch.Tensor,
                degree: int, lam: float, *, xlabel: str = "area (m²)", ylabel: str = "price (thousands)"):
    """The few training houses, the validation houses, and three fits: a line, degree ``degree``, and its ridge.

    Curves are drawn over the whole range of areas; a curve that leaves the frame is cut by the
    frame, not clamped to it.
    """
    from labkit.plot import figure

    x_train, y_train = x_train.reshape(-1).double(), y_train.reshape(-1).double()
    mu, sd = x_train.mean(), x_train.std()
    lo, hi = float(min(x_train.min(), x_val.min())), float(max(x_train.max(), x_val.max()))
    grid = torch.linspace(lo, hi, 400, dtype=torch.float64)
    fig, ax = figure(width=8, height=4.4)
    ax.scatter(x_val, y_val, s=10, color="tab:gray", alpha=0.35, label="validation houses")
    ax.scatter(x_train, y_train, s=28, color="black", zorder=3, label=f"the {len(x_train)} training houses")
    for d, penalty, color, label in ((1, 0.0, "tab:blue", "line (degree 1)"),
                                     (degree, 0.0, "tab:red", f"degree {degree}"),
                                     (degree, lam, "tab:green", f"degree {degree}, ridge λ = {lam:.3g}")):
        Xt, scale = polynomial_design((x_train - mu) / sd, d)
        beta = ridge(Xt, y_train, penalty)
        Xg, _ = polynomial_design((grid - mu) / sd, d, scale)
        ax.plot(grid, Xg @ beta, color=color, linewidth=1.8, label=label)
    span = float(y_val.max() - y_val.min())
    ax.set_ylim(float(y_val.min()) - 0.15 * span, float(y_val.max()) + 0.15 * span)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(f"degree {degree} threads the training houses and misses the rest")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig
