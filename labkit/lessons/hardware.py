"""Lesson 04, CPU against GPU: the overhead model, predictions from specification sheets, the lesson's figures.

Everything a GPU number in this lesson rests on is named: a *measurement* (this machine, or a
run in data/reference/measured_*.json), a *specification* (data/reference/spec_*.json: the maker's
published peaks) or a *prediction* computed from specifications with the lesson's model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch

from labkit import bench
from labkit.data import data_dir, spec_peak
from labkit.errors import DataNotFoundError, ParameterError
from labkit.plot import figure
from labkit.results import load

LESSON = "04_gpu_vs_cpu"
BYTES_FLOAT32 = 4


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
    """How a reference run is named on the charts: its GPU and its date, as a measurement."""
    return f"measured: {ref['metrics']['hardware']['gpu']} ({ref['finished'][:10]})"


# ---- the overhead model T(n) = t0 + 2n³/P ------------------------------------------------------


def fit_overhead_model(ns: Sequence[int], seconds: Sequence[float]) -> tuple[float, float]:
    """Least-squares fit of T(n) = t0 + 2n³/P in relative error; returns (t0 seconds, P GFLOP/s)."""
    flops = torch.tensor([float(bench.matmul_flops(n)) for n in ns], dtype=torch.float64)
    t = torch.tensor(list(seconds), dtype=torch.float64)
    X = torch.stack([torch.ones_like(flops), flops], dim=1) / t[:, None]  # divide by T: relative error
    coef = torch.linalg.lstsq(X, torch.ones_like(t)[:, None]).solution.flatten()
    t0, inv_rate = coef.clamp(min=1e-12).tolist()
    return t0, 1 / inv_rate / 1e9


def model_time(n: float, t0: float, gflops_rate: float) -> float:
    """T(n) = t0 + 2n³ / P."""
    return t0 + 2 * n**3 / (gflops_rate * 1e9)


def speedup_pairs(sweep: dict) -> list[tuple[str, str, str]]:
    """(label, slower device key, faster device key) pairs worth comparing in one sweep."""
    pairs = [("1 thread → all threads (S = T₁ / T_all)", "cpu_1thread", "cpu")]
    if "gpu" in sweep:
        pairs.append(("CPU → GPU (S = T_cpu / T_gpu)", "cpu", "gpu"))
    return pairs


def speedups(sweep: dict, where: str = "this machine") -> list[dict[str, Any]]:
    """For every device pair of a sweep: the measured S(n), the fitted model's S(n), the crossover by the one rule.

    ``sweep["compared"]["slow/fast"]`` holds, per size, ``bench.Comparison.as_dict()`` of the faster
    device against the slower: S(n) is its median ratio over the rounds, and the crossover is
    ``bench.crossover`` of the comparisons' verdicts (the one rule, a busy machine's waits taken out).
    Beside it, the naive reading: the two medians alone, with no tolerance.
    """
    out = []
    ns = sweep["n"]
    for label, slow, fast in speedup_pairs(sweep):
        a, b = sweep[slow], sweep[fast]
        rounds = sweep["compared"][f"{slow}/{fast}"]
        s = [c["ratio"] for c in rounds]
        fit_a, fit_b = fit_overhead_model(ns, a["matmul_s"]), fit_overhead_model(ns, b["matmul_s"])
        model = [model_time(n, *fit_a) / model_time(n, *fit_b) for n in ns]
        worst = max(range(len(ns)), key=lambda i: abs(math.log(s[i] / model[i])))
        verdicts = [c["verdict"] for c in rounds]  # the comparison's own: a busy machine's rounds say 'cannot tell'
        medians = zip(a["matmul_s"], b["matmul_s"], strict=True)
        naive = [bench.verdict([t_a / t_b], tolerance=0.0) for t_a, t_b in medians]
        out.append({"label": f"{label}, {where}", "n": list(ns), "speedup": s, "model": model,
                    "fit_slow": fit_a, "fit_fast": fit_b, "verdicts": verdicts,
                    "crossover": bench.crossover(ns, verdicts),
                    "crossover_ignoring_noise": bench.crossover(ns, naive),
                    "worst_n": ns[worst], "worst_ratio": s[worst] / model[worst]})
    return out


def growth_sentence(ns: Sequence[int], seconds: Sequence[float], small: int, large: int) -> str:
    """How much the time grew from n = ``small`` to n = ``large`` against how much the work grew (8× per doubling)."""
    i, j = list(ns).index(small), list(ns).index(large)
    work = (large / small) ** 3
    time = seconds[j] / seconds[i]
    verdict = "far less than the work" if time < work / 4 else "about as the work does"
    return (f"from n = {small} to n = {large} the work grows {work:,.0f}× and the time {time:.1f}×: "
            f"{verdict}")


# ---- the peak: an estimate, checked by measurement ----------------------------------------------


def peak_verdict(best_gflops: float, peak: dict) -> str:
    """What the best measured matmul says of the estimated peak: under it, or proof that the estimate is wrong."""
    estimate = peak.get("peak_gflops")
    if not estimate:
        return f"no peak estimate here; the best measured matmul reached {best_gflops:,.0f} GFLOP/s"
    if best_gflops <= estimate:
        return (f"the best measured matmul reached {best_gflops:,.0f} GFLOP/s, {best_gflops / estimate:.0%} of the "
                f"estimated peak of {estimate:,.0f} GFLOP/s")
    ghz = best_gflops / (peak["threads"] * peak["flops_per_cycle"])
    return (f"the best measured matmul reached {best_gflops:,.0f} GFLOP/s, above the estimated peak of "
            f"{estimate:,.0f} GFLOP/s: the estimate is wrong, not the measurement. At {peak['flops_per_cycle']} FLOP "
            f"per cycle the measurement needs at least {ghz:.2f} GHz, while the estimate used {peak['ghz']:.2f} GHz "
            f"({peak['clock_from']}): the cores run faster than the clock reported")


def cpu_sheet(sheets: Sequence[dict], family: int | None, model: int | None) -> dict | None:
    """The CPU specification sheet whose family and model ranges hold this CPU's, or None."""
    for sheet in sheets:
        if family == sheet.get("cpu_family") and model is not None and any(
                lo <= model <= hi for lo, hi in sheet.get("cpu_models", [])):
            return sheet
    return None


def dtype_estimate(peak: dict, sheet: dict | None, dtype: str) -> float | None:
    """ESTIMATED peak GFLOP/s in ``dtype``: the float32 estimate times the sheet's per-cycle ratio (None: unknown)."""
    per_cycle = (sheet or {}).get("flops_per_cycle_per_core", {})
    if not peak.get("peak_gflops") or dtype not in per_cycle or "float32" not in per_cycle:
        return None
    return peak["peak_gflops"] * per_cycle[dtype] / per_cycle["float32"]


# ---- predictions from specification sheets ---------------------------------------------------


def predicted_seconds(flops: float, nbytes: float, spec: dict, *, dtype: str = "float32",
                      launch_s: float = 1e-5, copy_bytes: float = 0.0) -> float:
    """PREDICTION for one call on the GPU of ``spec``: launch + the slower of compute and memory + copies.

    t = launch + max(FLOPs / peak, bytes / memory bandwidth) + copy_bytes / host link: the
    lesson's overhead model with the roofline for the work; the peaks and bandwidths are the
    maker's specification, so real calls are slower.
    """
    compute = flops / (spec_peak(spec, dtype) * 1e12)
    memory = nbytes / (spec["memory_bandwidth_gbps"] * 1e9)
    copies = copy_bytes / (spec["host_link"]["gbps_per_direction"] * 1e9)
    return launch_s + max(compute, memory) + copies


def predict_sweep(ns: Sequence[int], spec: dict, *, dtype: str = "float32", launch_s: float = 1e-5
                  ) -> dict[str, list[float]]:
    """PREDICTED seconds of the lesson's n×n matmuls and additions on ``spec``'s GPU, with and without the copies.

    Copies in: both inputs (2·4n² bytes); out: the result (4n²); both over the host link.
    """
    out: dict[str, list[float]] = {"matmul_s": [], "matmul_with_copies_s": [], "add_s": [], "add_with_copies_s": []}
    for n in ns:
        moved = 3 * BYTES_FLOAT32 * n * n
        for op, flops in (("matmul", bench.matmul_flops(n)), ("add", n * n)):
            out[f"{op}_s"].append(predicted_seconds(flops, moved, spec, dtype=dtype, launch_s=launch_s))
            out[f"{op}_with_copies_s"].append(predicted_seconds(flops, moved, spec, dtype=dtype, launch_s=launch_s,
                                                                copy_bytes=moved))
    return out


def break_even_n(cpu_fit: tuple[float, float], spec: dict, *, dtype: str = "float32", launch_s: float = 1e-5,
                 copies: bool = False, largest: int = 1 << 16) -> int | None:
    """The smallest n at which an n×n matmul on ``spec``'s GPU (predicted) beats the CPU's fitted model; None if none.

    Both sides are models here: the CPU's fitted T = t0 + 2n³/P, the GPU's ``predicted_seconds``.
    """
    for n in range(1, largest + 1):
        moved = 3 * BYTES_FLOAT32 * n * n
        gpu = predicted_seconds(bench.matmul_flops(n), moved, spec, dtype=dtype, launch_s=launch_s,
                                copy_bytes=moved if copies else 0.0)
        if gpu < model_time(n, *cpu_fit):
            return n
    return None


def break_even_table(cpu_fit: tuple[float, float], specs: Sequence[dict],
                     launches_s: Sequence[float]) -> dict[str, list[int | None]]:
    """``break_even_n`` for every sheet (by short name) at every launch cost: which of the two moves it more."""
    return {short_name(spec): [break_even_n(cpu_fit, spec, launch_s=t) for t in launches_s]
            for spec in specs}


def short_name(spec: dict) -> str:
    """'A100' for 'NVIDIA A100 SXM4 80GB': the model, for legends."""
    words = spec["name"].split()
    return words[1] if len(words) > 1 and words[0] == "NVIDIA" else spec["name"]


# ---- figures ----------------------------------------------------------------------------------


def _legend_outside(ax, fontsize: int = 8) -> None:
    ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def ladder_figure(ladder: list[dict], references: list[dict]):
    """GFLOP/s per rung as points on a log axis, each labelled with its value; measured GPU runs in grey."""
    rows = [(f"{r['rung']} (n={r['n']})", r["gflops"], "tab:blue") for r in ladder]
    for ref in references:
        rows += [(f"{r['rung']} (n={r['n']}) — {ref_label(ref)}", r["gflops"], "tab:gray")
                 for r in ref["metrics"]["ladder"]]
    fig, ax = figure(height=1.2 + 0.45 * len(rows))
    for y, (_, value, color) in enumerate(reversed(rows)):
        ax.hlines(y, 0, 1, transform=ax.get_yaxis_transform(), color="lightgray", linewidth=0.8, zorder=0)
        ax.plot(value, y, "o", color=color, markersize=8)
        ax.annotate(f"{value:,.3g} GFLOP/s", (value, y), textcoords="offset points", xytext=(8, -3), fontsize=9)
    ax.set_yticks(range(len(rows)), [name for name, _, _ in reversed(rows)])
    ax.set_xscale("log")
    low, high = min(v for _, v, _ in rows), max(v for _, v, _ in rows)
    ax.set_xlim(low / 3, high * 20)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlabel("achieved GFLOP/s (log scale: each grid line is 10×)")
    ax.set_title("the same matmul, climbing the ladder" + ("" if references else " (this machine)"))
    return fig


def warmup_figure(single: list[float], right: bench.Measurement):
    """Single stopwatch timings in call order, and what labkit.bench.measure reports after its warm-up.

    The band is the middle half of the single timings after the first five calls; the measure's
    own IQR is over block means (each block averages many calls), so it is narrower.
    """
    fig, ax = figure()
    ms = [t * 1e3 for t in single]
    ax.plot(range(1, len(ms) + 1), ms, "o-", label="one stopwatch reading per call")
    later = torch.tensor(ms[5:]) if len(ms) > 5 else torch.tensor(ms)
    q1, q3 = torch.quantile(later, torch.tensor([0.25, 0.75])).tolist()
    ax.axhspan(q1, q3, color="tab:blue", alpha=0.15, label="middle half of the calls after the 5th")
    ax.axhline(right.median * 1e3, color="tab:green", linestyle="--",
               label=f"labkit.bench.measure: median of {len(right.times)} block means")
    ax.set_yscale("log")
    ax.set_xlabel("call number")
    ax.set_ylabel("ms per call (log scale)")
    ax.set_title("the first call is slow; single readings scatter")
    ax.legend(fontsize=8, loc="upper right")
    return fig


def sweep_figure(sweep: dict, references: list[dict]):
    """Time and throughput of the matmul against n, this run and measured references."""
    names = {"cpu_1thread": "CPU, 1 thread", "cpu": "CPU, all threads", "gpu": "GPU"}
    fig, (ax_t, ax_f) = figure(2, width=12, height=4.2)
    runs = [(sweep, "", "-")] + [(r["metrics"]["sweep"], f" — {ref_label(r)}", "--") for r in references]
    for data, suffix, style in runs:
        ns = data["n"]
        for key, name in names.items():
            if key not in data:
                continue
            t = data[key]["matmul_s"]
            ax_t.plot(ns, t, style, marker="o", label=name + suffix)
            ax_f.plot(ns, [bench.gflops(bench.matmul_flops(n), s) for n, s in zip(ns, t, strict=True)], style,
                      marker="o", label=name + suffix)
    for ax, title, ylabel in ((ax_t, "matmul: seconds per call", "seconds"), (ax_f, "matmul: throughput", "GFLOP/s")):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n (matrices are n × n)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
    ax_t.legend(fontsize=8, loc="upper left")
    return fig


def speedup_figure(pairs: list[dict]):
    """Measured S(n) (solid) and the fitted overhead model (dashed), with the crossover marked where there is one."""
    fig, ax = figure()
    for pair in pairs:
        line, = ax.plot(pair["n"], pair["speedup"], "o-", label=f"measured: {pair['label']}")
        ax.plot(pair["n"], pair["model"], "--", color=line.get_color(), label="overhead model fitted to the times")
        if pair["crossover"] is not None:
            ax.axvline(pair["crossover"], color=line.get_color(), linestyle=":", linewidth=1,
                       label=f"crossover (faster in every round): n = {pair['crossover']}")
    ax.axhline(1, color="black", lw=1)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n")
    ax.set_ylabel("speedup S(n) (log scale)")
    ax.set_title("the speedup depends on the size")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def bandwidth_figure(adds: dict, caches: dict[str, int], memory_gbps: float):
    """GB/s of A + B against its working set (3 arrays), with the cache sizes and the main-memory bandwidth."""
    fig, ax = figure()
    working = [3 * BYTES_FLOAT32 * n * n for n in adds["n"]]
    rates = [bench.gbps(w, t) for w, t in zip(working, adds["seconds"], strict=True)]
    ax.plot([w / 2**20 for w in working], rates, "o-", label="A + B, measured")
    for n, w, r in zip(adds["n"], working, rates, strict=True):
        ax.annotate(f"n={n}", (w / 2**20, r), textcoords="offset points", xytext=(4, 6), fontsize=8)
    for level, size in caches.items():
        ax.axvline(size / 2**20, color="gray", linestyle=":", linewidth=1)
        ax.annotate(f"{level} {size // 1024:,} KiB" if size < 2**20 else f"{level} {size // 2**20} MiB",
                    (size / 2**20, 0.97), xycoords=("data", "axes fraction"), rotation=90, fontsize=8,
                    color="gray", xytext=(3, 0), textcoords="offset points", va="top")
    ax.axhline(memory_gbps, color="tab:red", linestyle="--",
               label=f"main memory: measured copy of 64 MiB, {memory_gbps:.0f} GB/s")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("working set of A + B (MiB, 3 float32 arrays)")
    ax.set_ylabel("GB/s (log scale)")
    ax.set_title("small additions run from the caches, large ones from main memory")
    ax.legend(fontsize=8, loc="lower center")
    return fig


def roofline_figure(sweep: dict, adds: dict, roofline: dict, references: list[dict]):
    """Achieved GFLOP/s against arithmetic intensity under this machine's roofline; every point labelled with n."""
    fig, ax = figure(width=8.5, height=4.8)
    grid = torch.logspace(-2, 3, 200).tolist()
    runs = [(sweep, adds, roofline, "this machine")] + [
        (r["metrics"]["sweep"], r["metrics"].get("adds"), r["metrics"]["roofline"], ref_label(r)) for r in references]
    for data, add_data, roofs, where in runs:
        for key, roof in roofs.items():
            if key not in data or not roof.get("peak_gflops"):
                continue
            kind = roof.get("peak_kind", "estimated peak")
            line, = ax.plot(grid, [bench.roofline(i, roof["peak_gflops"], roof["bandwidth_gbps"]) for i in grid],
                            "-", lw=1.5, label=f"{key.upper()} roof, {where} ({kind})")
            color = line.get_color()
            if roof.get("best_measured_gflops"):  # drawn apart from the roof: the check is whether it stays under
                ax.axhline(roof["best_measured_gflops"], color=color, ls=":", lw=1.2,
                           label=f"{key.upper()} best measured matmul, {where}")
            for n, t in zip(data["n"], data[key]["matmul_s"], strict=True):
                x = bench.arithmetic_intensity(bench.matmul_flops(n), bench.matmul_bytes(n))
                y = bench.gflops(bench.matmul_flops(n), t)
                ax.plot(x, y, "o", color=color, ms=6)
                ax.annotate(f"{n}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7, color=color)
            if add_data and key == "cpu":
                ys = [bench.gflops(n * n, t) for n, t in zip(add_data["n"], add_data["seconds"], strict=True)]
                x = bench.arithmetic_intensity(1, bench.elementwise_bytes(1))
                ax.plot([x] * len(ys), ys, "^", color=color, ms=6)
                ax.annotate(f"additions, n = {add_data['n'][0]} to {add_data['n'][-1]}\n(each n: the bandwidth figure)",
                            (x, max(ys)), textcoords="offset points", xytext=(8, 4), fontsize=7, color=color,
                            ha="left")
    ax.plot([], [], "o", color="gray", label="matmul (label: n)")
    ax.plot([], [], "^", color="gray", label="addition A + B")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("arithmetic intensity (FLOP per byte)")
    ax.set_ylabel("GFLOP/s")
    ax.set_title("roofline: achieved throughput against intensity")
    _legend_outside(ax)
    return fig


def precision_figure(precision: dict, references: list[dict]):
    """Relative error against GFLOP/s for each dtype: this run's CPU (and GPU), and measured references."""
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
    _legend_outside(ax)
    return fig


def training_figure(training: dict, references: list[dict]):
    """Samples per second of training against batch size: this run and measured references."""
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
    ax.legend(fontsize=8, loc="lower right")
    return fig


def prediction_figure(ns: Sequence[int], cpu_seconds: Sequence[float], cpu_fit: tuple[float, float],
                      predictions: dict[str, dict], pred_ns: Sequence[int],
                      measured: dict[str, Sequence[float]] | None = None):
    """The CPU's measured matmul time beside each GPU's PREDICTED time (``pred_ns``), without and with the copies.

    Beyond the measured sizes the CPU's fitted model is drawn thin, as an extrapolation;
    ``measured`` adds GPU timings measured here or in a reference run, as solid lines.
    """
    fig, ax = figure(width=11, height=4.8)
    ax.plot(ns, cpu_seconds, "o-", color="black", label="CPU: measured here")
    ax.plot(pred_ns, [model_time(n, *cpu_fit) for n in pred_ns], "-", color="black", linewidth=0.8,
            label="CPU: its fitted model, extrapolated")
    for label, seconds in (measured or {}).items():
        ax.plot(ns, seconds, "s-", label=f"{label}: measured")
    for name, pred in predictions.items():
        line, = ax.plot(pred_ns, pred["matmul_s"], "--", label=f"{name}: predicted, data on the GPU")
        ax.plot(pred_ns, pred["matmul_with_copies_s"], ":", color=line.get_color(),
                label=f"{name}: predicted, with the copies")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (float32 matmul of n × n matrices)")
    ax.set_ylabel("seconds per matmul (log scale)")
    ax.set_title("when is a GPU worth it? measured CPU against predicted GPUs")
    _legend_outside(ax)
    return fig


# ---- explorer: is this matmul worth moving to that GPU? ------------------------------------------

EXPLORER_NS = [2**k for k in range(4, 15)]  # n = 16 … 16,384
CpuSweep = tuple[Sequence[int], Sequence[float]]  # the CPU sweep: (sizes, median seconds)


def gpu_parts(n: int, spec: dict, *, launch_s: float = 1e-5, copies: bool = True) -> dict[str, float]:
    """PREDICTED seconds of one float32 n×n matmul on ``spec``'s GPU, by part: launch, work (the roofline), copies."""
    moved = 3 * BYTES_FLOAT32 * n * n
    total = predicted_seconds(bench.matmul_flops(n), moved, spec, launch_s=launch_s,
                              copy_bytes=moved if copies else 0.0)
    copy_s = moved / (spec["host_link"]["gbps_per_direction"] * 1e9) if copies else 0.0
    return {"launch": launch_s, "work": total - launch_s - copy_s, "copies": copy_s, "total": total}


def worth_text(n: int, spec: dict, cpu_fit: tuple[float, float], measured: CpuSweep, *,
               launch_us: float = 10.0, copies: bool = True) -> str:
    """One paragraph: the CPU's fitted time, the GPU's predicted time by part, the verdict and the break-even size."""
    launch_s = launch_us * 1e-6
    cpu = model_time(n, *cpu_fit)
    gpu = gpu_parts(n, spec, launch_s=launch_s, copies=copies)
    inside = min(measured[0]) <= n <= max(measured[0])
    cpu_how = "fitted to this CPU's sweep" if inside else "this CPU's fitted model, extrapolated beyond the sweep"
    ratio = cpu / gpu["total"]
    verdict = (f"the GPU is predicted {ratio:,.1f}× faster" if ratio > 1
               else f"the CPU is predicted {1 / ratio:,.1f}× faster: keep it on the CPU")
    even = break_even_n(cpu_fit, spec, launch_s=launch_s, copies=copies)
    start = "on the host, copied in and out" if copies else "already on the GPU"
    even_text = f"break-even at n = {even:,}" if even else "no break-even up to n = 65,536"
    return (f"n = {n:,}, data {start}: CPU {bench.format_seconds(cpu)} ({cpu_how}); "
            f"{short_name(spec)} {bench.format_seconds(gpu['total'])} (prediction: launch "
            f"{bench.format_seconds(gpu['launch'])} + work {bench.format_seconds(gpu['work'])}"
            f"{' + copies ' + bench.format_seconds(gpu['copies']) if copies else ''}); {verdict}; {even_text}")


def worth_figure(n: int, spec: dict, cpu_fit: tuple[float, float], measured: CpuSweep, *,
                 launch_us: float = 10.0, copies: bool = True):
    """Time against n: the CPU (measured, and its fitted model), the GPU's prediction, the chosen n, the break-even."""
    launch_s = launch_us * 1e-6
    ns = EXPLORER_NS
    fig, ax = figure(width=9, height=4.2)
    ax.plot(ns, [model_time(m, *cpu_fit) for m in ns], "-", color="black", label="CPU: fitted model")
    ax.plot(*measured, "o", color="black", label="CPU: measured here")
    gpu = [gpu_parts(m, spec, launch_s=launch_s, copies=copies)["total"] for m in ns]
    ax.plot(ns, gpu, "--", color="tab:green",
            label=f"{short_name(spec)}: predicted{', with copies' if copies else ', data on the GPU'}")
    ax.axvline(n, color="tab:blue", linewidth=1)
    ax.annotate(f"n = {n:,}", (n, 1), xycoords=("data", "axes fraction"), xytext=(4, -12),
                textcoords="offset points", color="tab:blue", fontsize=9)
    even = break_even_n(cpu_fit, spec, launch_s=launch_s, copies=copies)
    if even:
        ax.plot([even], [model_time(even, *cpu_fit)], "*", color="tab:red", markersize=12,
                label=f"break-even, n = {even:,}")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("n (float32 matmul of n × n matrices)")
    ax.set_ylabel("seconds per matmul (log scale)")
    ax.set_title(f"this CPU (measured, fitted) against {short_name(spec)} (predicted from its sheet), "
                 f"launch {launch_us:.3g} µs", fontsize=10)
    _legend_outside(ax)
    return fig


def worth_explorer(specs: dict[str, dict], cpu_fit: tuple[float, float], measured: CpuSweep, *,
                   n: int = 1024, launch_us: float = 10.0, copies: bool = True) -> None:
    """Controls for n, the GPU, where the data starts and the launch overhead; the verdict and the curves follow.

    The launch slider spans 0.1 µs to 10 ms (log scale); a ``launch_us`` outside starts at the nearer end.
    """
    from labkit.explorer import explorer

    if n not in EXPLORER_NS:
        raise ParameterError(f"n = {n!r} is not allowed for the explorer: one of {EXPLORER_NS}")
    first = next(iter(specs))
    launch_us = min(max(launch_us, 0.1), 1e4)

    def render(n: int, gpu: str, copies: bool, launch_us: float):
        return (worth_text(n, specs[gpu], cpu_fit, measured, launch_us=launch_us, copies=copies),
                worth_figure(n, specs[gpu], cpu_fit, measured, launch_us=launch_us, copies=copies))

    explorer(
        lambda w: [
            [("n", w.SelectionSlider(options=EXPLORER_NS, value=n, description="n", continuous_update=False)),
             ("gpu", w.Dropdown(options=list(specs), value=first, description="GPU"))],
            [("copies", w.Dropdown(options=[("on the host (copied)", True), ("already on the GPU", False)],
                                   value=copies, description="data")),
             ("launch_us", w.FloatLogSlider(value=launch_us, base=10, min=-1, max=4, step=0.1,
                                            description="launch µs", continuous_update=False))],
        ],
        render, n=n, gpu=first, copies=copies, launch_us=launch_us,
    )
