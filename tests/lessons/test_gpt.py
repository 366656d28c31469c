"""Lesson 10's module: attention against PyTorch's, the GPT's shapes and sizes, FLOPs, and the KV cache."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode

from labkit.errors import ParameterError
from labkit.lessons import gpt

SMALL = gpt.GPTConfig(vocab=97, context=24, layers=2, width=36, heads=3)


def _model(config: gpt.GPTConfig = SMALL, seed: int = 0) -> gpt.GPT:
    torch.manual_seed(seed)
    return gpt.GPT(config).eval()


@pytest.mark.parametrize("dtype, tol", [(torch.float32, 1e-6), (torch.float64, 1e-12)])
@pytest.mark.parametrize("shape", [(2, 3, 7, 5), (1, 1, 1, 4), (3, 10, 6)])
def test_attention_by_hand_equals_sdpa(dtype, tol, shape) -> None:
    g = torch.Generator().manual_seed(1)
    q, k, v = (torch.randn(shape, generator=g, dtype=dtype) for _ in range(3))
    for causal in (True, False):
        mine = gpt.attention(q, k, v, causal=causal)
        theirs = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        assert (mine - theirs).abs().max() <= tol, (causal, float((mine - theirs).abs().max()))


def test_causal_weights_see_only_the_past_and_sum_to_one() -> None:
    q, k = torch.randn(2, 6, 4), torch.randn(2, 6, 4)
    w = gpt.attention_weights(q, k)
    assert torch.allclose(w.sum(-1), torch.ones(2, 6))
    assert (w.triu(1) == 0).all() and (w[..., gpt.causal_mask(6, 6)] > 0).all()
    # new queries after cached keys: query i of the last 2 sees keys up to 4 + i
    assert gpt.causal_mask(2, 6).tolist() == [[True] * 5 + [False], [True] * 6]


def test_heads_are_a_reshape_and_back() -> None:
    x = torch.randn(2, 5, 12)
    h = gpt.split_heads(x, 3)
    assert h.shape == (2, 3, 5, 4)
    assert torch.equal(h[:, 1], x[..., 4:8])  # head 1 is channels 4..7
    assert torch.equal(gpt.merge_heads(h), x)


def test_the_model_attention_equals_multihead_attention() -> None:
    model = _model()
    attn = model.blocks[0].attn
    mha = torch.nn.MultiheadAttention(SMALL.width, SMALL.heads, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(torch.randn(3 * SMALL.width))
        attn.qkv.bias.copy_(mha.in_proj_bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    x = torch.randn(2, 9, SMALL.width)
    mask = ~gpt.causal_mask(9, 9)  # MultiheadAttention masks where True
    theirs, _ = mha(x, x, x, attn_mask=mask, need_weights=False)
    with torch.no_grad():
        mine, _ = attn(x)
    assert (mine - theirs).abs().max() < 1e-6


def test_fused_and_hand_written_attention_give_the_same_model() -> None:
    fused, by_hand = _model(), _model(gpt.GPTConfig(**{**SMALL.__dict__, "fused": False}))
    idx = torch.randint(0, SMALL.vocab, (2, SMALL.context))
    with torch.no_grad():
        assert (fused(idx) - by_hand(idx)).abs().max() < 1e-5


def test_a_prediction_never_reads_the_future() -> None:
    model = _model()
    idx = torch.randint(0, SMALL.vocab, (1, 12))
    changed = idx.clone()
    changed[0, 7:] = (changed[0, 7:] + 1) % SMALL.vocab
    with torch.no_grad():
        assert torch.allclose(model(idx)[0, :7], model(changed)[0, :7], atol=1e-6)
        assert not torch.allclose(model(idx)[0, 7:], model(changed)[0, 7:])


@pytest.mark.parametrize("tied", [True, False])
def test_parameter_count_exceeds_the_approximation_by_the_biases_and_norms(tied) -> None:
    config = gpt.GPTConfig(vocab=101, context=17, layers=3, width=40, heads=5, tied=tied)
    model = gpt.GPT(config)
    V, T, L, d = config.vocab, config.context, config.layers, config.width
    exact = 12 * L * d * d + 13 * L * d + (V + T) * d + 2 * d + (0 if tied else V * d)
    assert gpt.count_parameters(model) == exact
    assert gpt.approximate_parameters(V, T, L, d) == exact - 13 * L * d - 2 * d - (0 if tied else V * d)
    assert (model.head.weight is model.tok.weight) == tied


def test_gpt2_small_from_its_shape() -> None:
    # GPT-2 small: 12 layers, width 768, vocabulary 50,257, context 1,024 (Radford et al. 2019); 124,439,808 exactly
    approx = gpt.approximate_parameters(50_257, 1024, 12, 768)
    assert 123e6 < approx < 125e6
    assert approx + 13 * 12 * 768 + 2 * 768 == 124_439_808


@pytest.mark.parametrize("fused", [False, True])
def test_training_flops_match_flop_counter(fused) -> None:
    config = gpt.GPTConfig(vocab=64, context=16, layers=2, width=32, heads=4, fused=fused)
    model = gpt.GPT(config)
    B, T = 3, config.context
    idx = torch.randint(0, config.vocab, (B, T))
    counter = FlopCounterMode(display=False)
    with counter:
        F.cross_entropy(model(idx).flatten(0, 1), idx.flatten()).backward()
    n_matmul = 12 * config.layers * config.width**2 + config.vocab * config.width  # the blocks and the head
    expected = gpt.training_flops_per_token(n_matmul, config.layers, T, config.width)
    if fused:  # the counter has no formula for the fused CPU attention kernel: it sees only the 6 N
        expected = 6 * n_matmul
    assert counter.get_total_flops() == B * T * expected


def test_kv_cache_bytes_match_the_tensors() -> None:
    model = _model()
    _, cache = model.step(torch.randint(0, SMALL.vocab, (2, 10)))
    held = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in cache)
    assert held == gpt.kv_cache_bytes(SMALL.layers, SMALL.width, 10, 4, batch=2)


def test_stepping_with_a_cache_equals_the_whole_sequence() -> None:
    model = _model()
    idx = torch.randint(0, SMALL.vocab, (2, 15))
    with torch.no_grad():
        whole = model(idx)
        logits, cache = model.step(idx[:, :6])
        parts = [logits]
        logits, cache = model.step(idx[:, 6:9], cache)  # several new tokens at once: the shifted mask
        parts.append(logits)
        for t in range(9, 15):
            logits, cache = model.step(idx[:, t:t + 1], cache)
            parts.append(logits)
    assert (torch.cat(parts, dim=1) - whole).abs().max() < 1e-5


@pytest.mark.parametrize("temperature", [0.0, 0.9])
def test_generation_with_and_without_cache_gives_the_same_tokens(temperature) -> None:
    model = _model()
    prompt = [3, 14, 15, 92]
    with_cache = gpt.generate(model, prompt, 12, temperature=temperature, seed=5)
    without = gpt.generate(model, prompt, 12, temperature=temperature, seed=5, cache=False)
    assert with_cache == without and len(with_cache) == 12


def test_bad_shapes_and_lengths_get_one_line() -> None:
    with pytest.raises(ParameterError, match="multiple of the heads"):
        gpt.GPTConfig(vocab=10, context=8, layers=1, width=10, heads=3)
    with pytest.raises(ParameterError, match="layers = 0 is not allowed"):
        gpt.GPTConfig(vocab=10, context=8, layers=0, width=8, heads=2)
    with pytest.raises(ParameterError, match="must fit in the context of 24 tokens"):
        gpt.generate(_model(), [1] * 20, 5)
    with pytest.raises(ParameterError, match="this GPT's context is 24 tokens"):
        _model()(torch.zeros(1, 25, dtype=torch.long))


# ---- figures and explorer


@pytest.fixture(scope="module")
def bpe():
    from labkit.lessons import tokens as tk

    return tk.train_bpe("the cat sat on the mat; the dog sat on the log. " * 20, 276)


def test_figures_draw() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig = gpt.loss_figure([10, 20], [3.0, 2.5], [3.1, 2.7], {"bigram": 2.9, "lzma": 2.6})
    assert [line.get_label() for line in fig.axes[0].get_lines()][2:] == ["bigram: 2.900", "lzma: 2.600"]
    plt.close(fig)
    fig = gpt.time_per_token_figure([16, 128], [1e-3, 4e-3], [1e-3, 1.1e-3])
    assert [list(line.get_ydata()) for line in fig.axes[0].get_lines()] == [[1.0, 4.0], [1.0, 1.1]], "milliseconds"
    plt.close(fig)


def test_attention_render_shows_one_heads_past(bpe) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = gpt.GPTConfig(vocab=bpe.vocab_size, context=24, layers=2, width=36, heads=3)
    model = _model(config)
    prompt = "the cat sat on the"
    ids = bpe.encode(prompt).tolist()
    words, fig = gpt.attention_render(model, bpe, prompt, layer=1, head=2, temperature=0.8, n=5, seed=0)
    shown = fig.axes[0].images[0].get_array()
    assert shown.shape == (len(ids), len(ids))
    assert shown.mask[torch.ones(len(ids), len(ids), dtype=torch.bool).triu(1).numpy()].all(), "the future is blank"
    assert abs(shown.sum(axis=1) - 1).max() < 1e-5, "each row of weights sums to 1"
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == bpe.pieces(ids)
    assert words.startswith("layer 1, head 2: the last token") and "continuation at T = 0.8" in words
    plt.close(fig)
    # another head draws another pattern; another temperature another continuation, the same seed the same one
    _, other = gpt.attention_render(model, bpe, prompt, layer=0, head=0, temperature=0.8, n=5, seed=0)
    assert abs(other.axes[0].images[0].get_array() - shown).max() > 1e-3
    texts = [gpt.attention_render(model, bpe, prompt, layer=1, head=2, temperature=t, n=12, seed=0)[1]
             .axes[1].texts[0].get_text() for t in (0.05, 3.0, 3.0)]
    assert texts[0] != texts[1] and texts[1] == texts[2]
    plt.close("all")


def test_headless_explorer_prints_the_words(bpe, capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    config = gpt.GPTConfig(vocab=bpe.vocab_size, context=24, layers=2, width=36, heads=3)
    assert gpt.attention_explorer(_model(config), bpe, ["the dog sat", "on the mat"], n=4) is None
    assert "layer 1, head 0: the last token" in capsys.readouterr().out
