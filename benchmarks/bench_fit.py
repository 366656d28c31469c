"""labkit.fit against a plain PyTorch loop written the way users write it (not a test).

Same model, DataLoader and optimizer: a 1→1 linear regression, 4096 samples, batch 32, 5 epochs,
CPU, 1 thread, default settings for both (labkit.fit shows its progress bar). The two alternate
in one run; each prints its median steps/s, and the last line is ``ratio: X.XX`` (fit / plain).
Target: ratio >= 0.90.
"""

from __future__ import annotations

import statistics
import sys
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import labkit
from labkit.data import linear_data

SAMPLES, BATCH, EPOCHS, ROUNDS = 4096, 32, 5, 9


def setup(seed: int):
    torch.manual_seed(seed)
    x, y = linear_data(SAMPLES, seed=seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=True)
    model = nn.Linear(1, 1)
    return model, loader, torch.optim.SGD(model.parameters(), lr=0.01)


def plain_loop(model, loader, optimizer) -> float:
    loss_fn = nn.MSELoss()
    for _epoch in range(EPOCHS):
        running = 0.0
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            optimizer.step()
            running += loss.item()
    return running / len(loader)


def with_fit(model, loader, optimizer) -> float:
    history = labkit.fit(model, loader, loss_fn=nn.MSELoss(), optimizer=optimizer, epochs=EPOCHS, device="cpu")
    return history.train["loss"][-1]


def main() -> int:
    torch.set_num_threads(1)
    steps = EPOCHS * (SAMPLES // BATCH)
    rates: dict[str, list[float]] = {"plain loop": [], "labkit.fit": []}
    for round_ in range(ROUNDS + 1):
        for name, train in (("plain loop", plain_loop), ("labkit.fit", with_fit)):
            model, loader, optimizer = setup(round_)
            start = time.perf_counter()
            train(model, loader, optimizer)
            seconds = time.perf_counter() - start
            if round_:  # round 0 is warm-up
                rates[name].append(steps / seconds)
    sys.stderr.flush()
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, {steps} steps per run, {ROUNDS} rounds")
    for name, values in rates.items():
        spread = statistics.quantiles(values, n=4)
        print(f"{name:>11}: {statistics.median(values):8.0f} steps/s (IQR {spread[0]:.0f}-{spread[2]:.0f})")
    ratio = statistics.median(rates["labkit.fit"]) / statistics.median(rates["plain loop"])
    print(f"ratio: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
