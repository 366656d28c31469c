"""The pure functions behind lesson 02's descent explorer: surfaces, descent paths, their outcome in words."""

from __future__ import annotations

import pytest
import torch

from labkit.errors import ParameterError
from labkit.lessons import descent as wd


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
    with pytest.raises(ParameterError, match="surface"):
        wd.descent_path("cliff", 0.1)
    with pytest.raises(ParameterError, match="method"):
        wd.descent_path("bowl", 0.1, method="lbfgs")


def test_figure_and_headless_explorer(capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = {wd.method_label(0.01, 0.9): wd.descent_path("valley", 0.01, momentum=0.9, steps=50),
            wd.method_label(0.1, method="adam"): wd.descent_path("valley", 0.1, steps=50, method="adam")}
    fig = wd.paths_figure("valley", runs, 50)
    assert [line.get_label() for line in fig.axes[1].get_lines()][:2] == ["momentum α=0.01, β=0.9", "Adam α=0.1"]
    plt.close(fig)
    fig = wd.descent_figure("valley", 0.01, 0.9, 50)
    assert fig.axes[1].get_title().startswith("momentum α=0.01, β=0.9: "), "the title names the method run"
    plt.close(fig)
    assert wd.descent_explorer("bowl", 0.09, 0.0, 50) is None
    assert "diverged" in capsys.readouterr().out


def test_a_diverging_path_is_cut_where_it_leaves_the_frame_not_clamped() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, losses = wd.descent_path("valley", 0.05, steps=50)
    shown, k = wd._inside(points, wd.SURFACES["valley"]["box"])
    assert k is not None and len(shown) == k + 1, "drawn to the first point outside, no further"
    fig = wd.paths_figure("valley", {"GD α=0.05": (points, losses)}, 50)
    drawn = fig.axes[0].get_lines()[0].get_xydata()
    assert len(drawn) == k + 1 and (abs(drawn[-1] - points[k].numpy()) < 1e-9).all(), "the way out is not clamped"
    plt.close(fig)


def test_the_quadratic_model_of_the_valley_predicts_the_rates() -> None:
    model = wd.quadratic_model("valley")
    assert model["lambda_max"] == pytest.approx(101.606, abs=1e-3) and model["lambda_min"] == pytest.approx(0.3937,
                                                                                                           abs=1e-4)
    assert model["kappa"] == pytest.approx(258.1, abs=0.1) and model["lr_stable_max"] == pytest.approx(0.0197, abs=1e-4)
    _, gd = wd.descent_path("valley", 0.01, steps=1200)
    reached = wd.steps_to_tolerance(gd)
    assert wd.contraction_per_step(gd[: reached + 1], first=300) == pytest.approx(1 - 0.01 * model["lambda_min"],
                                                                                  abs=5e-4)
    _, heavy = wd.descent_path("valley", 0.01, momentum=0.9, steps=150)
    assert wd.contraction_per_step(heavy) == pytest.approx(0.9**0.5, abs=0.01), "momentum contracts by about √β"
    bowl = wd.quadratic_model("bowl")
    assert bowl["lr_best_gd"] == pytest.approx(2 / 26) and bowl["rate_best_momentum"] == pytest.approx(2 / 3)


def test_tune_finds_the_fastest_rate_of_a_grid() -> None:
    lr, steps = wd.tune("bowl", [0.01, 0.05, 0.0769, 0.09], steps=200)
    assert lr == 0.0769 and steps == wd.steps_to_tolerance(wd.descent_path("bowl", 0.0769, steps=200)[1])
    assert wd.tune("bowl", [0.2, 0.5], steps=50) == (None, None), "rates that all diverge give nothing"
