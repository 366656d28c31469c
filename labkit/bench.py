"""Correct timing (warm-up, synchronize, repeats, median, spread) with the FLOP/byte arithmetic of throughput.

``measure`` follows PyTorch's benchmark recipe and is built on ``torch.utils.benchmark.Timer``:
the timer clock waits for the device (CUDA, MPS) at the start and end of each block of calls,
so queued GPU work is counted; a warm-up runs first; blocks repeat until ``min_run_time``
seconds have been spent; the result is the median time per call and the interquartile range.
"""

from __future__ import annotations

import math
import timeit
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from labkit.device import synchronize
from labkit.errors import ParameterError
from labkit.machine import environment


@dataclass
class Measurement:
    """One timed workload: seconds per call (median and IQR) and everything needed to reproduce it."""

    label: str
    device: str
    median: float
    iqr: float
    times: list[float]
    number: int
    threads: int
    dtype: str | None = None
    flops: float | None = None
    nbytes: float | None = None
    versions: dict[str, Any] = field(default_factory=dict)

    @property
    def gflops(self) -> float | None:
        """Achieved GFLOP/s at the median time (None when the FLOP count is unknown)."""
        return None if self.flops is None else gflops(self.flops, self.median)

    @property
    def gbps(self) -> float | None:
        """Achieved GB/s at the median time (None when the bytes moved are unknown)."""
        return None if self.nbytes is None else gbps(self.nbytes, self.median)

    @property
    def spread(self) -> float:
        """IQR relative to the median: 0.05 means the middle half of the runs lie within 5 %."""
        return self.iqr / self.median if self.median > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict, throughputs included."""
        out = asdict(self)
        out["gflops"], out["gbps"] = self.gflops, self.gbps
        return out

    def __str__(self) -> str:
        rate = f", {self.gflops:.1f} GFLOP/s" if self.flops else ""
        rate += f", {self.gbps:.1f} GB/s" if self.nbytes else ""
        return (
            f"{self.label}: median {format_seconds(self.median)} per call "
            f"(IQR {format_seconds(self.iqr)}, {len(self.times)} blocks × {self.number}){rate} "
            f"[{self.device}, {self.threads} thread(s){', ' + self.dtype if self.dtype else ''}]"
        )


def format_seconds(seconds: float) -> str:
    """0.00123 → '1.23 ms': three significant figures in a readable unit."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= scale or unit == "ns":
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError("unreachable")


def _synced_clock(device: torch.device) -> Callable[[], float]:
    def clock() -> float:
        synchronize(device)  # queued device work must finish before we read the clock
        return timeit.default_timer()

    return clock


def measure(
    fn: Callable[[], Any],
    *,
    device: str | torch.device = "cpu",
    label: str = "",
    threads: int | None = None,
    dtype: torch.dtype | str | None = None,
    flops: float | None = None,
    nbytes: float | None = None,
    warmup: int = 3,
    min_run_time: float = 0.2,
    min_blocks: int = 5,
) -> Measurement:
    """Time ``fn()`` on ``device``: warm up, then blocks of calls for ``min_run_time`` s; median and IQR per call.

    At least ``min_blocks`` blocks are timed, so the spread (IQR) is measured even for slow calls.
    """
    from torch.utils.benchmark import Measurement as TorchMeasurement
    from torch.utils.benchmark import Timer

    device = torch.device(device)
    threads = torch.get_num_threads() if threads is None else int(threads)
    if warmup < 0 or min_run_time <= 0 or threads < 1 or min_blocks < 1:
        raise ParameterError(
            "need warmup >= 0, min_run_time > 0, threads >= 1 and min_blocks >= 1; "
            f"got {warmup}, {min_run_time}, {threads}, {min_blocks}"
        )
    timer = Timer(
        stmt="fn()",
        globals={"fn": fn},
        timer=_synced_clock(device),
        num_threads=threads,
        label=label or getattr(fn, "__name__", "fn"),
    )
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        for _ in range(warmup):  # first calls pay for lazy init, allocation and caches
            fn()
        synchronize(device)
    finally:
        torch.set_num_threads(before)
    result = timer.blocked_autorange(min_run_time=min_run_time)
    number = result.number_per_run
    blocks = [result]
    while sum(len(b.times) for b in blocks) < min_blocks:
        blocks.append(timer.timeit(number))
    if len(blocks) > 1:
        result = TorchMeasurement.merge(blocks)[0]
    return Measurement(
        label=label or getattr(fn, "__name__", "fn"),
        device=str(device),
        median=float(result.median),
        iqr=float(result.iqr),
        times=[float(t) for t in result.times],
        number=int(number),
        threads=threads,
        dtype=str(dtype).replace("torch.", "") if dtype is not None else None,
        flops=flops,
        nbytes=nbytes,
        versions=environment(device),
    )


# ---- throughput arithmetic -------------------------------------------------------------------


def matmul_flops(n: int, m: int | None = None, k: int | None = None) -> int:
    """FLOPs of an (n×k) @ (k×m) matmul: n·m dot products of length k, each k multiplies and k adds = 2·n·m·k."""
    m = n if m is None else m
    k = n if k is None else k
    return 2 * n * m * k


def matmul_bytes(n: int, m: int | None = None, k: int | None = None, *, itemsize: int = 4) -> int:
    """Bytes a matmul must move at least: read A (n×k) and B (k×m), write C (n×m)."""
    m = n if m is None else m
    k = n if k is None else k
    return (n * k + k * m + n * m) * itemsize


def elementwise_bytes(numel: int, *, itemsize: int = 4, reads: int = 2, writes: int = 1) -> int:
    """Bytes an element-wise op moves: every element read ``reads`` times and written ``writes`` times."""
    return numel * itemsize * (reads + writes)


def arithmetic_intensity(flops: float, nbytes: float) -> float:
    """FLOPs per byte moved: the x-axis of a roofline."""
    return flops / nbytes


def gflops(flops: float, seconds: float) -> float:
    """Achieved GFLOP/s (10⁹ floating-point operations per second)."""
    return flops / seconds / 1e9


def gbps(nbytes: float, seconds: float) -> float:
    """Achieved GB/s (10⁹ bytes per second)."""
    return nbytes / seconds / 1e9


def speedup(t_slow: Sequence[float], t_fast: Sequence[float]) -> list[float]:
    """S = T_slow / T_fast, element by element (S > 1: the second is faster)."""
    return [a / b for a, b in zip(t_slow, t_fast, strict=True)]


def crossover(ns: Sequence[int], t_a: Sequence[float], t_b: Sequence[float],
              spread_a: Sequence[float] | None = None, spread_b: Sequence[float] | None = None) -> int | None:
    """Smallest n from which B is faster than A at that size and every larger one; None if never.

    With the measured spreads (IQRs), B counts as faster only where the two timings' middle halves
    do not overlap: ``t_b + spread_b/2 < t_a - spread_a/2``. A difference inside the noise is no
    crossover.
    """
    zero = [0.0] * len(ns)
    rows = sorted(zip(ns, t_a, t_b, spread_a or zero, spread_b or zero, strict=True))
    found = None
    for n, a, b, sa, sb in reversed(rows):
        if b + sb / 2 < a - sa / 2:
            found = n
        else:
            break
    return found


def roofline(intensity: float, peak_gflops: float, bandwidth_gbps: float) -> float:
    """Attainable GFLOP/s at an arithmetic intensity: min(peak, intensity × bandwidth)."""
    return min(peak_gflops, intensity * bandwidth_gbps)
