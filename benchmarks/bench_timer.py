"""labkit.bench.measure against torch.utils.benchmark.Timer used directly, on the same matmul.

Both time ``a @ b`` (n×n, float32) on the same device and thread count, alternating, in one
process. labkit adds a warm-up and device synchronization around PyTorch's own blocked timing,
so the two medians should agree: the last line prints ``ratio: X.XX`` (labkit / Timer), which
should lie within 0.95–1.05. On a busy machine both numbers wobble; rerun when it is quiet.
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torch.utils.benchmark import Timer

from labkit.bench import format_seconds, matmul_flops, measure
from labkit.device import pick_device, synchronize


def main() -> None:
    """Run both timers ``rounds`` times, alternating, and print the medians and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256, help="matrix size")
    parser.add_argument("--device", default="auto", help="device (default: auto)")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of each timer")
    parser.add_argument("--min-run-time", type=float, default=0.2, help="seconds per measurement")
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
    print(f"ratio: {lab / ref:.2f}")


if __name__ == "__main__":
    main()
