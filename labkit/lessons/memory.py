"""Lesson 00, the memory of tensors: bytes per element, bytes per matrix, and how many fit in a GPU."""

from __future__ import annotations

import math

import torch

from labkit.explorer import explorer

DTYPES: dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "bfloat16": torch.bfloat16,
    "float16": torch.float16,
    "int8": torch.int8,
}


def tensor_nbytes(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    """Bytes a dense tensor of ``shape`` and ``dtype`` occupies: elements × bytes per element."""
    return math.prod(shape) * dtype.itemsize


def human_bytes(n: int) -> str:
    """1536 → '1.5 KiB': powers of 1024, as GPU memory is reported."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def memory_text(n: int, dtype_name: str, gpu_gib: float = 80.0) -> str:
    """What an n×n matrix costs in memory, and how many fit in a GPU of ``gpu_gib`` GiB."""
    nbytes = tensor_nbytes((n, n), DTYPES[dtype_name])
    fit = int(gpu_gib * 2**30 // nbytes)
    return f"a {n:,}×{n:,} {dtype_name} matrix needs {human_bytes(nbytes)}; {fit:,} of them fit in {gpu_gib:g} GiB"


def memory_figure(n: int, dtype_name: str):
    """Bar chart: memory of an n×n matrix in each dtype, the chosen one highlighted."""
    from labkit.plot import figure

    fig, ax = figure()
    names = list(DTYPES)
    sizes = [tensor_nbytes((n, n), DTYPES[name]) / 2**20 for name in names]
    colors = ["tab:orange" if name == dtype_name else "tab:blue" for name in names]
    bars = ax.bar(names, sizes, color=colors)
    ax.bar_label(bars, fmt="%.0f MiB" if min(sizes) >= 10 else "%.2f MiB")
    ax.set_ylabel("MiB")
    ax.set_title(f"memory of a {n:,}×{n:,} matrix by dtype")
    return fig


def memory_explorer(n: int = 4096, dtype_name: str = "float32") -> None:
    """Slider for n and a dtype menu; the text and bar chart follow."""
    explorer(
        lambda w: [[
            ("n", w.IntSlider(value=n, min=256, max=65536, step=256, description="n", continuous_update=False)),
            ("dtype_name", w.Dropdown(options=list(DTYPES), value=dtype_name, description="dtype")),
        ]],
        lambda n, dtype_name: (memory_text(n, dtype_name), memory_figure(n, dtype_name)),
        n=n, dtype_name=dtype_name,
    )



# ---- a whole model: its weights, and everything training keeps --------------------------------

MODEL_DTYPES = ("bfloat16", "float32")
GPU_SIZES_GIB = (16, 24, 40, 80, 141)


def gpus_needed(nbytes: float, gpu_gib: float) -> int:
    """How many GPUs of ``gpu_gib`` GiB hold ``nbytes`` if it could be split evenly (a lower bound)."""
    return max(1, math.ceil(nbytes / (gpu_gib * 2**30)))


def model_budgets(billions: float, dtype_name: str = "bfloat16"):
    """(weights bytes, TrainingBytes) of a model of ``billions`` parameters kept in ``dtype_name``.

    Training uses Adam; in a 16-bit dtype it is mixed precision (a float32 master copy of the weights).
    Activations are left out: they grow with the batch and the sequence, not with the parameters.
    """
    from labkit.footprint import inference_bytes, training_bytes

    parameters = billions * 1e9
    return inference_bytes(parameters, dtype_name), training_bytes(parameters, weights=dtype_name)


def model_text(billions: float, dtype_name: str = "bfloat16", gpu_gib: float = 80.0) -> str:
    """The two budgets of a model, and how many GPUs of ``gpu_gib`` GiB each needs at the least."""
    weights, train = model_budgets(billions, dtype_name)
    parameters = billions * 1e9
    def gpus(nbytes: float, split: str) -> str:
        count = gpus_needed(nbytes, gpu_gib)
        # More than one GPU helps only if the bytes are divided among them; a full copy on each fits on none.
        return f"{count} GPU{'s' if count > 1 else ''} of {gpu_gib:g} GiB at the least" + (
            f", {split} across them" if count > 1 else "")

    return (f"{billions:,.3g} B parameters in {dtype_name}: the weights need {human_bytes(weights)} "
            f"({gpus(weights, 'the weights split')}); training with Adam needs {train.per_parameter(parameters):.0f} "
            f"bytes per parameter, {human_bytes(train.total)} before activations "
            f"({gpus(train.total, 'the training state sharded')})")


def model_figure(billions: float, dtype_name: str = "bfloat16", gpu_gib: float = 80.0):
    """Two stacked bars, inference (weights) and training (weights, gradients, master copy, Adam), against one GPU."""
    from labkit.plot import figure

    weights, train = model_budgets(billions, dtype_name)
    parts = [("weights", train.weights, "tab:blue"), ("gradients", train.gradients, "tab:orange"),
             ("float32 master copy", train.master, "tab:green"), ("Adam's two moments", train.optimizer, "tab:red")]
    fig, ax = figure(width=7.5, height=4)
    gib = 2**30
    ax.bar(["inference\n(weights only)"], [weights / gib], color="tab:blue")
    bottom = 0.0
    for label, nbytes, color in parts:
        if nbytes:
            ax.bar(["training\n(Adam, before activations)"], [nbytes / gib], bottom=bottom, color=color, label=label)
            bottom += nbytes / gib
    for x, total in ((0, weights / gib), (1, bottom)):
        ax.annotate(human_bytes(total * gib), (x, total), xytext=(0, 3), textcoords="offset points", ha="center")
    ax.axhline(gpu_gib, color="black", linestyle="--", linewidth=1, label=f"one {gpu_gib:g} GiB GPU")
    ax.set_ylabel("GiB")
    ax.set_ylim(0, max(bottom, gpu_gib) * 1.12)
    ax.set_title(f"a {billions:,.3g} B-parameter model in {dtype_name}")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def model_explorer(billions: float = 7.0, dtype_name: str = "bfloat16", gpu_gib: float = 80.0) -> None:
    """A parameter-count slider (log scale), a dtype menu and a GPU-size menu; the text and the bars follow."""
    explorer(
        lambda w: [[
            ("billions", w.FloatLogSlider(value=billions, base=10, min=-1, max=3, step=0.1, description="billions",
                                          continuous_update=False)),
            ("dtype_name", w.Dropdown(options=list(MODEL_DTYPES), value=dtype_name, description="dtype")),
            ("gpu_gib", w.Dropdown(options=[float(g) for g in GPU_SIZES_GIB], value=float(gpu_gib),
                                   description="GPU GiB")),
        ]],
        lambda billions, dtype_name, gpu_gib: (model_text(billions, dtype_name, gpu_gib),
                                               model_figure(billions, dtype_name, gpu_gib)),
        billions=billions, dtype_name=dtype_name, gpu_gib=gpu_gib,
    )
