"""Lesson 01, loss functions: the best constant and line under MSE, MAE and Huber, and the outlier explorer."""

from __future__ import annotations

import torch

from labkit.errors import ParameterError
from labkit.explorer import explorer

ROBUST_LOSSES = ("mse", "mae", "huber")
LOSS_COLORS = {"mse": "tab:red", "mae": "tab:blue", "huber": "tab:green"}


def outlier_data(outlier_y: float, n: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    """Points near y = 1 + 0.5·x for x = 0..n-1, float64; the last point is moved to height ``outlier_y``."""
    x = torch.arange(n, dtype=torch.float64)
    wiggle = 0.3 * torch.sin(1.7 * x)  # fixed small deviations, so no random state is needed
    y = 1.0 + 0.5 * x + wiggle
    y[-1] = outlier_y
    return x, y


def huber_constant(y: torch.Tensor, delta: float = 1.0, tol: float = 1e-10) -> float:
    """The constant c minimising Σ huber(y_i − c): bisection on its derivative Σ clamp(c − y_i, ±δ)."""
    lo, hi = float(y.min()), float(y.max())
    while hi - lo > tol * max(1.0, abs(lo) + abs(hi)):
        mid = 0.5 * (lo + hi)
        if float((mid - y).clamp(-delta, delta).sum()) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def fit_constant(y: torch.Tensor, loss: str, delta: float = 1.0) -> float:
    """Best constant prediction under ``loss``: the mean (MSE), the median (MAE), Huber's M-estimate (Huber).

    Huber's constant need not lie between the mean and the median: with widely spread points it can
    fall below (or above) both; it tends to the mean as delta grows and to the median as delta shrinks.
    """
    if loss == "mse":
        return float(y.mean())
    if loss == "mae":
        return float(y.median())  # torch returns the lower of the two middle values for even n
    if loss == "huber":
        return huber_constant(y, delta)
    raise ParameterError(f"loss = {loss!r} is not allowed: must be one of {', '.join(ROBUST_LOSSES)}")


def fit_line(x: torch.Tensor, y: torch.Tensor, loss: str, delta: float = 1.0, iters: int = 200) -> tuple[float, float]:
    """(intercept, slope) minimising the summed ``loss`` of the residuals, by iteratively reweighted least squares."""
    if loss not in ROBUST_LOSSES:
        raise ParameterError(f"loss = {loss!r} is not allowed: must be one of {', '.join(ROBUST_LOSSES)}")
    X = torch.stack([torch.ones_like(x), x], dim=1).to(torch.float64)
    y = y.to(torch.float64)
    beta = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    if loss == "mse":
        return float(beta[0]), float(beta[1])
    for _ in range(iters):
        size = (y - X @ beta).abs().clamp_min(1e-9)
        # MAE weighs each point by 1/|r|; Huber keeps weight 1 inside δ and δ/|r| outside.
        weight = 1.0 / size if loss == "mae" else (delta / size).clamp(max=1.0)
        sw = weight.sqrt().unsqueeze(1)
        new = torch.linalg.lstsq(X * sw, (y * sw.squeeze(1)).unsqueeze(1)).solution.squeeze(1)
        if torch.allclose(new, beta, atol=1e-12, rtol=0):
            beta = new
            break
        beta = new
    return float(beta[0]), float(beta[1])


def outlier_text(outlier_y: float, delta: float = 1.0) -> str:
    """The three constant estimates and line slopes for the outlier at height ``outlier_y``."""
    x, y = outlier_data(outlier_y)
    parts = []
    for loss in ROBUST_LOSSES:
        c = fit_constant(y, loss, delta)
        slope = fit_line(x, y, loss, delta)[1]
        parts.append(f"{loss.upper()}: constant {c:.2f}, slope {slope:.2f}")
    return f"outlier at y = {outlier_y:g} (δ = {delta:g}) → " + "; ".join(parts)


def outlier_figure(outlier_y: float, delta: float = 1.0):
    """Left: the data and the line fitted under each loss. Right: the best constant as the outlier moves."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=11, height=4.2)
    x, y = outlier_data(outlier_y)
    left.scatter(x[:-1], y[:-1], color="black", zorder=3, label="data")
    left.scatter(x[-1:], y[-1:], color="black", marker="*", s=200, zorder=3, label="outlier")
    grid = torch.linspace(float(x[0]) - 0.5, float(x[-1]) + 0.5, 50, dtype=torch.float64)
    for loss in ROBUST_LOSSES:
        b0, b1 = fit_line(x, y, loss, delta)
        left.plot(grid, b0 + b1 * grid, color=LOSS_COLORS[loss], label=f"{loss.upper()} line (slope {b1:.2f})")
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title("a line fitted under each loss")
    left.legend(fontsize=9)

    heights = torch.linspace(-10, 30, 81, dtype=torch.float64)
    for loss in ROBUST_LOSSES:
        consts = [fit_constant(outlier_data(float(h))[1], loss, delta) for h in heights]
        right.plot(heights, consts, color=LOSS_COLORS[loss], label=loss.upper())
    right.axvline(outlier_y, color="gray", linestyle="--", linewidth=1, label="outlier now")
    right.set_xlabel("height of the outlier")
    right.set_ylabel("best constant prediction")
    right.set_title("MSE's mean follows the outlier; MAE and Huber stay put")
    right.legend(fontsize=9)
    return fig


def outlier_explorer(outlier_y: float = 15.0, delta: float = 1.0) -> None:
    """Sliders drag the outlier and set Huber's δ; the fits and the text follow."""
    explorer(
        lambda w: [[
            ("outlier_y", w.FloatSlider(value=outlier_y, min=-10, max=30, step=0.5, description="outlier y",
                                        continuous_update=False)),
            ("delta", w.FloatSlider(value=delta, min=0.1, max=5, step=0.1, description="Huber δ",
                                    continuous_update=False)),
        ]],
        lambda outlier_y, delta: (outlier_text(outlier_y, delta), outlier_figure(outlier_y, delta)),
        outlier_y=outlier_y, delta=delta,
    )

