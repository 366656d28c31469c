"""Lesson 08: the math of data parallelism, its tasks on real torch.distributed processes, the figures.

How launches fail (a rank that hangs, a wrong world size, a taken port, the time limit) is
labkit.processes' job, tested in tests/core/test_processes.py.
"""

from __future__ import annotations

import math
import statistics
import time
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from helpers import worker_tasks as tasks
from labkit import processes
from labkit.errors import ParameterError
from labkit.lessons import parallel as pl
from labkit.models import mlp

# ---- the model and the gradient identity -------------------------------------------------------


def test_the_lessons_model() -> None:
    model = mlp(dtype=torch.float64)
    assert pl.count_parameters(model) == 64 * 128 + 128 + 128 * 10 + 10 == 9610
    assert pl.flat_weights(model).shape == (9610,) and pl.flat_weights(model).dtype == torch.float64
    assert model(torch.zeros(3, 64, dtype=torch.float64)).shape == (3, 10)


def test_the_mean_of_equal_shard_gradients_is_the_full_batch_gradient() -> None:
    torch.manual_seed(0)
    model = mlp(dtype=torch.float64)
    x, y = torch.randn(60, 64, dtype=torch.float64), torch.randint(0, 10, (60,))
    full = pl.batch_gradients(model, x, y)
    for n in (1, 2, 3, 4, 6):
        shards = [pl.batch_gradients(model, xs, ys) for xs, ys in zip(x.chunk(n), y.chunk(n), strict=True)]
        mean = [torch.stack(g).mean(0) for g in zip(*shards, strict=True)]
        assert pl.max_difference(mean, full) < 1e-12
    unequal = [pl.batch_gradients(model, x[:45], y[:45]), pl.batch_gradients(model, x[45:], y[45:])]
    plain = [(a + b) / 2 for a, b in zip(*unequal, strict=True)]
    weighted = [(45 * a + 15 * b) / 60 for a, b in zip(*unequal, strict=True)]
    assert pl.max_difference(plain, full) > 1e-4 and pl.max_difference(weighted, full) < 1e-12


def test_collectives_and_ddp_need_a_process_group() -> None:
    import torch.distributed as dist

    assert not dist.is_initialized()
    for attempt in (lambda: dist.all_reduce(torch.ones(1)),
                    lambda: torch.nn.parallel.DistributedDataParallel(mlp(dtype=torch.float64))):
        with pytest.raises(ValueError, match="Default process group has not been initialized"):
            attempt()


def test_max_difference() -> None:
    assert pl.max_difference(torch.tensor([1.0, 2.0]), torch.tensor([1.5, 2.0])) == 0.5
    assert pl.max_difference([torch.zeros(2), torch.ones(1)], [torch.zeros(2), torch.zeros(1)]) == 1.0


# ---- the alpha-beta model, ring all-reduce, scaling ----------------------------------------------


def test_fit_alpha_beta_recovers_the_model() -> None:
    sizes = [4 * 8**k for k in range(8)]
    alpha, beta = pl.fit_alpha_beta(sizes, [3e-5 + s / 2e9 for s in sizes])
    assert alpha == pytest.approx(3e-5, rel=1e-9) and beta == pytest.approx(2e9, rel=1e-9)
    assert pl.fit_alpha_beta(sizes, [1e-4] * len(sizes))[1] == math.inf  # no growth with size: no bandwidth
    assert pl.fit_alpha_beta([1e3, 1e6], [1e-6, 1e-2])[0] == 0.0  # an intercept below 0 is clamped
    with pytest.raises(ParameterError, match="two"):
        pl.fit_alpha_beta([4], [1e-5])


def test_robust_alpha_is_the_typical_small_message_and_beta_fits_the_rest() -> None:
    sizes = [4 * 8**k for k in range(8)]
    clean = [3e-5 + s / 2e9 for s in sizes]
    alpha, beta = pl.robust_alpha_beta(sizes, clean)
    assert alpha == pytest.approx(3e-5, rel=0.02) and beta == pytest.approx(2e9, rel=0.05)
    noisy = [t * f for t, f in zip(clean, [0.5, 2.0, 1.0, 1.2, 1.1, 1.0, 1.0, 1.0], strict=True)]  # scheduling noise
    alpha, beta = pl.robust_alpha_beta(sizes, noisy)
    # the four messages with S/β below α/10 (S < 6 kB) are the small ones; α is their median
    assert alpha == pytest.approx(statistics.median(noisy[:4]), rel=1e-12)
    assert alpha == pytest.approx(3e-5, rel=0.15) and beta == pytest.approx(2e9, rel=0.1)
    assert abs(pl.fit_alpha_beta(sizes, noisy)[0] - 3e-5) > abs(alpha - 3e-5), "closer than least squares"
    assert pl.robust_alpha_beta([4, 32], [1e-4, 1e-4]) == pytest.approx((1e-4, math.inf))  # no growth: no bandwidth


def _ring_bytes_sent(n: int, numel: int) -> list[int]:
    """Simulate ring all-reduce (reduce-scatter, all-gather) on n workers; check the sums; bytes each sent."""
    tensors = [torch.randn(numel, dtype=torch.float64) for _ in range(n)]
    chunks = [list(t.clone().chunk(n)) for t in tensors]
    sent = [0] * n
    for phase in ("reduce", "gather"):
        for step in range(n - 1):
            offset = -step if phase == "reduce" else 1 - step  # the chunk worker k sends at this step
            messages = [(k, (k + offset) % n, chunks[k][(k + offset) % n].clone()) for k in range(n)]
            for k, c, payload in messages:
                if phase == "reduce":
                    chunks[(k + 1) % n][c] += payload
                else:
                    chunks[(k + 1) % n][c] = payload
                sent[k] += payload.numel() * 8
    total = torch.stack(tensors).sum(0)
    assert all(torch.allclose(torch.cat(c), total) for c in chunks)
    return sent


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 8])
def test_ring_allreduce_sends_2_n_minus_1_over_n_of_the_bytes(n: int) -> None:
    numel = 840  # divisible by every n here
    assert set(_ring_bytes_sent(n, numel)) == {2 * (n - 1) * numel * 8 // n}
    # the model's bytes term is exactly those bytes at bandwidth β; its latency term is 2(n−1) messages
    assert pl.allreduce_seconds(n, numel * 8, 0.0, 1.0) == pytest.approx(2 * (n - 1) / n * numel * 8)
    assert pl.allreduce_seconds(n, 0, 1.0, 1.0) == 2 * (n - 1)


def test_allreduce_seconds() -> None:
    assert pl.allreduce_seconds(1, 1e9, 1e-5, 1e9) == 0
    assert pl.allreduce_seconds(4, 8e6, 1e-4, 2e9) == pytest.approx(6e-4 + 1.5 * 8e6 / 2e9)
    with pytest.raises(ParameterError, match="n = 0"):
        pl.allreduce_seconds(0, 1, 1, 1)


@pytest.mark.parametrize("n", [2, 3, 8])
def test_link_from_fit_makes_the_ring_model_equal_the_fit(n: int) -> None:
    alpha, beta = pl.link_from_fit(3e-4, 2e9, n)
    for size in (4, 4096, 8 << 20):
        assert pl.allreduce_seconds(n, size, alpha, beta) == pytest.approx(3e-4 + size / 2e9)
    assert pl.link_from_fit(3e-4, 2e9, 1) == (3e-4, 2e9)


def step_seconds(n: int, parameters: float, batch: float, flops_per_s: float, link: float,
                 latency_s: float) -> tuple[float, float]:
    """The notebook's step-time model, written again here: 6PB/(F·n) compute, a ring all-reduce of 4P bytes."""
    return 6 * parameters * batch / flops_per_s / n, pl.allreduce_seconds(n, 4 * parameters, latency_s, link)


def scaling_efficiency(n: int, *model: float) -> float:
    return sum(step_seconds(1, *model)) / (n * sum(step_seconds(n, *model)))


def test_workers_at_efficiency_and_the_fastest_step() -> None:
    case = (1e6, 4096, 1e11, 25e9, 2e-5)
    for threshold in (0.5, 0.8, 0.95):
        brute = max(n for n in range(1, 1025) if scaling_efficiency(n, *case) >= threshold)
        assert pl.workers_at_efficiency(threshold, scaling_efficiency, *case) == brute
    n80 = pl.workers_at_efficiency(0.8, scaling_efficiency, 7e9, 2**20, 989.5e12, 50e9, 0.0)
    assert n80 == 1 + int(3 * 2**20 * 50e9 / (16 * 989.5e12))  # the closed form without latency
    assert pl.workers_at_efficiency(0.8, scaling_efficiency, 1e8, 64, 1e15, 1e9, 1e-5) == 1
    assert pl.workers_at_efficiency(0.8, scaling_efficiency, 1e8, 2**20, 1e10, 1e12, 0.0, n_max=100) == 100
    best = pl.fastest_workers(step_seconds, *case)
    times = {n: sum(step_seconds(n, *case)) for n in (2**k for k in range(11))}
    assert times[best] == min(times.values()) and best < 1024  # latency makes more workers slower


def test_bytes_per_gpu_follows_zero() -> None:
    p, n = 70e9, 64
    assert pl.bytes_per_gpu(p, n, "data") == 16 * p
    assert pl.bytes_per_gpu(p, n, "zero1") == pytest.approx(4 * p + 12 * p / n)
    assert pl.bytes_per_gpu(p, n, "zero2") == pytest.approx(2 * p + 14 * p / n)
    for kind in ("zero3", "tensor", "pipeline"):
        assert pl.bytes_per_gpu(p, n, kind) == pytest.approx(16 * p / n)
    with pytest.raises(ParameterError, match="strategy"):
        pl.bytes_per_gpu(p, n, "expert")
    with pytest.raises(ParameterError, match="n = 0"):
        pl.bytes_per_gpu(p, 0, "data")


def test_bucket_schedule() -> None:
    backward, messages, end = pl.bucket_schedule(8, 1.0, 1.0, 0.5, None)
    assert len(backward) == 8 and messages == [(8.0, 5.0)] and end == 13.0
    _, messages, end = pl.bucket_schedule(8, 1.0, 1.0, 0.5, 3)
    assert messages == [(3.0, 2.5), (6.0, 2.5), (8.5, 2.0)] and end == 10.5
    _, messages, end = pl.bucket_schedule(8, 1.0, 0.0, 0.1, 1)
    assert end == pytest.approx(8.1)  # without latency, per-layer messages hide behind the backward pass
    _, messages, end = pl.bucket_schedule(8, 1.0, 1.0, 0.5, pl.BY_HAND)
    assert messages[0] == (8.0, 1.5) and len(messages) == 8 and end == 20.0  # after backward, 8 latencies
    with pytest.raises(ParameterError, match="bucket = 0"):
        pl.bucket_schedule(8, 1.0, 1.0, 0.5, 0)


def test_texts() -> None:
    assert pl.si(1.5e9, "B/s") == "1.5 GB/s" and pl.si(2.5e-4, "s") == "250 µs"
    assert pl.count_words(70e9) == "70 billion" and pl.count_words(9610) == "9,610"
    model = {"step_seconds": step_seconds, "scaling_efficiency": scaling_efficiency}
    text = pl.scaling_text(8, 1e9, 2**20, 31.5, 989.5e12, 1e-4, compute="H100", **model)
    assert "8 worker(s)" in text and "efficiency" in text and "H100" in text
    eff = scaling_efficiency(8, 1e9, 2**20, 989.5e12, 31.5e9, 1e-4)
    assert f"efficiency {eff:.0%}" in text, "the text reads the model it is given"
    assert "fewer than one example" in pl.scaling_text(1024, 1e6, 64, 10, 1e10, 1e-5, **model)


# ---- launching real processes --------------------------------------------------------------------


def _data(seed: int = 0, n: int = 200) -> dict:
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    return {"x": torch.randn(n, 64, generator=gen, dtype=torch.float64), "y": torch.randint(0, 10, (n,), generator=gen),
            "init": mlp(dtype=torch.float64).state_dict()}


def _one_process(data: dict, steps: int, batch: int, lr: float, seed: int) -> torch.Tensor:
    model = mlp(dtype=torch.float64)
    model.load_state_dict(data["init"])
    opt = torch.optim.SGD(model.parameters(), lr=lr)
    weights, epoch = [pl.flat_weights(model)], 0
    while len(weights) <= steps:
        order = torch.randperm(len(data["x"]), generator=torch.Generator().manual_seed(seed + epoch))
        for k in range(len(data["x"]) // batch):
            chosen = order[k * batch:(k + 1) * batch]
            opt.zero_grad()
            F.cross_entropy(model(data["x"][chosen]), data["y"][chosen]).backward()
            opt.step()
            weights.append(pl.flat_weights(model))
            if len(weights) > steps:
                break
        epoch += 1
    return torch.stack(weights)


def _left_over(folder: Path) -> list[int]:
    """Processes still running whose command line names ``folder`` (the launcher's argument)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if str(folder).encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.parametrize("world_size", [1, 2, 3])
def test_ddp_and_the_hand_written_allreduce_equal_one_process(world_size: int, tmp_path: Path) -> None:
    data, steps, batch, lr, seed = _data(), 7, 12 * world_size if world_size == 3 else 24, 0.2, 3
    out = pl.launch(["collectives", "ddp", "by_hand", "no_sync", "no_shard"], world_size, tmp_path, timeout_s=120,
                    data=data, seed=seed, steps=steps, batch_size=batch, lr=lr)
    total = world_size * (world_size + 1) / 2
    for r, result in enumerate(out["collectives"]):
        assert result["rank"] == r
        assert result["all_reduce"]["after"] == [total, 10 * total]
        assert result["broadcast"]["after"] == [100.0, 200.0]
        assert result["all_gather"]["after"] == [[float(k)] * 2 for k in range(world_size)]
    reference = _one_process(data, steps, batch, lr, seed)
    for task in ("ddp", "by_hand"):
        for rank in out[task]:
            assert rank["weights"].shape == reference.shape
            assert pl.max_difference(rank["weights"], reference) < 1e-12, task
    # each rank took its own shard: the shards of a step are disjoint and together make the batch
    first = [set(rank["indices"][0]) for rank in out["ddp"]]
    assert sum(map(len, first)) == len(set().union(*first)) == batch
    # the source's mistakes
    no_shard = out["no_shard"]
    assert all(rank["indices"] == no_shard[0]["indices"] for rank in no_shard)  # every rank, the same examples
    small = _one_process(data, steps, batch // world_size, lr, seed)
    assert pl.max_difference(no_shard[0]["weights"], small) < 1e-12  # N processes did one process's work
    drift = max(pl.max_difference(rank["weights"], out["no_sync"][0]["weights"]) for rank in out["no_sync"])
    assert (drift > 1e-3) == (world_size > 1)  # without the all-reduce the ranks' models drift apart
    assert not _left_over(tmp_path)


def test_allreduce_timing(tmp_path: Path) -> None:
    out = pl.launch(["allreduce_timing"], 2, tmp_path, sizes=[4, 4096, 1 << 20], warmup=2, repeats=3, target_s=0.005)
    rank0 = out["allreduce_timing"][0]
    assert rank0["nbytes"] == [4, 4096, 1 << 20] and len(rank0["median_s"]) == 3
    assert all(t > 0 for t in rank0["median_s"]) and all(n >= 1 for n in rank0["number"])
    assert rank0["number"] == out["allreduce_timing"][1]["number"]  # the ranks agreed on the counts


def test_a_worker_that_raises_is_one_line(tmp_path: Path) -> None:
    started = time.perf_counter()
    with pytest.raises(processes.LaunchError) as caught:
        pl.launch(["fail"], 2, tmp_path, timeout_s=60)
    line = str(caught.value)
    assert line.startswith("rank 1 of 2 failed in fail: RuntimeError: this rank found a batch") and "\n" not in line
    assert "the other ranks were stopped" in line
    assert time.perf_counter() - started < 30  # the waiting rank was stopped, not left to time out
    assert not _left_over(tmp_path)


def test_the_lesson_launches_only_its_own_tasks(tmp_path: Path) -> None:
    for names in (["train"], [], ["collectives", "hang"]):
        with pytest.raises(ParameterError, match="tasks = .* must be some of collectives, ddp"):
            pl.launch(names, 2, tmp_path)
    with pytest.raises(ParameterError, match="world_size = 0"):  # the rest is checked by labkit.processes
        pl.launch(["collectives"], 0, tmp_path)


# ---- figures and the explorer --------------------------------------------------------------------


def test_figures_draw(agg) -> None:
    curves = {"DDP, 2": [0.0, 1e-17], "by hand": [0.0, 0.0], "no all-reduce": [0.0, 0.02], "no sharding": [0, 0.03]}
    fig = pl.proof_figure(curves, curves)
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) == 4 + 1
    sizes = [4, 4096, 1 << 20]
    fig = pl.alpha_beta_figure(sizes, [1e-4, 1.1e-4, 6e-4], [1e-5] * 3, 1e-4, 2e9, 2)
    assert fig.axes[0].get_xscale() == "log"
    assert len(pl.overlap_figure().axes) == 1
    ns = [2**k for k in range(11)]
    fig = pl.scaling_figure(ns, {"PCIe, compute: this machine": [1.0] * 11, "PCIe, compute: H100 peak": [0.5] * 11},
                            {"1 million parameters": [0.9] * 11}, 2**20)
    assert [len(ax.get_lines()) for ax in fig.axes] == [3, 2]
    same = {f"{link}, compute: this machine": [1.0] * 11 for link in ("PCIe", "NVLink", "InfiniBand")}
    fig = pl.scaling_figure(ns, {**same, "PCIe, compute: H100 peak": [0.5] * 11}, {"x": [0.9] * 11}, 2**20)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert len(labels) == 2 and "PCIe, NVLink, InfiniBand, compute: this machine (3 curves, the same)" in labels
    fig = pl.memory_figure(70e9, [8, 64], [("A100", 80), ("H100", 80), ("T4", 16)])
    assert len(fig.axes[0].patches) == 2 * len(pl.STRATEGIES)
    assert len(fig.axes[0].get_lines()) == 2  # one line per distinct memory size


def _figure_bytes(fig) -> bytes:
    fig.canvas.draw()
    return bytes(fig.canvas.buffer_rgba())


def test_every_explorer_control_changes_text_and_figure(agg, monkeypatch: pytest.MonkeyPatch) -> None:
    import ipywidgets

    captured = {}
    monkeypatch.setattr(pl, "explorer", lambda controls, render, **start: captured.update(
        controls=controls, render=render, start=start))
    computes = {"this machine (measured)": 6e9, "H100 (specification)": 989.5e12}
    pl.scaling_explorer(computes, 1.5e-4, step_seconds=step_seconds, scaling_efficiency=scaling_efficiency)
    start = captured["start"]
    widgets = dict(pair for row in captured["controls"](ipywidgets) for pair in row)
    assert set(widgets) == set(start) == {"workers", "parameters", "batch", "link_gbps", "compute"}
    assert all(getattr(w, "continuous_update", False) is False for k, w in widgets.items() if k != "compute")
    base_text, base_fig = captured["render"](**start)
    base = _figure_bytes(base_fig)
    moves = {"workers": 64, "parameters": 1e7, "batch": 4096, "link_gbps": 450.0, "compute": "H100 (specification)"}
    for name, value in moves.items():
        assert value != start[name]
        if name in ("workers", "batch"):
            assert value in widgets[name].options
        text, fig = captured["render"](**dict(start, **{name: value}))
        assert text != base_text, f"moving {name} leaves the text as it was"
        assert _figure_bytes(fig) != base, f"moving {name} leaves the figure as it was"


def test_headless_explorer_prints_its_text(agg, capsys: pytest.CaptureFixture[str]) -> None:
    assert pl.scaling_explorer({"H100": 989.5e12}, 1e-4, step_seconds=step_seconds,
                               scaling_efficiency=scaling_efficiency) is None
    assert "prediction for 8 worker(s)" in capsys.readouterr().out


# ---- scripts, as torchrun runs them


def test_the_hello_script_runs_through_run_script_and_only_rank_0_writes(tmp_path: Path) -> None:
    ranks = pl.run_script(pl.hello_script, 2, tmp_path, {"out": "sum.pt"})
    assert [r["files"] for r in ranks] == [["sum.pt"], []] and all(r["destroyed"] for r in ranks)
    saved = torch.load(tmp_path / "rank0" / "sum.pt", weights_only=True)
    assert saved["sum"].item() == 3.0 and saved["world_size"] == 2
    assert "if __name__ == \"__main__\":" in (tmp_path / "script.py").read_text()  # runs under torchrun as it is
    with pytest.raises(ParameterError, match="its source cannot be read"):
        pl.run_script(print, 2, tmp_path, {})


def test_the_one_process_reference_is_what_ddp_on_n_processes_reaches(tmp_path: Path) -> None:
    cfg = {"seed": 2, "epochs": 2, "batch_size": 48, "lr": 0.01, "optimizer": "adam", "out": "w.pt"}
    processes.launch_script(tasks.ref("script_ddp"), 3, tmp_path, cfg, preload=["torch._dynamo", "labkit.data"])
    got = torch.load(tmp_path / "rank0" / "w.pt", weights_only=True)
    want = pl.one_process_reference(cfg, 3)
    assert max((got[k] - want[k]).abs().max().item() for k in want) < 1e-12
    never_reseeded = pl.one_process_reference(cfg, 3, set_epoch=False)
    assert max((got[k] - never_reseeded[k]).abs().max().item() for k in want) > 1e-3  # the second epoch differs
    with pytest.raises(ParameterError, match="optimizer = 'lion'"):
        pl.one_process_reference({**cfg, "optimizer": "lion"}, 3)

