"""The stored outputs agree with the sentences that interpret them.

Each lesson's prose makes claims about the numbers its cells print ("momentum gets there in under
a hundred steps", "the estimate is wrong, not the measurement"). The numbers are re-read here from
the stored outputs of the committed notebooks and each claim is recomputed from them, so a re-run
that changes a number cannot leave a sentence that contradicts it.
"""

from __future__ import annotations

import math
import re

import nbformat
import numpy as np
import pytest

from helpers.paths import NOTEBOOKS

NUMBER = r"(-?[\d,]+(?:\.\d+)?(?:e[+-]?\d+)?)"


def _text(lesson: str) -> tuple[str, str]:
    """(all stored text outputs, all markdown) of a lesson."""
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    outputs, prose = [], []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            prose.append(cell.source)
            continue
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream":
                outputs.append(out["text"])
            elif "text/plain" in out.get("data", {}):
                outputs.append(out["data"]["text/plain"])
    return "\n".join(outputs), "\n".join(" ".join(p.split()) for p in prose)


def _num(pattern: str, text: str, group: int = 1) -> float:
    found = re.search(pattern, text)
    assert found, f"no output matches {pattern!r}"
    return float(found.group(group).replace(",", ""))


def _all(pattern: str, text: str) -> list[re.Match]:
    found = list(re.finditer(pattern, text))
    assert found, f"no output matches {pattern!r}"
    return found


def test_lesson_00_memory_budgets() -> None:
    out, prose = _text("00_start_here")
    measured = _num(rf"total\s+{NUMBER} bytes per parameter, measured; labkit.footprint says {NUMBER}", out)
    said = _num(rf"measured; labkit.footprint says {NUMBER}", out)
    assert measured == said == 16
    assert "measured total is the table's 16 bytes per parameter" in prose
    # "a 7-billion-parameter model that runs on one 80 GiB GPU needs at least two of them to train"
    assert "7 B parameters in bfloat16" in out
    assert "(1 GPU of 80 GiB at the least)" in out
    assert "(2 GPUs of 80 GiB at the least, the training state sharded across them)" in out
    assert "only if the training state is split across them" in prose
    assert "Expected all tensors to be on the same device" in out  # the real message, as the prose promises


def test_lesson_01_losses() -> None:
    out, prose = _text("01_loss_functions")
    mean = _num(rf"mean of y\s+= {NUMBER}", out)
    median = _num(rf"median of y = {NUMBER}", out)
    huber = re.search(rf"best Huber constant \(δ=[\d.]+\) = {NUMBER}: (.*)", out)
    c = float(huber.group(1))
    where = huber.group(2)
    lo, hi = sorted((mean, median))
    expected = "between" if lo <= c <= hi else ("below both" if c < lo else "above both")
    assert where.startswith(expected), f"Huber {c} with mean {mean}, median {median}, but the output says {where!r}"
    saturate = _num(rf"smallest z with σ\(z\) == 1 in float32: {NUMBER}", out)
    assert "above about 17" in prose and 16 <= saturate < 18
    clamped = re.search(r"F.binary_cross_entropy\(σ\(z\), y\):\s+\[([^\]]*)\]", out).group(1)
    assert [float(v) for v in clamped.split(",")] == [100.0, 100.0], "the prose says: 100 for both"
    t_bce = _num(rf"BCE is smallest at t = {NUMBER}", out)
    acc_there = _num(rf"where accuracy is {NUMBER}%", out)
    best = _num(rf"the best accuracy, {NUMBER}%", out)
    runs = re.search(r"is reached for t in ((?:\[[-\d.]+, [-\d.]+\](?: and )?)+)", out).group(1)
    intervals = [(float(a), float(b)) for a, b in re.findall(r"\[([-\d.]+), ([-\d.]+)\]", runs)]
    assert acc_there < best and not any(lo <= t_bce <= hi for lo, hi in intervals)
    assert all(b1 < a2 for (_, b1), (a2, _) in zip(intervals, intervals[1:], strict=False)), "runs, in order"
    assert "the surrogate's minimum costs accuracy here" in out
    assert "The naive form gave `nan` for both classes" in prose
    assert out.count("naive cross-entropy for class") == 2 and "is nan" in out and " is inf" not in out


def test_lesson_02_descent() -> None:
    out, prose = _text("02_gradient_descent")
    momentum_steps = _num(r"momentum α=0.01, β=0.9\s+converged\s+loss < 1e-4 at step (\d+)", out)
    assert momentum_steps < 100 and "momentum gets there in under a hundred" in prose
    gd_steps = _num(r"GD α=0.01 given 5000 steps: loss < 1e-4 at step (\d+)", out)
    assert 700 <= gd_steps <= 1400 and "needs about a thousand" in prose
    decades = _num(rf"largest single rise: {NUMBER} decades", out)
    assert 1 <= decades <= 2 and "rises and falls by one or two decades" in prose
    limit = _num(rf"stable only below 2/λ_max = {NUMBER}", out)
    either_side = re.findall(r"α = ([\d.]+): (converged|diverged)\n", out)
    assert {status for _, status in either_side} == {"converged", "diverged"}
    for alpha, status in either_side:
        assert (float(alpha) < limit) == (status == "converged"), f"α = {alpha} {status} beside 2/λmax = {limit}"
    lam_max, lam_min = _num(rf"λ_max = {NUMBER}", out), _num(rf"λ_min = {NUMBER}", out)
    assert _num(rf"κ = {NUMBER}", out) == pytest.approx(lam_max / lam_min, rel=0.02)
    gd_tuned = _num(r"GD\s+: fastest α on the grid = [\d.]+, loss < 1e-4 after (\d+) steps", out)
    mom_tuned = _num(r"momentum β=0.9\s+: fastest α on the grid = [\d.]+, loss < 1e-4 after (\d+) steps", out)
    ratio = _num(rf"tuned momentum needs {NUMBER}× fewer steps than tuned GD", out)
    assert ratio == pytest.approx(gd_tuned / mom_tuned, abs=0.05)
    const = _num(rf"SGD, constant α\s+: final loss {NUMBER}", out)
    cosine = _num(rf"SGD, cosine schedule: final loss {NUMBER}", out)
    floor = _num(rf"SGD, cosine schedule: final loss [\d.]+ \(floor {NUMBER}\)", out)
    assert cosine - floor < const - floor, "the schedule must settle closer to the floor, as the prose says"
    cost = _num(rf"a step on all \d+ examples costs {NUMBER}× a step on one", out)
    assert cost < 2 and "a step's cost hardly depends on the batch size" in prose, "the prose says: hardly depends"
    # both model settings sit just below their own edge of stability, momentum's being 2(1 + β)/λmax
    edge_gd, best_gd, edge_mom, best_mom = (float(x) for x in re.search(
        r"edges of stability: GD 2/λ_max = ([\d.]+) \(its α\* is ([\d.]+)\); momentum 2\(1 \+ β\)/λ_max = ([\d.]+) "
        r"\(its α is ([\d.]+)\)", out).groups())
    beta = _num(rf"momentum α = [\d.]+, β = {NUMBER}", out)
    assert edge_mom == pytest.approx(2 * (1 + beta) / lam_max, rel=0.01) and best_gd < edge_gd and best_mom < edge_mom
    assert "just below its edge of stability" in prose and "with $\\alpha$ at the edge $2/\\lambda_\\max$" not in prose


def test_lesson_03_regression() -> None:
    out, prose = _text("03_linear_regression")
    gap = _num(rf"fit vs truth: {NUMBER} standard errors", out)
    assert ("less than one standard error" in out) == (gap < 1)
    off = _num(rf"is {NUMBER} standard errors (?:below|above) 95 %", out)
    assert ("within the binomial noise" in out) == (off < 2)
    inside, n = (_num(r"(\d+) of (\d+) inside;", out, g) for g in (1, 2))
    assert _num(rf"test houses inside their 95 % interval: {NUMBER}%", out) == pytest.approx(100 * inside / n, abs=0.05)
    kappa = _num(rf"raw\s+λmax = [\d.e+]+, λmin = [\d.e+-]+, κ = {NUMBER}", out)
    steps = _num(rf"κ·ln\(10⁶\)/2 ≈ {NUMBER} steps", out)
    assert steps == pytest.approx(kappa * 13.8155 / 2, rel=0.05)
    assert "(it can only fall: True)" in out
    best_deg = _num(rf"validation MSE: lowest at degree \d+ \({NUMBER}\)", out)
    unpenalised = _num(rf"without a penalty {NUMBER}", out)
    ridged = _num(rf"with ridge λ = [\d.e+-]+: {NUMBER}", out)
    assert unpenalised > 10 * best_deg, "the prose says the validation error climbs by orders of magnitude"
    assert ridged < 1.5 * best_deg, "the prose says ridge brings it down to about the best low degree's"
    tiny_kappa = _num(rf"the valley: XᵀX/n has λmax = [\d.]+ and λmin = [\d.]+, κ = {NUMBER}", out)
    assert f"κ ≈ {tiny_kappa:.0f}, printed above" in prose


def test_lesson_04_peak_and_roofline() -> None:
    out, prose = _text("04_gpu_vs_cpu")
    best = _num(rf"the best measured matmul reached {NUMBER} GFLOP/s", out)
    estimate = _num(rf"estimated peak of {NUMBER} GFLOP/s", out)
    if best > estimate:
        assert "the estimate is wrong, not the measurement" in out
    else:
        assert _num(rf"GFLOP/s, {NUMBER}% of the estimated peak", out) == pytest.approx(100 * best / estimate, abs=1)
    bandwidth = _num(rf"CPU main-memory bandwidth: {NUMBER} GB/s", out)
    for match in _all(rf"A \+ B, n =\s+\d+: working set\s+[\d.]+ MiB,\s+{NUMBER} GB/s, (above|at or below) the", out):
        rate, side = float(match.group(1)), match.group(2)
        assert (rate > bandwidth) == (side == "above"), match.group(0)
    for match in _all(r"worth moving from n = (\d+) if the data is already on the GPU, from n = (\d+) if it must", out):
        kernel, copies = int(match.group(1)), int(match.group(2))
        assert copies >= kernel, "copying the data can only delay the break-even"
    assert "7×" not in prose, "an unsourced speedup"
    # the compute roof is the estimate, drawn apart from the best measurement
    assert "The flat compute roof is the *estimated* peak, and the dotted line the best matmul *measured*" in prose
    best_sweep = _num(r"best matmul of the sweep reached ([\d.]+) GFLOP/s \(at n = \d+\)", out.replace(",", ""))
    assert best_sweep <= best + 0.5, "the sweep's best is one of the measurements the check's best is taken over"
    assert "0.0 GFLOP/s" not in out and "largest matmul reached" not in out
    # float32 error between u and √n·u, bfloat16's about u (its inputs'), as the prose expects
    for name, low, high in (("float32", 1.0, 16.0), ("bfloat16", 0.5, 1.5)):
        ratio = _num(rf"CPU\s+{name}: relative error [\d.e+-]+ = {NUMBER} u", out)
        assert low <= ratio <= high, f"{name}: {ratio} u"
    # bfloat16 against its own estimate: the sentence agrees with the two numbers
    bf16 = re.search(r"bfloat16: measured ([\d.,]+) GFLOP/s against its estimate of ([\d.,]+) .*: "
                     r"(above it|(\d+)% of it)", out)
    if bf16:
        measured, estimate16 = (float(x.replace(",", "")) for x in bf16.groups()[:2])
        assert (bf16.group(3) == "above it") == (measured > estimate16)
    assert "Zen 4" not in prose and "There is no GPU on every machine" not in prose
    # the launch cost: the sentence agrees with the table above it
    rows = [[int(v) if v != "—" else None for v in m.group(2).split()]
            for m in _all(r"\n *([\d.]+) µs((?: +(?:\d+|—))+)", out)]
    spread_sheets = int(re.search(r"the three sheets put the break-even within (\d+) of each other", out).group(1))
    lo, hi = (int(x) for x in re.search(r"it moves by (\d+) to (\d+) for each sheet", out).groups())
    moves = [col[-1] - col[0] for col in zip(*rows, strict=True)]
    assert (lo, hi) == (min(moves), max(moves))
    decides = "the launch cost decides, not the specification sheet" in out
    assert decides == (lo > spread_sheets)


def test_lesson_05_backprop() -> None:
    out, prose = _text("05_backpropagation")
    assert "wrong in four places" in prose and "says ReLU makes a network faster" in prose
    scaled = _all(r"g × gradient norm is ([\d.e+-]+), ([\d.e+-]+), ([\d.e+-]+) for g = [\d., ]+: (.*)", out)[0]
    values = [float(scaled.group(k)) for k in (1, 2, 3)]
    exact = max(values) / min(values) - 1 < 1e-3
    assert exact == scaled.group(4).startswith("the norm is 1/g times"), scaled.group(0)
    assert "every gradient is then exactly $1/g$ times" in prose, "the prose derives the 1/g"
    assert "the derivation does not hold for it" in prose, "Xavier is derived for tanh, not for sigmoid"
    predicted = _num(rf"the FLOP count predicts {NUMBER}× the time of a training step", out)
    ratios = {int(m.group(1)): float(m.group(2)) for m in _all(rf"width\s+(\d+): {NUMBER}× the time", out)}
    verdict = re.search(r"At width \d+ the measured cost is (nearer to|no nearer to) the FLOP count's", out)
    if verdict:
        narrow, wide = min(ratios), max(ratios)
        nearer = abs(ratios[wide] - predicted) < abs(ratios[narrow] - predicted)
        assert (verdict.group(1) == "nearer to") == nearer, (ratios, predicted)


def test_lesson_06_classifier() -> None:
    out, prose = _text("06_classifier")
    per_digit = _num(rf"parameters for \d+ training digits: {NUMBER} per digit", out)
    assert 100 <= per_digit < 1000 and "hundreds of parameters per training example" in prose
    assert "touched once" not in prose and "never used to choose anything" in prose
    # every comparison between models is on validation; the test split reports the chosen model once
    assert "test errors" not in out and "validation errors: softmax regression" in out
    assert _all(r"chosen by validation: .*reported once", out)
    assert "val accuracy" in out and "test accuracy" not in out, "the shrunk widths are compared on validation"
    assert "95 % validation accuracy on `digits(0)`" in prose
    # early stopping: the sentence agrees with the table
    row = rf"(?m)^(no cure|early stopping \(\d+\))\s+\d+\s+[\d.]+\s+{NUMBER}\s+[\d.]+\s+[\d.]+%\s+{NUMBER}%"
    table = {m.group(1).strip(): (float(m.group(2)), float(m.group(3))) for m in _all(row, out)}
    (plain_loss, plain_acc) = table.pop("no cure")
    ((stop_loss, stop_acc),) = table.values()
    said = "and a lower validation accuracy" in out
    assert said == (stop_loss < plain_loss and stop_acc < plain_acc)
    # the grid: every step where more data lowered accuracy is named, and none other
    start = out.index("validation accuracy (%), rows")
    grid = out[start:out.index("more data (", start)]
    rows = [[float(v) for v in m.group(2).split()] for m in _all(r"(?m)^ *(\d+)((?: +[\d.]+){2,})$", grid)]
    drops = sum(1 for row in rows for a, b in zip(row, row[1:], strict=False) if b < a)
    if drops:
        assert f"more data lowered validation accuracy at {drops} step(s)" in out
    else:
        assert "more data raised validation accuracy at every step" in out


def test_lesson_07_precision_and_compression() -> None:
    out, prose = _text("07_precision_and_compression")
    # float16 rounds to 0 at or below 2^-25, not below 2^-24: the prose and the figure's threshold
    assert "$2^{-25} \\approx 3 \\cdot 10^{-8}$, to **zero**" in prose and "below its smallest subnormal" not in prose
    assert "256 integers, −128 … 127" in prose and "255 evenly spaced" not in prose
    # every comparison on validation; the test split read once, for the chosen network and the dense one
    assert out.count("test accuracy") == 1 and "test accuracy, read once:" in out
    rows = {float(m.group(1)) / 100: (float(m.group(2)) / 100, float(m.group(3)) / 100)
            for m in _all(r"sparsity +(\d+)%: validation accuracy ([\d.]+)% pruned, ([\d.]+)% after", out)}
    dense_tuned = _num(r"trained \d+ epochs more like the pruned ones: ([\d.]+)%", out) / 100
    assert rows[0.0][1] == dense_tuned, "the fair reference is the dense model fine-tuned as long"
    chosen = _num(r"chosen on validation: (\d+)% sparsity", out) / 100
    within = [s for s, (_, tuned) in rows.items() if tuned >= dense_tuned - 0.01 - 1e-9]
    assert chosen == max(within), "the largest sparsity within one point of the dense model trained as long"
    for m in _all(r"(\d+)%: +[-+][\d.]+ points right after pruning, +[-+][\d.]+ from fine-tuning: "
                  r"(level with|(\d+) digit\(s\) (behind|ahead of)) the dense model", out):
        gap = round((dense_tuned - rows[int(m.group(1)) / 100][1]) * 270)
        said = 0 if m.group(2) == "level with" else int(m.group(3)) * (1 if m.group(4) == "behind" else -1)
        assert said == gap, m.group(0)
    # the batch-1 product: the reading agrees with the verdicts printed above it
    verdicts = re.findall(r"is [\d.]+× (faster|slower) than float32|cannot tell", out[out.index("batch 1,"):])
    reading = re.search(r"float32 read its weights at [\d.]+ GB/s\. (.*)", out).group(1)
    assert reading.startswith("Fewer bytes paid here") == ("faster" in verdicts[:4])
    # the explorer's starting values, which Exercise 4 quotes: CSR larger than dense at 8 bits and 50 %
    dense_kib, csr_kib = (float(x) for x in re.search(
        r"8 bits \(int8 per channel\), 50% of weights pruned: .* size ([\d.]+) KiB stored dense, ([\d.]+) KiB stored "
        r"as CSR", out).groups())
    assert csr_kib > dense_kib and "(8 bits, 50 % sparsity) CSR is the *larger* one" in prose
    assert "site-packages/" not in out.replace("site-packages/torchao", "") and "/.venv/" not in out


def test_lesson_08_data_parallel() -> None:
    out, prose = _text("08_data_parallel")
    # averaging parameters after an SGD or momentum step is linear in the gradients; only Adam or local steps differ
    assert "Momentum keeps it linear" in prose and "It breaks with **Adam**" in prose
    assert "with momentum or Adam the optimizer's state makes the two differ" not in prose
    # the FLOPs of a step are counted, and 6P is named a rule of thumb
    per_example = _num(rf"one training step, counted: [\d,]+ FLOPs = {NUMBER}·P per example", out)
    assert 3 < per_example < 6 and "the rule of thumb $6P$" in prose
    # α is the median of the small messages' fastest repeats, and passes through the middle of them
    rows = [(float(m.group(1).replace(",", "")), m.group(2), m.group(3))
            for m in _all(r"([\d,]+) bytes: fastest\s+([\d.]+) (µs|ms|s),", out)]
    scale = {"µs": 1e-6, "ms": 1e-3, "s": 1.0}
    fastest = [(size, float(value) * scale[unit]) for size, value, unit in rows]
    fit = re.search(r"through the fastest repeats: α = ([\d.]+) (µs|ms|s) per all_reduce, β = ([\d.]+) (MB|GB)/s", out)
    alpha = float(fit.group(1)) * scale[fit.group(2)]
    beta = float(fit.group(3)) * {"MB": 1e6, "GB": 1e9}[fit.group(4)]
    small = sorted(t for size, t in fastest if size / beta < 0.1 * alpha)
    assert len(small) >= 2 and small[0] <= alpha <= small[-1]
    assert sum(t <= alpha * 1.01 for t in small) >= len(small) / 2 <= sum(t >= alpha * 0.99 for t in small)
    # NVLink's prediction is said to hold inside one NVLink domain only
    n80 = _num(r"NVLink 4 \(H100\)\s+efficiency .*; ≥ 80% up to N = (\d+)", out)
    assert (f"N = {n80:g} is past 8 GPUs (server)" in out) == (n80 > 8)
    assert "only as many as one NVLink domain" in prose
    # torchrun's command and environment, beside the lesson's launcher
    assert "torchrun --standalone --nproc-per-node 2 script.py" in prose
    assert "the same under torchrun: torchrun --standalone --nproc-per-node" in out
    assert re.search(r"rank 0 saw RANK=0, LOCAL_RANK=0, WORLD_SIZE=\d+, LOCAL_WORLD_SIZE=\d+, "
                     r"MASTER_ADDR=127.0.0.1", out)


def test_lesson_09_tokens_and_language_models() -> None:
    out, prose = _text("09_tokens_and_language_models")
    # the first merges named in the prose are among the first 24 printed
    first = re.search(r"the first 24:\n(.*)\n", out).group(1).split()
    for token in ("·t", "in", "he", "·the", "··", "--", "=="):
        assert token in first, f"{token!r} is not among the first merges: {first}"
    # "a tie": the first place the merge lists part has two pairs seen equally often, each library taking its smaller
    tie = re.search(r"\(seen (\d+) times\), Hugging Face .* \(seen (\d+) times\): a tie\? True", out)
    assert tie and tie.group(1) == tie.group(2)
    assert "the lesson took the smaller? True" in out and "Hugging Face took the smaller? True" in out
    assert "comes after every letter" in prose
    # GPT-3 is corrected with its number and its source
    assert "**GPT-3 has 175 billion parameters** (Brown et al. 2020" in prose
    # "a Han character is 3 bytes" and the Chinese text costs more tokens for the same meaning
    assert re.search(r"the Chinese text's \d+ Han characters take 3 bytes each", out)
    zh, en = (int(v) for v in re.search(r"the same five paragraphs: (\d+) tokens in Chinese, (\d+) in English", out)
              .groups())
    assert zh > en and "The same meaning costs" in out
    # the counted bigram is infinite on validation; the learned one meets it on training
    assert re.search(r"validation loss of the counted bigram = inf", out)
    gap = _num(rf"nats \(apart by {NUMBER}\)", out)
    assert 0 <= gap < 1e-2, "the learned bigram meets the counted one"
    assert "the gap falls by orders of magnitude within the first hundred steps" in prose
    # every model and compressor is in the verdict, and the verdict agrees with the table
    mlp = _num(r"(?m)^MLP\s+[\d.]+\s+[\d.]+\s+([\d.]+)$", out)
    rows = {m.group(1): (float(m.group(2)), float(m.group(3)))
            for m in re.finditer(r"(?m)^(gzip|bz2|lzma)\s+([\d.]+)\s+([\d.]+)$", out)}
    assert set(rows) == {"gzip", "bz2", "lzma"}
    verdict = re.search(r"the MLP \(([\d.]+) bits per byte\) beats: (.*); does not beat: (.*)", out)
    beaten = {name for name, (alone, after) in rows.items() if mlp < alone} | \
             {f"{name} after the training text" for name, (alone, after) in rows.items() if mlp < after}
    assert set(filter(None, verdict.group(2).split(", "))) - {"none"} == beaten
    # the entropy rises with temperature (the cell asserts it) and greedy's loop is detected, not typed
    assert "The entropy rises with the temperature at every point of the curve (the cell asserts it)" in prose


def test_lesson_10_attention_and_gpt() -> None:
    out, prose = _text("10_attention_and_gpt")
    # "both tests of linearity fail": doubling does not double, and the sum is not the sum
    assert _num(rf"max \|f\(2x\) - 2 f\(x\)\| = {NUMBER}", out) > 0.1
    assert _num(rf"max \|f\(x \+ y\) - f\(x\) - f\(y\)\| = {NUMBER}", out) > 0.1
    assert _num(rf"the mixing weights A change by up to {NUMBER}", out) > 0.01
    # var(q·k) grows as d, var(q·k/√d) stays near 1, and unscaled one key takes most of the weight at large d
    rows = [tuple(map(float, m.groups())) for m in
            re.finditer(r"(?m)^\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", out)]
    assert len(rows) >= 4 and all(abs(scaled - 1) < 0.1 and abs(var / d - 1) < 0.1 for d, var, scaled, _ in rows)
    top = [w for *_, w in rows]
    assert top == sorted(top) and top[-1] > 0.9, "unscaled, the largest weight should grow towards 1 with d"
    # the checks against PyTorch
    f32, f64 = (float(v) for v in re.search(rf"float32 {NUMBER}, float64 {NUMBER}", out).groups())
    assert f32 <= 1e-6 and f64 <= 1e-12
    assert _num(rf"max difference from nn.MultiheadAttention: {NUMBER}", out) <= 1e-6
    # parameters: the formula's arithmetic, and what it misses
    counted = re.search(r"parameters: model ([\d,]+); formula .* = 12·(\d+)·(\d+)² \+ "
                        r"\((\d+) \+ (\d+)\)·\d+ = ([\d,]+)", out)
    model, formula = (int(counted.group(i).replace(",", "")) for i in (1, 6))
    L, d, V, T = (int(counted.group(i)) for i in (2, 3, 4, 5))
    assert formula == 12 * L * d**2 + (V + T) * d
    assert _num(r"the formula misses ([\d,]+)", out) == model - formula > 0
    # FLOPs: 6N + 12LTd, equal to FlopCounterMode with attention written out, 6N with the fused kernel
    n = 12 * L * d**2 + V * d
    assert _num(r"formula 6·N \+ 12·L·T·d = 6·([\d,]+)", out) == n
    assert _num(r"= ([\d,]+) FLOPs per token", out) == 6 * n + 12 * L * T * d == \
        _num(r"FlopCounterMode, attention written out: ([\d,]+)", out)
    assert _num(r"with PyTorch's fused attention: ([\d,]+)", out) == 6 * n and "(= 6·N: True)" in out
    share = 12 * L * T * d / (6 * n + 12 * L * T * d)
    assert _num(rf"the attention term is {NUMBER}%", out) == pytest.approx(100 * share, abs=0.05)
    # "for GPT-3 it is a few per cent": the same formula with GPT-3's shape
    gL, gT, gd, gV = 96, 2048, 12288, 50257
    share = 12 * gL * gT * gd / (6 * (12 * gL * gd**2 + gV * gd) + 12 * gL * gT * gd)
    assert 0.01 < share < 0.05 and "it is a few per cent" in prose
    # the verdict agrees with the table of bits per byte
    table = {m.group(1).strip(): float(m.group(2))
             for m in re.finditer(r"(?m)^(.+?)\s{2,}([\d.]+) bits per byte$", out)}
    ours = table.pop("GPT (this lesson)")
    verdict = re.search(r"the GPT beats: (.*); does not beat: (.*)", out)
    beaten = set(filter(None, verdict.group(1).split(", "))) - {"none"}
    assert beaten == {name for name, v in table.items() if ours < v}
    assert set(filter(None, verdict.group(2).split(", "))) - {"none"} == set(table) - beaten
    # MFU: achieved over the best measured matmul, and the words match the number
    achieved, peak, mfu = (float(v) for v in re.search(r"MFU = ([\d.]+) / ([\d.]+) = (\d+)%", out).groups())
    assert round(100 * achieved / peak) == mfu
    best = max(float(v) for v in re.findall(r"n = \d+: ([\d.]+)", out))
    assert best == peak
    # the cache: identical tokens, cheaper per token, and its bytes as the formula says
    assert len(re.findall(r"identical with and without the cache: True", out)) == 2
    assert "identical with and without the cache: False" not in out
    plain, cached = (float(v) for v in re.search(r"grows ([\d.]+)x without the cache, ([\d.]+)x with it", out).groups())
    assert plain > cached, "prose: without the cache the time per token grows with the position, with it far less"
    assert re.search(r"generating \d+ tokens: KV cache is [\d.]+× faster than no cache", out)
    tensors, by_formula = (float(v.replace(",", "")) for v in re.search(
        r"([\d,]+) bytes in the tensors, formula ([\d,]+)", out).groups())
    assert tensors == by_formula
    gib = 2 * gL * gd * gT * 2 / 2**30
    assert f"{gib:.1f} GiB of cache per sequence" in out
    assert f"a batch of 32 sequences adds {32 * gib * 2**30 / 1e9:.0f} GB" in out
    assert "its weights, 350 GB" in out
    # 124M and 175B from the published shapes; "dozens of times past" a few billion
    assert "≈ 124 million" in out and "≈ 175 billion" in out
    gpt3 = _num(r"GPT-3 175B .* = ([\d,]+) ≈", out)
    assert gpt3 / 5e9 > 24 and "GPT-3 is dozens of times past its top" in prose


def test_lesson_11_scaling() -> None:
    out, prose = _text("11_scaling")
    # the compute table: "6N misses" is 1 - 6N / counted on every row; GPT-3's share is "a few per cent"
    rows = re.findall(r"(?m)^\s+(\d+)\s+([\d,]+)\s+([\d,]+)\s+([\d,]+)\s+([\d.]+)%$", out)
    assert len(rows) >= 5
    for _d, _n, six_n, counted, share in rows:
        assert abs(100 * (1 - int(six_n.replace(",", "")) / int(counted.replace(",", ""))) - float(share)) < 0.06
    gpt3 = _num(r"GPT-3 \(L = 96, T = 2,048, d = 12,288\): 6N misses ([\d.]+)%", out)
    assert 1 < gpt3 < 5 and "At GPT-3's shape it is a few per cent" in prose
    assert "Hoffmann et al. (2022, appendix F) count it" in prose, "attention: Kaplan drops it, Hoffmann counts it"
    # GPT-3's days on each sheet at the published utilisations only (MFU is a share of a data-sheet peak)
    assert "= 3.15e+23 FLOPs" in out and "Table D.1 gives $3.14\\times10^{23}$ FLOPs" in prose
    assert "lesson 10's MFU" not in out and "TPU v4" in prose
    sheets = {m.group(1).strip(): (float(m.group(2)), m.group(3)) for m in
              re.finditer(r"(?m)^(NVIDIA .+?)\s+([\d.]+) TFLOP/s \(\w+, specification\): GPU-days (.*)$", out)}
    assert len(sheets) >= 3
    for peak, row in sheets.values():
        shares = re.findall(r"([\d,]+) at ([\d.]+)%", row)
        assert [share for _, share in shares] == ["21.3", "46.2"]
        for days, share in shares:
            assert float(days.replace(",", "")) == pytest.approx(3.15e23 / (peak * 1e12 * float(share) / 100) / 86400,
                                                                 rel=0.01)
    fastest = max(sheets, key=lambda name: sheets[name][0])
    slowest = min(sheets, key=lambda name: sheets[name][0])
    said = re.search(r"fewest GPU-days: (.+?), (\d+)x fewer than the (.+?);", out)
    assert said.group(1) == fastest and said.group(3) == slowest
    assert int(said.group(2)) == round(sheets[fastest][0] / sheets[slowest][0])
    # fresh tokens: the passes are D / training tokens, and under one where the law is fitted
    d_max = _num(r"D = [\d,]+, [\d,]+, ([\d,]+) tokens\)", out)
    passes, tokens = (float(v.replace(",", "")) for v in re.search(
        r"the longest run reads ([\d.]+) passes over the ([\d,]+) training tokens", out).groups())
    assert passes == pytest.approx(d_max / tokens, abs=0.006) and passes <= 1 and ": under one;" in out
    repeats = float(re.search(r"windows start at random, so (\d+)% of what it reads it has read before", out).group(1))
    assert repeats == pytest.approx(100 * (1 - (1 - math.exp(-d_max / tokens)) / (d_max / tokens)), abs=0.6)
    check = re.search(r"best c = ([\d.]+) \((inside the grid|AT THE GRID'S EDGE)\); lr_scale = ([\d.]+) is "
                      r"(the best|NOT the best here)", out)
    assert check.group(2) == "inside the grid", "c checked on a grid whose best value is not at its edge"
    assert (check.group(4) == "the best") == (check.group(1) == check.group(3))
    # the fitter finds a law it is given; each fit reports its bounds; the width gain follows its numbers
    assert "a known law, refitted from 12 exact points: E 1.5 (true 1.5)" in out
    assert re.search(r"parameters on a bound: (none|\w+)", out)
    short, long_, word = re.search(r"the loss falls ([\d.]+) bits at the shortest runs and ([\d.]+) at the longest:"
                                   r"\s+width is worth (more|less) with more data", out).groups()
    assert (word == "more") == (float(long_) > float(short))
    # the prediction: each law's band and backtest printed before training; the choice is the smaller backtest
    refits = int(re.search(r"band: 90% of (\d+) refits, spread by the misfit", out).group(1))
    laws = {m.group(1): (float(m.group(2)), refits, float(m.group(3)), float(m.group(4)), float(m.group(5)))
            for m in re.finditer(r"(?m)^ *(Hoffmann|Kaplan) +([\d.]+) +([\d.]+) to ([\d.]+) +([+-][\d.]+)% +[\d.]+% +"
                                 r"[+-][\d.]+%$", out)}
    assert set(laws) == {"Hoffmann", "Kaplan"} and all(v[1] >= 200 for v in laws.values()), "200 refits at least"
    chosen = re.search(r"chosen before training, by the smaller backtest error: (\w+)'s law, ([\d.]+) \(([\d.]+) to "
                       r"([\d.]+)\)", out)
    guesses = re.search(r"naive guesses: the best so far at this D ([\d.]+), the trend of the two widest ([\d.]+)", out)
    assert chosen.group(1) == min(laws, key=lambda name: abs(laws[name][4]))
    assert float(chosen.group(2)) == laws[chosen.group(1)][0]
    naive, trend = float(guesses.group(1)), float(guesses.group(2))
    # the naive guesses from the table: the best loss at the longest run, and the line through the two widest
    table_rows = re.findall(r"(?m)^d = +(\d+), N = +([\d,]+): ([\d., ]+)$", out.split("the check of c = ")[0])
    at_longest = [(float(n.replace(",", "")), float(losses.split(", ")[-1])) for _w, n, losses in table_rows]
    assert naive == min(v for _, v in at_longest)
    (n1, l1), (n2, l2) = sorted(at_longest)[-2:]
    n_new = float(re.search(r"the held-back model: d = \d+, N = ([\d,]+),", out).group(1).replace(",", ""))
    line_through = l2 + (l2 - l1) / math.log(n2 / n1) * math.log(n_new / n2)
    assert trend == pytest.approx(line_through, abs=0.003)  # from losses printed to 3 decimals
    lo_c, hi_c = float(chosen.group(3)), float(chosen.group(4))
    holds = re.search(r"the chosen band (contains|excludes) the best so far", out).group(1)
    assert (holds == "contains") == (lo_c <= naive <= hi_c)
    measured = float(re.search(r"the held-back model, trained: ([\d.]+) bits per", out).group(1))
    compared = 0
    for m in re.finditer(r"(?m)^ *(Hoffmann|Kaplan)( \(chosen\))? +([\d.]+) +()([+-][\d.]+)% +(inside|outside) +"
                         r"([+-][\d.]+)%$", out):
        name, predicted, compared = m.group(1), float(m.group(3)), compared + 1
        assert predicted == laws[name][0] and bool(m.group(2)) == (name == chosen.group(1))
        assert abs(100 * (predicted / measured - 1) - float(m.group(5))) < 0.06
        assert (m.group(6) == "inside") == (laws[name][2] <= measured <= laws[name][3])
        assert float(m.group(7)) == laws[name][4]
    assert compared == 2, "each law's prediction is set against the measurement"
    predicted, low, high = laws[chosen.group(1)][0], laws[chosen.group(1)][2], laws[chosen.group(1)][3]
    error = predicted / measured - 1
    naive_line = re.search(r"naive guess ([\d.]+): error ([+-][\d.]+)%; the chosen law is (better than|worse "
                           r"than|tied with) the naive", out)
    naive_error, trend_error = naive / measured - 1, trend / measured - 1
    assert float(naive_line.group(1)) == naive and abs(100 * naive_error - float(naive_line.group(2))) < 0.06
    trend_line = re.search(r"trend of the two widest ([\d.]+): error ([+-][\d.]+)%; the chosen law is (better than|"
                           r"worse than|tied with) the trend", out)
    assert float(trend_line.group(1)) == trend and abs(100 * trend_error - float(trend_line.group(2))) < 0.06
    tie_line = re.search(r"a tie: a gap in \|error\| within two seed-to-seed standard deviations of that comparison "
                         r"\(the shipped sweep's 3 seeds\):\s+([\d.]+)% against the best so far, ([\d.]+)% against the "
                         r"trend", out)
    ties = {"naive": float(tie_line.group(1)) / 100, "trend": float(tie_line.group(2)) / 100}

    def said(ours, theirs, tie):
        gap = abs(ours) - abs(theirs)
        return None if abs(abs(gap) - tie) < 0.0006 else "tied with" if abs(gap) < tie else \
            "better than" if gap < 0 else "worse than"  # None: too close to the line to check from rounded numbers

    for line, theirs, tie in ((naive_line, naive_error, ties["naive"]), (trend_line, trend_error, ties["trend"])):
        assert said(error, theirs, tie) in (None, line.group(3))
    closer = re.search(r"the closer law this time: (\w+)'s", out).group(1)
    assert closer == min(laws, key=lambda name: abs(laws[name][0] / measured - 1))
    verdict = re.search(r"the chosen law's \((\w+)'s\) prediction was (within|within 10% but not within|not within) 5% "
                        r".*?, (inside|outside) its band,\s+(better than|worse than|tied with) the best so far .*? and "
                        r"(better than|worse than|tied with) the trend", out)
    want = "within" if abs(error) <= 0.05 else "within 10% but not within" if abs(error) <= 0.10 else "not within"
    assert verdict.groups() == (chosen.group(1), want, "inside" if low <= measured <= high else "outside",
                                naive_line.group(3), trend_line.group(3))
    # against lessons 09 and 10 on the same text: each "worse"/"better" follows the numbers
    best = _num(r"the best model of this lesson: ([\d.]+) bits per byte", out)
    for _name, value, gap, word in re.findall(r"(lesson \d\d's [\w ]+?) ([\d.]+) \(this lesson's best is ([\d.]+) "
                                             r"(worse|better)\)", out):
        assert (word == "worse") == (best > float(value)) and abs(abs(best - float(value)) - float(gap)) < 0.0015
    # the shipped sweep: per seed, each verdict follows its numbers; the count lines follow the rows
    seeds = re.findall(r"(?m)^\s+(\d) +(?:Hoffmann|Kaplan) +([\d.]+) +([\d.]+) +([+-][\d.]+)% +([\d.]+)-([\d.]+) +"
                       r"([+-][\d.]+)% +([+-][\d.]+)% +([+-][\d.]+)%  (inside|outside) band, (beats|ties|loses to) "
                       r"naive, (beats|ties|loses to) trend$", out)
    assert len(seeds) == 3, "three seeds in the shipped sweep"
    tallies = {g: re.search(rf"against {g}: beats in (\d), ties in (\d), loses to in (\d) \(a tie: within ([\d.]+)%\)"
                            rf"\s+the law's error is smaller in (\d) of 3, whatever the margin", out).groups()
               for g in ("the best so far", "the trend")}
    tie_n, tie_t = (float(tallies[g][3]) for g in ("the best so far", "the trend"))
    assert tie_n / 100 == pytest.approx(ties["naive"], abs=1e-4)
    assert tie_t / 100 == pytest.approx(ties["trend"], abs=1e-4)
    for guess_col, tie in ((6, tie_n), (7, tie_t)):  # a tie: within 2 SD of |law's error| - |guess's| over seeds
        gaps = [abs(float(r[3])) - abs(float(r[guess_col])) for r in seeds]
        assert 2 * float(np.std(gaps, ddof=1)) == pytest.approx(tie, abs=0.12)
    for _seed, p, m, e, lo, hi, ne, te, _bt, where, naive_word, trend_word in seeds:
        assert abs(100 * (float(p) / float(m) - 1) - float(e)) < 0.06
        assert (where == "inside") == (float(lo) <= float(m) <= float(hi))
        for word, other, tie in ((naive_word, ne, tie_n), (trend_word, te, tie_t)):
            gap = abs(float(e)) - abs(float(other))
            if abs(abs(gap) - tie) > 0.06:  # clear of the line, to the printed digits
                assert word == ("ties" if abs(gap) < tie else "beats" if gap < 0 else "loses to")
    within = re.search(r"in 3 seeds: within 5% in (\d), inside the band in (\d)$", out, re.M).groups()
    counts = [None, *within, *tallies["the best so far"][:3], *tallies["the trend"][:3]]  # counts[1] .. counts[8]
    assert int(counts[1]) == sum(abs(float(r[3])) <= 5 for r in seeds)
    assert int(counts[2]) == sum(r[9] == "inside" for r in seeds)
    for k, word in enumerate(("beats", "ties", "loses to")):
        assert int(counts[3 + k]) == sum(r[10] == word for r in seeds)
        assert int(counts[6 + k]) == sum(r[11] == word for r in seeds)
    for errors, high, total in re.findall(r"(?:errors|backtests) ([^(]+) \(too high in (\d) of (\d)\)", out):
        values = [float(v) for v in re.findall(r"([+-][\d.]+)%", errors)]
        assert len(values) == int(total) == 3 and sum(v > 0 for v in values) == int(high)
    # the paragraph on what the shipped sweep found says what the outputs say
    assert "Against both naive guesses it tied in every seed" in prose
    assert (counts[3], counts[4], counts[5]) == ("0", "3", "0")
    assert (counts[6], counts[7], counts[8]) == ("0", "3", "0")
    ahead = {g: int(tallies[g][4]) for g in ("the best so far", "the trend")}
    assert ahead == {"the best so far": 2, "the trend": 1}, "smaller than best-so-far's in two, the trend's in one"
    assert "within 5% of the held-back model in all three, inside its band in all three" in prose
    assert counts[1] == "3" and counts[2] == "3"
    assert "every band also contains the best-so-far guess" in prose
    naive_in_band = [float(lo) <= float(m_) * (1 + float(ne_) / 100) <= float(hi)  # the best so far, in the band
                     for _s, _p, m_, _e, lo, hi, ne_, *_rest in seeds]
    assert all(naive_in_band), "the findings paragraph: every band contains the best-so-far guess"
    assert "every one of its predictions and backtests is too high" in prose
    assert "Kaplan's errors fall on both sides" in prose
    for name in ("Hoffmann", "Kaplan"):
        line = re.search(rf"{name}'s law: errors .* \(too high in (\d) of 3\); backtests .* \(too high in (\d) of 3\)",
                         out)
        if name == "Hoffmann":
            assert line.groups() == ("3", "3")
        else:
            assert 0 < int(line.group(1)) < 3, "Kaplan's errors on both sides"
    assert "d = 64 preferred c = 0.4 in every seed" in prose
    from labkit import data

    margins = [r["metrics"]["rates"]["tuning_by_width"]["64"] for r in data.measured_sweep("11_scaling_sweep")]
    margins = sorted(100 * (t["0.2"] / t["0.4"] - 1) for t in margins)  # what c = 0.4 gained at d = 64
    assert f"by only {margins[0]:.1f} to {margins[-1]:.1f}% of the tuning loss" in prose
    tuned = re.search(r"the held-back model at c = [\d.]+ instead: [\d.]+ bits per byte, ([+-][\d.]+)% against the "
                      r"rule's c = [\d.]+:\s+(at this length the larger c is worse|the rule's rate held)", out)
    assert (float(tuned.group(1)) > 0) == tuned.group(2).startswith("at this length the larger c is worse")
    assert tuned.group(2).startswith("at this length"), "the prose says the larger c hurts at 1,000 steps"
    for w in (4, 8, 16, 32):  # "the narrower widths preferred 0.2 in most seeds"
        liked = re.search(rf"(?m)^d = {w}: the tuning text prefers c = ([\d., ]+) in the 3 seeds", out).group(1)
        assert [float(v) for v in liked.split(", ")].count(0.2) >= 2, f"d = {w}: {liked}"
    assert re.search(r"(?m)^d = 64: the tuning text prefers c = 0.4, 0.4, 0.4 in the 3 seeds", out)
    assert "labkit sweep 11_scaling -p seed 0,1,2" in out and re.search(r"code: git [0-9a-f]{40}", out)
    prefs = re.findall(r"(?m)^d = (\d+): the tuning text prefers c = ([\d., ]+) in the 3 seeds(.*)$", out)
    assert len(prefs) >= 5, "every width of the shipped sweep"
    for w, liked, rest in prefs:
        agree = sum(float(v) == float(check.group(3)) for v in liked.split(", "))
        assert (f"in only {agree} of 3" in rest) == (agree < 3), f"d = {w}"
    # the floor: no model below H, the source scores about H, and the words about E follow the numbers
    floor = re.search(r"true entropy rate H = ([\d.]+) bits per letter .*\nthe source itself scores ([\d.]+) on the "
                      r"([\d,]+) validation letters \(standard error ([\d.]+)\)", out)
    H, sample, se = float(floor.group(1)), float(floor.group(2)), float(floor.group(4))
    assert abs(H - sample) < 4 * se + 0.001
    assert "every model above H: True" in out and "No trained model goes below $H$" in prose
    e_low, e_high, where, where_sample = re.search(
        r"fitted E = [\d.]+ \(90% of \d+ refits: ([\d.]+) to ([\d.]+)\): H is (inside|OUTSIDE) E's interval, the "
        r"source's own score (inside|OUTSIDE)", out).groups()
    assert (where == "inside") == (float(e_low) <= H <= float(e_high))
    assert (where_sample == "inside") == (float(e_low) <= sample <= float(e_high))
    held, at_h, free = (float(v) for v in re.search(
        r"holding E at the true H costs ([\d.]+)x the free fit's error \(([\d.]+)% against ([\d.]+)%\); that fit's "
        r"parameters on a bound: ", out).groups())
    assert held == pytest.approx(at_h / free, abs=0.02)
    corner = re.search(r"the fitted law at the largest N and D of the data: ([\d.]+), (BELOW H|[+-][\d.]+ from H)", out)
    assert (corner.group(2) == "BELOW H") == (float(corner.group(1)) < H - 2 * se - 0.001)
    below, fits = (int(v) for v in re.search(r"the fitted E is below H in (\d) of the (\d) shipped seeds",
                                             out).groups())
    floor_rows = re.findall(r"(?m)^ +\d +([\d.]+) +([\d.]+) +([\d.]+) to ([\d.]+) +([\d.]+) to ([\d.]+)"
                            r"( \(open below\))?$", out.split("the shipped seeds, each its own source")[1])
    shipped_e = [(float(r[0]), float(r[1])) for r in floor_rows]
    assert fits == len(shipped_e) == 3 and below == sum(e < h for h, e in shipped_e)
    assert (f"a sign test gives p = {0.5 ** fits:.3f}" in out) == (below == fits)
    # compute-optimal: an interval, both laws, E held; Chinchilla's approaches quoted apart; the words follow
    ratio, r_low, r_high = (float(v.replace(",", "")) for v in re.search(
        r"Hoffmann's law: N = [\d,]+, D = [\d,]+, ([\d,.]+) tokens per parameter[\s\S]*?\n  90% of \d+ refits: "
        r"([\d,.]+) to ([\d,.]+) tokens per parameter", out).groups())
    assert r_low <= r_high and ratio > 0
    assert re.search(r"Kaplan's law: N = [\d,]+, D = [\d,]+, [\d,.]+ tokens per parameter", out)
    held_rows = re.findall(r"(?m)^ +[\d.]+ +[\d.]+% +[\d.]+ +[\d.]+ +[\d,.]+ +[\d.]+$", out)
    assert len(held_rows) >= 6, "E held at three values or more, at this lesson's budget and at the explorer's"
    optima = re.findall(r"(?m)^(?:Hoffmann|Kaplan)'s law: N = [\d,]+, D = ([\d,]+), .*\n(  WARNING: .*)?", out)
    assert len(optima) == 2
    for d_, warning in optima:
        assert ("fresh text" in warning) == (float(d_.replace(",", "")) > 340_658), f"D past the fresh text: {d_}"
    assert "= 20 tokens per parameter (approaches 1 and 2)" in out
    assert re.search(r"approach 3's fitted law gives N = 3.2\de\+10, D = 2.9\de\+12: 9\d tokens per parameter", out)
    words = re.search(r"this fit against Chinchilla's 20: (more data per parameter|fewer tokens per parameter|the "
                      r"interval includes 20)", out).group(1)
    assert words == ("more data per parameter" if r_low > 20 else "fewer tokens per parameter" if r_high < 20 else
                     "the interval includes 20")
    assert "about **20 tokens per parameter**" in prose and "Besiroglu et al. (2024)" in prose
    # the multiplier: read from the points, the ratio of the two computes printed; SGD's rate inside its grid
    assert re.search(r"SGD's learning rate on tuning text .* -> [\d.]+ \(inside the grid\)", out)
    c_adam, c_sgd, times = (float(v.replace(",", "")) for v in re.search(
        r"AdamW reaches it at ([\d.e+]+) FLOPs, SGD at ([\d.e+]+): SGD needs ([\d,.]+)x the compute", out).groups())
    assert c_sgd / c_adam == pytest.approx(times, rel=0.05) and times > 1
    adam_best, sgd_best, target = (float(v) for v in re.search(
        r"best losses: AdamW ([\d.]+), SGD ([\d.]+) bits per \w+; target ([\d.]+)", out).groups())
    assert sgd_best > adam_best and target > sgd_best, "the target: above the worse method's best, so both cross it"
    m_low, m_high = (float(v.replace(",", "")) for v in re.search(
        r"redraws of the runs, each with one run's pooled scatter: ([\d,.]+)x to ([\d,.]+)x", out).groups())
    assert m_low <= m_high
    assert (":\n  it includes 1, so this run alone cannot say AdamW is better" in out) == (m_low <= 1)
    seeds_line = re.search(r"the shipped sweep's seeds \(longer runs, their own target\), each with the same redraws: "
                           r"(.*\n.*)", out).group(1)
    seeds_mult = [(float(v), float(lo), float(hi)) for v, lo, hi in re.findall(r"([\d.]+)x \[([\d.]+), ([\d.]+)\]",
                                                                                 seeds_line)]
    above, exclude = (int(v) for v in re.search(r"above 1 in (\d) of 3 seeds; (\d) of them exclude 1",
                                                 seeds_line).groups())
    assert len(seeds_mult) == 3 and above == sum(v > 1 for v, _, _ in seeds_mult)
    assert exclude == sum(lo > 1 for _, lo, _ in seeds_mult)
    shipped_floor = re.search(r"H inside E's bootstrap interval in (\d) of 3, the source's own score in (\d) of 3", out)
    assert len(floor_rows) == 3
    assert int(shipped_floor.group(1)) == sum(float(lo) <= float(h) <= float(hi) for h, _e, lo, hi, *_ in floor_rows)
    profile_in, open_n = (int(v) for v in re.search(r"H inside E's profile interval in (\d) of 3; (\d) of the 3 "
                                                     r"intervals open below", out).groups())
    assert profile_in == sum(float(lo) <= float(h) <= float(hi) for h, _e, _a, _b, lo, hi, _o in floor_rows)
    assert open_n == sum(bool(r[6]) for r in floor_rows)
    covered_open = sum(float(lo) <= float(h) <= float(hi) and bool(o) for h, _e, _a, _b, lo, hi, o in floor_rows)
    summary_open = re.search(r"inside its profile interval in \d of 3\n  \((\d) of those open below", out)
    assert (int(summary_open.group(1)) if summary_open else 0) == covered_open, "the summary says which are open below"
    # the lesson's four findings, stated before the runs: each as the outputs say
    said = re.search(r"about ([\d.]+) to ([\d.]+) times as much in the shipped seeds, above 1 in every one", prose)
    assert above == 3 and exclude == 3, "finding 4: every seed's interval above 1"
    assert (float(said.group(1)), float(said.group(2))) == (min(v for v, _, _ in seeds_mult),
                                                           max(v for v, _, _ in seeds_mult))
    assert "Over three seeds it did no better there than two naive guesses" in prose and counts[4] == counts[7] == "3"
    # the noise comparison: an F test of the two variances, its verdict by its p-value
    f_ratio, dof1, dof2, p_value = re.search(r"F = ([\d.]+) on \((\d+), (\d+)\) degrees of freedom, p = ([\d.]+):",
                                             out).groups()
    from scipy.stats import f as f_dist

    assert float(p_value) == pytest.approx(f_dist.sf(float(f_ratio), int(dof1), int(dof2)), abs=0.002)
    assert ("part of its error is its form's" in out) == (float(p_value) < 0.05)
    # two steps up (fixed files): the table, the verdicts by the tie rule, and the words about them
    far = re.findall(r"(?m)^ +(\d) +([\d.]+) +([+-][\d.]+)% +([+-][\d.]+)% +([+-][\d.]+)% +([+-][\d.]+)%$",
                     out.split("widths up to 16 predicting d = ")[1])[:3]
    far = [[float(v) for v in row[2:]] for row in far]  # Hoffmann, Kaplan, best so far, trend (per cent)
    assert len(far) == 3
    for k, name in enumerate(("Hoffmann", "Kaplan")):
        for j, guess in ((2, "best so far"), (3, "trend")):
            gaps = [abs(r[k]) - abs(r[j]) for r in far]
            tie = 200 * float(np.std(np.array(gaps) / 100, ddof=1))
            words = ["ties" if abs(g) < tie else "beats" if g < 0 else "loses to" for g in gaps]
            line = re.search(rf"{name}'s law against {guess}: beats in (\d), ties in (\d), loses to in (\d)", out)
            assert [int(v) for v in line.groups()] == [words.count(w) for w in ("beats", "ties", "loses to")]
            assert words.count("loses to") == 0, "'neither law lost to a naive guess in any seed'"
    assert "both laws beat or tied them in every shipped seed and lost to neither" in prose
    best_far, trend_far = [r[2] for r in far], [r[3] for r in far]
    assert (round(min(best_far)), round(max(best_far))) == (14, 16) and min(best_far) > 0, "'14 to 16% too high'"
    assert (round(-max(trend_far)), round(-min(trend_far))) == (11, 23), "'11 to 23% too low'"
    assert "came closest (its errors " + ", ".join(f"{r[0]:+.1f}%" for r in far[:2]) + f" and {far[2][0]:+.1f}%)" \
        in prose.replace("\u2212", "-")
    assert all(abs(r[0]) < min(abs(v) for v in r[1:]) for r in far), "Hoffmann's law came closest in every seed"
    # exercise 1's payoff: every floor's prediction too low, as the paragraph after it says
    misses = [float(v) for v in re.findall(r"predicts [\d.]+ for d = \d+, measured [\d.]+ \(([+-][\d.]+)%\)", out)]
    assert len(misses) >= 3 and ("every prediction too low" in out) == (max(misses) < 0)
    assert "Why is every line too low, even the one through the true floor $H$?" in prose and max(misses) < 0
    slopes = re.search(r"its log-log slope from each width to the next: (.*)", out).group(1)
    slopes = [float(v) for v in slopes.split(", ")]
    # "falls as fast as a power law or faster (the slope steepens)", then "almost stops falling"
    assert all(v < -0.5 for v in slopes[:-1]) and slopes[1] < slopes[0] and slopes[-1] > -0.2
    assert "the fitted law's $E_D$ lands below $H$" in prose and "(below H: the fit's own floor is too low)" in out
    # the multiplier: the sweep's stored intervals (a wider scatter) include 1, as the caution says
    from labkit import data as lab_data

    stored = [r["metrics"] for r in lab_data.measured_sweep("11_scaling_sweep")]
    assert all(m["multiplier_low"] <= 1 <= m["multiplier_high"] for m in stored)
    assert "every one of them includes 1" in prose and all(m["multiplier"] > 1 for m in stored)
    # the IsoFLOP reading: the counts follow the table, and the paragraph says what they say
    iso = re.findall(r"(?m)^ +\d +[\d.e+]+ +([\d,]+) +([\d,]+) +([\d,]+) +([\d,]+) to +([\d,]+)  ", out)
    iso = [[float(v.replace(",", "")) for v in row] for row in iso]
    assert len(iso) == 6
    between, above_h, in_range = (int(v) for v in re.search(
        r"between the two laws' optima in (\d) of 6, above Hoffmann's in (\d) of 6,\s+inside the 90% range of "
        r"Hoffmann's own refits in (\d) of 6", out).groups())
    assert between == sum(min(k, h) <= n <= max(k, h) for n, k, h, _lo, _hi in iso)
    assert above_h == sum(n > h for n, _k, h, _lo, _hi in iso) == 6, "'in every reading ... above Hoffmann's'"
    assert in_range == sum(lo <= n <= hi for n, _k, _h, lo, hi in iso) and in_range <= 4, "'often outside'"
    assert "In every reading the bottom lies above Hoffmann's optimum, and often outside the 90% range" in prose
    p_low, p_high, h_in, s_in = re.search(r"E's interval from its profile \(90%, F test\): ([\d.]+) to ([\d.]+).*?; H "
                                          r"(inside|OUTSIDE), the source's own score (inside|OUTSIDE)", out).groups()
    assert (h_in == "inside") == (float(p_low) <= H <= float(p_high))
    assert (s_in == "inside") == (float(p_low) <= sample <= float(p_high))
    # the explorer: an interval, and the law it reads named
    assert re.search(r"tokens per parameter \(90% of \d+ bootstrap refits: [\d.e+]+ to [\d.e+]+\)", out)
    assert "the explorer's law: the shipped sweep's fit" in out
