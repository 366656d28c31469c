"""Lesson 11's helpers: compute counted, a source of known entropy, scaling laws fitted, optimised and explored."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

import torch
from torch.nn import functional as F

from labkit.errors import ParameterError

SECONDS_PER_DAY = 86_400.0


# ---- compute ----------------------------------------------------------------------------------


def training_compute(n: float, d: float) -> float:
    """C ≈ 6·N·D: FLOPs to train N parameters on D tokens (2 forward, 4 backward per weight per token)."""
    return 6.0 * n * d


def sixteen_bit(spec: Mapping) -> str:
    """The 16-bit format a GPU sheet rates its tensor cores in: bfloat16 where given, else float16 (the T4)."""
    return "bfloat16" if spec["peak_tflops"].get("bfloat16") else "float16"


def gpu_days(compute: float, peak_tflops: float, utilisation: float) -> float:
    """Days one GPU of ``peak_tflops`` needs for ``compute`` FLOPs when it reaches ``utilisation`` of its peak."""
    if not (compute > 0 and peak_tflops > 0 and 0 < utilisation <= 1):
        raise ParameterError(f"need compute > 0, peak_tflops > 0 and 0 < utilisation <= 1; got {compute!r}, "
                             f"{peak_tflops!r}, {utilisation!r}")
    return compute / (peak_tflops * 1e12 * utilisation) / SECONDS_PER_DAY


# ---- a source whose entropy is known ------------------------------------------------------------


@dataclass(frozen=True)
class MarkovSource:
    """A seeded order-k Markov chain over ``symbols`` letters: row s of ``table`` is P(next | last k letters = s)."""

    symbols: int
    order: int
    table: torch.Tensor  # (symbols ** order, symbols), float64, rows sum to 1

    @property
    def states(self) -> int:
        return self.symbols ** self.order


def markov_source(symbols: int = 8, order: int = 2, *, concentration: float = 0.5, seed: int = 0) -> MarkovSource:
    """A random order-k chain: each state's next-letter distribution drawn from Dirichlet(concentration)."""
    if symbols < 2 or order < 1 or symbols ** order > 65_536 or concentration <= 0:
        raise ParameterError(f"symbols = {symbols}, order = {order}, concentration = {concentration} are not "
                             "allowed: need symbols >= 2, order >= 1, symbols ** order <= 65536 and concentration > 0")
    import numpy as np

    rows = np.random.default_rng(seed).dirichlet([concentration] * symbols, size=symbols ** order)
    draws = torch.from_numpy(rows).clamp_min(1e-12)
    return MarkovSource(symbols, order, draws / draws.sum(dim=1, keepdim=True))


def next_state(source: MarkovSource, state, letter):
    """The state after ``letter`` (ints or tensors): the last k letters as base-``symbols`` digits, the oldest
    dropped."""
    return (state * source.symbols + letter) % source.states


def stationary(source: MarkovSource, *, tol: float = 1e-13, max_iter: int = 100_000) -> torch.Tensor:
    """π over the states with π = π·T, found by power iteration on the state-to-state chain."""
    S, V = source.states, source.symbols
    pi = torch.full((S,), 1.0 / S, dtype=torch.float64)
    targets = next_state(source, torch.arange(S).unsqueeze(1), torch.arange(V).unsqueeze(0))  # (S, V)
    for _ in range(max_iter):
        new = torch.zeros(S, dtype=torch.float64).index_add_(0, targets.flatten(), (pi.unsqueeze(1) * source.table)
                                                             .flatten())
        if (new - pi).abs().sum() < tol:
            return new
        pi = new
    raise RuntimeError(f"the chain did not settle in {max_iter} steps: it may not be irreducible")


def entropy_rate(source: MarkovSource) -> float:
    """H = Σ_s π(s)·H(P(·|s)) in bits per letter: the lowest average loss any predictor can reach on this source."""
    p = source.table
    per_state = -(p * torch.log2(p)).sum(dim=1)
    return float((stationary(source) * per_state).sum())


def sample(source: MarkovSource, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` letters drawn from the chain (int64), started from its stationary distribution."""
    if n < 1:
        raise ParameterError(f"n = {n} is not allowed: must be >= 1")
    import bisect

    import numpy as np

    rng = np.random.default_rng(seed)
    pi = stationary(source).numpy()
    state = int(rng.choice(source.states, p=pi / pi.sum()))
    cdf = source.table.cumsum(dim=1)
    cdf[:, -1] = 1.0
    rows = cdf.tolist()
    out = []
    for u in rng.random(n).tolist():  # a loop over n: the next letter depends on the last k
        letter = bisect.bisect_right(rows[state], u)
        out.append(letter)
        state = next_state(source, state, letter)
    return torch.tensor(out, dtype=torch.long)


def source_bits(source: MarkovSource, letters: torch.Tensor, *, per_letter: bool = False):
    """Mean bits per letter the source itself scores on ``letters`` (each after its first k): about H on a long text."""
    k = source.order
    states = torch.zeros(len(letters) - k, dtype=torch.long)
    for j in range(k):  # the state before each letter: its last k letters, the oldest first
        states = next_state(source, states, letters[j: len(letters) - k + j])
    bits = -torch.log2(source.table[states, letters[k:]])
    return bits if per_letter else float(bits.mean())


# ---- training a language model for a point of the experiment ----------------------------------


def learning_rate(step: int, *, lr: float, warmup: int, steps: int, decay: bool = True) -> float:
    """Linear warm-up to ``lr``, then a cosine decay to lr / 10 over the remaining steps (or constant)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if not decay:
        return lr
    progress = (step - warmup) / max(1, steps - warmup)
    return lr / 10 + (lr - lr / 10) * 0.5 * (1 + math.cos(math.pi * progress))


@torch.no_grad()
def validation_loss(model: torch.nn.Module, ids: torch.Tensor, context: int, *, batch: int = 64) -> float:
    """Mean next-token loss in nats over ``ids`` cut into windows of ``context`` (each token predicted once)."""
    n = (len(ids) - 1) // context
    if n < 1:
        raise ParameterError(f"{len(ids)} validation tokens are not allowed with context = {context}: need more")
    x = ids[: n * context].view(n, context)
    y = ids[1: n * context + 1].view(n, context)
    was = model.training
    model.eval()
    total = sum(float(F.cross_entropy(model(x[i:i + batch]).flatten(0, 1), y[i:i + batch].flatten(), reduction="sum"))
                for i in range(0, n, batch))
    model.train(was)
    return total / y.numel()


def train_lm(model: torch.nn.Module, train_ids: torch.Tensor, val_ids: torch.Tensor, *, steps: int, batch: int,
             context: int, lr: float, warmup: int = 0, optimizer: str = "adamw", seed: int = 0,
             evaluate_at: Sequence[int] = (), decay: bool = True,
             lr_embedding: float | None = None) -> list[dict[str, float]]:
    """Train ``model`` on random windows of ``train_ids``; its validation loss (nats per token) at each step asked.

    The loop of lesson 10: AdamW (decay on matrices only, betas 0.9/0.95) or plain SGD, a warm-up and a
    cosine decay (``decay=False``: constant after the warm-up), gradient clipping at 1. With
    ``lr_embedding``, the embedding tables (``nn.Embedding``, and so a head tied to one) take that peak
    rate instead of ``lr``, on the same schedule (as in muP: a width-independent rate for the embeddings,
    while the matrices' rate falls with the width). Returns one
    ``{"step", "tokens", "val_nats"}`` per step of ``evaluate_at`` (and the last step).
    """
    if optimizer not in ("adamw", "sgd"):
        raise ParameterError(f"optimizer = {optimizer!r} is not allowed: must be 'adamw' or 'sgd'")
    if steps < 1 or batch < 1 or not 0 <= warmup < steps or len(train_ids) <= context + 1:
        raise ParameterError(f"steps = {steps}, batch = {batch}, warmup = {warmup}, context = {context} are not "
                             f"allowed with {len(train_ids)} training tokens: need steps >= 1, batch >= 1, "
                             "0 <= warmup < steps and more tokens than context + 1")
    params = list(model.parameters())
    tables = {id(p) for m in model.modules() if isinstance(m, torch.nn.Embedding) for p in m.parameters()}
    if lr_embedding is None or not tables:
        groups = [{"params": [p for p in params if p.dim() >= 2], "weight_decay": 0.1, "peak": lr},
                  {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0, "peak": lr}]
    else:
        rest = [p for p in params if id(p) not in tables]
        groups = [{"params": [p for p in rest if p.dim() >= 2], "weight_decay": 0.1, "peak": lr},
                  {"params": [p for p in rest if p.dim() < 2], "weight_decay": 0.0, "peak": lr},
                  {"params": [p for p in params if id(p) in tables], "weight_decay": 0.0, "peak": lr_embedding}]
    groups = [g for g in groups if g["params"]]
    if optimizer == "sgd":  # plain SGD: no weight decay either
        groups = [dict(g, weight_decay=0.0) for g in groups]
    if optimizer == "adamw":
        opt = torch.optim.AdamW(groups, lr=lr, betas=(0.9, 0.95))
    else:
        opt = torch.optim.SGD(groups, lr=lr)
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    offsets = torch.arange(context + 1, device=device)
    marks = sorted({int(s) for s in evaluate_at if 0 < s <= steps} | {steps})
    points = []
    model.train()
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = learning_rate(step, lr=group["peak"], warmup=warmup, steps=steps, decay=decay)
        starts = torch.randint(0, len(train_ids) - context - 1, (batch, 1), generator=gen).to(device)
        window = train_ids[starts + offsets]  # (B, T + 1)
        logits = model(window[:, :-1])  # (B, T, V)
        loss = F.cross_entropy(logits.flatten(0, 1), window[:, 1:].flatten())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        if step + 1 in marks:
            points.append({"step": step + 1, "tokens": (step + 1) * batch * context,
                           "val_nats": validation_loss(model, val_ids, context)})
    model.eval()
    return points


# ---- the law L(N, D) = E + A / N^α + B / D^β ----------------------------------------------------


@dataclass(frozen=True)
class Law:
    """Hoffmann et al. (2022)'s form: an irreducible loss E, plus a term that falls with N and one with D."""

    E: float
    A: float
    alpha: float
    B: float
    beta: float

    def __call__(self, n, d):
        """The predicted loss at N parameters and D tokens (numbers or tensors)."""
        return self.E + self.A / n ** self.alpha + self.B / d ** self.beta

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def optimal_on_budget(law: Law, compute: float, *, points: int = 2001) -> dict[str, float]:
    """The N (and D = C / 6N) that minimise the fitted loss at compute C, found by search along 6·N·D = C.

    The search runs over N from (C/6)^0.05 to (C/6)^0.95; ``at_edge`` is True when the minimum is at
    either end, where the true optimum may lie outside the range searched.
    """
    if compute <= 0:
        raise ParameterError(f"compute = {compute!r} is not allowed: must be > 0")
    log_n = torch.linspace(math.log(compute / 6) * 0.05, math.log(compute / 6) * 0.95, points, dtype=torch.float64)
    n = log_n.exp()
    d = compute / (6 * n)
    loss = law(n, d)
    i = int(loss.argmin())
    return {"N": float(n[i]), "D": float(d[i]), "loss": float(loss[i]), "tokens_per_parameter": float(d[i] / n[i]),
            "at_edge": i in (0, points - 1)}


def frontier(points: Sequence[Mapping[str, float]]) -> list[Mapping[str, float]]:
    """The points no cheaper point beats: in order of compute, each with a lower loss than all before it."""
    best, out = math.inf, []
    for p in sorted(points, key=lambda p: (p["C"], p["loss"])):
        if p["loss"] < best:
            out.append(p)
            best = p["loss"]
    return out


def compute_for_loss(curve: tuple[float, float, float], target: float) -> float:
    """The compute at which L(C) = E + a·C^(−γ) reaches ``target`` (inf when the target is at or below E)."""
    e, a, g = curve
    if target <= e:
        return math.inf
    return (a / (target - e)) ** (1 / g)


def compute_multiplier(better: tuple[float, float, float], worse: tuple[float, float, float],
                       target: float) -> float:
    """How many times the compute the worse method needs to reach ``target`` loss, against the better one."""
    return compute_for_loss(worse, target) / compute_for_loss(better, target)


# ---- figures and explorer ------------------------------------------------------------------------


def _log_axes(ax) -> None:
    """N, D or C on a log axis, labelled at 1, 2 and 5 times each power of ten (never crowded over a few decades);
    the loss on a linear one, where a difference of 0.1 bits reads the same at any height."""
    from matplotlib import ticker

    ax.set_xscale("log")
    low, high = ax.get_xlim()
    subs = (1.0, 2.0, 5.0) if high / low < 1e3 else (1.0,)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: f"{x:.0e}".replace("e+0", "e").replace("e+", "e")))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def scaling_figure(points: Sequence[Mapping[str, float]], law: Law | None = None, *, shipped=(), floor=None,
                   unit: str = "bits per byte"):
    """Validation loss against N (one colour per D), against D (one colour per N) and against C (the frontier).

    With a ``law``, each colour's curve is the law at that colour's D (left) or N (middle), drawn over
    the range of the points; ``floor`` draws a known entropy; ``shipped`` adds other measured points (gray).
    """
    from matplotlib import colormaps

    from labkit.plot import figure

    fig, axes = figure(3, width=13, height=4.2)
    cmap = colormaps["viridis"]  # one colour per N, the same in the middle and right panels
    d_cmap = colormaps["Oranges"]  # one colour per D (left panel): light to dark as D grows
    for ax, key, other in ((axes[0], "N", "D"), (axes[1], "D", "N")):
        groups = sorted({p[other] for p in points})
        for k, value in enumerate(groups):
            run = sorted((p for p in points if p[other] == value), key=lambda p: p[key])
            share = k / max(1, len(groups) - 1)
            color = d_cmap(0.4 + 0.55 * share) if other == "D" else cmap(share)
            ax.plot([p[key] for p in run], [p["loss"] for p in run], "o", color=color, ms=4,
                    label=f"{other} = {value:,.0f}")
            if law is not None:
                xs = torch.logspace(math.log10(run[0][key]), math.log10(run[-1][key]), 40, dtype=torch.float64)
                fixed = torch.full_like(xs, value)
                ax.plot(xs, law(xs, fixed) if key == "N" else law(fixed, xs), "-", color=color, lw=1)
        ax.legend(fontsize=7, title="points and the law at" if law is not None else None, title_fontsize=7)
    sizes = sorted({p["N"] for p in points})
    for k, size in enumerate(sizes):
        run = [p for p in points if p["N"] == size]
        axes[2].plot([p["C"] for p in run], [p["loss"] for p in run], "o", color=cmap(k / max(1, len(sizes) - 1)),
                     ms=4, alpha=0.8, label=f"runs at N = {size:,.0f}")
    edge = frontier(points)
    axes[2].plot([p["C"] for p in edge], [p["loss"] for p in edge], "-", color="black", lw=1.5,
                 label="frontier: the best loss for its compute")
    axes[2].legend(fontsize=7)
    titles = ("against N, one colour per D", "against D, one colour per N", "against compute: the frontier")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_title(title, fontsize=10)
    for ax, label in zip(axes, ("parameters N", "training tokens D", "compute C = 6ND (FLOPs)"), strict=True):
        if shipped:
            key = {"parameters N": "N", "training tokens D": "D"}.get(label, "C")
            ax.plot([p[key] for p in shipped], [p["loss"] for p in shipped], "x", color="gray", ms=3.5, alpha=0.5,
                    zorder=0, label="shipped sweep (gray x)")  # behind the live points
        if floor is not None:
            ax.axhline(floor, color="black", ls=":", lw=1, label="true entropy H")
        _log_axes(ax)
        ax.set_xlabel(label)
        ax.set_ylabel(f"validation loss ({unit})")
        if shipped or floor is not None:  # the legend again, with the new lines (and the title it had)
            title = ax.get_legend().get_title().get_text() if ax.get_legend() else ""
            ax.legend(fontsize=7, title=title or None, title_fontsize=7)
    return fig


@dataclass(frozen=True)
class KaplanLaw:
    """Kaplan et al. (2020)'s form, their eq. (1.5): L = ((N_c / N)^(α_N / α_D) + D_c / D)^α_D. No floor, but the
    two terms interact: the more data, the more a larger N is worth."""

    Nc: float
    alpha_N: float
    Dc: float
    alpha_D: float

    def __call__(self, n, d):
        return ((self.Nc / n) ** (self.alpha_N / self.alpha_D) + self.Dc / d) ** self.alpha_D

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def residual_figure(points: Sequence[Mapping[str, float]], laws: Mapping[str, object],
                    seeds: Mapping[tuple[float, float], Sequence[float]] | None = None):
    """One panel per law: every fitted point's residual (law over measured, in %) against N, one line per D.
    ``seeds``: measurements of the same (N, D) from *other* seeds, drawn as a bar: the residuals the law would
    have against them. A dot inside the span of its bar is within the seed-to-seed noise."""
    from matplotlib import colormaps

    from labkit.plot import figure

    fig, axes = figure(len(laws), width=6 * len(laws), height=4.0)
    axes = list(axes) if len(laws) > 1 else [axes]
    cmap = colormaps["viridis"]
    lengths = sorted({p["D"] for p in points})
    top = max(abs(100 * (float(law(p["N"], p["D"])) / v - 1)) for law in laws.values() for p in points
              for v in [p["loss"], *(seeds or {}).get((p["N"], p["D"]), [])])
    for ax, (name, law) in zip(axes, laws.items(), strict=True):
        for k, d in enumerate(lengths):
            run = sorted((p for p in points if p["D"] == d), key=lambda p: p["N"])
            color = cmap(k / max(1, len(lengths) - 1))
            ax.plot([p["N"] for p in run], [100 * (float(law(p["N"], p["D"])) / p["loss"] - 1) for p in run], "o-",
                    color=color, ms=4, lw=1, label=f"D = {d:,.0f}")
            for p in run:
                other = (seeds or {}).get((p["N"], p["D"]))
                if other:
                    bar = [100 * (float(law(p["N"], p["D"])) / v - 1) for v in other]
                    x = [p["N"] * (1 + 0.03 * k)] * 2  # a dark edge, so that a pale colour (yellow) still shows
                    low, high = min(bar), max(bar)
                    if high - low < 0.15:  # the other seeds agree: a bar this short would read as a stray dash
                        low, high = (low + high) / 2 - 0.075, (low + high) / 2 + 0.075
                    ax.plot(x, [low, high], "-", color="0.3", lw=4.2, alpha=0.6, solid_capstyle="butt")
                    ax.plot(x, [low, high], "-", color=color, lw=3, alpha=0.8, solid_capstyle="butt")
        if seeds:
            ax.plot([], [], "-", color="gray", lw=3, alpha=0.8,
                    label="against the other seeds (a bar, in its D's colour)")
        ax.axhline(0, color="black", lw=0.8)
        ax.set_ylim(-1.1 * top, 1.1 * top)  # both panels on one scale
        _log_axes(ax)
        ax.set_xlabel("parameters N")
        ax.set_title(f"{name}: residuals", fontsize=10)
        ax.legend(fontsize=7)
    axes[0].set_ylabel("law − measured (% of measured)")
    return fig


def prediction_figure(points: Sequence[Mapping[str, float]], laws: Mapping[str, tuple[object, float, tuple]], *,
                      n_new: float, d_new: float, measured: float | None, naive: float, trend: float | None = None,
                      unit: str = "bits per byte"):
    """Loss against N at the prediction's D: the fitted points, each law's curve with its prediction and 90% band,
    the naive guess (the best loss so far) and the measurement."""
    from labkit.plot import figure

    fig, ax = figure(width=7.5, height=4.6)
    same = sorted((p for p in points if p["D"] == d_new), key=lambda p: p["N"])
    ax.plot([p["N"] for p in same], [p["loss"] for p in same], "o", color="black", ms=5,
            label=f"fitted points, D = {d_new:,.0f}")
    xs = torch.logspace(math.log10(min(p["N"] for p in points)), math.log10(n_new * 1.3), 60, dtype=torch.float64)
    for k, (name, (law, predicted, band)) in enumerate(laws.items()):
        color = ("tab:blue", "tab:red", "tab:green")[k % 3]
        ax.plot(xs, law(xs, torch.full_like(xs, d_new)), "-", color=color, lw=1, label=f"{name}'s law at this D")
        ax.errorbar([n_new * (1 + 0.04 * k)], [predicted], yerr=[[predicted - band[0]], [band[1] - predicted]],
                    fmt="s", color=color, capsize=4,
                    label=f"{name}: {predicted:.3f} (90% band {band[0]:.2f} to {band[1]:.2f})")
    ax.axhline(naive, color="gray", ls="--", lw=1, label=f"naive guess: best so far, {naive:.3f}")
    if trend is not None:
        (n1, l1), (n2, l2) = ((p["N"], p["loss"]) for p in same[-2:])
        ax.plot([n1, n_new], [l1, trend], ":", color="gray", lw=1.2, label=f"naive guess: the trend, {trend:.3f}")
    if measured is not None:
        ax.plot([n_new], [measured], "*", color="black", ms=13, zorder=5, label=f"measured {measured:.3f}")
    _log_axes(ax)
    ax.set_xlabel("parameters N")
    ax.set_ylabel(f"validation loss ({unit})")
    ax.set_title("the held-back model: predicted by each law, then measured", fontsize=10)
    ax.legend(fontsize=7)
    return fig


def profile_figure(values: Sequence[float], rms: Sequence[float], *, best: float, truth: float | None = None,
                   cut: float | None = None, sample: float | None = None, interval: tuple[float, float] | None = None,
                   open_below: bool = False, unit: str = "bits per letter"):
    """The fit's RMS error with E held at each value: a flat profile means the data cannot tell those Es apart.
    ``interval``: E's profile interval, shaded; ``open_below``: its lower end is only the edge of the values tried."""
    from labkit.plot import figure

    fig, ax = figure(width=6.5, height=3.8)
    order = sorted(range(len(values)), key=lambda i: values[i])
    ax.plot([values[i] for i in order], [100 * rms[i] for i in order], "o-", ms=4, label="fit with E held")
    ax.set_title("E's profile: the fit's error with E held at each value", fontsize=10)
    ax.axvline(best, color="tab:blue", ls="--", lw=1, label=f"E fitted freely: {best:.3f}")
    if truth is not None:
        ax.axvline(truth, color="black", ls=":", lw=1.2, label=f"true entropy H = {truth:.3f}")
    if cut is not None:
        ax.axhline(100 * cut, color="gray", ls="--", lw=1, label="90% cut: an E whose error is under this line fits "
                                                                 "not significantly worse")
    if sample is not None:
        ax.axvline(sample, color="tab:red", ls=":", lw=1.2, label=f"the source's own score here = {sample:.3f}")
    if interval is not None:  # drawn only over the values shown; the label gives its ends wherever they are
        shown = [v for v in (*values, best, truth, sample) if v is not None]
        words = (f"E up to {interval[1]:.3f} (no lower end within the values tried)" if open_below else
                 f"{interval[0]:.3f} to {interval[1]:.3f}")
        ax.axvspan(*interval, color="tab:green", alpha=0.12, label=f"E's 90% interval: {words}")
        pad = 0.02 * (max(shown) - min(shown))
        ax.set_xlim(min(shown) - pad, max(shown) + pad)
    ax.set_xlabel(f"E held at ({unit})")
    ax.set_ylabel("RMS error of the fit (% of the loss)")
    ax.legend(fontsize=8)
    return fig


def frontier_figure(runs: Mapping[str, Sequence[Mapping[str, float]]], curves: Mapping[str, tuple[float, float, float]],
                    target: float, *, reached: Mapping[str, float | None] | None = None, unit: str = "bits per byte"):
    """Each method's runs (dots), its frontier read from the points (solid) and its fitted L(C) = E + a·C^(−γ)
    (dashed; power laws, curved here since the loss axis is linear), the target loss, and where each frontier reaches
    it (crosses)."""
    from labkit.plot import figure

    fig, ax = figure(width=7.5, height=4.4)
    for name, points in runs.items():
        (dots,) = ax.plot([p["C"] for p in points], [p["loss"] for p in points], "o", ms=4, alpha=0.45,
                          label=f"{name}: every run")
        color = dots.get_color()
        edge = frontier(points)
        ax.plot([p["C"] for p in edge], [p["loss"] for p in edge], "-", color=color, lw=1.5, label=f"{name}: frontier")
        e, a, g = curves[name]
        xs = torch.logspace(math.log10(min(p["C"] for p in points)), math.log10(max(p["C"] for p in points)), 50,
                            dtype=torch.float64)
        ax.plot(xs, e + a * xs ** -g, "--", color=color, lw=1,
                label=f"{name}: fitted power law" if e == 0 else f"{name}: fitted L(C)")
        if reached and reached.get(name):
            ax.plot([reached[name]], [target], "X", color=color, ms=9,
                    label=f"{name} reaches the target: {reached[name]:.3g} FLOPs")
    ax.axhline(target, color="gray", ls=":", label=f"target loss {target:.3f}")
    ax.set_title("each method's frontier, and the compute it needs to reach the target", fontsize=10)
    _log_axes(ax)
    ax.set_xlabel("compute C (FLOPs)")
    ax.set_ylabel(f"validation loss ({unit})")
    ax.legend(fontsize=7)
    return fig


def _when(days: float) -> str:
    return (f"{days:.3g} days" if days >= 1 else f"{days * 24:.3g} hours" if days * 24 >= 1 else
            f"{days * SECONDS_PER_DAY:.3g} seconds")


def budget_render(law: Law, compute: float, gpu: Mapping, *, utilisation: float, laws: Sequence[Law] = (),
                  fresh_tokens: float | None = None, fitted_n: tuple[float, float] | None = None,
                  unit: str = "bits per byte", law_name: str = "the fitted law") -> tuple[str, object]:
    """The explorer's words and figure: the loss along 6·N·D = C, its minimum (with the 90% range over
    ``laws``, a bootstrap of the fit), a warning when D exceeds ``fresh_tokens``, and the time on one GPU.
    ``fitted_n``: the range of N the law was fitted on, shaded where the figure reaches it."""
    from labkit.data import spec_peak
    from labkit.plot import figure

    best = optimal_on_budget(law, compute)
    dtype = sixteen_bit(gpu)
    peak = spec_peak(gpu, dtype)
    days = gpu_days(compute, peak, utilisation)
    fig, ax = figure()
    n = torch.logspace(math.log10(best["N"]) - 2, math.log10(best["N"]) + 2, 200, dtype=torch.float64)
    for k, other in enumerate(laws[:40]):  # a sample of the bootstrap's laws, faint: how far the curve is known
        ax.plot(n, other(n, compute / (6 * n)), "-", color="tab:blue", alpha=0.08, lw=1,
                label=f"{min(40, len(laws))} of the bootstrap's refits" if k == 0 else None)
    ax.plot(n, law(n, compute / (6 * n)), "-", color="tab:blue", label="the fitted law")
    ax.plot([best["N"]], [best["loss"]], "o", color="tab:red", label=f"optimum: N = {best['N']:.3g}, "
                                                                         f"D = {best['D']:.3g}")
    if fitted_n is not None and fitted_n[1] > float(n[0]) and fitted_n[0] < float(n[-1]):
        ax.axvspan(max(fitted_n[0], float(n[0])), min(fitted_n[1], float(n[-1])), color="tab:green", alpha=0.12,
                   label="the N the law was fitted on")
    elif fitted_n is not None:
        side = "left" if fitted_n[1] <= float(n[0]) else "right"
        ax.plot([], [], " ", label=f"fitted on N = {fitted_n[0]:.3g} to {fitted_n[1]:.3g}, {side} of this plot")
    low, high = ax.get_ylim()
    if high - low < 0.5:  # never stretch a basin of a few hundredths of a bit over the whole height
        middle = (high + low) / 2
        ax.set_ylim(middle - 0.25, middle + 0.25)
    _log_axes(ax)
    ax.set_xlabel("parameters N (D = C / 6N)")
    ax.set_ylabel(f"predicted loss ({unit})")
    ax.set_title(f"C = {compute:.3g} FLOPs (a prediction from {law_name})\non one {gpu['name']} at "
                 f"{utilisation:.0%}: {_when(days)}", fontsize=10)
    ax.legend(fontsize=8)
    spread = loss_spread = ""
    if len(laws) >= 2:
        optima = [optimal_on_budget(other, compute) for other in laws]
        q = torch.tensor([0.05, 0.95], dtype=torch.float64)
        low, high = (float(v) for v in torch.quantile(
            torch.tensor([o["tokens_per_parameter"] for o in optima], dtype=torch.float64), q))
        spread = f" (90% of {len(laws)} bootstrap refits: {low:.3g} to {high:.3g})"
        losses = torch.tensor([o["loss"] for o in optima], dtype=torch.float64)
        low, high = (float(v) for v in torch.quantile(losses, q))
        loss_spread = f" (90% of the refits' own optima: {low:.3f} to {high:.3f})"
    warn = ""
    if fresh_tokens is not None and best["D"] > fresh_tokens:
        warn = (f"\nWARNING: D is {best['D'] / fresh_tokens:,.0f} times the {fresh_tokens:,.0f} tokens of fresh text "
                "there are: the law assumes fresh tokens, so this D does not exist")
    edge = "\nthe optimum is at the edge of the range searched" if best["at_edge"] else ""
    words = (f"C = {compute:.3g} FLOPs: predicted optimum N = {best['N']:.3g}, D = {best['D']:.3g}\n"
             f"  {best['tokens_per_parameter']:.3g} tokens per parameter{spread}\n"
             f"  loss {best['loss']:.3f} {unit}{loss_spread}\n"
             f"on one {gpu['name']} at {utilisation:.0%} of its {peak:g} TFLOP/s ({dtype}, specification): "
             f"{_when(days)}{warn}{edge}")
    return words, fig


def budget_explorer(law: Law, gpus: Sequence[Mapping], *, compute: float = 1e18, utilisation: float = 0.4,
                    laws: Sequence[Law] = (), fresh_tokens: float | None = None,
                    fitted_n: tuple[float, float] | None = None, unit: str = "bits per byte",
                    law_name: str = "the fitted law") -> None:
    """A compute-budget slider and a GPU menu: the predicted optimal N and D with their range, the loss, and the
    days on that GPU."""
    from labkit.explorer import explorer

    names = [g["name"] for g in gpus]
    by_name = {g["name"]: g for g in gpus}
    explorer(
        lambda w: [[("compute", w.FloatLogSlider(value=compute, base=10, min=12, max=26, step=0.25,
                                                 description="compute", continuous_update=False)),
                    ("gpu", w.Dropdown(options=names, value=names[0], description="GPU"))]],
        lambda compute, gpu: budget_render(law, compute, by_name[gpu], utilisation=utilisation, laws=laws,
                                           fresh_tokens=fresh_tokens, fitted_n=fitted_n, unit=unit,
                                           law_name=law_name),
        compute=compute, gpu=names[0],
    )
