"""Lesson 07, compression measured: number formats, mixed precision, quantization, pruning and the memory they save."""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import re
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from labkit.bench import Comparison
from labkit.errors import ParameterError
from labkit.explorer import explorer
from labkit.footprint import inference_bytes, training_bytes

# ---- number formats ---------------------------------------------------------------------------

# The floating-point formats of the lesson, with their torch dtype (None: TF32 has none, it is a mode
# of NVIDIA's tensor cores that reads float32 inputs with a 10-bit mantissa). fp8 only where torch has it.
FLOAT_FORMATS: dict[str, torch.dtype | None] = {
    "float32": torch.float32,
    "tf32": None,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    **{name: getattr(torch, dtype) for name, dtype in (("fp8 e5m2", "float8_e5m2"), ("fp8 e4m3", "float8_e4m3fn"))
       if hasattr(torch, dtype)},
}
FORMATS = [*FLOAT_FORMATS, "int8"]


def format_facts(name: str) -> dict[str, Any]:
    """Bits, exponent and mantissa bits, significant bits (mantissa + the implicit 1), range and spacing at 1."""
    if name == "int8":
        info = torch.iinfo(torch.int8)
        return {"format": name, "bits": info.bits, "exponent": 0, "mantissa": 7, "significant": 7,
                "max": float(info.max), "min_normal": 1.0, "min_subnormal": 1.0, "eps": 1.0}
    if name not in FLOAT_FORMATS:
        raise ParameterError(f"format = {name!r} is not allowed: must be one of {', '.join(FORMATS)}")
    if name == "tf32":  # float32's 8 exponent bits, float16's 10 mantissa bits: 1 + 8 + 10 = 19 bits
        mantissa, exponent, emax = 10, 8, 127
        return {"format": name, "bits": 19, "exponent": exponent, "mantissa": mantissa, "significant": mantissa + 1,
                "max": (2 - 2.0**-mantissa) * 2.0**emax, "min_normal": 2.0**-126,
                "min_subnormal": 2.0 ** (-126 - mantissa), "eps": 2.0**-mantissa}
    info = torch.finfo(FLOAT_FORMATS[name])
    mantissa = round(-math.log2(info.eps))  # eps, the gap after 1, is 2^-mantissa
    return {"format": name, "bits": info.bits, "exponent": info.bits - 1 - mantissa, "mantissa": mantissa,
            "significant": mantissa + 1, "max": float(info.max), "min_normal": float(info.smallest_normal),
            "min_subnormal": float(info.smallest_normal) * float(info.eps), "eps": float(info.eps)}


def round_mantissa(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Round float32 values to ``bits`` mantissa bits, to nearest, ties to even (float32's exponent range kept).

    bits = 7 is bfloat16, bits = 10 is TF32: the low 23 − bits bits of the float32 pattern are rounded away.
    """
    if not 0 <= bits <= 23:
        raise ParameterError(f"bits = {bits!r} is not allowed: must be between 0 and 23")
    if bits == 23:
        return x.float().clone()
    drop = 23 - bits
    pattern = x.float().contiguous().view(torch.int32)
    lowest_kept = (pattern >> drop) & 1  # 1 when the kept part is odd: a tie then rounds up, to even
    rounded = (pattern + (1 << (drop - 1)) - 1 + lowest_kept) & ~((1 << drop) - 1)
    return rounded.view(torch.float32)


def representable_values(name: str) -> torch.Tensor:
    """Every positive finite value of an 8- or 16-bit format, ascending (int8: 1 … 127), as float64."""
    if name == "int8":
        return torch.arange(1, 128, dtype=torch.float64)
    dtype = FLOAT_FORMATS.get(name)
    if dtype is None or dtype.itemsize > 2:
        raise ParameterError(f"format = {name!r} is not allowed: only 8- and 16-bit formats can be listed "
                             f"(float32 has 2^31 positive values)")
    bits = 8 * dtype.itemsize
    patterns = torch.arange(0, 2 ** (bits - 1), dtype=torch.int32)  # the sign bit 0: positive numbers and +0
    as_int = patterns.to(torch.uint8 if bits == 8 else torch.int16)
    values = as_int.view(dtype).double()
    return values[torch.isfinite(values) & (values > 0)].sort().values


# ---- quantization --------------------------------------------------------------------------------


def qmax(bits: int) -> int:
    """Largest level of a symmetric signed integer grid: 2^(bits−1) − 1 (127 for int8, 7 for int4)."""
    if not 2 <= bits <= 8:
        raise ParameterError(f"bits = {bits!r} is not allowed: must be between 2 and 8")
    return 2 ** (bits - 1) - 1


def symmetric_scale(w: torch.Tensor, bits: int = 8, *, per_channel: bool = False) -> torch.Tensor:
    """s = max|w| / qmax: one scale for the tensor, or one per output channel (row), shape (rows, 1)."""
    amax = w.abs().amax(dim=1, keepdim=True) if per_channel else w.abs().max()
    amax = torch.where(amax > 0, amax, torch.ones_like(amax))  # an all-zero row keeps scale 1/qmax: q = 0
    return amax / qmax(bits)


def quantize(w: torch.Tensor, scale: torch.Tensor, bits: int = 8) -> torch.Tensor:
    """q = clamp(round(w / s), −qmax, qmax), stored as int8."""
    level = qmax(bits)
    return torch.clamp(torch.round(w / scale), -level, level).to(torch.int8)


def dequantize(q: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """ŵ = q · s, back in float32."""
    return q.float() * scale


def quantize_symmetric(w: torch.Tensor, bits: int = 8, *,
                       per_channel: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(q, s): symmetric integer quantization of ``w``, per tensor or per output channel."""
    scale = symmetric_scale(w, bits, per_channel=per_channel)
    return quantize(w, scale, bits), scale


def quantized_bytes(shape: Sequence[int], bits: int = 8, *, per_channel: bool = False) -> float:
    """Bytes of a quantized weight: its values at ``bits`` each, plus float32 scales (one, or one per row)."""
    return math.prod(shape) * bits / 8 + 4 * (shape[0] if per_channel else 1)


class Int8Linear(nn.Module):
    """A Linear layer that keeps int8 weights and per-channel float32 scales; it dequantizes on every call."""

    def __init__(self, layer: nn.Linear, *, per_channel: bool = True) -> None:
        super().__init__()
        q, scale = quantize_symmetric(layer.weight.detach(), 8, per_channel=per_channel)
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)
        self.register_buffer("bias", layer.bias.detach().clone() if layer.bias is not None else None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x · ŵᵀ + b with ŵ = q · s."""
        return nn.functional.linear(x, dequantize(self.q, self.scale), self.bias)


def int8_model(model: nn.Module, *, per_channel: bool = True) -> nn.Module:
    """A copy of ``model`` with every nn.Linear replaced by an Int8Linear."""
    out = copy.deepcopy(model)
    for name, child in list(out.named_children()):
        if isinstance(child, nn.Linear):
            setattr(out, name, Int8Linear(child, per_channel=per_channel))
        else:
            setattr(out, name, int8_model(child, per_channel=per_channel))
    return out


def checkpoint_bytes(model: nn.Module) -> int:
    """Bytes of ``torch.save(model.state_dict())``: what a checkpoint of the model takes on disk."""
    import io

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.getbuffer().nbytes


# ---- pruning -------------------------------------------------------------------------------------


def magnitude_masks(weights: Sequence[torch.Tensor], sparsity: float) -> list[torch.Tensor]:
    """Global magnitude pruning: masks that zero the round(sparsity · n) smallest |w| over all ``weights``."""
    if not 0 <= sparsity <= 1:
        raise ParameterError(f"sparsity = {sparsity!r} is not allowed: must be between 0 and 1")
    scores = torch.cat([w.detach().abs().flatten() for w in weights])
    mask = torch.ones_like(scores)
    k = round(sparsity * scores.numel())  # the count torch.nn.utils.prune uses
    if k:
        mask[torch.topk(scores, k, largest=False).indices] = 0
    return [m.view_as(w) for m, w in zip(mask.split([w.numel() for w in weights]), weights, strict=True)]


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The nn.Linear layers of ``model``, in order."""
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def sparsity_of(model: nn.Module) -> float:
    """Fraction of the Linear weights that are exactly zero."""
    weights = [layer.weight.detach() for layer in linear_layers(model)]
    return float(sum((w == 0).sum() for w in weights) / sum(w.numel() for w in weights))


def unit_scores(model: nn.Sequential) -> torch.Tensor:
    """Importance of each hidden unit of a Linear–ReLU–Linear MLP: the L2 norm of its incoming weights."""
    return model[0].weight.detach().norm(dim=1)


def drop_hidden_units(model: nn.Sequential, keep: int) -> nn.Sequential:
    """Structured pruning: a smaller Linear–ReLU–Linear with only the ``keep`` most important hidden units.

    Rows of the first weight and bias and columns of the second weight are cut out: the matrices
    really shrink, from (h, in) and (out, h) to (keep, in) and (out, keep).
    """
    first, last = model[0], model[2]
    if not 1 <= keep <= first.out_features:
        raise ParameterError(f"keep = {keep!r} is not allowed: must be between 1 and {first.out_features}")
    kept = unit_scores(model).topk(keep).indices.sort().values
    small = nn.Sequential(nn.Linear(first.in_features, keep), nn.ReLU(), nn.Linear(keep, last.out_features))
    with torch.no_grad():
        small[0].weight.copy_(first.weight[kept])
        small[0].bias.copy_(first.bias[kept])
        small[2].weight.copy_(last.weight[:, kept])
        small[2].bias.copy_(last.bias)
    return small


def unit_mask(model: nn.Sequential, keep: int) -> torch.Tensor:
    """A (out, h) mask for the second weight that zeroes the columns of the units ``drop_hidden_units`` removes."""
    kept = unit_scores(model).topk(keep).indices
    mask = torch.zeros_like(model[2].weight)
    mask[:, kept] = 1
    return mask


# ---- memory budget ----------------------------------------------------------------------------------


def gpus_needed(nbytes: float, memory_gib: float) -> int:
    """GPUs of ``memory_gib`` GiB whose memory together holds ``nbytes`` (a lower bound: nothing else counted)."""
    return max(1, math.ceil(nbytes / (memory_gib * 2**30)))


def budget(parameters: float, *, activations: float = 0.0) -> dict[str, float]:
    """Bytes for inference in bfloat16, int8 and int4, and for mixed-precision Adam training (labkit.footprint)."""
    train = training_bytes(parameters, weights="bfloat16", optimizer="adam", master=True, activations=activations)
    return {"inference_float32": inference_bytes(parameters, "float32"),
            "inference_bfloat16": inference_bytes(parameters, "bfloat16"),
            "inference_int8": inference_bytes(parameters, "int8"),
            "inference_int4": inference_bytes(parameters, "int4"),
            "train_weights": train.weights, "train_gradients": train.gradients, "train_master": train.master,
            "train_adam_moments": train.optimizer, "train_activations": train.activations, "train_total": train.total}


@contextlib.contextmanager
def captured_messages(loggers: Sequence[str] = ("torch", "torchao")) -> Iterator[list[str]]:
    """Collect the Python warnings and the log warnings (of ``loggers`` and the root) raised in the block.

    Nothing is hidden: the caller prints what was said, with why it does or does not matter, instead
    of letting it scroll past on stderr (where a run's timestamps would also make outputs differ).
    """
    said: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            said.append(f"log {record.name}, {record.levelname.lower()}: {record.getMessage()}")

    handler = Collect(level=logging.WARNING)
    saved = []
    for name in ("", *loggers):
        log = logging.getLogger(name)
        saved.append((log, log.handlers[:], log.propagate))
        log.handlers, log.propagate = [handler], False
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield said
        said.extend(f"{w.category.__name__}: {w.message}" for w in caught)
        said[:] = [short_paths(message) for message in said]
    finally:
        for log, handlers, propagate in saved:
            log.handlers, log.propagate = handlers, propagate


def short_paths(text: str) -> str:
    """``text`` with every path into an installed package cut to start at ``site-packages/``.

    Where this machine keeps its environment is nobody's business in a stored output, and differs
    between machines.
    """
    return re.sub(r"(?:/[^\s/:'\"]+)+/site-packages/", "site-packages/", text)


# ---- text ------------------------------------------------------------------------------------------


def format_bytes(n: float) -> str:
    """1536 → '1.5 KiB': powers of 1024, as memory is reported."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


# ---- figures ---------------------------------------------------------------------------------------


TICK_HEIGHT = 14  # points: the height of one number's tick in formats_figure


def formats_figure():
    """Each format's positive numbers on a log axis: its whole range (left) and the numbers near 1 (right)."""
    from labkit.plot import figure

    fig, (wide, near) = figure(2, width=12, height=4.2)
    names = list(reversed(FORMATS))
    for row, name in enumerate(names):
        facts = format_facts(name)
        low, normal, high = facts["min_subnormal"], facts["min_normal"], facts["max"]
        wide.hlines(row, low, normal, color="tab:orange", linewidth=7, label="subnormal" if row == 1 else None)
        wide.hlines(row, normal, high, color="tab:blue", linewidth=7, label="normal" if row == 1 else None)
        if name == "int8":
            wide.text(high * 1e3, row, "1 … 127 (and −1 … −128), times a scale", va="center", fontsize=8)
        try:
            values = representable_values(name)
        except ParameterError:  # float32 and TF32: too many numbers to draw one by one; a line stands for them
            # as tall as the other rows' ticks: a solid band is what their ticks would merge into
            near.hlines(row, 0.25, 8, color="tab:blue", linewidth=TICK_HEIGHT)
            near.text(8.4, row, f"{2 ** facts['mantissa']:,} per octave", va="center", fontsize=8)
            continue
        shown = values[(values >= 0.25) & (values <= 8)]
        near.plot(shown, [row] * len(shown), "|", color="tab:blue", markersize=TICK_HEIGHT, markeredgewidth=0.8)
        label = "integers only" if name == "int8" else f"{2 ** facts['mantissa']:,} per octave"
        near.text(8.4, row, label, va="center", fontsize=8)
    for ax in (wide, near):
        ax.set_xscale("log", base=2 if ax is near else 10)
        ax.set_yticks(range(len(names)), names)
        ax.set_ylim(-0.7, len(names) - 0.3)
        ax.grid(axis="y", visible=False)
    wide.set(xlabel="positive value (log scale)", title="range: smallest subnormal to largest finite number")
    wide.legend(loc="lower left", fontsize=8)
    near.set_xlim(0.25, 20)
    near.set_xticks([0.25, 0.5, 1, 2, 4, 8], ["1/4", "1/2", "1", "2", "4", "8"])
    near.set(xlabel="value (log scale)", title="the numbers between 1/4 and 8, one tick each")
    return fig


def underflow_figure(grads: torch.Tensor, shrink: float, scale: float):
    """Histogram of log2|g| for gradients, the same × ``shrink`` and those × ``scale``, with float16's limits."""
    from labkit.plot import figure

    fig, ax = figure(width=9, height=4)
    g = grads[grads != 0].abs().double()
    variants = [(g, "this MLP's gradients", "tab:blue"), (g * shrink, f"× {shrink:g} (shrunk)", "tab:red"),
                (g * shrink * scale, f"× {shrink:g} × scale {scale:g}", "tab:green")]
    low = math.floor(min(float(v.min().log2()) for v, _, _ in variants)) - 1
    high = math.ceil(max(float(v.max().log2()) for v, _, _ in variants)) + 1
    bins = torch.arange(low, high + 1, 1.0).tolist()
    for values, label, color in variants:
        ax.hist(values.log2().tolist(), bins=bins, histtype="step", linewidth=2, color=color, label=label)
    fp16 = format_facts("float16")
    for value, text, style in ((fp16["min_subnormal"] / 2, "at or below: rounds to 0 in float16", "-."),
                               (fp16["min_subnormal"], "smallest float16 subnormal", ":"),
                               (fp16["min_normal"], "smallest float16 normal", "--"),
                               (fp16["max"], "largest float16", "-")):
        ax.axvline(math.log2(value), color="black", linestyle=style, linewidth=1)
        ax.text(math.log2(value) + 0.3, ax.get_ylim()[1] * 0.96, text, rotation=90, va="top", fontsize=8)
    ax.set(xlabel="log₂ |gradient|", ylabel="count of gradient values",
           title="float16 rounds everything at or below 2⁻²⁵ to 0; scaling moves the gradients up")
    ax.legend(fontsize=8, loc="upper left")
    return fig


def pruning_figure(sparsities: Sequence[float], one_shot: Sequence[float], tuned: Sequence[float], dense: float):
    """Validation accuracy against sparsity: right after magnitude pruning and after fine-tuning.

    ``dense`` is the dense model trained for as many extra epochs as the fine-tuning: the fair reference.
    """
    from labkit.plot import figure

    fig, ax = figure()
    percent = [100 * s for s in sparsities]
    ax.plot(percent, [100 * a for a in one_shot], "o-", color="tab:red", label="pruned, no fine-tuning")
    ax.plot(percent, [100 * a for a in tuned], "s-", color="tab:green", label="pruned, then fine-tuned")
    ax.axhline(100 * dense, color="gray", linestyle="--", linewidth=1, label="dense, trained as many epochs more")
    ax.axhspan(100 * dense - 1, 100 * dense, color="gray", alpha=0.15, label="within one point of it")
    ax.set(xlabel="sparsity (% of weights set to zero)", ylabel="validation accuracy (%)",
           title="magnitude pruning of the digit classifier")
    ax.legend(fontsize=9, loc="lower left")
    return fig


def sparse_figure(densities: Sequence[float], compared: Sequence[Comparison], crossover: float | None, n: int,
                  batch: int):
    """Time of a sparse (CSR) × dense product against density, with the dense product's time as a band.

    ``compared[i]``: the CSR product at ``densities[i]`` (B) against the dense one (A), from ``bench.compare_many``.
    """
    from labkit.plot import figure

    dense, sparse = compared[0].a, [c.b for c in compared]
    fig, ax = figure()
    ms = 1e3
    ax.axhspan((dense.median - dense.iqr / 2) * ms, (dense.median + dense.iqr / 2) * ms, color="tab:blue", alpha=0.2)
    ax.axhline(dense.median * ms, color="tab:blue", label="dense matmul (median, IQR band)")
    ax.errorbar([100 * d for d in densities], [m.median * ms for m in sparse], yerr=[m.iqr / 2 * ms for m in sparse],
                fmt="o-", color="tab:red", capsize=3, label="CSR sparse × dense (median, IQR)")
    if crossover is not None:
        ax.axvline(100 * crossover, color="black", linestyle=":", linewidth=1,
                   label=f"CSR faster (every round) from {100 * crossover:g}% density down")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
             if 0.5 * min(densities) <= t / 100 <= 2 * max(densities)]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.set(xlabel="density (% of nonzero weights, log scale)", ylabel="ms per product (log scale)",
           title=f"({n}×{n} weight) @ ({n}×{batch} activations)")
    ax.legend(fontsize=8, loc="lower right")
    return fig


def budget_figure(budgets: dict[str, dict[str, float]], gpus: dict[str, float]):
    """What mixed-precision Adam training keeps, part by part, for each model, against GPUs' memory (specification)."""
    from labkit.plot import figure

    names = list(budgets)
    fig, axes = figure(len(names), width=5.5 * len(names), height=3.8)
    axes = list(axes) if len(names) > 1 else [axes]
    parts = [("train_weights", "bf16 weights"), ("train_gradients", "bf16 gradients"),
             ("train_master", "fp32 master copy"), ("train_adam_moments", "Adam's 2 moments (fp32)")]
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    by_memory: dict[float, list[str]] = {}
    for gpu, gib in gpus.items():
        by_memory.setdefault(gib, []).append(gpu.replace("NVIDIA ", ""))
    for ax, name in zip(axes, names, strict=True):
        left = 0.0
        for (key, label), color in zip(parts, colors, strict=True):
            value = budgets[name][key] / 2**30
            ax.barh(["training"], [value], left=left, color=color, label=label)
            left += value
        ax.barh(["inference bf16"], [budgets[name]["inference_bfloat16"] / 2**30], color="tab:blue")
        ax.barh(["inference int4"], [budgets[name]["inference_int4"] / 2**30], color="tab:purple")
        for k, (gib, which) in enumerate(sorted(by_memory.items(), reverse=True)):
            ax.axvline(gib, color="black", linestyle=["--", ":", "-."][k % 3], linewidth=1.2,
                       label=f"{gib:g} GiB: {', '.join(which)} (specification)")
        ax.set(xlabel="GiB", title=f"{name} parameters")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    return fig


# ---- the explorer: bits and sparsity on the classifier ---------------------------------------------------

BITS = (32, 16, 8, 4)


def compress_copy(model: nn.Module, bits: int, sparsity: float) -> nn.Module:
    """A copy of ``model`` whose Linear weights are magnitude-pruned to ``sparsity``, then stored in ``bits``.

    32: float32 as is; 16: rounded to bfloat16; 8 and 4: symmetric per-channel integers (dequantized here,
    so the copy runs as a float model with exactly the quantized values).
    """
    if bits not in BITS:
        raise ParameterError(f"bits = {bits!r} is not allowed: must be one of {', '.join(map(str, BITS))}")
    out = copy.deepcopy(model)
    layers = linear_layers(out)
    masks = magnitude_masks([layer.weight for layer in layers], sparsity)
    with torch.no_grad():
        for layer, mask in zip(layers, masks, strict=True):
            w = layer.weight * mask
            if bits == 16:
                w = w.bfloat16().float()
            elif bits < 16:
                w = dequantize(*quantize_symmetric(w, bits, per_channel=True))
            layer.weight.copy_(w)
    return out


def storage_bytes(model: nn.Module, bits: int, *, sparse: bool = False) -> float:
    """Bytes of the Linear layers at ``bits`` per weight (+ per-channel scales below 16 bits, float32 biases).

    ``sparse``: only nonzero weights are stored (CSR: a 16-bit column index per value, a 32-bit pointer per row).
    """
    total = 0.0
    for layer in linear_layers(model):
        w = layer.weight.detach()
        rows = w.shape[0]
        values = int((w != 0).sum()) if sparse else w.numel()
        total += values * bits / 8 + (values * 2 + (rows + 1) * 4 if sparse else 0)
        total += 4 * rows if bits < 16 else 0
        total += 4 * layer.bias.numel() if layer.bias is not None else 0
    return total


def accuracy_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Fraction of ``x`` the model classifies as ``y``."""
    with torch.inference_mode():
        return float((model(x).argmax(dim=1) == y).float().mean())


def compress_text(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bits: int, sparsity: float) -> str:
    """One line: accuracy and size of the classifier at ``bits`` per weight and ``sparsity``."""
    small = compress_copy(model, bits, sparsity)
    dense, as_csr = storage_bytes(small, bits), storage_bytes(small, bits, sparse=True)
    kind = {32: "float32", 16: "bfloat16"}.get(bits, f"int{bits} per channel")
    return (f"{bits} bits ({kind}), {sparsity:.0%} of weights pruned: validation accuracy "
            f"{accuracy_of(small, x, y):.1%} (dense float32: {accuracy_of(model, x, y):.1%}); "
            f"size {dense / 1024:.1f} KiB stored dense, {as_csr / 1024:.1f} KiB stored as CSR "
            f"(float32 dense: {storage_bytes(model, 32) / 1024:.1f} KiB)")


def compress_figure(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bits: int, sparsity: float):
    """The first layer's weights after pruning and quantization: a histogram of all, and one row before → after."""
    from labkit.plot import figure

    small = compress_copy(model, bits, sparsity)
    w = linear_layers(small)[0].weight.detach()
    original = linear_layers(model)[0].weight.detach()
    fig, (hist, row_ax) = figure(2, width=12, height=4.2)
    edges = torch.linspace(float(original.min()), float(original.max()), 121).tolist()
    hist.hist(original.flatten().tolist(), bins=edges, color="lightgray", label="float32, unpruned")
    kept = w[w != 0]
    hist.hist(kept.tolist(), bins=edges, color="tab:blue", alpha=0.8, label=f"{bits} bits, nonzero")
    zeros = int((w == 0).sum())
    hist.set(xlabel="weight value (first layer, all rows)", ylabel="count",
             title=f"{zeros:,} zeros (not drawn); validation accuracy {accuracy_of(small, x, y):.1%}")
    hist.legend(fontsize=9, loc="upper right")
    row = int(original.abs().amax(dim=1).argmax())  # the row with the largest weight: the coarsest steps
    order = original[row].argsort()
    before, after = original[row][order], w[row][order]
    row_ax.plot(before, before, color="lightgray", label="unchanged (stored = original)")
    row_ax.plot(before, after, "o", markersize=3.5, color="tab:blue", label=f"stored in {bits} bits")
    row_ax.set(xlabel="original weight", ylabel="stored weight",
               title=f"the {len(before)} weights of hidden unit {row} (largest |w|)")
    row_ax.legend(fontsize=9, loc="upper left")
    fig.suptitle(f"{bits} bits per weight, {sparsity:.0%} pruned")
    return fig


def compress_explorer(model: nn.Module, x: torch.Tensor, y: torch.Tensor, bits: int = 8, sparsity: float = 0.5) -> None:
    """Bits per weight (32, 16, 8, 4) and a sparsity slider: the classifier's accuracy, size and weights follow."""
    explorer(
        lambda w: [[
            ("bits", w.Dropdown(options=list(BITS), value=bits, description="bits")),
            ("sparsity", w.FloatSlider(value=sparsity, min=0.0, max=0.95, step=0.05, description="sparsity",
                                       continuous_update=False, readout_format=".0%")),
        ]],
        lambda bits, sparsity: (compress_text(model, x, y, bits, sparsity),
                                compress_figure(model, x, y, bits, sparsity)),
        bits=bits, sparsity=sparsity,
    )
