"""One figure style for the workbook: new figures, showing a figure once, history plots (static or live)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from labkit._env import headless, in_ipython

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from labkit.history import History

STYLE: dict[str, Any] = {
    "figure.figsize": (7.0, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
}


def use_style() -> None:
    """Apply the workbook's matplotlib style to every figure that follows."""
    import matplotlib.pyplot as plt

    plt.rcParams.update(STYLE)


def figure(ncols: int = 1, nrows: int = 1, *, width: float | None = None, height: float | None = None):
    """A new figure in the workbook style: ``fig, axes = labkit.plot.figure(2)``."""
    import matplotlib.pyplot as plt

    use_style()
    w = width or STYLE["figure.figsize"][0] * (1 if ncols == 1 else 0.75 * ncols)
    h = height or STYLE["figure.figsize"][1] * nrows
    return plt.subplots(nrows, ncols, figsize=(w, h), layout="constrained")


def show(fig: Figure | None) -> None:
    """Display ``fig`` once and close it, so no backend shows it a second time (None shows nothing)."""
    if fig is None:
        return
    import matplotlib.pyplot as plt

    if in_ipython():
        from IPython.display import display

        display(fig)
    plt.close(fig)


def png(fig: Figure) -> bytes:
    """``fig`` as PNG bytes, cropped as the inline backend crops it, then closed."""
    import io

    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def plot_history(history: History, ax: Axes | Sequence[Axes] | None = None, *, log: bool = False,
                 title: str | None = None) -> Figure:
    """Loss (and each metric) per epoch, training and validation, one panel per quantity.

    ``log`` draws the loss on a log axis; ``title`` goes over the loss panel.
    """
    names = list(history.train)
    if ax is None:
        fig, axes = figure(len(names))
    else:
        axes = ax
        fig = (ax[0] if isinstance(ax, Sequence) else ax).figure
    axes = list(axes) if isinstance(axes, Sequence) or hasattr(axes, "flat") else [axes]
    for panel, name in zip(axes, names, strict=False):
        epochs = range(1, len(history.train[name]) + 1)
        panel.plot(epochs, history.train[name], marker="o", markersize=3, label=f"train {name}")
        if name in history.val:
            panel.plot(epochs, history.val[name], marker="s", markersize=3, label=f"validation {name}")
        panel.set_xlabel("epoch")
        panel.set_ylabel(name)
        if log and name == "loss":
            panel.set_yscale("log")
            panel.set_ylabel(f"{name} (log scale)")
        if title and name == "loss":
            panel.set_title(title)
        panel.legend()
    return fig


class LivePlot:
    """A history figure redrawn in place while training (at most every ``interval`` s).

    Headless (papermill, nbval, a terminal) nothing is drawn until ``finish``, which shows one
    final figure, so stored notebook outputs hold exactly one image.
    """

    def __init__(self, names: Sequence[str] = ("loss",), *, validation: bool = False, interval: float = 0.5):
        self.names, self.validation, self.interval = list(names), validation, interval
        self.live = not headless()
        self._handle = None
        self._last = 0.0

    def _draw(self, history: History) -> Figure:
        import matplotlib.pyplot as plt

        fig = plot_history(history)
        plt.close(fig)  # shown through a display handle, never by the inline backend
        return fig

    def update(self, history: History) -> None:
        """Redraw with the latest epoch, throttled; does nothing headless."""
        if not self.live or time.monotonic() - self._last < self.interval:
            return
        from IPython.display import display

        fig = self._draw(history)
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        self._last = time.monotonic()

    def finish(self, history: History) -> None:
        """Draw the final state once (in place when live)."""
        if not history.train:
            return
        if self._handle is not None:
            self._handle.update(self._draw(history))
        else:
            show(plot_history(history))


def savefig(fig: Figure, path: str) -> str:
    """Save ``fig`` as a PNG (for looking at figures outside Jupyter); returns the path."""
    fig.savefig(path, dpi=100, bbox_inches="tight")
    return path
