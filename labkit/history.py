"""``History``: the per-epoch numbers of one training run."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass
class History:
    """Per-epoch, sample-weighted means of the loss and metrics, plus every step's training loss."""

    train: dict[str, list[float]] = field(default_factory=dict)
    val: dict[str, list[float]] = field(default_factory=dict)
    step_loss: list[float] = field(default_factory=list)
    interrupted: bool = False
    best_epoch: int | None = None  # with early stopping: the epoch whose weights the model keeps
    stopped_early: bool = False

    @property
    def epochs(self) -> int:
        """Number of completed epochs."""
        return len(self.train.get("loss", []))

    def add(self, split: str, values: Mapping[str, float]) -> None:
        """Append one epoch's values for 'train' or 'val'."""
        table = self.train if split == "train" else self.val
        for name, value in values.items():
            table.setdefault(name, []).append(value)

    def last(self) -> dict[str, float]:
        """The final epoch's numbers, e.g. ``{'loss': 0.1, 'val_loss': 0.2}``."""
        out = {name: values[-1] for name, values in self.train.items() if values}
        out.update({f"val_{name}": values[-1] for name, values in self.val.items() if values})
        return out
