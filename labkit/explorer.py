"""The one mechanism behind every lesson's explorer: live widgets in JupyterLab, a text with a figure elsewhere.

A lesson's explorer is two functions: ``controls(ipywidgets)``, the widgets a learner moves, and
``render(**values)``, the words and the figure those values give. ``explorer`` wires them
together. In JupyterLab, moving a control redraws both. Headless (papermill, nbval, the stored
outputs, a terminal) it prints the text and shows the figure for the starting values once, so a
lesson reads well where widgets cannot render and stored outputs hold no widget state.

Live, the figure is a PNG in an ``Image`` widget, not the output of an ``Output`` widget. A
papermill or nbclient run that the kernel cannot tell from a browser (no ``LABKIT_HEADLESS``)
mimics the Output widget by sending messages to the kernel on the shell channel while it waits
on that channel for the cell's reply; now and then that reply is never read and the run hangs
on an idle kernel. An Image widget is state the client only receives, so nothing is sent.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from labkit._env import headless
from labkit.plot import png, show

Row = list[tuple[str, Any]]


def show_static(fig: Any, text: str) -> None:
    """Headless stand-in for an explorer: its text and its figure at the starting values."""
    print(text)
    show(fig)


def explorer(controls: Callable[[Any], list[Row]], render: Callable[..., tuple[str, Any]], **start: Any) -> None:
    """Show an explorer: rows of controls, then a text and a figure from ``render(**values)``.

    ``controls(ipywidgets)`` returns rows of ``(keyword, widget)``; each keyword is an argument of
    ``render``, which returns ``(text, figure)``. Live, moving any control redraws both. Headless,
    only the text and figure for ``start`` are shown. Returns None, so an explorer called on a
    cell's last line is not shown twice.
    """
    if headless():
        text, fig = render(**start)
        show_static(fig, text)
        return
    import ipywidgets as w
    from IPython.display import display

    rows = controls(w)
    named = dict(pair for row in rows for pair in row)
    text, picture = w.HTML(), w.Image(format="png")

    def redraw(*_: Any) -> None:
        words, fig = render(**{name: control.value for name, control in named.items()})
        # the words may hold '<' ("loss < 1e-4"), and line breaks, which HTML would run together
        text.value = "<b>" + html.escape(words).replace("\n", "<br>") + "</b>"
        picture.value = png(fig)  # one message to the front end; no Output widget for a client to mimic

    for control in named.values():
        control.observe(redraw, "value")
    redraw()
    display(w.VBox([*(w.HBox([control for _, control in row]) for row in rows), text, picture]))
