"""Lesson 08, data-parallel training with torch.distributed: what the worker processes compute, what it costs.

Three parts, in order:

- **math**: the α-β model of a message, ring all-reduce, the memory a GPU needs under each kind
  of parallelism, DDP's buckets; the step-time model itself is written in the notebook, and the
  functions here that use it take it as an argument;
- **tasks**: what each launched process runs (collectives, DDP, gradients averaged by hand, the
  source material's mistakes, the all-reduce timing, failures on purpose), started by ``launch``
  through ``labkit.processes``, which starts, watches and stops the processes;
- **scripts**: whole training scripts run the way ``torchrun`` runs them (``labkit.processes.launch_script``):
  the lesson's "hello" script, the one-process reference that exercise 1's script must match, and
  ``run_script``, which runs a function the learner wrote in the notebook;
- **texts, figures, explorer**: what the notebook shows.
"""

from __future__ import annotations

import inspect
import math
import textwrap
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

from labkit import processes
from labkit.errors import ParameterError
from labkit.explorer import explorer
from labkit.footprint import training_bytes
from labkit.models import mlp

# the notebook's step-time model: (n, parameters, batch, flops/s, link bytes/s, latency s) -> (compute s, comm. s)
StepModel = Callable[..., tuple[float, float]]


# ---- math: weights and gradients -----------------------------------------------------------------


def flat_weights(model: nn.Module) -> torch.Tensor:
    """All of a model's parameters in one flat vector (a copy)."""
    return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()


def count_parameters(model: nn.Module) -> int:
    """How many numbers the model learns."""
    return sum(p.numel() for p in model.parameters())


def batch_gradients(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    """Gradients of the mean cross-entropy of ``model`` on (x, y), one tensor per parameter."""
    model.zero_grad()
    F.cross_entropy(model(x), y).backward()
    return [p.grad.detach().clone() for p in model.parameters()]


def max_difference(a: Sequence[torch.Tensor] | torch.Tensor, b: Sequence[torch.Tensor] | torch.Tensor) -> float:
    """The largest absolute difference between two tensors, or two lists of tensors, element by element."""
    if isinstance(a, torch.Tensor):
        a, b = [a], [b]
    return max(float((x - y).abs().max()) for x, y in zip(a, b, strict=True))


# ---- math: what a message costs, and ring all-reduce ------------------------------------------


def fit_alpha_beta(nbytes: Sequence[float], seconds: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of t = α + S / β in relative error (each point divided by its t); returns (α s, β bytes/s).

    β is inf when the fitted slope is not positive, or too small to matter over the sizes (the times do not
    grow with the size); α is
    clamped at 0 (noise can push a fitted intercept below it; no message takes negative time).
    """
    size = torch.tensor(list(nbytes), dtype=torch.float64)
    t = torch.tensor(list(seconds), dtype=torch.float64)
    if len(size) < 2 or len(size) != len(t):
        raise ParameterError(f"need at least two (size, time) pairs of equal length, got {len(size)} and {len(t)}")
    X = torch.stack([torch.ones_like(size), size], dim=1) / t[:, None]
    alpha, slope = torch.linalg.lstsq(X, torch.ones_like(t)[:, None]).solution.flatten().tolist()
    # a slope whose whole effect over the sizes is rounding (times that do not grow) counts as none: the last
    # bits of a least-squares solution differ between CPUs, and 1/slope would turn them into a huge bandwidth
    grows = slope > 0 and slope * float(size.max()) > 1e-9 * abs(alpha)
    return max(alpha, 0.0), (1.0 / slope if grows else math.inf)


def robust_alpha_beta(nbytes: Sequence[float], seconds: Sequence[float]) -> tuple[float, float]:
    """α as the median time of the messages too small for their bytes to matter, then β with that α fixed.

    On a shared machine scheduling scatters the small messages' times by a factor of several, and a
    least-squares intercept lands between them, near none. Starting from the least-squares fit,
    this repeats two steps until the split stops changing: the messages whose S/β is below a tenth
    of α are the small ones, and α is the median of their times; 1/β is the least-squares slope,
    in relative error, through the other messages that take longer than α. With fewer than two
    small messages it is the least-squares fit.
    """
    import statistics

    alpha, beta = fit_alpha_beta(nbytes, seconds)
    pairs = list(zip(nbytes, seconds, strict=True))
    split = None
    for _ in range(20):
        small = [t for size, t in pairs if size / beta < 0.1 * alpha]
        if len(small) < 2 or len(small) == split:
            break
        split = len(small)
        alpha = statistics.median(small)
        large = [(size, t) for size, t in pairs if size / beta >= 0.1 * alpha and t > alpha]
        # minimise Σ((α + S·k)/t − 1)² over k = 1/β
        k = (sum(size / t * (1 - alpha / t) for size, t in large) / sum((size / t) ** 2 for size, t in large)
             if large else 0.0)
        beta = 1.0 / k if k > 0 else math.inf
    return alpha, beta


def allreduce_seconds(n: int, nbytes: float, alpha: float, beta: float) -> float:
    """Ring all-reduce of S bytes on n workers: 2(n−1) messages of S/n bytes each, 2(n−1)·α + 2(n−1)/n·S/β."""
    if n < 1:
        raise ParameterError(f"n = {n!r} is not allowed: must be >= 1")
    return 2 * (n - 1) * (alpha + nbytes / (n * beta))


def link_from_fit(latency: float, bandwidth: float, n: int) -> tuple[float, float]:
    """Per-message α and link β that make the ring model equal a fitted t = latency + S / bandwidth on n workers."""
    if n < 2:
        return latency, bandwidth  # one process sends nothing: the fit measures only the call itself
    return latency / (2 * (n - 1)), bandwidth * 2 * (n - 1) / n


def workers_at_efficiency(threshold: float, efficiency: Callable[..., float], *model: float,
                          n_max: int = 1024) -> int:
    """The largest n ≤ n_max with ``efficiency(n, *model)`` at least ``threshold`` (1 if no n > 1 reaches it)."""
    best = 1
    for n in range(2, n_max + 1):  # E(n) falls as n grows, so the last n that passes is the answer
        if efficiency(n, *model) >= threshold:
            best = n
        else:
            break
    return best


def fastest_workers(step_seconds: StepModel, *model: float, n_max: int = 1024) -> int:
    """The n ≤ n_max (a power of two) with the shortest step ``sum(step_seconds(n, *model))``."""
    ns = [2**k for k in range(int(math.log2(n_max)) + 1)]
    return min(ns, key=lambda n: sum(step_seconds(n, *model)))


# ---- math: memory per GPU under each kind of parallelism --------------------------------------

STRATEGIES = {
    "data": "data parallel: every GPU keeps everything",
    "zero1": "ZeRO-1: optimizer state sharded",
    "zero2": "ZeRO-2: + gradients sharded",
    "zero3": "ZeRO-3 / FSDP: + weights sharded",
    "tensor": "tensor parallel: every layer split",
    "pipeline": "pipeline parallel: layers split into stages",
}


def bytes_per_gpu(parameters: float, n: int, strategy: str) -> float:
    """Training-state bytes each of n GPUs keeps (mixed-precision Adam, activations left out) under ``strategy``."""
    if strategy not in STRATEGIES:
        raise ParameterError(f"strategy = {strategy!r} is not allowed: must be one of {', '.join(STRATEGIES)}")
    if n < 1:
        raise ParameterError(f"n = {n!r} is not allowed: must be >= 1")
    b = training_bytes(parameters)
    optimizer = b.master + b.optimizer  # the float32 master copy and Adam's two moments
    if strategy == "data":
        return b.total
    if strategy == "zero1":
        return b.weights + b.gradients + optimizer / n
    if strategy == "zero2":
        return b.weights + (b.gradients + optimizer) / n
    return b.total / n  # ZeRO-3, tensor and pipeline parallelism each hold 1/n of every kind of state


# ---- math: DDP's buckets, overlapping communication with the backward pass -----------------------


BY_HAND = "by hand"  # bucket_schedule's schedule of the hand-written loop


def bucket_schedule(layers: int, backward_s: float, latency_s: float, per_layer_s: float,
                    bucket: int | str | None) -> tuple[list[tuple[float, float]], list[tuple[float, float]], float]:
    """(start, duration) of each layer's backward and of each all-reduce, and when the step ends.

    Gradients become ready layer by layer, the last layer first. ``bucket`` None: one all-reduce of
    everything after the backward pass. ``BY_HAND``: the hand-written loop, one all-reduce per layer,
    one after the other, once the backward pass is over. Otherwise every ``bucket`` layers form a
    message, sent as soon as its gradients are ready and the link is free, while the backward pass
    goes on (DDP's overlap). A message of k layers costs latency_s + k·per_layer_s.
    """
    backward = [(i * backward_s, backward_s) for i in range(layers)]
    done = layers * backward_s
    if bucket is None:
        messages = [(done, latency_s + layers * per_layer_s)]
    elif bucket == BY_HAND:
        cost = latency_s + per_layer_s
        messages = [(done + i * cost, cost) for i in range(layers)]
    elif not isinstance(bucket, int) or bucket < 1:
        raise ParameterError(f"bucket = {bucket!r} is not allowed: must be None, {BY_HAND!r} or a whole number >= 1")
    else:
        messages, free = [], 0.0
        for first in range(0, layers, bucket):
            k = min(bucket, layers - first)
            start = max((first + k) * backward_s, free)  # ready, and the previous message is through
            messages.append((start, latency_s + k * per_layer_s))
            free = start + latency_s + k * per_layer_s
    return backward, messages, max(done, messages[-1][0] + messages[-1][1])


# ---- tasks: what every launched process runs, as (rank, world_size, data, cfg) -> dict -----------


def collectives(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """all_reduce, broadcast and all_gather on small tensors; each rank's tensors before and after."""
    out: dict[str, Any] = {"rank": rank}

    t = torch.tensor([rank + 1.0, 10.0 * (rank + 1)])
    before = t.tolist()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)  # every rank ends with the sum over ranks
    out["all_reduce"] = {"before": before, "after": t.tolist()}

    t = torch.tensor([100.0 + rank, 200.0 + rank])
    before = t.tolist()
    dist.broadcast(t, src=0)  # every rank ends with rank 0's tensor
    out["broadcast"] = {"before": before, "after": t.tolist()}

    mine = torch.tensor([float(rank)] * 2)
    gathered = [torch.zeros(2) for _ in range(world_size)]
    dist.all_gather(gathered, mine)  # every rank ends with the list of every rank's tensor
    out["all_gather"] = {"before": mine.tolist(), "after": [g.tolist() for g in gathered]}
    return out


def _dataset(data: dict[str, Any]) -> TensorDataset:
    return TensorDataset(data["x"], data["y"])


def train_ddp(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any],
              shard: bool = True) -> dict[str, Any]:
    """DistributedDataParallel + DistributedSampler: batch B/N per rank; weights after every step."""
    model = mlp(dtype=torch.float64)
    model.load_state_dict(data["init"])
    ddp = nn.parallel.DistributedDataParallel(model)  # broadcasts rank 0's weights; all-reduces gradients in backward
    dataset = _dataset(data)
    if shard:  # rank r takes examples r, r+N, r+2N, ... of each epoch's shuffled order: its own 1/N
        sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                     seed=cfg["seed"], drop_last=True)
    else:  # the source's mistake: told of no other rank, every rank reads the whole order, the same examples
        sampler = DistributedSampler(dataset, num_replicas=1, rank=0, shuffle=True, seed=cfg["seed"], drop_last=True)
    per_rank = cfg["batch_size"] // world_size  # B/N, so that N ranks together take B examples per step
    loader = DataLoader(dataset, batch_size=per_rank, sampler=sampler, drop_last=True)
    optimizer = torch.optim.SGD(ddp.parameters(), lr=cfg["lr"])
    weights, losses, seen = [flat_weights(model)], [], []
    epoch = 0
    while len(losses) < cfg["steps"]:
        sampler.set_epoch(epoch)  # a new shuffle each epoch, the same on every rank (seed + epoch)
        for (x, y), index in zip(loader, _batches_of(sampler, per_rank), strict=True):
            optimizer.zero_grad()
            loss = F.cross_entropy(ddp(x), y)  # the mean over this rank's B/N examples
            loss.backward()  # DDP's hooks all-reduce each bucket of gradients and divide by N
            optimizer.step()  # the same averaged gradient on every rank: the same step
            weights.append(flat_weights(model))
            losses.append(loss.item())
            seen.append(index)
            if len(losses) == cfg["steps"]:
                break
        epoch += 1
    return {"rank": rank, "losses": losses, "indices": seen, "weights": torch.stack(weights)}


def train_by_hand(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any],
                  average: bool = True) -> dict[str, Any]:
    """No DDP: the same loop with each gradient all-reduced (SUM) and divided by N by hand."""
    model = mlp(dtype=torch.float64)
    model.load_state_dict(data["init"])  # every rank starts from the same weights (DDP would broadcast them)
    dataset = _dataset(data)
    sampler = DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True,
                                 seed=cfg["seed"], drop_last=True)
    per_rank = cfg["batch_size"] // world_size
    loader = DataLoader(dataset, batch_size=per_rank, sampler=sampler, drop_last=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=cfg["lr"])
    weights, losses = [flat_weights(model)], []
    epoch = 0
    while len(losses) < cfg["steps"]:
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()  # each rank: the gradient of its own shard
            if average:
                for p in model.parameters():
                    dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)  # the sum over ranks...
                    p.grad /= world_size  # ...divided by N: the mean, the full batch's gradient
            optimizer.step()
            weights.append(flat_weights(model))
            losses.append(loss.item())
            if len(losses) == cfg["steps"]:
                break
        epoch += 1
    return {"rank": rank, "losses": losses, "weights": torch.stack(weights)}


def _batches_of(sampler: DistributedSampler, size: int) -> list[list[int]]:
    """The example indices of each batch the sampler's order gives (the DataLoader takes them in this order)."""
    order = list(sampler)
    return [order[k:k + size] for k in range(0, len(order) - size + 1, size)]


def time_allreduce(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """all_reduce time against message size: warm-up, repeats of a fixed number of calls, median, IQR and minimum.

    labkit.bench's recipe, agreed between ranks: every rank must make the same calls, so after the
    warm-up the ranks agree (all_reduce MAX) on how many calls fill ``target_s`` seconds per repeat.
    (labkit.bench.measure would choose that count from each rank's own times: they differ, and a
    rank left waiting in a collective its peers never call would hang.)
    """
    medians, iqrs, minima, numbers = [], [], [], []
    for nbytes in cfg["sizes"]:
        t = torch.ones(max(1, nbytes // 4), dtype=torch.float32)
        warm = []
        for _ in range(cfg["warmup"]):  # first calls pay for connection set-up and buffers
            start = time.perf_counter()
            dist.all_reduce(t)
            warm.append(time.perf_counter() - start)
        typical = torch.tensor([sorted(warm)[len(warm) // 2]], dtype=torch.float64)  # the median warm-up call
        dist.all_reduce(typical, op=dist.ReduceOp.MAX)  # the same count on every rank
        number = int(min(100, max(5, cfg["target_s"] / float(typical))))
        times = []
        for _ in range(cfg["repeats"]):
            dist.barrier()  # start together, so one rank's lateness is not timed as the collective
            start = time.perf_counter()
            for _ in range(number):
                dist.all_reduce(t)
            times.append((time.perf_counter() - start) / number)
        q = torch.tensor(times, dtype=torch.float64).quantile(torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64))
        medians.append(float(q[1]))
        iqrs.append(float(q[2] - q[0]))
        minima.append(min(times))  # the repeat least disturbed by the other programs on this machine
        numbers.append(number)
    return {"rank": rank, "nbytes": [max(1, n // 4) * 4 for n in cfg["sizes"]], "median_s": medians,
            "iqr_s": iqrs, "min_s": minima, "number": numbers, "repeats": cfg["repeats"], "warmup": cfg["warmup"]}


def fail(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """A worker that raises on purpose: the last rank, after one all_reduce; the others wait at a barrier."""
    t = torch.ones(1)
    dist.all_reduce(t)
    if rank == world_size - 1:
        raise RuntimeError("this rank found a batch it cannot use (a failure on purpose)")
    dist.barrier()  # never completes: the last rank is gone; the launcher stops this rank
    return {"rank": rank}


def train_without_allreduce(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The source's first mistake: the hand-written loop with nothing averaged; each rank steps on its own shard."""
    return train_by_hand(rank, world_size, data, cfg, average=False)


def train_without_sharding(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The source's second mistake: DDP, but every rank reads the same examples."""
    return train_ddp(rank, world_size, data, cfg, shard=False)


TASKS: dict[str, Callable[..., dict[str, Any]]] = {
    "collectives": collectives,
    "ddp": train_ddp,
    "by_hand": train_by_hand,
    "no_sync": train_without_allreduce,
    "no_shard": train_without_sharding,
    "allreduce_timing": time_allreduce,
    "fail": fail,
}


def launch(tasks: Sequence[str], world_size: int, folder: str | Path,
           **options: Any) -> dict[str, list[dict[str, Any]]]:
    """Run some of this lesson's ``TASKS`` on ``world_size`` processes with ``labkit.processes.launch``."""
    unknown = [t for t in tasks if t not in TASKS]
    if unknown or not tasks:
        raise ParameterError(f"tasks = {list(tasks)!r} is not allowed: must be some of {', '.join(TASKS)}")
    preload = ["torch._dynamo"] if {"ddp", "no_shard"} & set(tasks) else []  # DDP imports it when it is built
    return processes.launch({t: f"{__name__}:{TASKS[t].__name__}" for t in tasks}, world_size, folder,
                            preload=preload, **options)


# ---- scripts: run as torchrun runs them ---------------------------------------------------------


def hello_script(cfg: dict[str, Any]) -> None:
    """The smallest torchrun-style script: join by env://, all-reduce (rank + 1), rank 0 writes the sum, leave."""
    import torch
    import torch.distributed as dist

    dist.init_process_group("gloo")  # env://: RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT say how to join
    total = torch.tensor([dist.get_rank() + 1.0])
    dist.all_reduce(total)
    if dist.get_rank() == 0:  # one rank writes: N ranks writing the same file would race
        torch.save({"sum": total, "world_size": dist.get_world_size()}, cfg["out"])
    dist.destroy_process_group()


def run_script(fn: Callable[[dict[str, Any]], None], world_size: int, folder: str | Path,
               cfg: dict[str, Any], *, timeout_s: float = 120.0) -> list[dict[str, Any]]:
    """Write ``fn``'s source (a function defined in the notebook) to FOLDER/script.py and launch it as torchrun would.

    The function runs in other processes, which see none of the notebook's names: it must import
    what it uses inside itself. Returns launch_script's report per rank.
    """
    try:
        source = textwrap.dedent(inspect.getsource(fn))
    except (OSError, TypeError) as err:
        raise ParameterError(f"fn = {fn!r} is not allowed: its source cannot be read ({err})") from None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "script.py"
    script.write_text(f"from __future__ import annotations  # the annotations stay text: the names need no import\n\n\n"
                      f"{source}\n\nif __name__ == \"__main__\":  # torchrun --standalone --nproc-per-node N script.py "
                      f"CFG_JSON\n    import json\n    import sys\n\n    {fn.__name__}(json.loads(sys.argv[1]))\n")
    return processes.launch_script(f"{script}:{fn.__name__}", world_size, folder, cfg, timeout_s=timeout_s,
                                   preload=["labkit.data", "labkit.models", "torch._dynamo"])


def one_process_reference(cfg: dict[str, Any], world_size: int, *, set_epoch: bool = True) -> dict[str, torch.Tensor]:
    """The weights exercise 1's script must reach: one process, global batch B, DistributedSampler's order.

    DistributedSampler (shuffle, drop_last) takes each epoch's permutation (seeded seed + epoch;
    seed alone when ``set_epoch`` is False, the mistake of never calling it), cut to a multiple of
    world_size; with batch B/N per rank, step k of the N ranks together covers positions k·B to
    (k+1)·B − 1 of it. ``cfg``: seed, epochs, batch_size, lr, optimizer ('sgd' with momentum 0.9
    or 'adam').
    """
    from labkit.data import digits

    data = digits(cfg["seed"])
    x, y = data.x_train.double(), data.y_train
    model = mlp(seed=cfg["seed"], dtype=torch.float64)
    optimizer = make_optimizer(model, cfg)
    per_rank = len(x) // world_size  # drop_last: every rank the same number of examples
    per_rank_batch = cfg["batch_size"] // world_size
    for epoch in range(cfg["epochs"]):
        g = torch.Generator().manual_seed(cfg["seed"] + (epoch if set_epoch else 0))
        order = torch.randperm(len(x), generator=g)[: per_rank * world_size]
        for k in range(per_rank // per_rank_batch):
            chosen = order[k * cfg["batch_size"]:(k + 1) * cfg["batch_size"]]
            optimizer.zero_grad()
            F.cross_entropy(model(x[chosen]), y[chosen]).backward()
            optimizer.step()
    return model.state_dict()


def make_optimizer(model: nn.Module, cfg: dict[str, Any]) -> torch.optim.Optimizer:
    """SGD with momentum 0.9 for cfg['optimizer'] == 'sgd', Adam for 'adam', at cfg['lr']."""
    if cfg["optimizer"] == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=0.9)
    if cfg["optimizer"] == "adam":
        return torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    raise ParameterError(f"optimizer = {cfg['optimizer']!r} is not allowed: must be 'sgd' or 'adam'")


# ---- texts ---------------------------------------------------------------------------------------


def si(value: float, unit: str = "") -> str:
    """1.5e9 → '1.5 G' + unit: three significant figures with an SI prefix."""
    for prefix, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0), ("m", 1e-3), ("µ", 1e-6),
                          ("n", 1e-9)):
        if abs(value) >= scale or prefix == "n":
            return f"{value / scale:.3g} {prefix}{unit}"
    raise AssertionError("unreachable")


def duration(seconds: float) -> str:
    """Seconds in the unit that reads best: '250 µs', '1.5 s', '3.2 h', '13 years'."""
    if seconds == 0:
        return "0 s"
    scale, unit = _time_unit(seconds)
    return f"{seconds / scale:.3g} {unit}"


def count_words(count: float) -> str:
    """70e9 → '70 billion', 1.5e6 → '1.5 million', 9610 → '9,610': a parameter count as one reads it."""
    for word, scale in (("trillion", 1e12), ("billion", 1e9), ("million", 1e6)):
        if count >= scale:
            return f"{count / scale:.3g} {word}"
    return f"{count:,.0f}"


def scaling_text(n: int, parameters: float, batch: float, link_gbps: float, flops_per_s: float,
                 latency_s: float, *, step_seconds: StepModel, scaling_efficiency: Callable[..., float],
                 compute: str = "") -> str:
    """One line from the notebook's step-time model: the step on n workers, its efficiency, when to stop adding."""
    model = (parameters, batch, flops_per_s, link_gbps * 1e9, latency_s)
    step_c, step_m = step_seconds(n, *model)
    eff = scaling_efficiency(n, *model)
    n80 = workers_at_efficiency(0.8, scaling_efficiency, *model)
    best = fastest_workers(step_seconds, *model)
    thin = " (fewer than one example per worker: not possible in practice)" if n > batch else ""
    return (f"prediction for {n:,} worker(s){thin}, {count_words(parameters)} parameters, batch {batch:,}, "
            f"link {link_gbps:,.4g} GB/s, compute {si(flops_per_s, 'FLOP/s')}{' [' + compute + ']' if compute else ''}"
            f": step {duration(step_c + step_m)} = compute {duration(step_c)} + communication {duration(step_m)}; "
            f"speed-up {n * eff:.3g}×, efficiency {eff:.0%}; efficiency ≥ 80% up to "
            f"{n80:,}{'+' if n80 == 1024 else ''} workers; fastest step at {best:,} workers")


# ---- figures -----------------------------------------------------------------------------------

FLOOR = 1e-18  # where an exact 0 is drawn on a log axis


def proof_figure(versus_one: dict[str, Sequence[float]], between_ranks: dict[str, Sequence[float]]):
    """Per step: the largest weight difference from one process with batch B (left) and between ranks (right)."""
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=12, height=4.2)
    # lines that coincide stay visible: big hollow markers under small filled ones, solid under dashed
    styles = {"DDP": dict(color="tab:blue", marker="o", markersize=9, markerfacecolor="none", linewidth=3),
              "by hand": dict(color="tab:green", marker="x", markersize=6, linestyle="--", linewidth=1.5),
              "no all-reduce": dict(color="tab:red", marker="s", markersize=9, markerfacecolor="none",
                                    linewidth=3),
              "no sharding": dict(color="tab:orange", marker="^", markersize=5, linestyle="--", linewidth=1.5)}
    for ax, curves, title in ((left, versus_one, "against one process with batch B"),
                              (right, between_ranks, "between the ranks")):
        for label, values in curves.items():
            style = next((v for k, v in styles.items() if label.startswith(k)), {"color": "gray"})
            shown = [max(v, FLOOR) for v in values]
            ax.semilogy(range(len(shown)), shown, label=label, **style)
        ax.set(xlabel="training step", title=f"largest weight difference {title}", ylim=(FLOOR / 3, 1))
        ax.axhline(1e-12, color="gray", linestyle=":", linewidth=1)
        ax.legend(fontsize=8, loc="center right")
    left.set_ylabel("max |Δθ| (an exact 0 drawn at 1e-18)")
    right.set_ylabel("max |θ_rank − θ_rank 0|")
    left.text(0, 2e-12, "float64 tolerance 1e-12", fontsize=8, color="gray")
    return fig


def alpha_beta_figure(nbytes: Sequence[float], medians: Sequence[float], iqrs: Sequence[float], latency: float,
                      bandwidth: float, world_size: int, minima: Sequence[float] | None = None):
    """Measured all_reduce time against message size (log-log, IQR bars, minima) with the fitted t = α + S/β."""
    from labkit.plot import figure

    fig, ax = figure(width=7.5, height=4.3)
    ax.errorbar(nbytes, medians, yerr=[[i / 2 for i in iqrs], [i / 2 for i in iqrs]], fmt="o", color="tab:blue",
                capsize=3, label=f"measured: median of repeats, IQR bars ({world_size} process(es))")
    if minima is not None:
        ax.loglog(nbytes, minima, "v", color="tab:green", label="measured: fastest repeat (the fit's points)")
    sizes = torch.logspace(math.log10(min(nbytes)), math.log10(max(nbytes)), 100, dtype=torch.float64)
    fitted = latency + sizes / bandwidth
    ax.loglog(sizes, fitted, color="black", label=f"fit: t = {si(latency, 's')} + S / ({si(bandwidth, 'B/s')})")
    ax.axhline(latency, color="gray", linestyle=":", linewidth=1.2, label="α: latency, paid by every call")
    if math.isfinite(bandwidth):
        ax.loglog(sizes, sizes / bandwidth, color="gray", linestyle="--", linewidth=1.2,
                  label="S / β: the bytes' time")
    ax.set(xlabel="message size S (bytes, log scale)", ylabel="time per all_reduce (s, log scale)",
           title="all_reduce over gloo on loopback (measured)")
    ax.set_ylim(min([*medians, *(minima or [])]) / 4, max(max(medians), float(fitted[-1])) * 3)
    ax.legend(fontsize=8, loc="upper left")
    return fig


def overlap_figure(layers: int = 8, backward_s: float = 1.0, latency_s: float = 1.0, per_layer_s: float = 0.5,
                   buckets: Sequence[int | str | None] = (BY_HAND, None, 1, 3)):
    """Schematic timelines of one backward pass and its all-reduces: after the pass, per layer, in buckets."""
    from labkit.plot import figure

    fig, ax = figure(width=11, height=0.9 + 1.1 * len(buckets))
    ticks, names = [], []
    for row, bucket in enumerate(buckets):
        backward, messages, end = bucket_schedule(layers, backward_s, latency_s, per_layer_s, bucket)
        y = 2.6 * (len(buckets) - 1 - row)
        ax.broken_barh(backward, (y + 1.1, 0.8), facecolors=["tab:blue" if i % 2 else "#7fb2dc"
                                                            for i in range(layers)])
        ax.broken_barh(messages, (y + 0.1, 0.8), facecolors="tab:orange", edgecolors="white")
        ax.plot([end, end], [y, y + 2.0], color="black", linewidth=2)
        ax.text(end + 0.15, y + 1.0, f"step ends at {end:g}", va="center", fontsize=9)
        name = ("by hand: each layer after backward" if bucket == BY_HAND
                else "one all-reduce after backward" if bucket is None
                else "every layer sent when ready" if bucket == 1 else f"buckets of {bucket} layers (DDP)")
        ticks += [y + 1.5, y + 0.5]
        names += [f"{name}: backward", "all-reduce"]
    ax.set_yticks(ticks, names, fontsize=9)
    ax.set_xlim(0, max(bucket_schedule(layers, backward_s, latency_s, per_layer_s, b)[2] for b in buckets) + 3)
    ax.set_xlabel(f"time (units: one layer's backward = {backward_s:g}; a message costs {latency_s:g} "
                  f"+ {per_layer_s:g} per layer)")
    ax.set_title(f"schematic: {layers} layers, gradients ready last layer first; orange = all-reduce")
    ax.grid(axis="y", visible=False)
    return fig


def _workers_axis(ax) -> None:
    ax.set_xscale("log", base=2)
    ax.set_xticks([1, 4, 16, 64, 256, 1024], ["1", "4", "16", "64", "256", "1024"])
    ax.set_xlabel("workers N (log scale)")


def scaling_figure(ns: Sequence[int], spec_curves: dict[str, Sequence[float]],
                   measured_curves: dict[str, Sequence[float]], batch: float):
    """Predicted efficiency against workers: specification links (left), the link measured here (right).

    Left, one color per link: solid with a GPU's compute, dashed with this machine's.
    """
    from labkit.plot import figure

    fig, (left, right) = figure(2, width=13, height=4.6)
    palette = ["tab:blue", "tab:purple", "tab:red", "tab:green", "tab:brown", "tab:orange"]
    links = list(dict.fromkeys(label.split(", compute")[0] for label in spec_curves))
    drawn: list[tuple[Sequence[float], list[str], str, str]] = []  # curves that coincide are drawn once
    for label, values in spec_curves.items():
        color = palette[links.index(label.split(", compute")[0]) % len(palette)]
        style = "--" if "this machine" in label else "-"
        same = next((d for d in drawn if d[2] == style and max(abs(a - b) for a, b in zip(d[0], values,
                                                                                          strict=True)) < 1e-3), None)
        if same:
            same[1].append(label)
        else:
            drawn.append((values, [label], style, color))
    for values, names, style, color in drawn:
        if len(names) == 1:
            label = names[0]
        else:
            links_named = ", ".join(name.split(", compute")[0] for name in names)
            label = f"{links_named}, compute{names[0].split(', compute')[1]} ({len(names)} curves, the same)"
            color = "black"
        left.plot(ns, values, style, color=color, marker=".", label=label)
    for (label, values), color in zip(measured_curves.items(), palette, strict=False):
        right.plot(ns, values, "-", color=color, marker=".", label=label)
    for ax in (left, right):
        _workers_axis(ax)
        ax.axhline(0.8, color="gray", linestyle=":", linewidth=1.2)
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize=8, loc="lower left")
    left.text(ns[0], 0.82, "80%", color="gray", fontsize=8)
    if any("this machine" in label for label in spec_curves):
        left.text(ns[-1], 1.01, "dashed: this machine's compute, every link", ha="right", va="bottom", fontsize=8)
    left.set_ylabel("scaling efficiency T(1) / (N·T(N))")
    left.set_title(f"prediction: links from specifications (latency 0), batch {batch:,.0f}", fontsize=10)
    right.set_title(f"prediction: compute and gloo link measured here, batch {batch:,.0f}", fontsize=10)
    return fig


def memory_figure(parameters: float, ns: Sequence[int], gpus: Sequence[tuple[str, float]]):
    """Training-state gigabytes per GPU under each strategy, for each n, against GPU memory (specifications)."""
    from labkit.plot import figure

    fig, ax = figure(width=11, height=4.4)
    width = 0.8 / len(ns)
    for j, n in enumerate(ns):
        values = [bytes_per_gpu(parameters, n, s) / 1e9 for s in STRATEGIES]
        bars = ax.bar([i + (j - (len(ns) - 1) / 2) * width for i in range(len(STRATEGIES))], values, width,
                      label=f"{n} GPUs", color=["tab:blue", "tab:cyan", "tab:olive"][j % 3])
        ax.bar_label(bars, fmt="%.0f", fontsize=7, padding=1)
    by_memory: dict[float, list[str]] = {}
    for name, gib in gpus:
        by_memory.setdefault(gib, []).append(name.replace("NVIDIA ", ""))
    for (gib, names), style in zip(sorted(by_memory.items(), reverse=True), ["--", ":", "-."], strict=False):
        ax.axhline(gib * 2**30 / 1e9, color="black", linestyle=style, linewidth=1.2,
                   label=f"{', '.join(names)}: {gib:g} GiB = {gib * 2**30 / 1e9:.0f} GB (specification)")
    ax.set_xticks(range(len(STRATEGIES)), [s.split(":")[0] for s in STRATEGIES.values()], fontsize=9)
    ax.set_ylabel("GB per GPU (weights, gradients, Adam)")
    ax.set_title(f"a {count_words(parameters)}-parameter model, mixed-precision Adam (16 bytes per parameter)")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def scaling_explorer_figure(n: int, parameters: float, batch: float, link_gbps: float, flops_per_s: float,
                            latency_s: float, *, step_seconds: StepModel, scaling_efficiency: Callable[..., float]):
    """Stacked compute and communication time for n/4 … 4n workers (left); efficiency for 1 … 1024 (right)."""
    from labkit.plot import figure

    model = (parameters, batch, flops_per_s, link_gbps * 1e9, latency_s)
    fig, (left, right) = figure(2, width=12, height=4.3)
    around = [m for m in (n // 4, n // 2, n, 2 * n, 4 * n) if m >= 1 and m * 4 >= n]
    parts = [step_seconds(m, *model) for m in around]
    scale, unit = _time_unit(max(c + m for c, m in parts))
    xs = list(range(len(around)))
    left.bar(xs, [c / scale for c, _ in parts], color="tab:blue", label="compute")
    left.bar(xs, [m / scale for _, m in parts], bottom=[c / scale for c, _ in parts], color="tab:orange",
             label="communication (ring all-reduce)")
    top = max(c + m for c, m in parts) / scale
    for x, (c, m) in zip(xs, parts, strict=True):
        left.text(x, (c + m) / scale + 0.02 * top, f"{_percent(m / (c + m))} comm.", ha="center", fontsize=8)
    chosen = around.index(n)
    left.set_xticks(xs, [f"{m:,}" + (" (chosen)" if m == n else "") for m in around])
    left.set(xlabel="workers", ylabel=f"predicted step time ({unit})", title="one step: compute + communication")
    left.set_ylim(0, top * 1.25)
    left.patches[chosen].set_edgecolor("black")
    left.patches[len(around) + chosen].set_edgecolor("black")
    left.legend(fontsize=8, loc="upper right")
    ns = [2**k for k in range(11)]
    eff = [scaling_efficiency(m, *model) for m in ns]
    right.plot(ns, eff, marker=".", color="tab:blue")
    right.plot([n], [scaling_efficiency(n, *model)], "o",
               color="tab:red", markersize=9, label=f"chosen: {n:,} worker(s)")
    right.axhline(0.8, color="gray", linestyle=":", linewidth=1.2, label="80%")
    _workers_axis(right)
    right.set(ylabel="scaling efficiency", ylim=(0, 1.05), title="prediction: efficiency, 1 … 1024 workers")
    right.legend(fontsize=8, loc="best")
    return fig


def _time_unit(seconds: float) -> tuple[float, str]:
    for scale, unit in ((3.156e7, "years"), (86400.0, "days"), (3600.0, "h"), (60.0, "min"), (1.0, "s"),
                        (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return scale, unit
    return 1e-9, "ns"


def _percent(share: float) -> str:
    """0.2234 → '22%', 0.0123 → '1.2%', 1e-9 → '< 0.001%'."""
    p = 100 * share
    return f"{p:.0f}%" if p >= 10 else f"{p:.2g}%" if p >= 1e-3 else "< 0.001%"


# ---- explorer ----------------------------------------------------------------------------------

WORKER_CHOICES = [2**k for k in range(11)]
BATCH_CHOICES = [2**k for k in range(4, 23)]


def scaling_explorer(computes: dict[str, float], latency_s: float, *, step_seconds: StepModel,
                     scaling_efficiency: Callable[..., float], workers: int = 8, parameters: float = 1e9,
                     batch: int = 2**20, link_gbps: float = 31.5, compute: str | None = None) -> None:
    """Sliders for workers, model size, batch and link bandwidth, a compute menu: the predicted step and efficiency.

    ``computes`` maps a name ('this machine (measured)', an H100's specification...) to FLOP/s per worker;
    ``step_seconds`` and ``scaling_efficiency`` are the notebook's step-time model, which the explorer draws.
    """
    compute = compute or next(iter(computes))
    model = {"step_seconds": step_seconds, "scaling_efficiency": scaling_efficiency}

    def render(workers: int, parameters: float, batch: int, link_gbps: float, compute: str):
        flops = computes[compute]
        text = scaling_text(workers, parameters, batch, link_gbps, flops, latency_s, compute=compute, **model)
        return text, scaling_explorer_figure(workers, parameters, batch, link_gbps, flops, latency_s, **model)

    explorer(
        lambda w: [
            [("workers", w.SelectionSlider(options=WORKER_CHOICES, value=workers, description="workers",
                                           continuous_update=False)),
             ("parameters", w.FloatLogSlider(value=parameters, base=10, min=4, max=11, step=0.25,
                                             description="parameters", continuous_update=False,
                                             readout_format=".2g"))],
            [("batch", w.SelectionSlider(options=BATCH_CHOICES, value=batch, description="batch",
                                         continuous_update=False)),
             ("link_gbps", w.FloatLogSlider(value=link_gbps, base=10, min=0, max=3, step=0.05,
                                            description="link GB/s", continuous_update=False,
                                            readout_format=".3g"))],
            [("compute", w.Dropdown(options=list(computes), value=compute, description="compute"))],
        ],
        render,
        workers=workers, parameters=parameters, batch=batch, link_gbps=link_gbps, compute=compute,
    )

