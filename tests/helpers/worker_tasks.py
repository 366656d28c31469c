"""Tasks for labkit.processes.launch in the tests: each a function (rank, world_size, data, cfg) -> dict.

The launcher imports this file by its path ('.../worker_tasks.py:name'), as a notebook's own
task file would be.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist

FILE = Path(__file__).resolve()


def ref(name: str) -> str:
    """The task reference of one of this file's functions."""
    return f"{FILE}:{name}"


def summed(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Every rank all-reduces (rank + 1) and its share of the data: the sum comes back to all of them."""
    t = torch.tensor([rank + 1.0])
    dist.all_reduce(t)
    mine = data["x"][rank::world_size].sum() if data else torch.tensor(0.0)
    dist.all_reduce(mine)
    return {"rank": rank, "sum": t.item(), "data_sum": mine.item(), "greeting": cfg.get("greeting"),
            "weights": torch.full((2,), float(rank))}


def fail(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """The last rank raises after one all_reduce; the others wait at a barrier that never completes."""
    dist.all_reduce(torch.ones(1))
    if rank == world_size - 1:
        raise RuntimeError("failing on purpose")
    dist.barrier()
    return {"rank": rank}


def hang(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Rank 0 waits in an all_reduce the others never call."""
    if rank == 0:
        dist.all_reduce(torch.ones(1))
    else:
        time.sleep(3600)
    return {"rank": rank}


def sleep(rank: int, world_size: int, data: dict[str, Any], cfg: dict[str, Any]) -> dict[str, Any]:
    """Every rank sleeps without a collective: only the launch's time limit stops them."""
    time.sleep(3600)
    return {"rank": rank}


NOT_A_FUNCTION = 3


# ---- entry functions for launch_script: a whole script, as torchrun runs one -------------------


def script_allreduce(cfg: dict[str, Any]) -> None:
    """Join over env://, all-reduce (rank + 1), and write the sum on rank 0 only; leave the group if told to."""
    import os

    dist.init_process_group("gloo")
    t = torch.tensor([dist.get_rank() + 1.0])
    dist.all_reduce(t)
    if dist.get_rank() == 0:
        Path(cfg["out"]).write_text(f"{t.item():g} {os.environ['WORLD_SIZE']}")
    if cfg.get("destroy", True):
        dist.destroy_process_group()


def script_raises(cfg: dict[str, Any]) -> None:
    """Join, then fail on the last rank."""
    dist.init_process_group("gloo")
    if dist.get_rank() == dist.get_world_size() - 1:
        raise ValueError("this script found nothing to train on")
    dist.barrier()


def script_ddp(cfg: dict[str, Any]) -> None:
    """Exercise 1 of lesson 08 solved with DistributedDataParallel (the notebook's answer averages by hand)."""
    import torch.nn.functional as F
    from torch.nn.parallel import DistributedDataParallel
    from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

    from labkit.data import digits
    from labkit.lessons.parallel import make_optimizer
    from labkit.models import mlp

    dist.init_process_group("gloo")
    data = digits(cfg["seed"])
    dataset = TensorDataset(data.x_train.double(), data.y_train)
    sampler = DistributedSampler(dataset, shuffle=True, seed=cfg["seed"], drop_last=True)
    loader = DataLoader(dataset, batch_size=cfg["batch_size"] // dist.get_world_size(), sampler=sampler,
                        drop_last=True)
    model = DistributedDataParallel(mlp(seed=cfg["seed"], dtype=torch.float64))
    optimizer = make_optimizer(model, cfg)
    for epoch in range(cfg["epochs"]):
        sampler.set_epoch(epoch)
        for x, y in loader:
            optimizer.zero_grad()
            F.cross_entropy(model(x), y).backward()
            optimizer.step()
    if dist.get_rank() == 0:
        torch.save(model.module.state_dict(), cfg["out"])
    dist.destroy_process_group()
