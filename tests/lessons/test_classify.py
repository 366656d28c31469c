"""Lesson 06's digit classifier: the network's arithmetic, reading its errors, its figures and its explorer."""

from __future__ import annotations

import matplotlib
import pytest
import torch
from torch import nn

from labkit.errors import ParameterError
from labkit.lessons import classify as cl
from labkit.models import mlp

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

WIDTHS = [[64, 10], [64, 128, 10], [784, 128, 10], [3, 7, 5, 2], [64, 256, 128, 64, 10]]


@pytest.fixture(scope="module")
def data():
    from labkit.data import digits

    return digits(0)


@pytest.fixture(scope="module")
def trained(data) -> nn.Module:
    torch.manual_seed(0)
    model = mlp([64, 32, 10])
    cl.train_for_steps(model, torch.optim.Adam(model.parameters(), lr=0.01), data.x_train, data.y_train,
                       steps=60, batch_size=128)
    return model


@pytest.fixture(autouse=True)
def _one_thread_and_no_figures_left():
    # The lesson trains on one thread (its models are tiny); so do these tests, for the same numbers.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
    plt.close("all")


# ---- the network and its arithmetic


@pytest.mark.parametrize("widths", WIDTHS)
def test_parameter_count_matches_the_tensors_torch_allocates(widths: list[int]) -> None:
    model = mlp(widths)
    assert cl.parameter_count(widths) == sum(p.numel() for p in model.parameters())
    linears = [m for m in model if isinstance(m, nn.Linear)]
    relus = [m for m in model if isinstance(m, nn.ReLU)]
    assert len(linears) == len(widths) - 1 and len(relus) == len(widths) - 2, "a ReLU between layers, none at the end"
    assert model(torch.randn(5, widths[0])).shape == (5, widths[-1])


def test_the_lessons_network_by_hand() -> None:
    assert cl.parameter_count([64, 128, 10]) == 64 * 128 + 128 + 128 * 10 + 10 == 9610
    assert cl.forward_flops([64, 128, 10]) == 2 * (64 * 128 + 128 * 10) == 18944
    assert cl.training_flops([64, 128, 10]) == 2 * 2 * 64 * 128 + 3 * 2 * 128 * 10 == 40448


@pytest.mark.parametrize("widths", WIDTHS)
def test_flop_formulas_match_torchs_flop_counter(widths: list[int]) -> None:
    from torch.utils.flop_counter import FlopCounterMode

    model = mlp(widths)
    x, y = torch.randn(3, widths[0]), torch.randint(0, widths[-1], (3,))
    with FlopCounterMode(display=False) as counter:
        model(x)
    assert counter.get_total_flops() == 3 * cl.forward_flops(widths)
    with FlopCounterMode(display=False) as counter:
        nn.functional.cross_entropy(model(x), y).backward()
    assert counter.get_total_flops() == 3 * cl.training_flops(widths)


def test_stratified_subset_spreads_over_the_classes(data) -> None:
    idx = cl.stratified_subset(data.y_train, 50, seed=3)
    assert len(idx) == 50 == len(set(idx.tolist()))
    assert data.y_train[idx].bincount(minlength=10).tolist() == [5] * 10
    counts = data.y_train[cl.stratified_subset(data.y_train, 57, seed=3)].bincount(minlength=10)
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, cl.stratified_subset(data.y_train, 50, seed=3)), "seeded"
    assert not torch.equal(idx, cl.stratified_subset(data.y_train, 50, seed=4))
    assert sorted(cl.stratified_subset(data.y_train, len(data.y_train)).tolist()) == list(range(len(data.y_train)))
    with pytest.raises(ParameterError, match="n = 0"):
        cl.stratified_subset(data.y_train, 0)


def test_predict_proba_is_softmax_and_keeps_the_mode() -> None:
    model = mlp([4, 3])
    model.train()
    x = torch.randn(6, 4)
    probs = cl.predict_proba(model, x)
    assert torch.allclose(probs.sum(1), torch.ones(6))
    assert torch.allclose(probs, torch.softmax(model(x), 1).detach())
    assert model.training and not probs.requires_grad


def test_most_confidently_wrong() -> None:
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7], [0.95, 0.05]])
    y = torch.tensor([0, 0, 1, 1, 1])  # wrong: #1 (0.8), #2 (0.6), #4 (0.95)
    assert cl.most_confidently_wrong(probs, y).tolist() == [4, 1, 2]
    assert cl.most_confidently_wrong(probs, y, k=1).tolist() == [4]
    assert cl.most_confidently_wrong(probs, probs.argmax(1)).tolist() == []


def test_calibration_bins_match_sklearn() -> None:
    from sklearn.calibration import calibration_curve

    gen = torch.Generator().manual_seed(0)
    confidence = torch.rand(500, generator=gen) * 0.9 + 0.1
    correct = torch.rand(500, generator=gen) < confidence  # calibrated by construction, up to noise
    confidence[:5] = torch.tensor([0.2, 0.5, 0.9, 1.0, 0.1])  # values on the edges join the lower bin
    bins = cl.calibration_bins(confidence, correct, n_bins=10)
    want_acc, want_conf = calibration_curve(correct.long().numpy(), confidence.double().numpy(), n_bins=10)
    full = bins["count"] > 0
    assert torch.allclose(bins["accuracy"][full], torch.as_tensor(want_acc))
    assert torch.allclose(bins["confidence"][full], torch.as_tensor(want_conf))
    assert int(bins["count"].sum()) == 500
    assert cl.expected_calibration_error(bins) < 0.1


def test_expected_calibration_error_by_hand() -> None:
    confidence = torch.tensor([0.95, 0.95, 0.95, 0.95, 0.55, 0.55])
    correct = torch.tensor([True, True, True, False, True, True])
    bins = cl.calibration_bins(confidence, correct)
    # bin (0.9, 1]: 4 digits, accuracy 0.75, confidence 0.95; bin (0.5, 0.6]: 2 digits, accuracy 1, confidence 0.55
    assert cl.expected_calibration_error(bins) == pytest.approx(4 / 6 * 0.2 + 2 / 6 * 0.45)
    assert torch.isnan(bins["accuracy"][0]) and int(bins["count"][9]) == 4


def test_small_data_is_memorised_and_the_cures_work(data) -> None:
    model, history, plain = cl.subset_run(data, 50, epochs=150)
    assert plain["train_accuracy"] == 1.0 and plain["train_loss"] < 0.01
    assert min(history.val["loss"]) < history.val["loss"][-1], "the validation loss turns upward"
    _, stopped, early = cl.subset_run(data, 50, epochs=150, early_stopping=10)
    assert stopped.stopped_early and stopped.epochs == stopped.best_epoch + 10
    assert early["val_loss"] == pytest.approx(stopped.val["loss"][stopped.best_epoch - 1], rel=1e-5), \
        "the kept model is the best epoch's"
    _, _, decayed = cl.subset_run(data, 50, epochs=150, weight_decay=0.01)
    assert decayed["val_loss"] < plain["val_loss"] and decayed["gap"] < plain["gap"]
    with pytest.raises(ParameterError, match="optimizer"):
        cl.subset_run(data, 50, optimizer="lbfgs")


def test_the_weight_decay_exercise_has_a_wide_window(data) -> None:
    setup = dict(hidden=128, epochs=200, lr=0.01, optimizer="adam", seed=0)
    _, _, none = cl.subset_run(data, 50, **setup)
    for wd in (0.001, 0.1):
        _, _, s = cl.subset_run(data, 50, weight_decay=wd, **setup)
        assert s["gap"] <= none["gap"] / 2 and s["val_loss"] < none["val_loss"], wd
    _, _, crushed = cl.subset_run(data, 50, weight_decay=1.0, **setup)
    assert crushed["gap"] <= none["gap"] / 2 and crushed["val_loss"] > none["val_loss"], "the hidden test's case"


def test_train_for_steps_takes_exactly_the_budget(data) -> None:
    model = mlp([64, 8, 10])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    steps = []
    optimizer.register_step_post_hook(lambda *_: steps.append(1))
    losses = cl.train_for_steps(model, optimizer, data.x_train[:100], data.y_train[:100], steps=23, batch_size=32)
    assert len(losses) == 23 == len(steps), "four batches per epoch, so it crosses epochs and stops mid-epoch"
    with pytest.raises(ParameterError):
        cl.train_for_steps(model, optimizer, data.x_train, data.y_train, steps=0, batch_size=32)


def test_the_budget_exercise_separates_the_sources_sgd_from_a_good_choice(data, trained) -> None:
    def accuracy(model: nn.Module) -> float:
        with torch.no_grad():
            return float((model(data.x_test).argmax(1) == data.y_test).float().mean())

    torch.manual_seed(0)
    source = mlp([64, 128, 10])
    cl.train_for_steps(source, torch.optim.SGD(source.parameters(), lr=0.01), data.x_train, data.y_train,
                       steps=60, batch_size=64)
    torch.manual_seed(0)
    good = mlp([64, 128, 10])
    cl.train_for_steps(good, torch.optim.Adam(good.parameters(), lr=0.01), data.x_train, data.y_train,
                       steps=60, batch_size=128)
    assert accuracy(source) < 0.8 < 0.95 <= accuracy(good)


def test_perturb() -> None:
    image = torch.zeros(8, 8)
    image[2, 3] = 16.0
    assert torch.equal(cl.perturb(image), image)
    right = cl.perturb(image, shift="right")
    assert right[2, 4] == 16 and right.sum() == 16
    edge = torch.zeros(8, 8)
    edge[:, 7] = 5.0
    assert cl.perturb(edge, shift="right").sum() == 0, "what leaves the frame is gone, not wrapped round"
    assert cl.perturb(edge, shift="left")[:, 6].sum() == 40
    assert cl.perturb(image, shift="down")[3, 3] == 16 and cl.perturb(image, shift="up")[1, 3] == 16
    noisy = cl.perturb(image, 4.0, seed=1)
    assert torch.equal(noisy, cl.perturb(image, 4.0, seed=1)) and not torch.equal(noisy, cl.perturb(image, 4.0, seed=2))
    assert noisy.min() >= 0 and noisy.max() <= 16
    with pytest.raises(ParameterError, match="shift"):
        cl.perturb(image, shift="diagonal")
    with pytest.raises(ParameterError, match="noise"):
        cl.perturb(image, -1.0)


def test_words() -> None:
    probs = torch.tensor([0.05, 0.9] + [0.00625] * 8)
    text = cl.prediction_text(3, 1, probs, 0.0, "none")
    assert "true 1" in text and "says 1" in text and "right" in text and "0.900" in text
    assert "WRONG" in cl.prediction_text(3, 0, probs, 2.5, "left") and "σ = 2.5" in cl.prediction_text(3, 0, probs, 2.5,
                                                                                                        "left")


# ---- figures and explorer


def test_figures_draw(data) -> None:
    from labkit.history import History

    history = History()
    for epoch in range(5):
        history.add("train", {"loss": 1.0 / (epoch + 1), "accuracy": 0.5 + 0.1 * epoch})
        history.add("val", {"loss": 1.2 / (epoch + 1), "accuracy": 0.45 + 0.1 * epoch})
    figures = [
        cl.gallery_figure(data.images_test[:12], [str(i) for i in range(12)], ncols=6, title="t"),
        cl.curves_figure({"a": history, "b": history}, best={"b": 3}),
        cl.compare_figure({"a": history, "b": history}),
        cl.confusion_figure(torch.eye(10, dtype=torch.long) * 5 + 1),
        cl.calibration_figure(cl.calibration_bins(torch.tensor([0.95, 0.55]), torch.tensor([True, False])), 0.25),
        cl.grid_figure([4, 16], [50, 100, 200], [[0.6, 0.7, 0.8], [0.8, 0.9, 0.95]]),
        cl.shrink_figure([8, 4], {"parameters": [1.0, 0.5], "epoch time": [1.0, 0.9]}, {"epoch time": [0.01, 0.02]}),
        cl.xor_figure((1.0, 1.0, -0.5), lambda x: x[:, 0] * 0),
    ]
    assert [len(f.axes) for f in figures[:4]] == [12, 4, 2, 2]
    assert all(isinstance(f, matplotlib.figure.Figure) for f in figures)
    shared = figures[1].axes
    assert shared[0].get_shared_y_axes().joined(shared[0], shared[1]), "loss panels share one scale"


def _pixels(fig) -> bytes:
    fig.canvas.draw()
    return bytes(fig.canvas.buffer_rgba())


@pytest.mark.parametrize("change", [{"index": 7}, {"noise": 0.5}, {"shift": "up"}])
def test_every_control_changes_the_text_and_the_figure(data, trained, change: dict) -> None:
    start = {"index": 6, "noise": 0.0, "shift": "none"}
    args = (trained, data.images_test, data.y_test, data.mean, data.std)
    text0, fig0 = cl.digit_render(*args, **start)
    text1, fig1 = cl.digit_render(*args, **{**start, **change})
    assert text0 != text1
    assert _pixels(fig0) != _pixels(fig1)


def test_render_is_deterministic_and_headless_explorer_prints(data, trained, capsys) -> None:
    args = (trained, data.images_test, data.y_test, data.mean, data.std)
    assert cl.digit_render(*args, 3, 2.0, "left")[0] == cl.digit_render(*args, 3, 2.0, "left")[0]
    assert cl.digit_explorer(*args, index=3) is None
    assert "test digit #3" in capsys.readouterr().out
