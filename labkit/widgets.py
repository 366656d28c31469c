"""Interactive explorers for the lessons, each built on pure functions that the tests check.

Each explorer shows live widgets in JupyterLab. Headless (papermill, nbval, the stored
outputs) it shows the same figure as a static image instead, so a lesson reads well where
widgets cannot render, and stored outputs hold no widget state.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
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


Row = list[tuple[str, Any]]


def explorer(controls: Callable[[Any], list[Row]], render: Callable[..., tuple[str, Any]], **start: Any) -> None:
    """Show an explorer: rows of controls, then a text and a figure from ``render(**values)``.

    ``controls(ipywidgets)`` returns rows of ``(keyword, widget)``; each keyword is an argument of
    ``render``, which returns ``(text, figure)``. Live, moving any control redraws both. Headless,
    only the text and figure for ``start`` are shown. Returns None, so an explorer called on a
    cell's last line is not shown twice.
    """
    if headless():
        text, fig = render(**start)
        show_static(fig, text)
        return
    import ipywidgets as w
    import matplotlib.pyplot as plt
    from IPython.display import display

    rows = controls(w)
    named = dict(pair for row in rows for pair in row)
    text, out = w.HTML(), w.Output()

    def redraw(*_: Any) -> None:
        words, fig = render(**{name: control.value for name, control in named.items()})
        text.value = f"<b>{html.escape(words)}</b>"  # the words may hold '<' ("loss < 1e-4")
        with out:
            out.clear_output(wait=True)
            display(fig)
            plt.close(fig)

    for control in named.values():
        control.observe(redraw, "value")
    redraw()
    display(w.VBox([*(w.HBox([control for _, control in row]) for row in rows), text, out]))


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


# ---------------------------------------------------------------------------------------------
# Lessons 01 (loss functions) and 02 (gradient descent): explorers and their pure functions.
# ---------------------------------------------------------------------------------------------

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
    """Best constant prediction under ``loss``: the mean (MSE), the median (MAE), in between (Huber)."""
    if loss == "mse":
        return float(y.mean())
    if loss == "mae":
        return float(y.median())  # torch returns the lower of the two middle values for even n
    if loss == "huber":
        return huber_constant(y, delta)
    raise ValueError(f"loss = {loss!r} is not allowed: must be one of {', '.join(ROBUST_LOSSES)}")


def fit_line(x: torch.Tensor, y: torch.Tensor, loss: str, delta: float = 1.0, iters: int = 200) -> tuple[float, float]:
    """(intercept, slope) minimising the summed ``loss`` of the residuals, by iteratively reweighted least squares."""
    if loss not in ROBUST_LOSSES:
        raise ValueError(f"loss = {loss!r} is not allowed: must be one of {', '.join(ROBUST_LOSSES)}")
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


def bowl(w: torch.Tensor) -> torch.Tensor:
    """Ill-conditioned quadratic bowl f(x, y) = ½(x² + 25·y²); curvatures 1 and 25, minimum 0 at (0, 0)."""
    return 0.5 * (w[..., 0] ** 2 + 25.0 * w[..., 1] ** 2)


def bowl_grad(w: torch.Tensor) -> torch.Tensor:
    """Gradient of ``bowl``: (x, 25·y)."""
    return torch.stack([w[..., 0], 25.0 * w[..., 1]], dim=-1)


def valley(w: torch.Tensor) -> torch.Tensor:
    """Rosenbrock-like curved valley f(x, y) = (1 − x)² + 10·(y − x²)²; minimum 0 at (1, 1)."""
    x, y = w[..., 0], w[..., 1]
    return (1 - x) ** 2 + 10.0 * (y - x**2) ** 2


def valley_grad(w: torch.Tensor) -> torch.Tensor:
    """Gradient of ``valley``: (−2(1 − x) − 40·x·(y − x²), 20·(y − x²))."""
    x, y = w[..., 0], w[..., 1]
    return torch.stack([-2 * (1 - x) - 40.0 * x * (y - x**2), 20.0 * (y - x**2)], dim=-1)


SURFACES: dict[str, dict[str, Any]] = {
    "bowl": {"f": bowl, "grad": bowl_grad, "start": (-4.0, 1.0), "minimum": (0.0, 0.0), "box": (-5, 5, -2, 2),
             "legend": "upper right"},
    "valley": {"f": valley, "grad": valley_grad, "start": (-1.5, 2.5), "minimum": (1.0, 1.0), "box": (-2, 2, -1, 3.5),
               "legend": "upper right"},
}


def descent_path(
    surface: str,
    lr: float,
    *,
    momentum: float = 0.0,
    steps: int = 100,
    method: str = "gd",
    start: tuple[float, float] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (k+1, 2) and losses (k+1,) of gradient descent (heavy-ball ``momentum``) or Adam on ``surface``.

    The run stops early once the loss is no longer finite or has grown past 1e12 (diverged),
    so k ≤ ``steps``.
    """
    if surface not in SURFACES:
        raise ValueError(f"surface = {surface!r} is not allowed: must be one of {', '.join(SURFACES)}")
    if method not in ("gd", "adam"):
        raise ValueError(f"method = {method!r} is not allowed: must be 'gd' or 'adam'")
    spec = SURFACES[surface]
    w = torch.tensor(start or spec["start"], dtype=torch.float64)
    points, losses = [w.clone()], [spec["f"](w)]
    if method == "adam":
        param = w.clone().requires_grad_(True)
        opt = torch.optim.Adam([param], lr=lr)
    velocity = torch.zeros_like(w)
    for _ in range(steps):
        if method == "adam":
            opt.zero_grad()
            spec["f"](param).backward()
            opt.step()
            w = param.detach().clone()
        else:
            velocity = momentum * velocity + spec["grad"](w)
            w = w - lr * velocity
        loss = spec["f"](w)
        points.append(w.clone())
        losses.append(loss)
        if not torch.isfinite(loss) or loss > 1e12:
            break
    return torch.stack(points), torch.stack(losses).detach()


def run_status(points: torch.Tensor, losses: torch.Tensor, tol: float = 1e-4) -> str:
    """'converged' (loss < tol), 'diverged' (ends above its start or not finite), 'oscillating' (zigzags) or 'slow'."""
    last = float(losses[-1])
    if not math.isfinite(last) or last > float(losses[0]):
        return "diverged"
    if last < tol:
        return "converged"
    moves = points[1:] - points[:-1]
    tail = moves[len(moves) // 2 :]
    if len(tail) >= 2:
        turns = (tail[1:] * tail[:-1]).sum(dim=1) < 0  # a step that reverses the previous one
        if float(turns.float().mean()) > 0.3:
            return "oscillating"
    return "slow"


def steps_to_tolerance(losses: torch.Tensor, tol: float = 1e-4) -> int | None:
    """The first step at which the loss is below ``tol``, or None if it never is."""
    below = (losses < tol).nonzero()
    return int(below[0]) if len(below) else None


_STATUS_WORDS = {
    "converged": "converged",
    "diverged": "diverged: the learning rate is too large",
    "oscillating": "oscillating: steps keep reversing direction",
    "slow": "not converged yet: still descending slowly (more steps or a larger learning rate)",
}


def descent_text(surface: str, lr: float, momentum: float, steps: int, tol: float = 1e-4) -> str:
    """One line: what gradient descent with these settings did on ``surface``."""
    points, losses = descent_path(surface, lr, momentum=momentum, steps=steps)
    status = run_status(points, losses, tol)
    reached = steps_to_tolerance(losses, tol)
    where = f", loss < {tol:g} at step {reached}" if reached is not None else ""
    taken = len(losses) - 1
    stopped = f", stopped at step {taken} of {steps}" if taken < steps else ""
    return (
        f"{surface}, lr = {lr:g}, momentum = {momentum:g}, {steps} steps: "
        f"{_STATUS_WORDS[status]} (final loss {float(losses[-1]):.3g}{where}{stopped})"
    )


def descent_figure(surface: str, lr: float, momentum: float = 0.0, steps: int = 100, *, compare_adam: float = 0.0):
    """Contour plot with the descent path (left) and loss against step on a log scale (right)."""
    from labkit.plot import figure

    spec = SURFACES[surface]
    x0, x1, y0, y1 = spec["box"]
    fig, (left, right) = figure(2, width=11, height=4.3)
    xs = torch.linspace(x0, x1, 200, dtype=torch.float64)
    ys = torch.linspace(y0, y1, 200, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    zz = spec["f"](torch.stack([gx, gy], dim=-1))
    left.contour(gx, gy, torch.log10(zz + 1e-3), levels=20, cmap="viridis", linewidths=0.8)
    gd = descent_path(surface, lr, momentum=momentum, steps=steps)
    runs = [(f"GD lr={lr:g}, momentum={momentum:g}", gd, "tab:red")]
    if compare_adam > 0:
        adam = descent_path(surface, compare_adam, steps=steps, method="adam")
        runs.append((f"Adam lr={compare_adam:g}", adam, "tab:blue"))
    for label, (points, losses), color in runs:
        shown = points.clamp(torch.tensor([x0 - 1.0, y0 - 1.0]), torch.tensor([x1 + 1.0, y1 + 1.0]))
        left.plot(shown[:, 0], shown[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2, label=label)
        right.semilogy(torch.arange(len(losses)), losses.clamp(1e-12, 1e12), color=color, label=label)
    left.plot(*spec["start"], "ks", markersize=7, label="start")
    left.plot(*spec["minimum"], "k*", markersize=13, label="minimum")
    left.set_xlim(x0, x1)
    left.set_ylim(y0, y1)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title(f"path of gradient descent on the {surface}")
    left.set_aspect("equal")
    left.legend(fontsize=8, loc=spec["legend"])
    right.set_xlim(0, steps)  # the whole budget asked for, so a run that blew up early shows how early
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    reached = steps_to_tolerance(gd[1])
    right.set_title(f"GD: {run_status(*gd)}" + (f" (loss < 1e-4 at step {reached})" if reached is not None else ""))
    right.legend(fontsize=8)
    return fig


def descent_explorer(surface: str = "valley", lr: float = 0.01, momentum: float = 0.0, steps: int = 100) -> None:
    """A surface menu and sliders for learning rate, momentum and steps redraw the path and loss curve."""
    explorer(
        lambda w: [
            [("surface", w.Dropdown(options=list(SURFACES), value=surface, description="surface")),
             ("lr", w.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.05, description="lr",
                                     continuous_update=False, readout_format=".4f"))],
            [("momentum", w.FloatSlider(value=momentum, min=0, max=0.99, step=0.01, description="momentum",
                                        continuous_update=False)),
             ("steps", w.IntSlider(value=steps, min=1, max=1000, step=1, description="steps",
                                   continuous_update=False))],
        ],
        lambda surface, lr, momentum, steps: (
            descent_text(surface, lr, momentum, steps), descent_figure(surface, lr, momentum, steps)
        ),
        surface=surface, lr=lr, momentum=momentum, steps=steps,
    )


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
