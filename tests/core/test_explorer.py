"""labkit.explorer: one mechanism, static text and figure headless, widgets that redraw both when live."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")

import labkit.explorer  # noqa: E402
import labkit.plot  # noqa: E402
from labkit.explorer import explorer  # noqa: E402


def _render(n: int, word: str):
    fig, ax = labkit.plot.figure()
    ax.plot(range(n))
    ax.set_title(word)
    return f"{word}: n = {n} < 10" if n < 10 else f"{word}: n = {n}", fig


def _controls(w):
    return [[("n", w.IntSlider(value=3, min=1, max=20, description="n")),
             ("word", w.Dropdown(options=["a", "b"], value="a", description="word"))]]


def test_headless_shows_the_starting_text_and_figure_once(monkeypatch, capsys) -> None:
    shown: list = []
    monkeypatch.setattr(labkit.plot, "in_ipython", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    assert explorer(_controls, _render, n=3, word="a") is None, "an explorer returns None: never shown twice"
    assert capsys.readouterr().out.strip() == "a: n = 3 < 10"
    assert len(shown) == 1 and isinstance(shown[0], matplotlib.figure.Figure)
    assert shown[0].number not in matplotlib.pyplot.get_fignums(), "the figure is closed once shown"


def test_live_explorer_redraws_text_and_figure_when_a_control_moves(monkeypatch) -> None:
    import ipywidgets as w

    shown: list = []
    monkeypatch.setattr(labkit.explorer, "headless", lambda: False)  # as in a live JupyterLab kernel
    monkeypatch.setattr(labkit.plot, "in_ipython", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    assert explorer(_controls, _render, n=3, word="a") is None
    box = shown[-1]
    assert isinstance(box, w.VBox)
    text = next(c for c in box.children if isinstance(c, w.HTML))
    slider, menu = box.children[0].children
    # The words hold '<': escaped, so the browser shows them instead of reading a tag.
    assert text.value == "<b>a: n = 3 &lt; 10</b>"
    picture = next(c for c in box.children if isinstance(c, w.Image))
    assert not any(isinstance(c, w.Output) for c in box.children), "no Output widget for nbclient to mimic"
    first = bytes(picture.value)  # the widget keeps its bytes as a memoryview
    assert first.startswith(b"\x89PNG"), "the figure is a PNG"
    slider.value = 12
    assert text.value == "<b>a: n = 12</b>" and bytes(picture.value) != first, "the text and the figure both redraw"
    second = bytes(picture.value)
    menu.value = "b"
    assert text.value == "<b>b: n = 12</b>" and bytes(picture.value) not in (first, second)
    assert not matplotlib.pyplot.get_fignums(), "every figure drawn is closed once it is a PNG"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    matplotlib.pyplot.close("all")


def test_live_explorer_keeps_the_words_line_breaks(monkeypatch) -> None:
    import ipywidgets as w

    shown: list = []
    monkeypatch.setattr(labkit.explorer, "headless", lambda: False)
    monkeypatch.setattr(labkit.plot, "in_ipython", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    explorer(_controls, lambda n, word: (f"{word}: n = {n}\nloss < 1", _render(n, word)[1]), n=3, word="a")
    text = next(c for c in shown[-1].children if isinstance(c, w.HTML))
    assert text.value == "<b>a: n = 3<br>loss &lt; 1</b>", "a line break in the words is a line break on the page"
