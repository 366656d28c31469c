"""Lesson 07's module: number formats, quantization, pruning, timing, the memory budget, figures, explorer."""

from __future__ import annotations

import logging
import math
import warnings

import pytest
import torch
from torch import nn
from torch.nn.utils import prune

from labkit.bench import Comparison, Measurement
from labkit.errors import ParameterError
from labkit.footprint import training_bytes
from labkit.lessons import compress as cz


@pytest.fixture
def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


@pytest.fixture
def batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.randn(40, 64, generator=g), torch.randint(0, 10, (40,), generator=g)


def _timing(median: float, iqr: float) -> Measurement:
    return Measurement(label="t", device="cpu", median=median, iqr=iqr, times=[median], number=1, threads=1)


# ---- number formats


@pytest.mark.parametrize(("name", "significant"), [("float32", 24), ("tf32", 11), ("bfloat16", 8), ("float16", 11)])
def test_significant_bits_count_the_implicit_one(name: str, significant: int) -> None:
    facts = cz.format_facts(name)
    assert facts["significant"] == significant == facts["mantissa"] + 1
    assert facts["eps"] == 2.0 ** -facts["mantissa"]
    assert facts["bits"] in (19, 16, 32) and facts["exponent"] == (5 if name == "float16" else 8)


def test_facts_agree_with_torch_finfo() -> None:
    for name, dtype in cz.FLOAT_FORMATS.items():
        if dtype is None:
            continue
        info, facts = torch.finfo(dtype), cz.format_facts(name)
        assert (facts["max"], facts["min_normal"], facts["eps"]) == (info.max, info.smallest_normal, info.eps)
        # the smallest subnormal is the smallest positive value the dtype holds
        assert torch.tensor(facts["min_subnormal"], dtype=torch.float64).to(dtype).item() == facts["min_subnormal"]
        assert torch.tensor(facts["min_subnormal"] / 4, dtype=torch.float64).to(dtype).item() == 0.0
    assert cz.format_facts("int8")["max"] == 127
    with pytest.raises(ParameterError, match="format = 'float12' is not allowed"):
        cz.format_facts("float12")


def test_round_mantissa_is_torchs_bfloat16_rounding_ties_included() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100_000, generator=g) * torch.exp2(torch.randint(-100, 100, (100_000,), generator=g).float())
    # exact ties: the 16 bits rounded away are 0x8000, halfway; kept parts odd and even, exponents around 1
    ties = (0x3F000000 + (torch.randint(0, 2**12, (1000,), generator=g, dtype=torch.int32) << 16)) | 0x8000
    x = torch.cat([x, ties.view(torch.float32), -ties.view(torch.float32)])
    assert torch.equal(cz.round_mantissa(x, 7), x.bfloat16().float())
    normal = x[(x.abs() > 2**-14) & (x.abs() < 60_000)]
    assert torch.equal(cz.round_mantissa(normal, 10), normal.half().float())
    assert torch.equal(cz.round_mantissa(x, 23), x)
    assert cz.round_mantissa(torch.tensor([1 + 2**-10]), 10).item() == 1 + 2**-10
    assert cz.round_mantissa(torch.tensor([1 + 2**-11]), 10).item() == 1.0  # a tie: to even
    with pytest.raises(ParameterError, match="bits = 24"):
        cz.round_mantissa(x, 24)


def test_representable_values_are_every_positive_finite_number() -> None:
    half = cz.representable_values("float16")
    assert len(half) == 31 * 1024 - 1 and half[0] == 2.0**-24 and half[-1] == 65504
    assert torch.equal(half, half.half().double()) and bool((half[1:] > half[:-1]).all())
    e4m3 = cz.representable_values("fp8 e4m3")
    assert len(e4m3) == 126 and e4m3[-1] == 448 and e4m3[0] == 2.0**-9
    assert len(cz.representable_values("bfloat16")) == 255 * 128 - 1
    assert torch.equal(cz.representable_values("int8"), torch.arange(1, 128, dtype=torch.float64))
    with pytest.raises(ParameterError, match="only 8- and 16-bit"):
        cz.representable_values("float32")


# ---- quantization


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [8, 4])
def test_symmetric_quantization_error_is_at_most_half_a_step(per_channel: bool, bits: int) -> None:
    w = torch.randn(16, 24, generator=torch.Generator().manual_seed(2)) * 3
    q, scale = cz.quantize_symmetric(w, bits, per_channel=per_channel)
    level = 2 ** (bits - 1) - 1
    assert q.dtype == torch.int8 and int(q.abs().max()) == level
    assert scale.shape == ((16, 1) if per_channel else ())
    expected = w.abs().amax(dim=1, keepdim=True) / level if per_channel else w.abs().max() / level
    assert torch.allclose(scale, expected)
    assert torch.equal(q, torch.clamp(torch.round(w / scale), -level, level).to(torch.int8))
    assert bool(((w - cz.dequantize(q, scale)).abs() <= scale / 2 + 1e-7).all())


def test_per_channel_beats_per_tensor_when_rows_differ_in_range() -> None:
    w = torch.randn(8, 32, generator=torch.Generator().manual_seed(3)) * torch.logspace(-2, 1, 8).unsqueeze(1)
    errors = {per: torch.linalg.norm(w - cz.dequantize(*cz.quantize_symmetric(w, per_channel=per)))
              for per in (False, True)}
    assert errors[True] < errors[False] / 2


def test_zero_rows_quantize_to_zero_without_nan() -> None:
    w = torch.zeros(3, 4)
    w[1, 0] = 2.0
    for per in (False, True):
        back = cz.dequantize(*cz.quantize_symmetric(w, per_channel=per))
        assert torch.equal(back, w)
    assert cz.quantized_bytes((128, 64), 8, per_channel=True) == 128 * 64 + 4 * 128
    assert cz.quantized_bytes((128, 64), 4) == 128 * 32 + 4
    with pytest.raises(ParameterError, match="bits = 16"):
        cz.qmax(16)


def test_int8_model_matches_the_float_model_closely(mlp: nn.Sequential, batch) -> None:
    x, _ = batch
    small = cz.int8_model(mlp)
    assert isinstance(small[0], cz.Int8Linear) and small[0].q.dtype == torch.int8
    assert isinstance(mlp[0], nn.Linear), "the original is left alone"
    with torch.no_grad():
        assert torch.allclose(small(x), mlp(x), atol=0.02)
    assert cz.checkpoint_bytes(small) < cz.checkpoint_bytes(mlp) / 2


# ---- pruning


def test_magnitude_masks_equal_torch_global_pruning(mlp: nn.Sequential) -> None:
    for sparsity in (0.0, 0.3, 0.9):
        masks = cz.magnitude_masks([mlp[0].weight, mlp[2].weight], sparsity)
        copy = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
        copy.load_state_dict(mlp.state_dict())
        prune.global_unstructured([(copy[0], "weight"), (copy[2], "weight")], pruning_method=prune.L1Unstructured,
                                  amount=sparsity)
        assert torch.equal(masks[0], copy[0].weight_mask) and torch.equal(masks[1], copy[2].weight_mask)
        assert abs(cz.sparsity_of(copy) - sparsity) < 1e-3
    with pytest.raises(ParameterError, match="sparsity = 1.5"):
        cz.magnitude_masks([mlp[0].weight], 1.5)


def test_dropping_units_equals_masking_their_outgoing_weights(mlp: nn.Sequential, batch) -> None:
    x, _ = batch
    small = cz.drop_hidden_units(mlp, 20)
    assert small[0].weight.shape == (20, 64) and small[2].weight.shape == (10, 20)
    masked = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    masked.load_state_dict(mlp.state_dict())
    prune.custom_from_mask(masked[2], "weight", cz.unit_mask(mlp, 20))
    with torch.no_grad():
        assert torch.allclose(small(x), masked(x), atol=1e-6)
        assert torch.allclose(cz.drop_hidden_units(mlp, 128)(x), mlp(x), atol=1e-6)
    kept = set(cz.unit_scores(mlp).topk(20).indices.tolist())
    assert kept == {j for j in range(128) if bool(cz.unit_mask(mlp, 20)[0, j])}
    with pytest.raises(ParameterError, match="keep = 0"):
        cz.drop_hidden_units(mlp, 0)


# ---- memory budget


def test_budget_uses_16_bytes_per_parameter_for_mixed_precision_adam() -> None:
    b = cz.budget(7e9)
    assert b["train_total"] == 16 * 7e9 == training_bytes(7e9).total
    assert (b["inference_float32"], b["inference_bfloat16"], b["inference_int8"], b["inference_int4"]) == (
        28e9, 14e9, 7e9, 3.5e9)
    assert cz.gpus_needed(16 * 70e9, 80) == 14 and cz.gpus_needed(1, 80) == 1
    assert cz.gpus_needed(80 * 2**30, 80) == 1 and cz.gpus_needed(80 * 2**30 + 1, 80) == 2
    assert cz.format_bytes(1536) == "1.5 KiB" and cz.format_bytes(100) == "100 B"
    assert cz.format_bytes(16 * 70e9) == "1.0 TiB"


def test_captured_messages_collects_and_restores() -> None:
    log = logging.getLogger("torch.some_module")
    root_handlers = logging.getLogger("").handlers[:]
    with cz.captured_messages() as said:
        log.warning("a log warning")
        logging.getLogger("torchao.kernel").warning("another")
        warnings.warn("a python warning", UserWarning, stacklevel=1)
    assert any("a log warning" in m for m in said) and any("another" in m for m in said)
    assert any(m == "UserWarning: a python warning" for m in said)
    assert logging.getLogger("").handlers == root_handlers and logging.getLogger("torch").propagate in (True, False)


# ---- explorer and figures


def test_compressed_copies_and_their_size(mlp: nn.Sequential, batch) -> None:
    x, y = batch
    params = sum(p.numel() for p in mlp.parameters())
    assert cz.storage_bytes(mlp, 32) == 4 * params
    weights = 64 * 128 + 128 * 10
    assert cz.storage_bytes(mlp, 8) == weights + 4 * 138 + 4 * 138
    pruned = cz.compress_copy(mlp, 32, 0.5)
    assert abs(cz.sparsity_of(pruned) - 0.5) < 1e-3 and cz.sparsity_of(mlp) == 0
    assert cz.storage_bytes(pruned, 32, sparse=True) < cz.storage_bytes(pruned, 32)
    four = cz.compress_copy(mlp, 4, 0.0)
    assert all(len(row.unique()) <= 15 for row in four[0].weight.detach())
    assert torch.equal(cz.compress_copy(mlp, 16, 0.0)[0].weight, mlp[0].weight.detach().bfloat16().float())
    assert 0 <= cz.accuracy_of(mlp, x, y) <= 1
    with pytest.raises(ParameterError, match="bits = 6"):
        cz.compress_copy(mlp, 6, 0.0)


def test_every_explorer_control_changes_text_and_figure(mlp: nn.Sequential, batch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = batch

    def render(bits: int, sparsity: float) -> tuple[str, list]:
        fig = cz.compress_figure(mlp, x, y, bits, sparsity)
        drawn = [fig._suptitle.get_text(), [line.get_ydata().tolist() for line in fig.axes[1].get_lines()]]
        plt.close(fig)
        return cz.compress_text(mlp, x, y, bits, sparsity), drawn

    start = render(8, 0.5)
    for moved in (render(4, 0.5), render(8, 0.8)):
        assert moved[0] != start[0] and moved[1] != start[1]


def test_figures_draw(mlp: nn.Sequential, capsys: pytest.CaptureFixture[str], batch) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x, y = batch
    grads = torch.randn(1000, generator=torch.Generator().manual_seed(4)) * 1e-3
    figures = [
        cz.formats_figure(),
        cz.underflow_figure(grads, 1e-3, 2.0**16),
        cz.pruning_figure([0, 0.5, 0.9], [0.9, 0.88, 0.5], [0.9, 0.9, 0.7], 0.9),
        cz.sparse_figure([0.5, 0.1], [Comparison(_timing(1e-3, 1e-4), _timing(2e-3, 1e-4), [0.5] * 5),
                                      Comparison(_timing(1e-3, 1e-4), _timing(5e-4, 1e-5), [2.0] * 5)], 0.1, 64, 8),
        cz.budget_figure({"7B": cz.budget(7e9), "70B": cz.budget(70e9)}, {"A": 80, "B": 80, "C": 16}),
    ]
    assert len(figures[0].axes) == 2 and len(figures[4].axes) == 2
    for fig in figures:
        plt.close(fig)
    assert cz.compress_explorer(mlp, x, y, 4, 0.3) is None
    out = capsys.readouterr().out
    assert "4 bits (int4 per channel), 30% of weights pruned" in out and math.isfinite(len(out))
