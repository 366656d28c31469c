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
