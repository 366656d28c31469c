"""Lesson 06, a digit classifier: the network, reading its errors and confidence, its figures and the digit explorer."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from labkit.errors import ParameterError
from labkit.explorer import explorer
from labkit.history import History
from labkit.models import mlp

SHIFTS = ("none", "left", "right", "up", "down")


# ---- the network and its arithmetic ----------------------------------------------------------


def parameter_count(widths: Sequence[int]) -> int:
    """Σ over layers of n_in·n_out weights + n_out biases."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(widths[:-1], widths[1:], strict=True))


def forward_flops(widths: Sequence[int]) -> int:
    """Matmul FLOPs of one example's forward pass: Σ 2·n_in·n_out (a multiply and an add per weight)."""
    return sum(2 * n_in * n_out for n_in, n_out in zip(widths[:-1], widths[1:], strict=True))


def training_flops(widths: Sequence[int]) -> int:
    """Matmul FLOPs of one example's forward and backward pass.

    The backward pass computes each layer's weight gradient (2·n_in·n_out) and, for every layer but
    the first, the gradient of its input (another 2·n_in·n_out): the input pixels need none.
    """
    pairs = list(zip(widths[:-1], widths[1:], strict=True))
    weight_grads = sum(2 * n_in * n_out for n_in, n_out in pairs)
    input_grads = sum(2 * n_in * n_out for n_in, n_out in pairs[1:])
    return forward_flops(widths) + weight_grads + input_grads


def stratified_subset(y: torch.Tensor, n: int, seed: int = 0) -> torch.Tensor:
    """Indices of ``n`` examples of labels ``y``, as evenly spread over the classes as they allow (seeded)."""
    if not 1 <= n <= len(y):
        raise ParameterError(f"n = {n!r} is not allowed: must be between 1 and {len(y)}")
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=gen)
    shuffled = y[order]
    # rank of each example within its class, in the shuffled order: take every class's 1st, then 2nd, ...
    rank = torch.zeros(len(y), dtype=torch.long)
    for k in shuffled.unique():
        where = (shuffled == k).nonzero().flatten()
        rank[where] = torch.arange(len(where))
    by_rank = torch.argsort(rank * len(y) + torch.arange(len(y)))
    return order[by_rank[:n]]


def predict_proba(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Softmax probabilities (n, 10) of ``model`` on ``x``, on the CPU, without gradients."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        probs = torch.softmax(model(x.to(device)), dim=1).cpu()
    model.train(was_training)
    return probs


def most_confidently_wrong(probs: torch.Tensor, y: torch.Tensor, k: int = 8) -> torch.Tensor:
    """Indices of the (at most) ``k`` wrong predictions with the highest confidence, most confident first."""
    confidence, predicted = probs.max(dim=1)
    wrong = (predicted != y).nonzero().flatten()
    return wrong[torch.argsort(confidence[wrong], descending=True, stable=True)][:k]


def calibration_bins(confidence: torch.Tensor, correct: torch.Tensor, n_bins: int = 10) -> dict[str, torch.Tensor]:
    """Equal-width confidence bins (lo, hi]: count, mean confidence and accuracy per bin (NaN where empty)."""
    edges = torch.linspace(0, 1, n_bins + 1, dtype=torch.float64)
    confidence = confidence.to(torch.float64)
    which = torch.searchsorted(edges[1:-1], confidence)  # as numpy.searchsorted: a value on an edge joins the lower bin
    count = torch.bincount(which, minlength=n_bins).to(torch.float64)
    total_conf = torch.bincount(which, weights=confidence, minlength=n_bins)
    total_correct = torch.bincount(which, weights=correct.to(torch.float64), minlength=n_bins)
    empty = count == 0
    mean_conf = torch.where(empty, torch.nan, total_conf / count.clamp(min=1))
    accuracy = torch.where(empty, torch.nan, total_correct / count.clamp(min=1))
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy}


def expected_calibration_error(bins: Mapping[str, torch.Tensor]) -> float:
    """ECE = Σ_bins (n_b / n)·|accuracy_b − confidence_b|: how far confidence is from accuracy, on average."""
    full = bins["count"] > 0
    share = bins["count"][full] / bins["count"].sum()
    return float((share * (bins["accuracy"][full] - bins["confidence"][full]).abs()).sum())


def subset_run(
    data: Any,
    n: int,
    *,
    hidden: int = 128,
    epochs: int = 300,
    lr: float = 0.1,
    weight_decay: float = 0.0,
    early_stopping: int | None = None,
    optimizer: str = "sgd",
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, History, dict[str, float]]:
    """Train 64→hidden→10 full-batch on ``n`` stratified training digits, validating each epoch.

    ``optimizer`` is "sgd" (momentum 0.9) or "adam"; both take ``weight_decay`` as an L2 term in the gradient.

    Returns the model (with early stopping: its best epoch's weights), the History, and the kept
    model's scores: loss and accuracy on its training digits and on validation, and the gap
    ``val_loss − train_loss``.
    """
    from labkit.train import evaluate, fit

    if optimizer not in ("sgd", "adam"):
        raise ParameterError(f"optimizer = {optimizer!r} is not allowed: must be 'sgd' or 'adam'")
    idx = stratified_subset(data.y_train, n, seed)
    train_batch = [(data.x_train[idx], data.y_train[idx])]
    val_batch = [(data.x_val, data.y_val)]
    torch.manual_seed(seed)
    model = mlp([data.x_train.shape[1], hidden, 10])
    if optimizer == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9,
                                                     weight_decay=weight_decay)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    history = fit(model, train_batch, loss_fn=nn.functional.cross_entropy, optimizer=opt, epochs=epochs,
                  device=device, val_data=val_batch, metrics=["accuracy"], progress=False,
                  early_stopping=early_stopping)
    on_train = evaluate(model, train_batch, loss_fn=nn.functional.cross_entropy, metrics=["accuracy"], device=device)
    on_val = evaluate(model, val_batch, loss_fn=nn.functional.cross_entropy, metrics=["accuracy"], device=device)
    scores = {"train_loss": on_train["loss"], "train_accuracy": on_train["accuracy"], "val_loss": on_val["loss"],
              "val_accuracy": on_val["accuracy"], "gap": on_val["loss"] - on_train["loss"]}
    return model, history, scores


def train_for_steps(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    steps: int,
    batch_size: int,
    seed: int = 0,
) -> list[float]:
    """Exactly ``steps`` optimizer steps of cross-entropy on shuffled mini-batches; returns the step losses.

    The batches are reshuffled every epoch from a generator seeded with ``seed``.
    """
    if steps < 1 or batch_size < 1:
        raise ParameterError(f"steps = {steps!r}, batch_size = {batch_size!r}: both must be >= 1")
    device = next(model.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    losses: list[torch.Tensor] = []
    model.train()
    while len(losses) < steps:
        order = torch.randperm(len(y), generator=gen)
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x[idx].to(device)), y[idx].to(device))
            loss.backward()
            optimizer.step()
            losses.append(loss.detach())
            if len(losses) == steps:
                break
    return torch.stack(losses).cpu().tolist()


def perturb(image: torch.Tensor, noise: float = 0.0, shift: str = "none", seed: int = 0) -> torch.Tensor:
    """An 8×8 image of raw pixels (0..16) with seeded Gaussian noise of std ``noise``, moved one pixel by ``shift``."""
    if shift not in SHIFTS:
        raise ParameterError(f"shift = {shift!r} is not allowed: must be one of {', '.join(SHIFTS)}")
    if noise < 0:
        raise ParameterError(f"noise = {noise!r} is not allowed: must be >= 0")
    out = image.clone().to(torch.float32)
    if noise > 0:
        pattern = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed))
        out = (out + noise * pattern).clamp(0, 16)
    if shift != "none":
        dim, step = {"left": (1, -1), "right": (1, 1), "up": (0, -1), "down": (0, 1)}[shift]
        out = torch.roll(out, step, dims=dim)
        edge = 0 if step == 1 else -1  # the row or column that wrapped round becomes blank paper
        if dim == 0:
            out[edge, :] = 0
        else:
            out[:, edge] = 0
    return out


# ---- words -----------------------------------------------------------------------------------


def prediction_text(index: int, label: int, probs: torch.Tensor, noise: float, shift: str) -> str:
    """One line: the digit, what the network says and how sure it is, under this noise and shift."""
    predicted = int(probs.argmax())
    verdict = "right" if predicted == label else "WRONG"
    return (
        f"test digit #{index}, noise σ = {noise:g}, shift {shift}: true {label}, the network says {predicted} "
        f"with probability {float(probs[predicted]):.3f} ({verdict}; p(true {label}) = {float(probs[label]):.3f})"
    )


# ---- figures ---------------------------------------------------------------------------------


def gallery_figure(images: torch.Tensor, titles: Sequence[str], ncols: int = 10, title: str = ""):
    """A grid of 8×8 raw-pixel images (0 white, 16 black) with a short title each."""
    from labkit.plot import figure

    n = len(images)
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = figure(ncols, nrows, width=1.15 * ncols, height=1.45 * nrows + (0.4 if title else 0))
    flat = list(axes.flat) if hasattr(axes, "flat") else [axes]
    for i, ax in enumerate(flat):
        ax.axis("off")
        if i < n:
            ax.imshow(torch.as_tensor(images[i]).numpy(), cmap="gray_r", vmin=0, vmax=16)
            ax.set_title(titles[i], fontsize=9)
    if title:
        fig.suptitle(title)
    return fig


def curves_figure(runs: Mapping[str, History], *, best: Mapping[str, int | None] | None = None):
    """Training and validation loss (top) and accuracy (bottom) per epoch, one column per run."""
    from labkit.plot import figure

    best = best or {}
    fig, axes = figure(len(runs), 2, width=3.6 * len(runs), height=6.2)
    axes = axes.reshape(2, len(runs))
    for ax in axes.flat:  # one scale per row and for every epoch axis, so the panels compare at a glance
        ax.sharex(axes[0, 0])
        ax.sharey(axes[0, 0] if ax in axes[0] else axes[1, 0])
    longest = max(history.epochs for history in runs.values())
    for col, (name, history) in enumerate(runs.items()):
        top, bottom = axes[0, col], axes[1, col]
        epochs = range(1, history.epochs + 1)
        for ax, key in ((top, "loss"), (bottom, "accuracy")):
            ax.plot(epochs, history.train[key], color="tab:blue", linewidth=1.5, label="train")
            ax.plot(epochs, history.val[key], color="tab:orange", linewidth=1.5, label="validation")
            if best.get(name):
                ax.axvline(best[name], color="gray", linestyle="--", linewidth=1, label="best epoch (kept)")
            ax.set_xlabel("epoch (log scale)")
        top.set_yscale("log")
        top.set_xscale("log")
        top.set_xlim(1, longest)
        stopped = f", stopped at {history.epochs}" if history.stopped_early else ""
        top.set_title(name + stopped, fontsize=11)
        bottom.set_ylim(0, 1.02)
        if col == 0:
            top.set_ylabel("cross-entropy (log scale)")
            bottom.set_ylabel("accuracy")
        bottom.legend(fontsize=8, loc="lower right")
    return fig


def compare_figure(runs: Mapping[str, History]):
    """Loss and accuracy per epoch of several runs on the same data: training dashed, validation solid."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=11, height=4)
    colors = ["tab:blue", "tab:red", "tab:green", "tab:purple"]
    for (name, history), color in zip(runs.items(), colors, strict=False):
        epochs = range(1, history.epochs + 1)
        for ax, key in ((left, "loss"), (right, "accuracy")):
            ax.plot(epochs, history.train[key], color=color, linestyle="--", linewidth=1.2, label=f"{name}, train")
            ax.plot(epochs, history.val[key], color=color, linewidth=1.8, label=f"{name}, validation")
    lowest = min(min(history.val["accuracy"]) for history in runs.values())
    floor = max(0.0, math.floor((lowest - 0.02) * 20) / 20)  # zoom in on the validation curves
    left.set(xlabel="epoch", ylabel="cross-entropy (log scale)", yscale="log", title="loss")
    right.set(xlabel="epoch", ylabel="accuracy", title=f"accuracy (axis from {floor:.2f})", ylim=(floor, 1.005))
    left.legend(fontsize=8)
    right.legend(fontsize=8, loc="lower right")
    return fig


def confusion_figure(cm: Any, title: str = "confusion matrix (test set)"):
    """The confusion matrix as counts: rows are the true digits, columns the predicted ones."""
    from labkit.plot import figure

    cm = torch.as_tensor(cm)
    fig, ax = figure(width=6.2, height=5.4)
    image = ax.imshow(cm.numpy(), cmap="Blues")
    ax.grid(False)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            value = int(cm[i, j])
            if value:
                dark = value > 0.5 * float(cm.max())
                ax.text(j, i, str(value), ha="center", va="center", fontsize=9,
                        color="white" if dark else ("tab:red" if i != j else "black"))
    ticks = list(range(cm.shape[0]))
    ax.set(xticks=ticks, yticks=ticks, xlabel="predicted digit", ylabel="true digit", title=title)
    fig.colorbar(image, ax=ax, shrink=0.8, label="test digits")
    return fig


def calibration_figure(bins: Mapping[str, torch.Tensor], ece: float):
    """Reliability diagram: accuracy against mean confidence per bin (left); digits in each bin (right)."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=11, height=4.2)
    edges = bins["edges"]
    centres = (edges[:-1] + edges[1:]) / 2
    width = float(edges[1] - edges[0])
    full = bins["count"] > 0
    left.plot([0, 1], [0, 1], color="gray", linestyle="--", linewidth=1, label="perfect calibration")
    left.bar(centres[full].tolist(), bins["accuracy"][full].tolist(), width=width * 0.9, color="tab:blue", alpha=0.7,
             label="accuracy in the bin")
    left.plot(bins["confidence"][full].tolist(), bins["accuracy"][full].tolist(), "o", color="tab:red",
              label="(mean confidence, accuracy)")
    left.set(xlim=(0, 1.02), ylim=(-0.02, 1.05), xlabel="confidence (largest probability)", ylabel="accuracy",
             title=f"reliability diagram, ECE = {ece:.3f}")
    left.legend(fontsize=8, loc="upper left")
    right.bar(centres.tolist(), bins["count"].tolist(), width=width * 0.9, color="tab:gray")
    right.set(xlim=(0, 1.02), ylim=(0, 1.12 * float(bins["count"].max())), xlabel="confidence (largest probability)",
              ylabel="test digits", title="digits per bin")
    for x, c in zip(centres.tolist(), bins["count"].tolist(), strict=True):
        if c:
            right.text(x, c, str(int(c)), ha="center", va="bottom", fontsize=8)
    return fig


def grid_figure(widths: Sequence[int], sizes: Sequence[int], accuracy: Any):
    """Validation accuracy as a heat map: hidden width (rows) against training-set size (columns)."""
    from labkit.plot import figure

    acc = torch.as_tensor(accuracy, dtype=torch.float64)
    fig, ax = figure(width=7, height=1.0 * len(widths) + 2.2)
    image = ax.imshow(acc.numpy(), cmap="viridis", vmin=float(acc.min()), vmax=1.0, aspect="auto", origin="lower")
    ax.grid(False)
    middle = (float(acc.min()) + 1.0) / 2
    for i in range(len(widths)):
        for j in range(len(sizes)):
            ax.text(j, i, f"{100 * float(acc[i, j]):.1f}%", ha="center", va="center", fontsize=10,
                    color="black" if float(acc[i, j]) > middle else "white")
    ax.set(xticks=range(len(sizes)), xticklabels=[str(s) for s in sizes], yticks=range(len(widths)),
           yticklabels=[str(w) for w in widths], xlabel="training-set size (digits)", ylabel="hidden width",
           title="validation accuracy: capacity against data")
    fig.colorbar(image, ax=ax, label="validation accuracy")
    return fig


def shrink_figure(widths: Sequence[int], relative: Mapping[str, Sequence[float]],
                  spread: Mapping[str, Sequence[float]]):
    """Grouped bars: each quantity of each width relative to the widest (1 = unchanged); whiskers span an IQR."""
    from labkit.plot import figure

    fig, ax = figure(width=9, height=4.4)
    names = list(relative)
    top = max(v + q / 2 for name in names for v, q in zip(relative[name], spread.get(name, [0.0] * len(widths)),
                                                          strict=True))
    bar = 0.8 / len(names)
    colors = ["tab:blue", "tab:cyan", "tab:red", "tab:orange", "tab:green"]
    for k, (name, color) in enumerate(zip(names, colors, strict=False)):
        xs = [i + (k - (len(names) - 1) / 2) * bar for i in range(len(widths))]
        iqr = spread.get(name)
        err = [q / 2 for q in iqr] if iqr is not None else None  # whiskers ±IQR/2: they span the middle half
        ax.bar(xs, relative[name], width=bar * 0.95, color=color, label=name, yerr=err, capsize=3 if err else 0)
        above = err if err is not None else [0.0] * len(xs)
        for x, v, e in zip(xs, relative[name], above, strict=True):
            ax.text(x, v + e + 0.02, f"{v:.2f}", ha="center", va="bottom", fontsize=7)
    ax.axhline(1, color="gray", linewidth=1, linestyle="--")
    ax.set(xticks=range(len(widths)), xticklabels=[f"hidden = {w}" for w in widths],
           ylabel=f"relative to hidden = {widths[0]}", ylim=(0, max(1.15, 1.1 * top)),
           title="what shrinks when the hidden layer shrinks")
    fig.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=len(names), fontsize=9)
    return fig


def xor_figure(linear: tuple[float, float, float], relu_net: Any):
    """XOR's four points with the decision regions of the best linear rule (left) and of a ReLU network (right)."""
    from labkit.plot import figure

    fig, axes = figure(2, width=9, height=4)
    grid = torch.linspace(-0.5, 1.5, 201)
    gx, gy = torch.meshgrid(grid, grid, indexing="xy")
    points = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    labels = torch.tensor([0, 1, 1, 0])
    w1, w2, b = linear
    regions = {
        "best linear rule: w·x + b > 0": (w1 * gx + w2 * gy + b > 0).float(),
        "ReLU network: one hidden layer of 2": (relu_net(torch.stack([gx, gy], dim=-1).reshape(-1, 2)) > 0.5)
        .float().reshape(gx.shape),
    }
    for ax, (title, region) in zip(axes, regions.items(), strict=True):
        ax.contourf(gx.numpy(), gy.numpy(), region.numpy(), levels=[-0.5, 0.5, 1.5], colors=["#dde6f5", "#f8dcc8"])
        for cls, marker, color in ((0, "o", "tab:blue"), (1, "s", "tab:orange")):
            pick = labels == cls
            ax.scatter(points[pick, 0].tolist(), points[pick, 1].tolist(), marker=marker, s=110, color=color,
                       edgecolor="black", zorder=3, label=f"XOR = {cls}")
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="$x_1$", ylabel="$x_2$", title=title, aspect="equal")
    handles, names = axes[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=2, fontsize=9)
    return fig


def digit_figure(image: torch.Tensor, probs: torch.Tensor, label: int):
    """The (perturbed) digit on the left; the network's ten probabilities on the right, the true digit in green."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=9, height=3.6)
    fig.get_layout_engine().set(wspace=0.08)
    left.imshow(image.numpy(), cmap="gray_r", vmin=0, vmax=16)
    left.grid(False)
    for spine in left.spines.values():
        spine.set_visible(True)  # the whole 8×8 frame, so a shifted digit shows where the edge is
        spine.set_color("gray")
    left.set(xticks=[], yticks=[], title=f"true digit: {label}")
    predicted = int(probs.argmax())
    colors = ["tab:green" if k == label else ("tab:red" if k == predicted else "tab:gray") for k in range(10)]
    right.bar(range(10), probs.tolist(), color=colors)
    for k, p in enumerate(probs.tolist()):
        if p >= 0.005:
            right.text(k, p + 0.02, f"{p:.2f}", ha="center", va="bottom", fontsize=8)
    right.set(xticks=range(10), ylim=(0, 1.12), xlabel="digit (true in green)", ylabel="probability",
              title=f"the network says {predicted}" + ("" if predicted == label else " (wrong, in red)"))
    for k, tick in enumerate(right.get_xticklabels()):
        if k in (label, predicted):
            tick.set_color("tab:green" if k == label else "tab:red")
            tick.set_fontweight("bold")
    return fig


# ---- explorer --------------------------------------------------------------------------------


def digit_render(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: torch.Tensor,
                 std: torch.Tensor, index: int, noise: float, shift: str) -> tuple[str, Any]:
    """The explorer's text and figure for test digit ``index`` with this noise and shift."""
    image = perturb(images[index], noise, shift, seed=index)
    x = ((image.reshape(1, -1) - mean) / std)  # standardised like the training data
    probs = predict_proba(model, x)[0]
    label = int(labels[index])
    return prediction_text(index, label, probs, noise, shift), digit_figure(image, probs, label)


def digit_explorer(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, mean: torch.Tensor,
                   std: torch.Tensor, *, index: int = 0, noise: float = 0.0, shift: str = "none") -> None:
    """A slider picks a test digit, another adds noise, a menu shifts it a pixel: the image and ten probabilities."""
    explorer(
        lambda w: [
            [("index", w.IntSlider(value=index, min=0, max=len(labels) - 1, step=1, description="test digit",
                                   continuous_update=False)),
             ("noise", w.FloatSlider(value=noise, min=0, max=8, step=0.5, description="noise σ",
                                     continuous_update=False))],
            [("shift", w.Dropdown(options=list(SHIFTS), value=shift, description="shift"))],
        ],
        lambda index, noise, shift: digit_render(model, images, labels, mean, std, index, noise, shift),
        index=index, noise=noise, shift=shift,
    )
