"""Lesson 02, gradient descent: two surfaces, descent paths with momentum or Adam, and the descent explorer."""

from __future__ import annotations

import math
from typing import Any

import torch

from labkit.errors import ParameterError
from labkit.explorer import explorer


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
    betas: tuple[float, float] = (0.9, 0.999),
    until: float | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (k+1, 2) and losses (k+1,) of gradient descent (heavy-ball ``momentum``) or Adam on ``surface``.

    The run stops early once the loss is no longer finite or has grown past 1e12 (diverged), or
    has fallen below ``until`` when that is given, so k ≤ ``steps``.
    """
    if surface not in SURFACES:
        raise ParameterError(f"surface = {surface!r} is not allowed: must be one of {', '.join(SURFACES)}")
    if method not in ("gd", "adam"):
        raise ParameterError(f"method = {method!r} is not allowed: must be 'gd' or 'adam'")
    spec = SURFACES[surface]
    w = torch.tensor(start or spec["start"], dtype=torch.float64)
    points, losses = [w.clone()], [spec["f"](w)]
    if method == "adam":
        param = w.clone().requires_grad_(True)
        opt = torch.optim.Adam([param], lr=lr, betas=betas)
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
        if not torch.isfinite(loss) or loss > 1e12 or (until is not None and loss < until):
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


def method_label(lr: float, momentum: float = 0.0, method: str = "gd") -> str:
    """How a run is named on figures: 'GD α=0.01', 'momentum α=0.01, β=0.9' or 'Adam α=0.1'."""
    if method == "adam":
        return f"Adam α={lr:g}"
    return f"momentum α={lr:g}, β={momentum:g}" if momentum else f"GD α={lr:g}"


def _inside(points: torch.Tensor, box: tuple[float, float, float, float]) -> tuple[torch.Tensor, int | None]:
    """The points up to the first that leaves ``box`` (that one included, to show the way out), and its step."""
    x0, x1, y0, y1 = box
    outside = ~((points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1))
    where = outside.nonzero()
    if not len(where):
        return points, None
    k = int(where[0])
    return points[: k + 1], k


def paths_figure(surface: str, runs: dict[str, tuple[torch.Tensor, torch.Tensor]], steps: int):
    """Contour plot with each run's path (left) and each run's loss against step on a log scale (right).

    A path that leaves the frame is drawn to its first point outside and marked there with the step;
    nothing is clamped to the frame (a clamped path would look like it bounced off the edge).
    """
    from labkit.plot import figure

    spec = SURFACES[surface]
    x0, x1, y0, y1 = spec["box"]
    fig, (left, right) = figure(2, width=11.5, height=4.4)
    xs = torch.linspace(x0, x1, 200, dtype=torch.float64)
    ys = torch.linspace(y0, y1, 200, dtype=torch.float64)
    gx, gy = torch.meshgrid(xs, ys, indexing="xy")
    zz = spec["f"](torch.stack([gx, gy], dim=-1))
    left.contour(gx, gy, torch.log10(zz + 1e-3), levels=20, cmap="viridis", linewidths=0.8)
    colors = ["tab:red", "tab:purple", "tab:blue", "tab:orange", "tab:green"]
    stopped = []
    for (label, (points, losses)), color in zip(runs.items(), colors, strict=False):
        shown, left_at = _inside(points, spec["box"])
        left.plot(shown[:, 0], shown[:, 1], "-o", color=color, markersize=2.5, linewidth=1.2, label=label)
        if left_at is not None:
            px = min(max(float(shown[-1, 0]), x0), x1)
            py = min(max(float(shown[-1, 1]), y0), y1)
            left.annotate(f"leaves the plot at step {left_at}", (px, py), color=color, fontsize=8,
                          xytext=(-10, -14), textcoords="offset points", ha="right")
        finite = torch.isfinite(losses)
        right.semilogy(torch.arange(len(losses))[finite], losses[finite], color=color, label=label)
        if len(losses) - 1 < steps and run_status(points, losses) == "diverged":
            right.plot(len(losses) - 1, float(losses[finite][-1]), "x", color=color, markersize=9)
            stopped.append(label)
    right.axhline(1e-4, color="gray", linestyle="--", linewidth=1, label="tolerance 1e-4")
    left.plot(*spec["start"], "ks", markersize=7, label="start")
    left.plot(*spec["minimum"], "k*", markersize=13, label="minimum")
    left.set_xlim(x0, x1)
    left.set_ylim(y0, y1)
    left.set_xlabel("x")
    left.set_ylabel("y")
    left.set_title(f"paths on the {surface}")
    left.set_aspect("equal")
    left.legend(fontsize=8, loc=spec["legend"])
    right.set_xlim(0, steps)  # the whole budget asked for, so a run that blew up early shows how early (×)
    right.set_xlabel("step")
    right.set_ylabel("loss (log scale)")
    if stopped:
        right.set_title(f"loss against step (× where {', '.join(stopped)} diverged)")
    else:
        right.set_title("loss against step")
    right.legend(fontsize=8, loc="upper right")
    return fig


def descent_figure(surface: str, lr: float, momentum: float = 0.0, steps: int = 100):
    """One run of gradient descent (with heavy-ball ``momentum`` if > 0): its path and its loss curve."""
    run = descent_path(surface, lr, momentum=momentum, steps=steps)
    fig = paths_figure(surface, {method_label(lr, momentum): run}, steps)
    reached = steps_to_tolerance(run[1])
    fig.axes[1].set_title(f"{method_label(lr, momentum)}: {run_status(*run)}"
                          + (f" (loss < 1e-4 at step {reached})" if reached is not None else ""))
    return fig


# ---- the quadratic model near a minimum -----------------------------------------------------------


def hessian_at(surface: str, point: tuple[float, float] | None = None) -> torch.Tensor:
    """The 2×2 Hessian of ``surface`` at ``point`` (default: its minimum), by autograd, in float64."""
    spec = SURFACES[surface]
    w = torch.tensor(point or spec["minimum"], dtype=torch.float64)
    return torch.autograd.functional.hessian(spec["f"], w)


def quadratic_model(surface: str) -> dict[str, float]:
    """What the Hessian at the minimum predicts: curvatures, κ, the stability limit, the best rates and speeds.

    Near the minimum f ≈ ½ eᵀHe. Along the eigen-direction of curvature λ, gradient descent
    multiplies the error by (1 − αλ) per step: stable for α < 2/λ_max, fastest at
    α* = 2/(λ_min + λ_max) with rate (κ−1)/(κ+1). Heavy-ball momentum with
    α = (2/(√λ_max + √λ_min))² and β = ((√κ−1)/(√κ+1))² has rate √β = (√κ−1)/(√κ+1): about √κ
    times fewer steps.
    """
    lam = torch.linalg.eigvalsh(hessian_at(surface))
    lo, hi = float(lam[0]), float(lam[-1])
    kappa = hi / lo
    root = math.sqrt(kappa)
    return {
        "lambda_min": lo, "lambda_max": hi, "kappa": kappa,
        "lr_stable_max": 2 / hi,
        "lr_best_gd": 2 / (lo + hi), "rate_best_gd": (kappa - 1) / (kappa + 1),
        "lr_best_momentum": (2 / (math.sqrt(hi) + math.sqrt(lo))) ** 2,
        "beta_best_momentum": ((root - 1) / (root + 1)) ** 2, "rate_best_momentum": (root - 1) / (root + 1),
    }


def gd_steps_predicted(model: dict[str, float], lr: float, start_loss: float, tol: float = 1e-4) -> float:
    """Steps plain GD needs to bring the loss from ``start_loss`` below ``tol``, from the slowest direction alone.

    The loss is quadratic in the error, so along the flattest direction it shrinks by (1 − α λ_min)²
    per step.
    """
    per_step = (1 - lr * model["lambda_min"]) ** 2
    return math.log(tol / start_loss) / math.log(per_step)


def tune(surface: str, lrs: list[float], *, momentum: float = 0.0, method: str = "gd", steps: int = 1200,
         tol: float = 1e-4) -> tuple[float | None, int | None]:
    """The rate of ``lrs`` reaching loss < ``tol`` in the fewest steps, and those steps; (None, None) if none."""
    best: tuple[float | None, int | None] = (None, None)
    for lr in lrs:
        losses = descent_path(surface, lr, momentum=momentum, steps=steps, method=method, until=tol)[1]
        reached = steps_to_tolerance(losses, tol)
        if reached is not None and (best[1] is None or reached < best[1]):
            best = (lr, reached)
    return best


def contraction_per_step(losses: torch.Tensor, first: int = 20) -> float:
    """The measured factor by which the error (√loss) shrinks per step: a least-squares line through
    log(loss) from step ``first`` on (momentum's loss oscillates; the line follows its envelope's decay)."""
    tail = losses[first:].double().clamp_min(1e-300).log()
    steps = torch.arange(len(tail), dtype=torch.float64)
    slope = ((steps - steps.mean()) * (tail - tail.mean())).sum() / ((steps - steps.mean()) ** 2).sum()
    return float(torch.exp(slope / 2))


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

