from __future__ import annotations

import pytest
import torch

from labkit.lessons.memory import human_bytes, memory_explorer, memory_figure, memory_text, tensor_nbytes


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
