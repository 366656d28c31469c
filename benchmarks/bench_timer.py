"""labkit.bench.measure against torch.utils.benchmark.Timer used directly, then bench.compare under contention.

First, both time ``a @ b`` (n×n, float32) on the same device and thread count, alternating, in
one process. labkit adds a warm-up and device synchronization around PyTorch's own blocked
timing, so the two medians should agree: the last line prints ``ratio: X.XX`` (labkit / Timer),
which should lie within 0.95–1.05. On a busy machine both numbers wobble; rerun when it is quiet.

Then the one rule of ``bench.compare`` is put to the test it must pass on a learner's busy
laptop: ``--comparisons`` comparisons of identical work (how many say faster or slower: the
target is none) and as many of ten times the work (how many say faster: the target is at least
nine in ten), first on this machine as it is, then with ``--busy`` processes that only spin
beside them. The counts are printed in one go; run it on an otherwise quiet machine.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

import torch
from torch.utils.benchmark import Timer

from labkit.bench import compare, format_seconds, matmul_flops, measure, verdict
from labkit.device import pick_device, synchronize


def spin(n: int):
    """Pure Python work on one thread: n additions."""
    def run() -> None:
        total = 0
        for i in range(n):
            total += i
    return run


def contention(comparisons: int, busy: int) -> list[str]:
    """Count verdicts of identical work and of 10× the work, quiet and beside ``busy`` spinning processes."""
    lines = [f"bench.compare under contention: {comparisons} comparisons each of spin(3,000) against itself and of "
             "spin(30,000) against spin(3,000), 5 rounds, 0.1 s"]
    for load in (0, busy):
        spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(load)]
        try:
            same = [compare(spin(3_000), spin(3_000), rounds=5, min_run_time=0.1, threads=1)
                    for _ in range(comparisons)]
            ten = [compare(spin(30_000), spin(3_000), rounds=5, min_run_time=0.1, threads=1)
                   for _ in range(comparisons)]
        finally:
            for proc in spinners:
                proc.kill()
                proc.wait()
        wrong = sum(c.verdict != "cannot tell" for c in same)
        found = sum(c.verdict == "faster" for c in ten)
        naive = sum(verdict(c.ratios) != "cannot tell" for c in same)  # the rule on the ratios, waits ignored
        shares = [c.cpu_share for c in same + ten if c.cpu_share is not None]
        share = f"{statistics.median(shares):.0%} of the CPU time asked for" if shares else "CPU share not known here"
        lines.append(f"  {'quiet' if load == 0 else f'{load} busy processes':<17}: identical work called faster or "
                     f"slower {wrong}/{comparisons} (target 0; {naive} by the ratios alone, waits ignored); 10× "
                     f"the work called faster {found}/{comparisons} (target ≥ {-(-9 * comparisons // 10)}); "
                     f"median {share}")
    return lines


def main() -> None:
    """Run both timers ``rounds`` times, alternating, and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="matrix size")
    parser.add_argument("--device", default="auto", help="device (default: auto)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each timer")
    parser.add_argument("--min-run-time", type=float, default=0.2, help="seconds per measurement")
    parser.add_argument("--comparisons", type=int, default=50, help="comparisons of each kind under contention")
    parser.add_argument("--busy", type=int, default=3, help="spinning processes beside the loaded comparisons")
    args = parser.parse_args()

    device = pick_device(args.device)
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(args.n, args.n, generator=gen).to(device)
    b = torch.randn(args.n, args.n, generator=gen).to(device)
    synchronize(device)

    ours, theirs = [], []
    for _ in range(args.rounds):
        m = measure(lambda: a @ b, device=device, threads=args.threads, min_run_time=args.min_run_time)
        ours.append(m.median)
        # PyTorch's Timer synchronizes any accelerator itself (torch.accelerator) around each block
        t = Timer("a @ b", globals={"a": a, "b": b}, num_threads=args.threads)
        theirs.append(t.blocked_autorange(min_run_time=args.min_run_time).median)

    flops = matmul_flops(args.n)
    lab, ref = statistics.median(ours), statistics.median(theirs)
    print(f"matmul {args.n}×{args.n} float32 on {device}, {args.threads} thread(s), {args.rounds} rounds each")
    print(f"labkit.bench.measure        : {format_seconds(lab)} per call ({flops / lab / 1e9:.1f} GFLOP/s)")
    print(f"torch.utils.benchmark.Timer : {format_seconds(ref)} per call ({flops / ref / 1e9:.1f} GFLOP/s)")
    for line in contention(args.comparisons, args.busy):
        print(line)
    print(f"ratio: {lab / ref:.2f}")


if __name__ == "__main__":
    main()
