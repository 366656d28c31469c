"""Lesson 04, CPU against GPU: reference runs from real GPUs, the overhead model and the lesson's figures."""

from __future__ import annotations

import math
from typing import Any

import torch

from labkit import bench
from labkit.data import data_dir
from labkit.errors import DataNotFoundError
from labkit.plot import figure
from labkit.results import load

LESSON = "04_gpu_vs_cpu"


# ---- reference runs ---------------------------------------------------------------------------


def load_references() -> list[dict]:
    """Every measured result in data/reference/measured_*.json that holds a GPU run of this lesson."""
    try:
        folder = data_dir() / "reference"
    except DataNotFoundError:
        return []
    found = []
    for path in sorted(folder.glob("measured_*.json")):
        result = load(path)
        if result["notebook"] == LESSON and result["metrics"].get("gpu_present"):
            result["file"] = path.name
            found.append(result)
    return found


def ref_label(ref: dict) -> str:
    """How a reference run is named on the charts: its GPU and its date."""
    return f"reference: {ref['metrics']['hardware']['gpu']} ({ref['finished'][:10]})"


# ---- the overhead model T(n) = t0 + 2n³/P ------------------------------------------------------


def fit_overhead_model(ns: list[int], seconds: list[float]) -> tuple[float, float]:
    """Least-squares fit of T(n) = t0 + 2n³/P in relative error; returns (t0 seconds, P GFLOP/s)."""
    flops = torch.tensor([float(bench.matmul_flops(n)) for n in ns], dtype=torch.float64)
    t = torch.tensor(seconds, dtype=torch.float64)
    X = torch.stack([torch.ones_like(flops), flops], dim=1) / t[:, None]  # divide by T: relative error
    coef = torch.linalg.lstsq(X, torch.ones_like(t)[:, None]).solution.flatten()
    t0, inv_rate = coef.clamp(min=1e-12).tolist()
    return t0, 1 / inv_rate / 1e9


def model_time(n: float, t0: float, gflops_rate: float) -> float:
    """T(n) = t0 + 2n³ / P."""
    return t0 + 2 * n**3 / (gflops_rate * 1e9)


def speedup_pairs(sweep: dict) -> list[tuple[str, list[float], list[float]]]:
    """(label, slower times, faster times) pairs worth comparing in one sweep."""
    pairs = [("1 thread → all threads (S = T₁ / T_all)", sweep["cpu_1thread"]["matmul_s"], sweep["cpu"]["matmul_s"])]
    if "gpu" in sweep:
        pairs.append(("CPU → GPU (S = T_cpu / T_gpu)", sweep["cpu"]["matmul_s"], sweep["gpu"]["matmul_s"]))
    return pairs


def sweep_series(sweep: dict, label_suffix: str = "") -> list[tuple[str, str, dict]]:
    """(label, line style, timings) for each device in one sweep."""
    names = {"cpu_1thread": "CPU, 1 thread", "cpu": "CPU, all threads", "gpu": "GPU"}
    style = "--" if label_suffix else "-"
    return [(names[k] + label_suffix, style, sweep[k]) for k in names if k in sweep]


def roofline_points(sweep_data: dict, key: str) -> list[tuple[float, float, str]]:
    """(intensity, achieved GFLOP/s, kind) for every matmul and addition of one device in a sweep."""
    pts = []
    for n, t_mm, t_add in zip(sweep_data["n"], sweep_data[key]["matmul_s"], sweep_data[key]["add_s"], strict=True):
        pts.append((bench.arithmetic_intensity(bench.matmul_flops(n), bench.matmul_bytes(n)),
                    bench.gflops(bench.matmul_flops(n), t_mm), "matmul"))
        pts.append((bench.arithmetic_intensity(n * n, bench.elementwise_bytes(n * n)),
                    bench.gflops(n * n, t_add), "add"))
    return pts


# ---- figures ----------------------------------------------------------------------------------


def ladder_figure(ladder: list[dict], references: list[dict]):
    """Horizontal bars of GFLOP/s per rung (log scale); reference rungs in grey."""
    fig, ax = figure(height=3.2 + 0.3 * sum(len(r["metrics"]["ladder"]) for r in references))
    names = [f"{r['rung']} (n={r['n']})" for r in ladder]
    values = [r["gflops"] for r in ladder]
    colors = ["tab:blue"] * len(ladder)
    for ref in references:
        for r in ref["metrics"]["ladder"]:
            names.append(f"{r['rung']} (n={r['n']}) — {ref_label(ref)}")
            values.append(r["gflops"])
            colors.append("tab:gray")
    ax.barh(names[::-1], values[::-1], color=colors[::-1])
    ax.set_xscale("log")
    ax.set_xlabel("achieved GFLOP/s (log scale)")
    ax.set_title("the same matmul, climbing the ladder" + ("" if references else " (this machine only)"))
    return fig


def warmup_figure(single: list[float], right: bench.Measurement):
    """Every single-shot time in order, beside the warmed-up median and its IQR band."""
    fig, ax = figure()
    ax.plot(range(1, len(single) + 1), [t * 1e3 for t in single], "o-", label="single stopwatch timings")
    ax.axhline(right.median * 1e3, color="tab:green", label="labkit.bench.measure: median")
    ax.axhspan((right.median - right.iqr / 2) * 1e3, (right.median + right.iqr / 2) * 1e3, color="tab:green",
               alpha=0.2, label="± IQR/2")
    ax.set_yscale("log")
    ax.set_xlabel("call number")
    ax.set_ylabel("ms per call (log scale)")
    ax.set_title("first calls are slow; single timings scatter")
    ax.legend()
    return fig


def sweep_figure(sweep: dict, references: list[dict]):
    """Time and throughput against n: matmul GFLOP/s and addition GB/s, this run and references."""
    fig, (ax_t, ax_f, ax_b) = figure(3, width=13, height=4)
    runs = [(sweep, "")] + [(r["metrics"]["sweep"], f" — {ref_label(r)}") for r in references]
    for data, suffix in runs:
        ns = data["n"]
        for label, style, t in sweep_series(data, suffix):
            ax_t.plot(ns, t["matmul_s"], style, marker="o", label=label)
            ax_f.plot(ns, [bench.gflops(bench.matmul_flops(n), s) for n, s in zip(ns, t["matmul_s"], strict=True)],
                      style, marker="o", label=label)
            ax_b.plot(ns, [bench.gbps(bench.elementwise_bytes(n * n), s) for n, s in zip(ns, t["add_s"], strict=True)],
                      style, marker="o", label=label)
    for ax, title, ylabel in ((ax_t, "matmul time", "seconds per call"),
                              (ax_f, "matmul throughput", "GFLOP/s"),
                              (ax_b, "addition A + B: bandwidth", "GB/s")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n (matrices are n × n)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    ax_t.legend(fontsize=8)
    return fig


def speedup_figure(sweep: dict, references: list[dict]) -> tuple[Any, dict[str, list[float]], dict[str, int | None]]:
    """S(n) for every pair of devices, with the fitted overhead model dashed; also the speedups and crossovers."""
    speedups: dict[str, list[float]] = {}
    crossovers: dict[str, int | None] = {}
    fig, ax = figure()
    runs = [(sweep, "this machine")] + [(r["metrics"]["sweep"], ref_label(r)) for r in references]
    for data, where in runs:
        ns = data["n"]
        for label, slow, fast in speedup_pairs(data):
            s = bench.speedup(slow, fast)
            line, = ax.plot(ns, s, "o-", label=f"{label}, {where}")
            a, b = fit_overhead_model(ns, slow), fit_overhead_model(ns, fast)
            grid = torch.logspace(math.log10(ns[0]), math.log10(ns[-1]), 50).tolist()
            ax.plot(grid, [model_time(n, *a) / model_time(n, *b) for n in grid], "--", color=line.get_color())
            speedups[f"{label}, {where}"] = s
            crossovers[f"{label}, {where}"] = bench.crossover(ns, slow, fast)
    ax.axhline(1, color="black", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("speedup S(n) (log scale)")
    ax.set_title("the speedup depends on the size")
    ax.legend(fontsize=8)
    return fig, speedups, crossovers


def copy_figure(sweep: dict, copy: dict | None, references: list[dict]):
    """Speedup of the matmul with and without the copies in and out, for each run that has a GPU (None if none)."""
    runs = ([(sweep, copy, "this machine")] if copy else []) + [
        (r["metrics"]["sweep"], r["metrics"]["copy"], ref_label(r)) for r in references if r["metrics"].get("copy")]
    if not runs:
        return None
    fig, ax = figure()
    for data, cp, where in runs:
        ns, t_cpu, t_gpu = data["n"], data["cpu"]["matmul_s"], data["gpu"]["matmul_s"]
        with_copy = [2 * cp["h2d_s"][i] + t_gpu[i] + cp["d2h_s"][i] for i in range(len(ns))]
        line, = ax.plot(ns, bench.speedup(t_cpu, t_gpu), "o-", label=f"kernel only, {where}")
        ax.plot(ns, bench.speedup(t_cpu, with_copy), "s--", color=line.get_color(), label=f"with copies, {where}")
    ax.axhline(1, color="black", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("S(n) = T_cpu / T_gpu")
    ax.set_title("matmul speedup with and without moving the data")
    ax.legend(fontsize=8)
    return fig


def precision_figure(precision: dict, references: list[dict]):
    """Relative error against GFLOP/s for each dtype: this run's CPU (and GPU), and references."""
    fig, ax = figure()
    runs = [(precision, "this machine")] + [(r["metrics"]["precision"], ref_label(r)) for r in references]
    for data, where in runs:
        for kind, marker in (("cpu", "o"), ("gpu", "s")):
            rows = data.get(kind) or []
            if not rows:
                continue
            ax.plot([r["gflops"] for r in rows], [r["rel_error"] for r in rows], marker, ms=9,
                    label=f"{kind.upper()}, {where} (n={data['n']})")
            for r in rows:
                ax.annotate(r["dtype"], (r["gflops"], r["rel_error"]), textcoords="offset points", xytext=(6, 4))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("achieved GFLOP/s")
    ax.set_ylabel("relative error vs float64")
    ax.set_title("precision: speed against error")
    ax.margins(x=0.3, y=0.3)
    ax.legend(fontsize=8, loc="center")
    return fig


def training_figure(training: dict, references: list[dict]):
    """Samples per second of training against batch size: this run and references."""
    fig, ax = figure()
    runs = [(training, "this machine")] + [(r["metrics"]["training"], ref_label(r)) for r in references]
    for data, where in runs:
        style = "-" if where == "this machine" else "--"
        for key, name in (("cpu_epoch_s", "CPU"), ("gpu_epoch_s", "GPU")):
            if key in data:
                ax.plot(data["batch_size"], [data["samples"] / t for t in data[key]], style, marker="o",
                        label=f"{name}, {where}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("batch size")
    ax.set_ylabel("training samples per second")
    ax.set_title("MLP 784→128→10: throughput against batch size")
    ax.legend(fontsize=8)
    return fig


def roofline_figure(sweep: dict, roofline: dict, references: list[dict]):
    """Achieved GFLOP/s against arithmetic intensity, under each device's roofline."""
    fig, ax = figure(height=4.5)
    runs = [(sweep, roofline, "this machine")] + [
        (r["metrics"]["sweep"], r["metrics"]["roofline"], ref_label(r)) for r in references]
    grid = torch.logspace(-2, 3, 200).tolist()
    for data, roofs, where in runs:
        for key, roof in roofs.items():
            if key not in data or not roof["peak_gflops"]:
                continue
            line, = ax.plot(grid, [bench.roofline(i, roof["peak_gflops"], roof["bandwidth_gbps"]) for i in grid],
                            "-", lw=1.5, label=f"{key.upper()} roof, {where}")
            pts = roofline_points(data, key)
            for kind, marker in (("matmul", "o"), ("add", "^")):
                xs = [p[0] for p in pts if p[2] == kind]
                ys = [p[1] for p in pts if p[2] == kind]
                ax.plot(xs, ys, marker, color=line.get_color(), ms=6, alpha=0.8,
                        label=f"{kind}, {key.upper()}, {where}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title("roofline: achieved throughput against intensity")
    ax.legend(fontsize=7, loc="lower right")
    return fig
