"""Correct timing (warm-up, synchronize, repeats, median, spread) with the FLOP/byte arithmetic of throughput.

``measure`` times one workload; ``compare`` (and ``compare_many``) is the one way the workbook
says that one workload is faster than another: interleaved rounds, a ratio with its spread, and
one rule (``verdict``) that says faster, slower or cannot tell.

A busy machine cannot fake a verdict. Where Linux reports it (``/proc/self/task/*/schedstat``),
every timed block also records how long this process's threads waited for a CPU while they were
ready to run. A block cannot have needed less than its wall time less all its threads' waits,
nor more than its wall time, so each round's ratio lies between two bounds. (Not one point even
for work on one thread: another program's turn on the CPU also empties the caches, which costs
time that is no wait.) A verdict stands only when every round's bound clears the tolerance;
otherwise it is "cannot tell" with the reason: the machine was busy, and this process got only
so much of the CPU time it asked for. On a quiet machine the waits are nil and the bounds are
the ratios. Elsewhere (macOS, Windows) the wait is not known and the rule reads the ratios alone.

``measure`` follows PyTorch's benchmark recipe and is built on ``torch.utils.benchmark.Timer``:
the timer clock waits for the device (CUDA, MPS) at the start and end of each block of calls,
so queued GPU work is counted; a warm-up runs first; blocks repeat until ``min_run_time``
seconds have been spent; the result is the median time per call and the interquartile range.
"""

from __future__ import annotations

import math
import os
import statistics
import timeit
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, NamedTuple

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
    # seconds this process's threads spent waiting for a CPU during each timed block (empty: not known here)
    waits: list[float] = field(default_factory=list)
    cpu_run: float | None = None  # seconds its threads ran on a CPU during the timed blocks (None: not known)

    @property
    def cpu_share(self) -> float | None:
        """The share of the CPU time it asked for that this process got while timed (1.0: none lost; None: unknown)."""
        return None if self.cpu_run is None or not self.waits else _share(self)

    @property
    def least(self) -> float:
        """The least time per call the blocks can have needed: the median of each block's time less all its waits."""
        if not self.waits:
            return self.median
        return statistics.median(max(0.0, t - w / self.number) for t, w in zip(self.times, self.waits, strict=True))

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
        rate = f", {format_rate(self.gflops)} GFLOP/s" if self.flops else ""
        rate += f", {format_rate(self.gbps)} GB/s" if self.nbytes else ""
        return (
            f"{self.label}: median {format_seconds(self.median)} per call "
            f"(IQR {format_seconds(self.iqr)}, {len(self.times)} blocks × {self.number}){rate} "
            f"[{self.device}, {self.threads} thread(s){', ' + self.dtype if self.dtype else ''}]"
        )


def format_rate(rate: float) -> str:
    """A throughput to three significant figures, never rounded to 0: '0.0443', '89.2', '1,664'."""
    if rate >= 100:
        return f"{rate:,.0f}"
    return f"{rate:.3g}"


def format_seconds(seconds: float) -> str:
    """0.00123 → '1.23 ms': three significant figures in a readable unit."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(float(f"{seconds:.3g}")) >= scale or unit == "ns":  # rounded first: 0.9996 ms is '1 ms', not '1e+03 µs'
            return f"{seconds / scale:.3g} {unit}"
    raise AssertionError("unreachable")


_SCHEDSTAT = "/proc/self/task"


class CpuAccount(NamedTuple):
    """Seconds on a CPU and seconds waiting for one, summed over this process's threads."""

    run: float
    wait: float


def cpu_time_and_wait() -> CpuAccount | None:
    """Seconds this process's threads have run on a CPU and waited for one, so far; None where not known.

    Linux keeps both per thread in ``/proc/self/task/<tid>/schedstat`` (nanoseconds on a CPU, then
    nanoseconds runnable but waiting in the run queue); the sums over the threads measure the share
    of the CPU the process got. A thread that sleeps or waits for a device is not runnable, so a
    sleep or a GPU kernel costs no wait: only other programs taking the CPU do.
    """
    try:
        tids = os.listdir(_SCHEDSTAT)
    except OSError:
        return None
    run = wait = 0
    for tid in tids:
        try:
            with open(f"{_SCHEDSTAT}/{tid}/schedstat", "rb") as f:
                fields = f.read().split()
        except OSError:  # the thread ended while we read
            continue
        run += int(fields[0])
        wait += int(fields[1])
    return CpuAccount(run / 1e9, wait / 1e9)


class _SyncedClock:
    """The timer's clock: waits for the device, and reads the CPU accounting just outside each block.

    ``timeit`` reads the clock twice per block (start, end); the accounting is read before the
    start and after the end, so every wait inside a block is counted (and little outside it).
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.marks: list[CpuAccount | None] = []  # cpu_time_and_wait() at each start and end

    def __call__(self) -> float:
        synchronize(self.device)  # queued device work must finish before we read the clock
        if len(self.marks) % 2 == 0:
            self.marks.append(cpu_time_and_wait())
            return timeit.default_timer()
        now = timeit.default_timer()
        self.marks.append(cpu_time_and_wait())
        return now

    def last_block(self) -> CpuAccount | None:
        """The CPU accounting of the last block timed; None where not known."""
        start, end = self.marks[-2:]
        if start is None or end is None:
            return None
        return CpuAccount(*(max(0.0, b - a) for a, b in zip(start, end, strict=True)))


def _timer(fn: Callable[[], Any], clock: _SyncedClock, threads: int, label: str):
    from torch.utils.benchmark import Timer

    return Timer(stmt="fn()", globals={"fn": fn}, timer=clock, num_threads=threads, label=label)


def _warm_up(fn: Callable[[], Any], device: torch.device, threads: int, calls: int) -> None:
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(threads)
        for _ in range(calls):  # first calls pay for lazy init, allocation and caches
            fn()
        synchronize(device)
    finally:
        torch.set_num_threads(before)


def block_size(fn: Callable[[], Any], target_s: float, *, device: str | torch.device = "cpu",
               threads: int | None = None, warmup: int = 3) -> int:
    """How many calls to ``fn()`` take about ``target_s`` seconds (at least one): one block's length.

    The per-call time is read from a probe block of at least a millisecond (powers of ten of calls),
    long against the clock's own cost of a microsecond or so; the block is then that time's share
    of ``target_s``, so that a block is long enough to time and short enough to repeat often. The
    probe that reached a millisecond is timed twice more and the fastest of the three kept: another
    program that takes the CPU during one probe must not make every later block of this side longer.
    """
    device = torch.device(device)
    threads = torch.get_num_threads() if threads is None else int(threads)
    if target_s <= 0 or threads < 1 or warmup < 0:
        raise ParameterError(f"need target_s > 0, threads >= 1 and warmup >= 0; got {target_s}, {threads}, {warmup}")
    _warm_up(fn, device, threads, warmup)
    timer = _timer(fn, _SyncedClock(device), threads, "block size")
    probe = 1
    while True:
        per_call = timer.timeit(probe).times[0]
        if per_call * probe >= min(1e-3, target_s) or probe >= 10**8:
            per_call = min([per_call] + [timer.timeit(probe).times[0] for _ in range(2)])
            return max(1, round(target_s / per_call))
        probe *= 10


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
    number: int | None = None,
) -> Measurement:
    """Time ``fn()`` on ``device``: warm up, then blocks of calls for ``min_run_time`` s; median and IQR per call.

    At least ``min_blocks`` blocks are timed, so the spread (IQR) is measured even for slow calls.
    ``number`` fixes the calls per block (``block_size`` finds one); by default torch's
    ``blocked_autorange`` chooses it, which makes each block at least about 10 ms long. With a
    fixed ``number``, each block's wait for a CPU is recorded too, where the system reports it
    (``cpu_time_and_wait``), so that a comparison can tell a slow workload from a busy machine.
    """
    from torch.utils.benchmark import Measurement as TorchMeasurement

    device = torch.device(device)
    threads = torch.get_num_threads() if threads is None else int(threads)
    if warmup < 0 or min_run_time <= 0 or threads < 1 or min_blocks < 1 or (number is not None and number < 1):
        raise ParameterError(
            "need warmup >= 0, min_run_time > 0, threads >= 1, min_blocks >= 1 and number >= 1; "
            f"got {warmup}, {min_run_time}, {threads}, {min_blocks}, {number}"
        )
    clock = _SyncedClock(device)
    timer = _timer(fn, clock, threads, label or getattr(fn, "__name__", "fn"))
    _warm_up(fn, device, threads, warmup)
    if number is None:
        result = timer.blocked_autorange(min_run_time=min_run_time)
        number = result.number_per_run
        blocks = [result]
        while sum(len(b.times) for b in blocks) < min_blocks:
            blocks.append(timer.timeit(number))
        waits, cpu_run = [], None
    else:
        blocks, spent, waits, cpu_run = [], 0.0, [], 0.0
        while len(blocks) < min_blocks or spent < min_run_time:
            blocks.append(timer.timeit(number))
            spent += blocks[-1].times[0] * number
            accounted = clock.last_block()
            if accounted is not None:
                cpu_run += accounted.run
                waits.append(accounted.wait)
        if len(waits) != len(blocks):
            waits, cpu_run = [], None
    result = TorchMeasurement.merge(blocks)[0] if len(blocks) > 1 else blocks[0]
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
        waits=waits,
        cpu_run=cpu_run,
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


# ---- A against B: the one way to compare two timings -------------------------------------------

TOLERANCE = 0.02  # a round must see more than a 2 % difference to count as a vote for faster or slower
VERDICTS = ("faster", "slower", "cannot tell")


def verdict(ratios: Sequence[float], tolerance: float = TOLERANCE) -> str:
    """The one rule that reads the rounds of a comparison: 'faster', 'slower' or 'cannot tell'.

    'faster' when every round timed B faster than A by more than ``tolerance``; 'slower' when
    every round timed it slower by more than that; else 'cannot tell'. ``ratios`` are T_A / T_B,
    one per round (above 1: B was faster in that round). A single ratio with tolerance 0 is the
    naive reading of two medians, which the lessons show beside the rule.
    """
    if not ratios:
        raise ParameterError("need at least one ratio T_A / T_B to say faster, slower or cannot tell")
    if tolerance < 0:
        raise ParameterError(f"tolerance = {tolerance!r} is not allowed: must be >= 0")
    if min(ratios) > 1 + tolerance:
        return "faster"
    if max(ratios) < 1 / (1 + tolerance):
        return "slower"
    return "cannot tell"


def pooled(runs: Sequence[Measurement], label: str | None = None) -> Measurement:
    """One Measurement from several of the same workload: every block's time, their median and IQR."""
    if not runs:
        raise ParameterError("need at least one Measurement to pool")
    times = [t for m in runs for t in m.times]
    q = statistics.quantiles(times, n=4, method="inclusive") if len(times) > 1 else [times[0]] * 3
    first = runs[0]
    known = all(m.waits and m.cpu_run is not None for m in runs) and len({m.number for m in runs}) == 1
    return Measurement(label=first.label if label is None else label, device=first.device,
                       median=statistics.median(times), iqr=q[2] - q[0], times=times, number=first.number,
                       threads=first.threads, dtype=first.dtype, flops=first.flops, nbytes=first.nbytes,
                       versions=first.versions, waits=[w for m in runs for w in m.waits] if known else [],
                       cpu_run=sum(m.cpu_run for m in runs) if known else None)


BUSY_SHARE = 0.9  # a process that got less of the CPU time it asked for ran on a busy machine


@dataclass
class Comparison:
    """B against A, timed in alternating rounds: each round's ratio T_A / T_B, and the verdict of the one rule."""

    a: Measurement  # all of A's blocks, pooled over the rounds
    b: Measurement
    ratios: list[float]  # T_A / T_B of each round: above 1, B was faster in that round
    tolerance: float = TOLERANCE
    # (least, most) T_A / T_B each round can have had, once the waits for a CPU are taken out; None: not known
    bounds: list[tuple[float, float]] | None = None
    cpu_share: float | None = None  # the share of the CPU time it asked for that the process got (None: not known)

    @property
    def ratio(self) -> float:
        """The median over the rounds of T_A / T_B: how many times as fast as A B is (below 1: slower)."""
        return statistics.median(self.ratios)

    @property
    def low(self) -> float:
        """The smallest round's T_A / T_B."""
        return min(self.ratios)

    @property
    def high(self) -> float:
        """The largest round's T_A / T_B."""
        return max(self.ratios)

    @property
    def verdict(self) -> str:
        """'faster', 'slower' or 'cannot tell': is B faster than A, by ``verdict``'s rule, and not by a busy CPU.

        The rule reads the rounds' ratios; a 'faster' must also hold for every round's least ratio
        (and a 'slower' for every round's largest) once the time spent waiting for a CPU is taken out.
        """
        said = verdict(self.ratios, self.tolerance)
        if self.bounds is None or said == "cannot tell":
            return said
        side = [low for low, _ in self.bounds] if said == "faster" else [high for _, high in self.bounds]
        return said if verdict(side, self.tolerance) == said else "cannot tell"

    @property
    def reason(self) -> str:
        """Why the rule could not tell, when a busy machine may be the cause: else ''.

        It is given when the waits for a CPU overturned a verdict, and whenever the process got
        less than ``BUSY_SHARE`` of the CPU time it asked for: the rounds of a busy machine may
        disagree because of the machine, not the workloads.
        """
        if self.verdict != "cannot tell" or self.cpu_share is None:
            return ""
        if verdict(self.ratios, self.tolerance) == "cannot tell" and self.cpu_share >= BUSY_SHARE:
            return ""
        return f"the machine was busy (this process got {100 * self.cpu_share:.0f} % of the CPU time it asked for)"

    def short(self) -> str:
        """B's verdict in a few words: '1.72× faster in every round', '1.30× slower ...' or 'no difference ...'."""
        if self.reason:
            return f"cannot tell: {self.reason}"
        if self.verdict == "faster":
            return f"{self.ratio:.2f}× faster in every round"
        if self.verdict == "slower":
            return f"{1 / self.ratio:.2f}× slower in every round"
        return f"no difference the rounds can tell ({self.low:.2f}× to {self.high:.2f}× as fast)"

    def words(self, a: str | None = None, b: str | None = None) -> str:
        """'B is 1.72× faster than A (all 5 rounds: 1.70× to 1.74×)', or slower, or 'cannot tell ...'."""
        a, b = a or self.a.label, b or self.b.label
        rounds = len(self.ratios)
        if self.reason:
            return (f"cannot tell {b} from {a}: {self.reason}; {b} ran {self.ratio:.2f}× as fast, with rounds "
                    f"from {self.low:.2f}× to {self.high:.2f}×, and waiting for the CPU can explain that")
        if self.verdict == "faster":
            return (f"{b} is {self.ratio:.2f}× faster than {a} "
                    f"(all {rounds} rounds: {self.low:.2f}× to {self.high:.2f}×)")
        if self.verdict == "slower":
            return (f"{b} is {1 / self.ratio:.2f}× slower than {a} "
                    f"(all {rounds} rounds: {1 / self.high:.2f}× to {1 / self.low:.2f}×)")
        return (f"cannot tell {b} from {a}: {b} ran {self.ratio:.2f}× as fast, but the {rounds} rounds "
                f"ranged from {self.low:.2f}× to {self.high:.2f}× (a verdict needs every round beyond "
                f"{self.tolerance:.0%} on one side)")

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict: the two medians and IQRs, every round's ratio, the median ratio and the verdict."""
        return {"a": self.a.label, "b": self.b.label, "a_median_s": self.a.median, "a_iqr_s": self.a.iqr,
                "b_median_s": self.b.median, "b_iqr_s": self.b.iqr, "ratios": list(self.ratios),
                "ratio": self.ratio, "tolerance": self.tolerance, "verdict": self.verdict,
                "bounds": [list(b) for b in self.bounds] if self.bounds is not None else None,
                "cpu_share": self.cpu_share, "reason": self.reason}


def compare_many(
    fns: Mapping[str, Callable[[], Any]],
    *,
    baseline: str | None = None,
    rounds: int = 5,
    min_run_time: float = 0.2,
    warmup: int = 3,
    min_blocks: int = 3,
    tolerance: float = TOLERANCE,
    per_fn: Mapping[str, Mapping[str, Any]] | None = None,
    **options: Any,
) -> dict[str, Comparison]:
    """Time every function in alternating rounds; compare each with ``baseline`` (default: the first).

    Each round times every function once with ``measure`` (``min_run_time / rounds`` seconds and at
    least ``min_blocks`` blocks each), in turn, forwards in even rounds and backwards in odd ones, so
    drifting load and the order of the calls land on every side alike. Each function's block length
    (``block_size``) is found once, after ``warmup`` calls, and kept for every round; each round
    warms up with one call. ``options`` (device, threads, dtype, flops, nbytes) go to ``measure``
    for every function; ``per_fn[name]`` overrides them for one. Where the waits for a CPU are known,
    each comparison also holds each round's bounds (``Measurement.least`` against the median) and
    the share of the CPU the process got, so that its verdict is never the work of a busy machine.
    """
    names = list(fns)
    baseline = names[0] if baseline is None else baseline
    if len(names) < 2 or baseline not in fns:
        raise ParameterError(f"need at least two functions and a baseline among them; got {names} and {baseline!r}")
    if not isinstance(rounds, int) or rounds < 1 or min_run_time <= 0:
        raise ParameterError(f"need rounds >= 1 and min_run_time > 0; got {rounds!r} and {min_run_time!r}")
    unknown = sorted(set(per_fn or {}) - set(names))
    if unknown:
        raise ParameterError(f"per_fn names {unknown}, which are not among the functions {names}")
    settings = {name: {**options, **(per_fn or {}).get(name, {})} for name in names}
    per_round = min_run_time / rounds
    # one block length per function, fixed for every round: long enough to time, short enough to repeat
    number = {name: block_size(fns[name], max(1e-3, per_round / min_blocks), warmup=warmup,
                               **{k: v for k, v in settings[name].items() if k in ("device", "threads")})
              for name in names}
    runs: dict[str, list[Measurement]] = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            runs[name].append(measure(fns[name], label=name, warmup=1, min_run_time=per_round, min_blocks=min_blocks,
                                      number=number[name], **settings[name]))
    base = pooled(runs[baseline])
    out = {}
    for name in names:
        if name == baseline:
            continue
        pairs = list(zip(runs[baseline], runs[name], strict=True))
        b = pooled(runs[name])
        known = base.cpu_share is not None and b.cpu_share is not None
        out[name] = Comparison(
            a=base, b=b, tolerance=tolerance, ratios=[ra.median / rb.median for ra, rb in pairs],
            bounds=[(ra.least / rb.median, ra.median / rb.least if rb.least > 0 else math.inf) for ra, rb in pairs]
            if known else None,
            cpu_share=_share(base, b) if known else None)
    return out


def _share(*runs: Measurement) -> float:
    """The share of the CPU time it asked for that the process got over several measurements."""
    ran = sum(m.cpu_run for m in runs)
    asked = ran + sum(sum(m.waits) for m in runs)
    return ran / asked if asked > 0 else 1.0


def compare(a: Callable[[], Any], b: Callable[[], Any], *, labels: tuple[str, str] = ("A", "B"),
            **options: Any) -> Comparison:
    """Is ``b`` faster than ``a``? Both timed in alternating rounds (see ``compare_many`` for the options)."""
    if len(labels) != 2 or labels[0] == labels[1]:
        raise ParameterError(f"labels = {labels!r} is not allowed: need two different names")
    return compare_many({labels[0]: a, labels[1]: b}, **options)[labels[1]]


def crossover(ns: Sequence[float], verdicts: Sequence[Comparison | str]) -> float | None:
    """Smallest n from which B is faster than A, by the one rule, at that size and every larger one; None if never.

    ``verdicts[i]`` is the Comparison of B against A at ``ns[i]`` (or its verdict). A size where the
    rule cannot tell ends the run as a loss does: a difference inside the noise is no crossover.
    """
    words = [v.verdict if isinstance(v, Comparison) else v for v in verdicts]
    bad = sorted({w for w in words if w not in VERDICTS})
    if bad:
        raise ParameterError(f"verdicts {bad} are not allowed: must be one of {', '.join(VERDICTS)}")
    found = None
    for n, word in sorted(zip(ns, words, strict=True), reverse=True):
        if word != "faster":
            break
        found = n
    return found


def roofline(intensity: float, peak_gflops: float, bandwidth_gbps: float) -> float:
    """Attainable GFLOP/s at an arithmetic intensity: min(peak, intensity × bandwidth)."""
    return min(peak_gflops, intensity * bandwidth_gbps)
