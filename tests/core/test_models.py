"""labkit.models: the one MLP builder, shared by lessons 04, 06, 07 and 08."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from labkit.errors import ParameterError
from labkit.models import DIGITS, mlp


def test_the_default_is_the_digits_classifier() -> None:
    model = mlp()
    assert DIGITS == (64, 128, 10)
    assert [type(m) for m in model] == [nn.Linear, nn.ReLU, nn.Linear]
    assert sum(p.numel() for p in model.parameters()) == 64 * 128 + 128 + 128 * 10 + 10 == 9610
    assert model(torch.zeros(3, 64)).shape == (3, 10)


@pytest.mark.parametrize("widths", [[64, 10], [784, 128, 10], [3, 7, 5, 2]])
def test_a_relu_between_each_pair_and_none_after_the_logits(widths: list[int]) -> None:
    model = mlp(widths)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == list(zip(widths[:-1], widths[1:], strict=False))
    assert len(model) == 2 * len(linears) - 1 and not isinstance(model[-1], nn.ReLU)


def test_a_seed_gives_the_same_weights_and_dtype_converts_them() -> None:
    a, b = mlp(seed=3), mlp(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(mlp(seed=4)[0].weight, a[0].weight)
    wide = mlp(seed=3, dtype=torch.float64)
    assert wide[0].weight.dtype == torch.float64 and torch.equal(wide[0].weight.float(), a[0].weight)


def test_bad_widths_are_one_line() -> None:
    for widths in ([64], [64, 0, 10], [64, 2.5, 10], [64, True, 10]):
        with pytest.raises(ParameterError, match="widths = .* need at least two whole numbers >= 1"):
            mlp(widths)
