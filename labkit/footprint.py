"""How many bytes a model needs: its weights for inference, everything training keeps per parameter.

Used by lessons 00 (the memory of a model), 05 and 07 (what autograd keeps for the backward
pass, the activations), 07 (precision) and 08 (when a model needs more than one GPU). Training
with Adam in mixed precision keeps, per parameter, the weights in 16 bits (2 bytes), their
gradients in 16 bits (2), a float32 master copy of the weights (4) and Adam's two moments in
float32 (4 + 4): about 16 bytes, before the activations of the forward pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.errors import ParameterError

BYTES_PER_VALUE = {"float64": 8, "float32": 4, "tf32": 4, "bfloat16": 2, "float16": 2, "fp8": 1, "int8": 1,
                   "int4": 0.5}
# Optimizer state kept per parameter, in float32 values: Adam keeps two moments, SGD with momentum one.
OPTIMIZER_STATES = {"sgd": 0, "momentum": 1, "adam": 2, "adamw": 2}


def _bytes(name: str, dtype: str) -> float:
    if dtype not in BYTES_PER_VALUE:
        raise ParameterError(f"{name} = {dtype!r} is not allowed: must be one of {', '.join(BYTES_PER_VALUE)}")
    return BYTES_PER_VALUE[dtype]


def inference_bytes(parameters: float, dtype: str = "bfloat16") -> float:
    """Bytes of a model's weights stored in ``dtype``: parameters × bytes per value."""
    return parameters * _bytes("dtype", dtype)


@dataclass(frozen=True)
class TrainingBytes:
    """Bytes training keeps, by kind; ``total`` adds them."""

    weights: float
    gradients: float
    master: float
    optimizer: float
    activations: float

    @property
    def total(self) -> float:
        """Everything together."""
        return self.weights + self.gradients + self.master + self.optimizer + self.activations

    def per_parameter(self, parameters: float) -> float:
        """Bytes per parameter, activations left out (they grow with the batch, not with the parameters)."""
        return (self.total - self.activations) / parameters


def training_bytes(parameters: float, *, weights: str = "bfloat16", optimizer: str = "adam",
                   master: bool = True, activations: float = 0.0) -> TrainingBytes:
    """What training keeps: weights and gradients in ``weights``' dtype, a float32 master copy (if
    ``master``, as mixed precision does), the optimizer's float32 state, and ``activations`` bytes."""
    if optimizer not in OPTIMIZER_STATES:
        raise ParameterError(f"optimizer = {optimizer!r} is not allowed: must be one of {', '.join(OPTIMIZER_STATES)}")
    size = _bytes("weights", weights)
    copy = 4.0 if master and size < 4 else 0.0  # a float32 model is its own master copy
    return TrainingBytes(weights=parameters * size, gradients=parameters * size, master=parameters * copy,
                         optimizer=parameters * 4.0 * OPTIMIZER_STATES[optimizer], activations=float(activations))


def saved_activation_bytes(fn: Callable[[], Any], params: Sequence[Any] = ()) -> tuple[Any, int]:
    """Run ``fn()``; return its result and the bytes autograd saved for the backward pass, ``params`` aside.

    Every tensor autograd saves goes through a ``saved_tensors_hooks`` pack hook. One rule counts
    them: each storage once (a layer's output is often the next layer's input too), over the span
    of bytes the saved tensors cover in it, so a saved slice of a big dataset counts as the slice.
    Tensors that live in a parameter's storage (a weight, or a transposed view of it) are weights,
    not activations, and are left out.
    """
    import torch

    skip = {p.untyped_storage().data_ptr() for p in params}
    spans: dict[int, tuple[int, int]] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in skip and t.numel():
            start = t.storage_offset() * t.element_size()
            reach = sum((size - 1) * stride for size, stride in zip(t.shape, t.stride(), strict=True))
            end = start + (reach + 1) * t.element_size()
            low, high = spans.get(ptr, (start, end))
            spans[ptr] = (min(low, start), max(high, end))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return out, sum(high - low for low, high in spans.values())
