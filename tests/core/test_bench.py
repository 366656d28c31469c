"""labkit.bench: timing of known workloads, synchronize, throughput arithmetic."""

from __future__ import annotations

import json
import time

import pytest
import torch

from labkit import bench
from labkit.device import synchronize

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is visible to torch")


def test_sleep_is_timed_within_tolerance() -> None:
    m = bench.measure(lambda: time.sleep(0.01), label="sleep 10 ms", warmup=1, min_run_time=0.1)
    # sleep never returns early; a loaded machine may make it late, never by 10 ms at the median
    assert 0.0099 <= m.median < 0.02, f"median {m.median} s for a 10 ms sleep"
    assert m.iqr >= 0 and len(m.times) >= 5
    assert m.label == "sleep 10 ms" and m.device == "cpu"


def test_busy_loop_scales_with_work() -> None:
    def spin(n: int) -> None:
        total = 0
        for i in range(n):
            total += i

    short = bench.measure(lambda: spin(20_000), min_run_time=0.05, threads=1)
    long = bench.measure(lambda: spin(200_000), min_run_time=0.05, threads=1)
    # ten times the work: between 5× and 20× the time, even on a busy 2-core machine
    assert 5 < long.median / short.median < 20, (short.median, long.median)


def test_counts_every_call_in_a_block() -> None:
    calls = []
    m = bench.measure(lambda: calls.append(1), warmup=2, min_run_time=0.01)
    assert len(calls) >= 2 + m.number * len(m.times)


def test_records_what_ran() -> None:
    a = torch.randn(32, 32)
    m = bench.measure(lambda: a @ a, label="mm", dtype=torch.float32, flops=bench.matmul_flops(32),
                      nbytes=bench.matmul_bytes(32), threads=1, min_run_time=0.01)
    d = m.as_dict()
    assert d["threads"] == 1 and d["dtype"] == "float32" and d["device"] == "cpu"
    assert d["versions"]["torch"] == torch.__version__ and "python" in d["versions"]
    assert d["gflops"] == pytest.approx(2 * 32**3 / m.median / 1e9)
    assert d["gbps"] == pytest.approx(3 * 32 * 32 * 4 / m.median / 1e9)
    json.dumps(d)
    assert "mm: median" in str(m) and "GFLOP/s" in str(m)


def test_threads_are_restored() -> None:
    before = torch.get_num_threads()
    bench.measure(lambda: None, threads=1, min_run_time=0.01)
    assert torch.get_num_threads() == before


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="min_run_time"):
        bench.measure(lambda: None, min_run_time=0)


def test_synchronize_is_a_noop_on_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args, **kwargs):
        raise AssertionError("CUDA synchronize called for a CPU device")

    monkeypatch.setattr(torch.cuda, "synchronize", boom)
    synchronize("cpu")
    bench.measure(lambda: None, device="cpu", min_run_time=0.01)


@needs_cuda
def test_cuda_timing_waits_for_the_gpu() -> None:
    a = torch.randn(2048, 2048, device="cuda")
    m = bench.measure(lambda: a @ a, device="cuda", min_run_time=0.1)
    # without synchronizing, a launch returns in microseconds; a 2048³ matmul cannot beat 200 TFLOP/s
    assert m.gflops < 200_000
    assert "gpu" in m.versions and "cuda" in m.versions


def test_flop_and_byte_counts() -> None:
    assert bench.matmul_flops(2) == 16  # 4 outputs × (2 multiplies + 2 adds)
    assert bench.matmul_flops(2, 3, 4) == 2 * 2 * 3 * 4
    assert bench.matmul_bytes(2, itemsize=4) == 3 * 4 * 4
    assert bench.matmul_bytes(2, 3, 4, itemsize=2) == (2 * 4 + 4 * 3 + 2 * 3) * 2
    assert bench.elementwise_bytes(10, itemsize=4) == 120
    n = 1024
    assert bench.arithmetic_intensity(bench.matmul_flops(n), bench.matmul_bytes(n)) == pytest.approx(n / 6)
    assert bench.gflops(2e9, 0.5) == pytest.approx(4.0)
    assert bench.gbps(3e9, 1.5) == pytest.approx(2.0)


def test_matmul_flops_match_a_counted_loop() -> None:
    n, m, k = 3, 4, 5
    ops = sum(2 for _ in range(n) for _ in range(m) for _ in range(k))
    assert bench.matmul_flops(n, m, k) == ops


def test_speedup_and_crossover() -> None:
    ns = [64, 128, 256, 512]
    cpu = [1.0, 2.0, 8.0, 60.0]
    gpu = [5.0, 4.0, 2.0, 3.0]
    assert bench.speedup(cpu, gpu) == [0.2, 0.5, 4.0, 20.0]
    assert bench.crossover(ns, cpu, gpu) == 256
    assert bench.crossover(ns, cpu, [100.0] * 4) is None
    assert bench.crossover(ns, cpu, [0.1] * 4) == 64
    # a win at one size followed by a loss does not count as a crossover
    assert bench.crossover(ns, cpu, [0.1, 9.0, 9.0, 9.0]) == 512
    assert bench.crossover(list(reversed(ns)), list(reversed(cpu)), list(reversed(gpu))) == 256


def test_roofline() -> None:
    assert bench.roofline(0.1, peak_gflops=100, bandwidth_gbps=50) == pytest.approx(5.0)
    assert bench.roofline(100, peak_gflops=100, bandwidth_gbps=50) == 100


def test_format_seconds() -> None:
    assert bench.format_seconds(0.00123) == "1.23 ms"
    assert bench.format_seconds(2.5) == "2.5 s"
    assert bench.format_seconds(3.2e-6) == "3.2 µs"
    assert bench.format_seconds(5e-10) == "0.5 ns"


def test_a_crossover_inside_the_noise_is_no_crossover() -> None:
    ns = [16, 32, 64]
    slow, fast = [1.0, 1.0, 1.0], [0.98, 0.5, 0.4]
    assert bench.crossover(ns, slow, fast) == 16, "without spreads a 2 % win counts"
    assert bench.crossover(ns, slow, fast, [0.05] * 3, [0.05] * 3) == 32, "a 2 % win inside 5 % spreads does not"
    assert bench.crossover(ns, slow, fast, [0.05] * 3, [1.5] * 3) is None


def test_measure_synchronizes_a_cuda_device_around_every_block(monkeypatch) -> None:
    import labkit.bench as b

    calls = []
    monkeypatch.setattr(b, "synchronize", lambda d: calls.append(torch.device(d)))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda d=None: "Fake GPU")
    m = b.measure(lambda: None, device="cuda:0", warmup=2, min_run_time=0.01, min_blocks=3)
    assert calls and set(calls) == {torch.device("cuda:0")}
    assert len(calls) >= 1 + 2 * len(m.times), "after the warm-up, then before and after every block"
    assert m.device == "cuda:0" and m.versions["gpu"] == "Fake GPU"
