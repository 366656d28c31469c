"""labkit.footprint: bytes per parameter, checked against what torch really allocates."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labkit.errors import ParameterError
from labkit.footprint import inference_bytes, training_bytes


def test_mixed_precision_adam_keeps_16_bytes_per_parameter() -> None:
    budget = training_bytes(7e9)
    assert (budget.weights, budget.gradients, budget.master, budget.optimizer) == (14e9, 14e9, 28e9, 56e9)
    assert budget.per_parameter(7e9) == 16
    assert training_bytes(1e6, weights="float32", optimizer="sgd").per_parameter(1e6) == 8
    assert training_bytes(1e6, weights="bfloat16", optimizer="momentum", master=False).per_parameter(1e6) == 8
    assert training_bytes(10, activations=100).total == 10 * 16 + 100
    assert inference_bytes(7e9, "bfloat16") == 14e9 and inference_bytes(7e9, "int4") == 3.5e9


def test_float32_adam_matches_what_torch_allocates() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters())
    model(torch.randn(8, 64)).square().mean().backward()
    opt.step()
    params = sum(p.numel() for p in model.parameters())
    kept = sum(p.nbytes + p.grad.nbytes for p in model.parameters())
    kept += sum(t.nbytes for state in opt.state.values() for t in state.values() if t.dim() > 0)
    assert kept == training_bytes(params, weights="float32").total


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"weights": "float12"}, "weights = 'float12' is not allowed: must be one of"),
    ({"optimizer": "lion"}, "optimizer = 'lion' is not allowed: must be one of sgd, momentum, adam"),
])
def test_bad_names_are_one_line(kwargs, message) -> None:
    with pytest.raises(ParameterError, match=message):
        training_bytes(1, **kwargs)
