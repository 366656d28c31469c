"""The pure functions behind lesson 01's outlier explorer: the best constant and line under each loss."""

from __future__ import annotations

import pytest
import torch

from labkit.errors import ParameterError
from labkit.lessons import losses as wd


def test_outlier_data_moves_only_the_last_point() -> None:
    x1, y1 = wd.outlier_data(15.0)
    x2, y2 = wd.outlier_data(-3.0)
    assert torch.equal(x1, x2) and torch.equal(y1[:-1], y2[:-1])
    assert y1[-1] == 15.0 and y2[-1] == -3.0


def _huber_total(y: torch.Tensor, c: float, delta: float) -> float:
    r = (y - c).abs()
    return float(torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).sum())


@pytest.mark.parametrize("delta", [0.3, 1.0, 4.0])
def test_fit_constant_minimises_each_loss(delta: float) -> None:
    y = torch.tensor([1.0, 2.0, 2.5, 4.0, 30.0], dtype=torch.float64)
    assert wd.fit_constant(y, "mse") == pytest.approx(float(y.mean()))
    assert wd.fit_constant(y, "mae") == pytest.approx(2.5)
    c = wd.fit_constant(y, "huber", delta)
    best = _huber_total(y, c, delta)
    for shift in (-1e-3, 1e-3, -0.1, 0.1):
        assert best <= _huber_total(y, c + shift, delta) + 1e-12
    # Huber sits between the median and the mean here, pulled less by the outlier than MSE.
    assert 2.5 - 1e-9 <= c <= float(y.mean())


def test_huber_constant_matches_mean_for_a_huge_delta() -> None:
    y = torch.tensor([0.0, 1.0, 5.0], dtype=torch.float64)
    assert wd.fit_constant(y, "huber", 100.0) == pytest.approx(2.0, abs=1e-8)


def test_mean_follows_the_outlier_median_does_not() -> None:
    low = {loss: wd.fit_constant(wd.outlier_data(10.0)[1], loss) for loss in wd.ROBUST_LOSSES}
    high = {loss: wd.fit_constant(wd.outlier_data(30.0)[1], loss) for loss in wd.ROBUST_LOSSES}
    n = len(wd.outlier_data(0.0)[1])
    assert high["mse"] - low["mse"] == pytest.approx(20.0 / n)
    assert high["mae"] == low["mae"]
    assert high["huber"] == pytest.approx(low["huber"], abs=1e-8)


def test_fit_line_mse_is_least_squares() -> None:
    x, y = wd.outlier_data(15.0)
    b0, b1 = wd.fit_line(x, y, "mse")
    X = torch.stack([torch.ones_like(x), x], dim=1)
    ref = torch.linalg.solve(X.T @ X, X.T @ y)
    assert (b0, b1) == pytest.approx((float(ref[0]), float(ref[1])))


def test_robust_lines_resist_one_outlier() -> None:
    x = torch.arange(20, dtype=torch.float64)
    y = 1.0 + 2.0 * x
    y[-1] = 500.0
    assert wd.fit_line(x, y, "mae") == pytest.approx((1.0, 2.0), abs=1e-3)  # MAE ignores it entirely
    assert wd.fit_line(x, y, "huber") == pytest.approx((1.0, 2.0), abs=0.15)  # Huber feels a bounded pull
    assert wd.fit_line(x, y, "mse")[1] > 4.0


@pytest.mark.parametrize("delta", [0.5, 2.0])
def test_huber_line_is_a_minimum(delta: float) -> None:
    x, y = wd.outlier_data(20.0)
    b0, b1 = wd.fit_line(x, y, "huber", delta)

    def total(c0: float, c1: float) -> float:
        r = (y - c0 - c1 * x).abs()
        return float(torch.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)).sum())

    best = total(b0, b1)
    for d0, d1 in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-2, -1e-3)]:
        assert best <= total(b0 + d0, b1 + d1) + 1e-10


def test_unknown_loss_is_a_clear_error() -> None:
    with pytest.raises(ParameterError, match="loss = 'l3'"):
        wd.fit_constant(torch.ones(3), "l3")
    with pytest.raises(ParameterError, match="loss = 'l3'"):
        wd.fit_line(torch.ones(3), torch.ones(3), "l3")


def test_figure_and_headless_explorer(capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = wd.outlier_figure(15.0)
    assert len(fig.axes) == 2
    plt.close(fig)
    assert wd.outlier_explorer(15.0) is None  # headless under pytest: static figure and text
    assert "MSE: constant" in capsys.readouterr().out
