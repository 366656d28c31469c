from __future__ import annotations

import pytest
import torch

from labkit.widgets import human_bytes, memory_explorer, memory_figure, memory_text, tensor_nbytes


def test_tensor_nbytes_matches_torch() -> None:
    for shape, dtype in [((3, 4), torch.float32), ((2, 5, 7), torch.bfloat16), ((), torch.float64)]:
        assert tensor_nbytes(shape, dtype) == torch.empty(shape, dtype=dtype).nbytes


@pytest.mark.parametrize(
    ("n", "text"), [(512, "512 B"), (1536, "1.5 KiB"), (64 * 2**20, "64.0 MiB"), (3 * 2**40, "3.0 TiB")]
)
def test_human_bytes(n, text) -> None:
    assert human_bytes(n) == text


def test_memory_text() -> None:
    assert memory_text(4096, "float32", gpu_gib=80) == (
        "a 4,096×4,096 float32 matrix needs 64.0 MiB; 1,280 of them fit in 80 GiB"
    )


def test_memory_figure_highlights_the_choice() -> None:
    import matplotlib

    matplotlib.use("Agg")
    fig = memory_figure(1024, "bfloat16")
    bars = fig.get_axes()[0].patches
    assert [round(b.get_height(), 3) for b in bars] == [8.0, 4.0, 2.0, 2.0, 1.0]
    assert bars[2].get_facecolor() != bars[1].get_facecolor()


def test_explorer_headless_prints_text(capsys, monkeypatch) -> None:
    monkeypatch.setattr("IPython.display.display", lambda *a, **k: None)
    assert memory_explorer(2048, "float16") is None
    assert "2,048×2,048 float16 matrix needs 8.0 MiB" in capsys.readouterr().out


def test_live_explorer_redraws_text_and_figure_when_a_control_moves(monkeypatch) -> None:
    import ipywidgets as w
    import matplotlib

    import labkit.widgets as wd

    matplotlib.use("Agg")
    shown: list = []
    monkeypatch.setattr(wd, "headless", lambda: False)  # as in a live JupyterLab kernel
    monkeypatch.setattr("IPython.display.display", lambda *objs, **_: shown.extend(objs))
    assert wd.descent_explorer("valley", 0.01, 0.9, 150) is None
    box = shown[-1]
    assert isinstance(box, w.VBox)
    text = next(c for c in box.children if isinstance(c, w.HTML))
    steps = next(c for row in box.children if isinstance(row, w.HBox) for c in row.children
                 if c.description == "steps")
    figures = [o for o in shown if isinstance(o, matplotlib.figure.Figure)]
    # The words hold "loss < 0.0001": escaped, so the browser shows them instead of reading a tag.
    assert "loss &lt; 0.0001 at step 97" in text.value and "150 steps" in text.value
    steps.value = 60
    assert "60 steps" in text.value and "not converged yet" in text.value
    assert len([o for o in shown if isinstance(o, matplotlib.figure.Figure)]) == len(figures) + 1
