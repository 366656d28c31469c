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


def test_a_7b_model_needs_one_gpu_to_run_and_two_to_train() -> None:
    from labkit.lessons.memory import gpus_needed, model_budgets, model_text

    weights, train = model_budgets(7.0, "bfloat16")
    assert weights == 14e9 and train.total == 16 * 7e9
    assert gpus_needed(weights, 80) == 1 and gpus_needed(train.total, 80) == 2
    assert gpus_needed(80 * 2**30, 80) == 1 and gpus_needed(80 * 2**30 + 1, 80) == 2  # exactly full still fits
    assert model_text(7.0) == ("7 B parameters in bfloat16: the weights need 13.0 GiB (1 GPU of 80 GiB at the "
                               "least); training with Adam needs 16 bytes per parameter, 104.3 GiB before "
                               "activations (2 GPUs of 80 GiB at the least, the training state sharded across "
                               "them)")
    # float32 keeps no master copy: 4 + 4 + 8, the same 16 bytes, but the weights alone double
    weights32, train32 = model_budgets(7.0, "float32")
    assert weights32 == 2 * weights and train32.total == train.total and train32.master == 0


def test_model_figure_stacks_what_training_keeps() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from labkit.lessons.memory import model_figure

    fig = model_figure(7.0, "bfloat16", 80.0)
    ax = fig.axes[0]
    heights = sorted(round(p.get_height() * 2**30) for p in ax.patches)
    assert heights == sorted([14_000_000_000, 14_000_000_000, 14_000_000_000, 28_000_000_000, 56_000_000_000])
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == sorted(["weights", "gradients", "float32 master copy", "Adam's two moments",
                                     "one 80 GiB GPU"])
    plt.close(fig)
