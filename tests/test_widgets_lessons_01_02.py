"""The pure functions behind the explorers of lessons 01 (loss functions) and 02 (gradient descent)."""

from __future__ import annotations

import pytest
import torch

from labkit import widgets as wd


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
    with pytest.raises(ValueError, match="loss = 'l3'"):
        wd.fit_constant(torch.ones(3), "l3")
    with pytest.raises(ValueError, match="loss = 'l3'"):
        wd.fit_line(torch.ones(3), torch.ones(3), "l3")


@pytest.mark.parametrize("name", list(wd.SURFACES))
def test_surface_gradients_match_autograd(name: str) -> None:
    spec = wd.SURFACES[name]
    w = torch.tensor([[0.3, -1.2], [-1.5, 2.5], [2.0, 0.7]], dtype=torch.float64, requires_grad=True)
    spec["f"](w).sum().backward()
    assert torch.allclose(spec["grad"](w.detach()), w.grad)
    assert float(spec["f"](torch.tensor(spec["minimum"], dtype=torch.float64))) == 0.0


def test_descent_path_is_gradient_descent() -> None:
    points, losses = wd.descent_path("bowl", 0.05, steps=3)
    assert points.shape == (4, 2) and losses.shape == (4,)
    w = torch.tensor(wd.SURFACES["bowl"]["start"], dtype=torch.float64)
    for k in range(3):
        w = w - 0.05 * wd.bowl_grad(w)
        assert torch.allclose(points[k + 1], w)
    assert torch.allclose(losses, wd.bowl(points))


def test_descent_path_momentum_matches_torch_sgd() -> None:
    points, _ = wd.descent_path("valley", 0.01, momentum=0.9, steps=25)
    p = torch.tensor(wd.SURFACES["valley"]["start"], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.SGD([p], lr=0.01, momentum=0.9)
    for _ in range(25):
        opt.zero_grad()
        wd.valley(p).backward()
        opt.step()
    assert torch.allclose(points[-1], p.detach())


def test_descent_path_adam_decreases_the_loss() -> None:
    _, losses = wd.descent_path("valley", 0.1, steps=200, method="adam")
    assert float(losses[-1]) < 1e-3 < float(losses[0])


def test_bowl_stability_limit_is_two_over_curvature() -> None:
    # Largest curvature is 25, so GD is stable for lr < 2/25 = 0.08, on the edge at 0.08, unstable above.
    assert wd.run_status(*wd.descent_path("bowl", 0.07, steps=200)) == "converged"
    assert wd.run_status(*wd.descent_path("bowl", 0.08, steps=200)) == "oscillating"
    assert wd.run_status(*wd.descent_path("bowl", 0.09, steps=200)) == "diverged"
    assert wd.run_status(*wd.descent_path("bowl", 0.001, steps=200)) == "slow"


def test_divergent_run_stops_early() -> None:
    points, losses = wd.descent_path("valley", 0.1, steps=1000)
    assert len(losses) < 1000 and len(points) == len(losses)
    assert wd.run_status(points, losses) == "diverged"


def test_momentum_reaches_tolerance_on_the_valley_where_gd_does_not() -> None:
    plain = wd.descent_path("valley", 0.01, steps=200)[1]
    heavy = wd.descent_path("valley", 0.01, momentum=0.9, steps=200)[1]
    assert wd.steps_to_tolerance(plain) is None
    assert wd.steps_to_tolerance(heavy) is not None


def test_steps_to_tolerance() -> None:
    assert wd.steps_to_tolerance(torch.tensor([3.0, 1.0, 1e-5, 1e-6])) == 2
    assert wd.steps_to_tolerance(torch.tensor([3.0, 1.0])) is None


def test_texts_name_the_outcome() -> None:
    assert "diverged" in wd.descent_text("bowl", 0.09, 0.0, 100)
    assert "converged" in wd.descent_text("bowl", 0.07, 0.0, 200)
    assert "MSE: constant" in wd.outlier_text(15.0)


def test_a_run_that_blows_up_still_shows_the_budget_asked_for() -> None:
    # The valley at lr = 0.1 leaves float range within a few steps; the steps slider must still show.
    _, losses = wd.descent_path("valley", 0.1, steps=300)
    taken = len(losses) - 1
    assert taken < 10
    text = wd.descent_text("valley", 0.1, 0.0, 300)
    assert f"stopped at step {taken} of 300" in text and "300 steps" in text
    assert wd.descent_text("valley", 0.1, 0.0, 200) != text
    fig = wd.descent_figure("valley", 0.1, 0.0, 300)
    assert fig.axes[1].get_xlim() == (0.0, 300.0)
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_bad_surface_or_method() -> None:
    with pytest.raises(ValueError, match="surface"):
        wd.descent_path("cliff", 0.1)
    with pytest.raises(ValueError, match="method"):
        wd.descent_path("bowl", 0.1, method="lbfgs")


def test_figures_and_headless_explorers(capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = wd.outlier_figure(15.0)
    assert len(fig.axes) == 2
    plt.close(fig)
    fig = wd.descent_figure("valley", 0.01, 0.9, 50, compare_adam=0.1)
    assert len(fig.axes[1].get_lines()) == 2
    plt.close(fig)
    assert wd.outlier_explorer(15.0) is None  # headless under pytest: static figure and text
    assert wd.descent_explorer("bowl", 0.09, 0.0, 50) is None
    out = capsys.readouterr().out
    assert "MSE: constant" in out and "diverged" in out
