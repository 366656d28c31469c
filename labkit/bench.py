"""Correct timing: warm-up, synchronize, repeat, report median and spread; throughput arithmetic.

``measure`` follows PyTorch's benchmark recipe and is built on ``torch.utils.benchmark.Timer``:
the timer clock waits for the device (CUDA, MPS) at the start and end of each block of calls,
so queued GPU work is counted; a warm-up runs first; blocks repeat until ``min_run_time``
seconds have been spent; the result is the median time per call and the interquartile range.
"""

from __future__ import annotations

import math
import platform
import sys
import timeit
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch

from labkit.device import synchronize


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
    versions: dict[str, str] = field(default_factory=dict)

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


def versions(device: str | torch.device = "cpu") -> dict[str, str]:
    """Library versions and hardware that a timing depends on."""
    import labkit

    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "labkit": labkit.__version__,
        "platform": platform.platform(),
        "cpu": cpu_name(),
    }
    device = torch.device(device)
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = str(torch.version.cuda)
    return info


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


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
        raise ValueError(
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
        versions=versions(device),
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


def crossover(ns: Sequence[int], t_a: Sequence[float], t_b: Sequence[float]) -> int | None:
    """Smallest n from which B is faster than A at that size and every larger one; None if never."""
    pairs = sorted(zip(ns, t_a, t_b, strict=True))
    found = None
    for n, a, b in reversed(pairs):
        if b < a:
            found = n
        else:
            break
    return found


def roofline(intensity: float, peak_gflops: float, bandwidth_gbps: float) -> float:
    """Attainable GFLOP/s at an arithmetic intensity: min(peak, intensity × bandwidth)."""
    return min(peak_gflops, intensity * bandwidth_gbps)


# ---- peak estimates --------------------------------------------------------------------------


def cpu_flags() -> set[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where there is no such file)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_clock_ghz() -> float | None:
    """The clock /proc/cpuinfo reports, in GHz (in a VM often the base clock, not the boost)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu MHz"):
                    return float(line.split(":", 1)[1]) / 1000
    except (OSError, ValueError):
        pass
    return None


def fp32_flops_per_cycle(flags: set[str], vendor_amd: bool = False) -> int:
    """Peak float32 FLOPs per cycle per core from the vector extensions: lanes × 2 (FMA) × FMA units.

    AVX-512 on Intel server cores: 16 lanes × 2 × 2 units = 64. AMD Zen 4 runs AVX-512 on 256-bit
    units, so it stays at AVX2's 8 lanes × 2 × 2 = 32. AVX without FMA: 8 lanes × 2 ops = 16.
    """
    if "avx512f" in flags and not vendor_amd:
        return 64
    if "avx2" in flags and "fma" in flags:
        return 32
    if "avx" in flags:
        return 16
    return 8


def cpu_peak(threads: int | None = None) -> dict[str, Any]:
    """Estimated float32 peak of this CPU: cores × clock × FLOPs per cycle, with the reasoning."""
    flags = cpu_flags()
    name = cpu_name()
    threads = torch.get_num_threads() if threads is None else threads
    ghz = cpu_clock_ghz()
    per_cycle = fp32_flops_per_cycle(flags, vendor_amd="AMD" in name.upper())
    peak = threads * ghz * per_cycle if ghz else None
    how = (
        f"{threads} core(s) × {ghz:.2f} GHz × {per_cycle} FLOP/cycle (float32 FMA, from the CPU flags)"
        if ghz
        else "unknown: /proc/cpuinfo gives no clock here"
    )
    return {
        "cpu": name,
        "threads": threads,
        "ghz": ghz,
        "flops_per_cycle": per_cycle,
        "peak_gflops": peak,
        "how": how,
        "amx": any(f.startswith("amx") for f in flags),
        "avx512_bf16": "avx512_bf16" in flags,
    }


# CUDA cores (float32 FMA lanes) per SM by compute capability; from NVIDIA's CUDA programming guide.
_CORES_PER_SM = {(6, 0): 64, (6, 1): 128, (7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128,
                 (8, 9): 128, (9, 0): 128, (10, 0): 128, (12, 0): 128}


def gpu_peak(device: str | torch.device = "cuda") -> dict[str, Any] | None:
    """Estimated float32 (non-tensor-core) peak of a CUDA GPU: SMs × cores/SM × 2 × clock; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    device = torch.device(device)
    props = torch.cuda.get_device_properties(device)
    cc = (props.major, props.minor)
    cores = _CORES_PER_SM.get(cc)
    clock_khz = getattr(props, "clock_rate", None)
    if clock_khz is None:
        try:
            clock_khz = torch.cuda.clock_rate(device) * 1000  # MHz → kHz
        except (RuntimeError, AttributeError):  # the clock is optional information
            clock_khz = None
    peak = props.multi_processor_count * cores * 2 * clock_khz / 1e6 if cores and clock_khz else None
    how = (
        f"{props.multi_processor_count} SMs × {cores} cores/SM × 2 (FMA) × {clock_khz / 1e6:.2f} GHz"
        if peak
        else f"unknown for compute capability {cc[0]}.{cc[1]} (no clock or core count known)"
    )
    return {"gpu": props.name, "capability": f"{cc[0]}.{cc[1]}", "sms": props.multi_processor_count,
            "memory_gib": round(props.total_memory / 2**30, 1), "peak_gflops": peak, "how": how}
