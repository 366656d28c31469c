"""Lesson 03's explorer: the pure functions behind the β₀/β₁ sliders and the loss surface."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from labkit.lessons.regression import (
    best_line,
    line_explorer,
    line_figure,
    line_loss,
    line_ranges,
    line_text,
    loss_surface,
)

X = torch.tensor([1.0, 2.0, 3.0, 4.0])
Y = torch.tensor([3.0, 5.0, 7.0, 9.0])  # exactly 1 + 2x


def test_line_loss_is_half_mean_squared_error() -> None:
    assert line_loss(X, Y, 1.0, 2.0) == 0.0
    assert line_loss(X, Y, 0.0, 2.0) == pytest.approx(0.5)  # every residual is 1
    assert line_loss(X.reshape(-1, 1), Y, 0.0, 2.0) == pytest.approx(0.5), "an (n, 1) x must not broadcast to (n, n)"


def test_surface_matches_pointwise_loss() -> None:
    b0s, b1s = torch.linspace(-1, 3, 5), torch.linspace(0, 4, 7)
    surface = loss_surface(X, Y, b0s, b1s)
    assert surface.shape == (7, 5)
    for i, b1 in enumerate(b1s.tolist()):
        for j, b0 in enumerate(b0s.tolist()):
            assert surface[i, j].item() == pytest.approx(line_loss(X, Y, b0, b1), rel=1e-6, abs=1e-9)


def test_best_line_and_ranges() -> None:
    b0, b1 = best_line(X, Y)
    assert (b0, b1) == (pytest.approx(1.0, abs=1e-9), pytest.approx(2.0, abs=1e-9))
    (lo0, hi0), (lo1, hi1) = line_ranges(X, Y)
    assert lo0 < b0 < hi0 and lo1 < b1 < hi1


def test_best_line_is_the_minimum_of_the_loss() -> None:
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(50, generator=gen) * 100
    y = 5 + 0.3 * x + torch.randn(50, generator=gen)
    b0, b1 = best_line(x, y)
    best = line_loss(x, y, b0, b1)
    for d0, d1 in [(0.1, 0), (-0.1, 0), (0, 0.01), (0, -0.01)]:
        assert line_loss(x, y, b0 + d0, b1 + d1) > best


def test_text_and_figure() -> None:
    text = line_text(X, Y, 0.0, 2.0)
    assert "loss J/n = 0.5" in text
    fig = line_figure(X, Y, 0.0, 2.0, xlabel="area", ylabel="price")
    left, right = fig.axes[:2]
    assert left.get_xlabel() == "area" and right.get_xlabel().startswith("β₀")
    matplotlib.pyplot.close(fig)


def test_explorer_is_static_headless(capsys: pytest.CaptureFixture[str]) -> None:
    assert line_explorer(X, Y, 0.0, 2.0) is None
    assert "loss J/n" in capsys.readouterr().out
