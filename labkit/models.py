"""The workbook's shared network: linear layers with a ReLU between each pair (the digits classifier among them).

Lessons 04, 06, 07 and 08 build their multi-layer perceptrons here, so that "the 64 → 128 → 10
digits classifier" means one thing everywhere. Deep stacks for studying gradients are lesson 05's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from labkit.errors import ParameterError

if TYPE_CHECKING:
    import torch
    from torch import nn

DIGITS = (64, 128, 10)  # 8×8 pixels in, 128 hidden units, one logit per digit


def mlp(widths: Sequence[int] = DIGITS, *, seed: int | None = None, dtype: torch.dtype | None = None) -> nn.Sequential:
    """Linear layers of ``widths`` with a ReLU between each pair; (64, 10) is softmax regression.

    ``seed``: call ``torch.manual_seed(seed)`` first, so every call starts from the same weights.
    ``dtype``: the parameters' dtype (initialised in float32, then converted, as ``.to(dtype)`` does).
    """
    import torch
    from torch import nn

    widths = list(widths)
    if len(widths) < 2 or any(not isinstance(w, int) or isinstance(w, bool) or w < 1 for w in widths):
        raise ParameterError(f"widths = {widths!r} is not allowed: need at least two whole numbers >= 1")
    if seed is not None:
        torch.manual_seed(seed)
    layers: list[nn.Module] = []
    for n_in, n_out in zip(widths[:-1], widths[1:], strict=False):
        layers += [nn.Linear(n_in, n_out), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])  # no ReLU after the last layer: it gives the logits
    return model if dtype is None else model.to(dtype)
