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


def test_polynomial_design_standardises_each_power_with_the_training_scale() -> None:
    from labkit.lessons.regression import polynomial_design

    z = torch.linspace(-2, 2, 9, dtype=torch.float64)
    X, (mean, spread) = polynomial_design(z, 3)
    assert X.shape == (9, 4) and torch.all(X[:, 0] == 1)
    assert torch.allclose(X[:, 1:].mean(0), torch.zeros(3, dtype=torch.float64), atol=1e-12)
    assert torch.allclose(X[:, 1:].std(0), torch.ones(3, dtype=torch.float64))
    other = torch.tensor([0.5, 3.0], dtype=torch.float64)
    Xo, _ = polynomial_design(other, 3, (mean, spread))
    assert torch.allclose(Xo[:, 2], (other**2 - mean[1]) / spread[1])  # the training scale, not its own
    with pytest.raises(ValueError, match="degree = 0 is not allowed"):
        polynomial_design(z, 0)
    with pytest.raises(ValueError, match="scale is for degree 3, not 2"):
        polynomial_design(z, 2, (mean, spread))


def test_ridge_is_least_squares_at_zero_and_matches_sklearn() -> None:
    from sklearn.linear_model import Ridge

    from labkit.lessons.regression import polynomial_design, ridge

    g = torch.Generator().manual_seed(0)
    z = torch.randn(30, generator=g, dtype=torch.float64)
    y = 3 + 2 * z + 0.3 * torch.randn(30, generator=g, dtype=torch.float64)
    X, _ = polynomial_design(z, 5)
    assert torch.allclose(ridge(X, y, 0.0), torch.linalg.lstsq(X, y.unsqueeze(1)).solution.reshape(-1))
    for lam in (0.01, 1.0, 100.0):
        sk = Ridge(alpha=lam).fit(X[:, 1:].numpy(), y.numpy())
        want = torch.tensor([sk.intercept_, *sk.coef_], dtype=torch.float64)
        assert torch.allclose(ridge(X, y, lam), want, atol=1e-9), lam
    # the penalty shrinks the slopes, never the intercept: a huge λ predicts the mean everywhere
    flat = ridge(X, y, 1e12)
    assert flat[0].item() == pytest.approx(y.mean().item()) and flat[1:].abs().max() < 1e-8
    with pytest.raises(ValueError, match="lam = -1"):
        ridge(X, y, -1)


def test_validation_curve_training_error_never_rises_with_the_degree() -> None:
    from labkit.lessons.regression import validation_curve

    g = torch.Generator().manual_seed(1)
    z, zv = torch.randn(15, generator=g, dtype=torch.float64), torch.randn(200, generator=g, dtype=torch.float64)
    y, yv = z + 0.5 * torch.randn(15, generator=g, dtype=torch.float64), zv + 0.5 * torch.randn(200, generator=g,
                                                                                                dtype=torch.float64)
    curve = validation_curve(z, y, zv, yv, degrees=list(range(1, 11)))
    assert all(a >= b - 1e-9 for a, b in zip(curve["train"], curve["train"][1:], strict=False))
    assert curve["val"][-1] > 10 * curve["val"][0], "degree 10 on 15 points overfits"
    by_lam = validation_curve(z, y, zv, yv, degrees=[10], lams=[0.0, 1.0])
    assert by_lam["val"][0] == pytest.approx(curve["val"][-1]) and by_lam["val"][1] < by_lam["val"][0]


def test_fit_figures_draw_what_they_say() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.lessons.regression import fits_figure, validation_curve, validation_figure

    g = torch.Generator().manual_seed(2)
    x = 100 + 30 * torch.randn(20, generator=g, dtype=torch.float64)
    y = 3 * x + 20 * torch.randn(20, generator=g, dtype=torch.float64)
    xv = 100 + 30 * torch.randn(80, generator=g, dtype=torch.float64)
    yv = 3 * xv + 20 * torch.randn(80, generator=g, dtype=torch.float64)
    fig = fits_figure(x, y, xv, yv, 9, 0.1)
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["line (degree 1)", "degree 9", "degree 9, ridge λ = 0.1", "validation houses",
                                     "the 20 training houses"])
    plt.close(fig)
    z, zv = (x - x.mean()) / x.std(), (xv - x.mean()) / x.std()
    degrees, lams = [1, 2, 3], [0.1, 1.0]
    fig = validation_figure(degrees, validation_curve(z, y, zv, yv, degrees=degrees), lams,
                            validation_curve(z, y, zv, yv, degrees=[3], lams=lams), 3, 20)
    left, right = fig.axes
    assert left.get_yscale() == right.get_yscale() == "log" and right.get_xscale() == "log"
    assert left.get_ylim() == right.get_ylim(), "one scale for both panels"
    plt.close(fig)
