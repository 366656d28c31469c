"""One generic training loop, ``fit``, with ``evaluate``, its measurement without gradients."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import nn

from labkit._env import batch_run
from labkit.device import pick_device
from labkit.errors import DivergenceError, ParameterError
from labkit.history import History

__all__ = ["DivergenceError", "History", "accuracy", "evaluate", "fit"]

Metric = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def accuracy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Fraction of correct classes: argmax of (n, k) logits; for (n,) or (n, 1) logits, logit > 0 (p > 0.5)."""
    if pred.ndim == 2 and pred.shape[1] > 1:
        return (pred.argmax(dim=1) == target).float().mean()
    return ((pred.reshape(-1) > 0).float() == target.reshape(-1).float()).float().mean()


NAMED_METRICS: dict[str, Metric] = {"accuracy": accuracy}


def _resolve_metrics(metrics: Mapping[str, Metric] | Sequence[str] | None) -> dict[str, Metric]:
    if metrics is None:
        return {}
    if isinstance(metrics, Mapping):
        return dict(metrics)
    unknown = [name for name in metrics if name not in NAMED_METRICS]
    if unknown:
        named = ", ".join(NAMED_METRICS)
        raise ParameterError(f"unknown metric(s) {unknown}; named metrics: {named}, or pass a dict of functions")
    return {name: NAMED_METRICS[name] for name in metrics}


def _batch_size(target: torch.Tensor) -> int:
    return target.shape[0] if target.ndim else 1


def _weighted_means(values: dict[str, list[torch.Tensor]], sizes: list[int]) -> dict[str, torch.Tensor]:
    # One stack and one weighted sum per quantity; the caller turns them into floats with one sync.
    weights = torch.tensor(sizes, dtype=torch.float64)
    means = {}
    for name, per_batch in values.items():
        stacked = torch.stack(per_batch).to(torch.float64)
        means[name] = (stacked * weights.to(stacked.device)).sum() / weights.sum()
    return means


def evaluate(
    model: nn.Module,
    data: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    metrics: Mapping[str, Metric] | Sequence[str] | None = None,
    device: str | torch.device = "auto",
) -> dict[str, float]:
    """Sample-weighted mean loss and metrics of ``model`` over ``data``, without gradients."""
    device = pick_device(device) if isinstance(device, str) else device
    metric_fns = _resolve_metrics(metrics)
    was_training = model.training
    model.eval()
    values: dict[str, list[torch.Tensor]] = {"loss": [], **{name: [] for name in metric_fns}}
    sizes: list[int] = []
    with torch.inference_mode():
        for x, y in data:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            pred = model(x)
            values["loss"].append(loss_fn(pred, y))
            for name, fn in metric_fns.items():
                values[name].append(fn(pred, y))
            sizes.append(_batch_size(y))
    model.train(was_training)
    if not sizes:
        raise ValueError("evaluate() got no batches: the data is empty")
    return {name: float(mean) for name, mean in _weighted_means(values, sizes).items()}


def _progress(total: int | None, enabled: bool | None):
    from tqdm.auto import tqdm

    if enabled is None:  # shown in a notebook or a terminal; off in batch runs, whose outputs are stored
        enabled = not batch_run()
    return tqdm(total=total, disable=not enabled, unit="step", leave=True, dynamic_ncols=True)


def fit(
    model: nn.Module,
    train_data: Iterable[tuple[torch.Tensor, torch.Tensor]],
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epochs: int,
    device: str | torch.device = "auto",
    val_data: Iterable[tuple[torch.Tensor, torch.Tensor]] | None = None,
    metrics: Mapping[str, Metric] | Sequence[str] | None = None,
    progress: bool | None = None,
    live_plot: bool = False,
    early_stopping: int | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``; return the per-epoch History.

    Losses and metrics are accumulated on the device and read once per epoch (one sync), each
    batch weighted by its size so a short last batch counts correctly. A NaN or infinite loss
    raises DivergenceError; Ctrl-C (KeyboardInterrupt) returns the history so far.

    ``early_stopping=k`` stops once the validation loss has not improved for ``k`` epochs in a row
    and gives the model back the weights of its best epoch (``History.best_epoch``).
    """
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ParameterError(f"epochs = {epochs!r} is not allowed: must be a whole number >= 1")
    if early_stopping is not None:
        if not isinstance(early_stopping, int) or isinstance(early_stopping, bool) or early_stopping < 1:
            raise ParameterError(f"early_stopping = {early_stopping!r} is not allowed: must be a whole number >= 1")
        if val_data is None:
            raise ParameterError("early_stopping needs val_data: it watches the validation loss")
    device = pick_device(device) if isinstance(device, str) else torch.device(device)
    metric_fns = _resolve_metrics(metrics)
    model.to(device)
    history = History()
    best: dict = {}
    lr = optimizer.param_groups[0].get("lr") if optimizer.param_groups else None
    try:
        steps_per_epoch = len(train_data)  # type: ignore[arg-type]
    except TypeError:
        steps_per_epoch = None
    plot = None
    if live_plot:
        from labkit.plot import LivePlot

        plot = LivePlot(["loss", *metric_fns], validation=val_data is not None)
    bar = _progress(steps_per_epoch * epochs if steps_per_epoch else None, progress)
    try:
        for epoch in range(1, epochs + 1):
            model.train()
            values: dict[str, list[torch.Tensor]] = {"loss": [], **{name: [] for name in metric_fns}}
            sizes: list[int] = []
            for x, y in train_data:
                x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
                optimizer.zero_grad(set_to_none=True)
                pred = model(x)
                loss = loss_fn(pred, y)
                loss.backward()
                optimizer.step()
                values["loss"].append(loss.detach())
                if metric_fns:
                    detached = pred.detach()
                    for name, fn in metric_fns.items():
                        values[name].append(fn(detached, y))
                sizes.append(_batch_size(y))
                bar.update()
            if not sizes:
                raise ValueError("fit() got no batches: the training data is empty")
            step_losses = torch.stack(values["loss"]).float().cpu().tolist()  # the one sync per epoch
            for step, value in enumerate(step_losses, start=1):
                if not math.isfinite(value):
                    raise DivergenceError(epoch, step, value, lr)
            history.step_loss.extend(step_losses)
            history.add("train", {k: float(v) for k, v in _weighted_means(values, sizes).items()})
            if val_data is not None:
                history.add("val", evaluate(model, val_data, loss_fn=loss_fn, metrics=metric_fns, device=device))
            bar.set_postfix(history.last(), refresh=False)
            if plot is not None:
                plot.update(history)
            if early_stopping is not None and _watch(history, model, best, early_stopping):
                break
    except KeyboardInterrupt:
        history.interrupted = True
        print(f"Interrupted: returning the history of {history.epochs} completed epoch(s); the model keeps its weights")
    finally:
        bar.close()
        if plot is not None:
            plot.finish(history)
        if early_stopping is not None and best:
            model.load_state_dict(best["state"])  # the weights of the best epoch, not of the last
    return history


def _watch(history: History, model: nn.Module, best: dict, patience: int) -> bool:
    """Remember the best epoch's weights; True once ``patience`` epochs passed without a better val loss."""
    loss, epoch = history.val["loss"][-1], history.epochs
    if not best or loss < best["loss"]:
        best.update(loss=loss, epoch=epoch, state={k: v.detach().clone() for k, v in model.state_dict().items()})
        history.best_epoch = epoch
    if epoch - best["epoch"] >= patience:
        history.stopped_early = True
        return True
    return False
