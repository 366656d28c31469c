from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from labkit.data import linear_data
from labkit.train import DivergenceError, History, accuracy, evaluate, fit


def regression(n: int = 256, batch: int = 32) -> tuple[nn.Module, DataLoader]:
    torch.manual_seed(0)
    x, y = linear_data(n, slope=2.0, intercept=1.0, noise=0.1, seed=1)
    return nn.Linear(1, 1), DataLoader(TensorDataset(x, y), batch_size=batch, shuffle=True)


def test_fit_learns_a_line() -> None:
    model, loader = regression()
    hist = fit(model, loader, loss_fn=nn.functional.mse_loss,
               optimizer=torch.optim.SGD(model.parameters(), lr=0.05), epochs=20, device="cpu")
    assert isinstance(hist, History) and hist.epochs == 20
    assert hist.train["loss"][-1] < hist.train["loss"][0] / 10
    assert len(hist.step_loss) == 20 * len(loader)
    assert model.weight.item() == pytest.approx(2.0, abs=0.05)
    assert model.bias.item() == pytest.approx(1.0, abs=0.05)


def test_epoch_loss_weights_a_short_last_batch_correctly() -> None:
    # 10 samples in batches of 4, 4, 2; with lr = 0 the model never changes, so the epoch loss
    # must equal the loss over all 10 samples, not the mean of the three batch means.
    x = torch.arange(10.0).reshape(-1, 1)
    y = torch.zeros(10, 1)
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    hist = fit(model, loader, loss_fn=nn.functional.mse_loss,
               optimizer=torch.optim.SGD(model.parameters(), lr=0.0), epochs=1, device="cpu")
    true_mse = (x**2).mean().item()  # 28.5
    naive = sum((x[i:i + 4] ** 2).mean().item() for i in range(0, 10, 4)) / 3
    assert hist.train["loss"][0] == pytest.approx(true_mse, rel=1e-6)
    assert abs(naive - true_mse) > 1, "the test data must tell the two averages apart"


def test_validation_and_metrics_are_computed_without_gradients() -> None:
    torch.manual_seed(0)
    x = torch.randn(300, 2)
    y = (x[:, 0] + x[:, 1] > 0).long()
    model = nn.Linear(2, 2)
    train = DataLoader(TensorDataset(x[:200], y[:200]), batch_size=16)
    val = DataLoader(TensorDataset(x[200:], y[200:]), batch_size=64)
    hist = fit(model, train, loss_fn=nn.functional.cross_entropy, metrics=["accuracy"],
               optimizer=torch.optim.SGD(model.parameters(), lr=0.5), epochs=5, val_data=val, device="cpu")
    assert hist.val["accuracy"][-1] > 0.9
    assert set(hist.last()) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    again = evaluate(model, val, loss_fn=nn.functional.cross_entropy, metrics=["accuracy"], device="cpu")
    assert again["loss"] == pytest.approx(hist.val["loss"][-1])
    assert model.training, "fit leaves the model in training mode after evaluating"


def test_accuracy_metric() -> None:
    logits = torch.tensor([[2.0, 1.0], [0.0, 3.0], [1.0, 0.0]])
    assert accuracy(logits, torch.tensor([0, 1, 1])).item() == pytest.approx(2 / 3)
    assert accuracy(torch.tensor([1.5, -2.0]), torch.tensor([1.0, 1.0])).item() == 0.5


def test_divergence_names_epoch_and_step() -> None:
    model, loader = regression(n=64, batch=8)
    calls = {"n": 0}

    def loss_fn(pred, target):
        calls["n"] += 1
        loss = nn.functional.mse_loss(pred, target)
        return loss * math.inf if calls["n"] == 8 + 3 else loss  # step 3 of epoch 2

    with pytest.raises(DivergenceError) as err:
        fit(model, loader, loss_fn=loss_fn, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
            epochs=3, device="cpu")
    assert (err.value.epoch, err.value.step) == (2, 3)
    assert "epoch 2, step 3" in str(err.value) and "smaller learning rate than 0.01" in str(err.value)


def test_too_large_a_learning_rate_diverges() -> None:
    model, loader = regression()
    with pytest.raises(DivergenceError, match="training diverged"):
        fit(model, loader, loss_fn=nn.functional.mse_loss,
            optimizer=torch.optim.SGD(model.parameters(), lr=50.0), epochs=30, device="cpu")


def test_keyboard_interrupt_returns_history_and_keeps_model() -> None:
    model, loader = regression(n=64, batch=8)
    calls = {"n": 0}
    snapshot = {}

    def loss_fn(pred, target):
        calls["n"] += 1
        if calls["n"] == 8 + 1:  # first step of epoch 2
            snapshot.update({k: v.clone() for k, v in model.state_dict().items()})
            raise KeyboardInterrupt
        return nn.functional.mse_loss(pred, target)

    hist = fit(model, loader, loss_fn=loss_fn, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
               epochs=5, device="cpu")
    assert hist.interrupted and hist.epochs == 1
    for key, value in model.state_dict().items():
        assert torch.equal(value, snapshot[key])


def test_no_sync_per_step(monkeypatch) -> None:
    # Reading a number back (item/tolist) forces a device sync; fit may do it once per epoch only.
    calls = {"tolist": 0}
    real_tolist = torch.Tensor.tolist

    def counting_tolist(self):
        calls["tolist"] += 1
        return real_tolist(self)

    x, y = linear_data(128, seed=1)
    loader = [(x[i:i + 8], y[i:i + 8]) for i in range(0, 128, 8)]  # a DataLoader itself calls .item() per epoch
    model = nn.Linear(1, 1)
    monkeypatch.setattr(torch.Tensor, "item", lambda self: pytest.fail("fit called .item()"))
    monkeypatch.setattr(torch.Tensor, "tolist", counting_tolist)
    fit(model, loader, loss_fn=nn.functional.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=3, device="cpu")
    assert calls["tolist"] == 3


@pytest.mark.parametrize("epochs", [0, -1, 2.0, True])
def test_bad_epochs(epochs) -> None:
    model, loader = regression()
    with pytest.raises(ValueError, match="epochs"):
        fit(model, loader, loss_fn=nn.functional.mse_loss,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1), epochs=epochs)


def test_empty_data_and_unknown_metric() -> None:
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        fit(model, [], loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=1, device="cpu")
    with pytest.raises(ValueError, match="unknown metric"):
        fit(model, [], loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=1, metrics=["f1"])


def test_progress_bar_is_off_headless(capsys) -> None:
    model, loader = regression(n=32, batch=8)
    fit(model, loader, loss_fn=nn.functional.mse_loss, optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        epochs=2, device="cpu")
    captured = capsys.readouterr()
    assert "step/s" not in captured.err and "%|" not in captured.err


def test_early_stopping_keeps_the_best_epochs_weights() -> None:
    torch.manual_seed(0)
    # 8 noisy points and a wide net: validation loss turns up once the net memorises the noise
    x = torch.linspace(-1, 1, 8).unsqueeze(1)
    y = x + 0.3 * torch.randn(8, 1)
    xv = torch.linspace(-1, 1, 50).unsqueeze(1)
    yv = xv.clone()
    model = nn.Sequential(nn.Linear(1, 256), nn.Tanh(), nn.Linear(256, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    history = fit(model, [(x, y)], loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=2000, device="cpu",
                  val_data=[(xv, yv)], early_stopping=20, progress=False)
    assert history.stopped_early and history.epochs < 2000
    best = min(range(history.epochs), key=lambda i: history.val["loss"][i])
    assert history.best_epoch == best + 1 and history.epochs == history.best_epoch + 20
    with torch.no_grad():
        now = nn.functional.mse_loss(model(xv), yv).item()
    assert now == pytest.approx(history.val["loss"][best], rel=1e-6), "the model holds the best epoch's weights"


def test_early_stopping_needs_validation_data() -> None:
    model = nn.Linear(1, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="early_stopping needs val_data"):
        fit(model, [(torch.ones(2, 1), torch.ones(2, 1))], loss_fn=nn.functional.mse_loss, optimizer=opt, epochs=2,
            device="cpu", early_stopping=3)
