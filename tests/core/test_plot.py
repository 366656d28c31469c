from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

from labkit.plot import LivePlot, figure, plot_history  # noqa: E402
from labkit.train import History  # noqa: E402


def history() -> History:
    h = History()
    for loss, acc in [(1.0, 0.5), (0.5, 0.7), (0.25, 0.9)]:
        h.add("train", {"loss": loss, "accuracy": acc})
        h.add("val", {"loss": loss * 1.2, "accuracy": acc - 0.1})
    return h


def test_plot_history_draws_one_panel_per_quantity() -> None:
    fig = plot_history(history())
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss", "accuracy"]
    train_line, val_line = axes[0].get_lines()
    assert list(train_line.get_ydata()) == [1.0, 0.5, 0.25]
    assert list(val_line.get_xdata()) == [1, 2, 3]
    assert val_line.get_label() == "validation loss"


def test_plot_history_log_axis_and_title_go_on_the_loss_panel() -> None:
    fig = plot_history(history(), log=True, title="training")
    loss, accuracy = fig.get_axes()
    assert loss.get_yscale() == "log" and loss.get_ylabel() == "loss (log scale)" and loss.get_title() == "training"
    assert accuracy.get_yscale() == "linear" and accuracy.get_title() == ""


def test_figure_has_requested_panels() -> None:
    fig, axes = figure(3)
    assert len(axes) == 3 and fig.get_figwidth() > 7


def test_live_plot_headless_draws_nothing_until_finish(monkeypatch) -> None:
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: shown.append(a))
    plot = LivePlot(["loss", "accuracy"], validation=True)
    assert not plot.live, "tests run headless"
    plot.update(history())
    assert shown == []
    plot.finish(history())  # outside IPython there is nowhere to draw: no error, no output
    assert shown == []
