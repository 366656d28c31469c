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
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points (k+1, 2) and losses (k+1,) of gradient descent (heavy-ball ``momentum``) or Adam on ``surface``.

    The run stops early once the loss is no longer finite or has grown past 1e12 (diverged),
    so k ≤ ``steps``.
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

