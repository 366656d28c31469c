"""Lesson 10, attention and a small GPT: attention by hand, a GPT written out, generation with a KV cache, sizes."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from labkit.errors import ParameterError

# ---- attention, by hand -----------------------------------------------------------------------
#
# Every position t has a query q_t, a key k_t and a value v_t (rows of Q, K, V). Position t's output
# is a weighted mean of the values, with weights softmax_s(q_t · k_s / √d): how well t's query
# matches each key. Causal: t sees only s <= t, so a model trained to predict token t + 1 never
# reads it.


def causal_mask(queries: int, keys: int, device: torch.device | str | None = None) -> torch.Tensor:
    """(queries, keys) booleans, True where a query may look: the queries are the last ``queries`` of ``keys``."""
    return torch.ones(queries, keys, dtype=torch.bool, device=device).tril(keys - queries)


def attention_weights(q: torch.Tensor, k: torch.Tensor, *, causal: bool = True) -> torch.Tensor:
    """softmax(q kᵀ / √d) over the keys, future keys masked out when causal: (..., T, S) rows that sum to 1."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (..., T, d) @ (..., d, S) -> (..., T, S)
    if causal:
        scores = scores.masked_fill(~causal_mask(q.shape[-2], k.shape[-2], q.device), float("-inf"))
    return torch.softmax(scores, dim=-1)


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, *, causal: bool = True) -> torch.Tensor:
    """Scaled dot-product attention written out: the attention weights times the values, (..., T, d)."""
    return attention_weights(q, k, causal=causal) @ v  # (..., T, S) @ (..., S, d) -> (..., T, d)


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(B, T, C) -> (B, heads, T, C / heads): each head gets its own slice of the channels."""
    B, T, C = x.shape
    return x.view(B, T, heads, C // heads).transpose(1, 2)


def merge_heads(y: torch.Tensor) -> torch.Tensor:
    """(B, heads, T, hs) -> (B, T, heads · hs): the heads' outputs side by side again."""
    B, H, T, hs = y.shape
    return y.transpose(1, 2).reshape(B, T, H * hs)


# ---- a GPT, written out (the shape of nanoGPT's model.py) --------------------------------------


@dataclass(frozen=True)
class GPTConfig:
    """A GPT's shape: vocabulary, context (longest sequence), layers, width (d_model) and heads."""

    vocab: int
    context: int
    layers: int
    width: int
    heads: int
    tied: bool = True  # the output layer reuses the token embedding (GPT-2, nanoGPT)
    fused: bool = True  # attention by scaled_dot_product_attention (False: this module's ``attention``)

    def __post_init__(self) -> None:
        for name in ("vocab", "context", "layers", "width", "heads"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ParameterError(f"{name} = {getattr(self, name)!r} is not allowed: must be an int >= 1")
        if self.width % self.heads:
            raise ParameterError(f"width = {self.width} is not allowed with heads = {self.heads}: "
                                 "the width must be a multiple of the heads")


Cache = list[tuple[torch.Tensor, torch.Tensor]]  # per layer: keys and values so far, each (B, heads, S, hs)


class CausalSelfAttention(nn.Module):
    """Multi-head causal self-attention: one linear map to Q, K, V; heads as a reshape; one linear map out."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.heads, self.fused = config.heads, config.fused
        self.qkv = nn.Linear(config.width, 3 * config.width)  # C -> 3C: queries, keys, values at once
        self.proj = nn.Linear(config.width, config.width)  # the heads' outputs, mixed back into C channels

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None):
        """(B, T, C) -> (B, T, C), and this layer's keys and values (the past ones first) for a cache."""
        q, k, v = self.qkv(x).split(x.shape[-1], dim=2)  # each (B, T, C)
        q, k, v = (split_heads(t, self.heads) for t in (q, k, v))  # each (B, H, T, hs)
        if past is not None:  # earlier positions' keys and values, kept from before: (B, H, S - T, hs)
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)  # (B, H, S, hs)
        T, S = q.shape[2], k.shape[2]
        if not self.fused:
            y = attention(q, k, v)
        elif S == T:
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        else:  # new queries after cached keys: the mask's diagonal is shifted (is_causal assumes S == T)
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=causal_mask(T, S, q.device) if T > 1 else None)
        return self.proj(merge_heads(y)), (k, v)  # (B, H, T, hs) -> (B, T, C) -> (B, T, C)


class FeedForward(nn.Module):
    """Each position alone: C -> 4C, GELU, 4C -> C."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.up = nn.Linear(config.width, 4 * config.width)
        self.down = nn.Linear(4 * config.width, config.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    """LayerNorm -> attention -> add back; LayerNorm -> feed-forward -> add back (pre-norm, as GPT-2)."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln1, self.attn = nn.LayerNorm(config.width), CausalSelfAttention(config)
        self.ln2, self.mlp = nn.LayerNorm(config.width), FeedForward(config)

    def forward(self, x: torch.Tensor, past: tuple[torch.Tensor, torch.Tensor] | None = None):
        a, kv = self.attn(self.ln1(x), past)
        x = x + a  # the residual stream: each block adds to it
        return x + self.mlp(self.ln2(x)), kv


class GPT(nn.Module):
    """Token and position embeddings, ``layers`` blocks, a final LayerNorm and a linear head to the vocabulary."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.tok = nn.Embedding(config.vocab, config.width)  # (V, C)
        self.pos = nn.Embedding(config.context, config.width)  # (T_max, C): one learned vector per position
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.ln_f = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)  # (C -> V)
        if config.tied:
            self.head.weight = self.tok.weight  # one (V, C) matrix, read in and written out
        self.apply(self._init)
        for block in self.blocks:  # GPT-2: the layers that write into the residual stream start smaller
            for layer in (block.attn.proj, block.mlp.down):
                nn.init.normal_(layer.weight, std=0.02 / math.sqrt(2 * config.layers))

    @staticmethod
    def _init(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits: at each position, the next token's."""
        return self.step(idx)[0]

    def step(self, idx: torch.Tensor, cache: Cache | None = None) -> tuple[torch.Tensor, Cache]:
        """Logits of the new tokens ``idx`` (B, T) after the ``cache``'s positions, and the cache grown by T."""
        start = 0 if cache is None else cache[0][0].shape[2]  # positions already in the cache
        T = idx.shape[1]
        if start + T > self.config.context:
            raise ParameterError(f"{start + T} positions are not allowed: this GPT's context is "
                                 f"{self.config.context} tokens")
        positions = torch.arange(start, start + T, device=idx.device)
        x = self.tok(idx) + self.pos(positions)  # (B, T, C) + (T, C): what and where
        new: Cache = []
        for i, block in enumerate(self.blocks):
            x, kv = block(x, None if cache is None else cache[i])
            new.append(kv)
        return self.head(self.ln_f(x)), new  # (B, T, C) -> (B, T, V)


def count_parameters(model: nn.Module) -> int:
    """The model's parameters, each shared tensor counted once (a tied head is the embedding)."""
    return sum(p.numel() for p in model.parameters())  # .parameters() yields a shared tensor once


def approximate_parameters(vocab: int, context: int, layers: int, width: int) -> int:
    """12·L·d² for the blocks (attention 4d², feed-forward 8d²) plus the embeddings (V + T)·d; a tied head."""
    return 12 * layers * width**2 + (vocab + context) * width


def training_flops_per_token(n_matmul: int, layers: int, context: int, width: int) -> int:
    """6·N for the weights' matmuls (2 forward, 4 backward) plus 12·L·T·d for the scores and the weighted sums.

    N counts the weights that multiply (the blocks and the head), not the position embedding, which is added.
    The attention term is the full T×T product, the masked half included, as a plain matmul computes it.
    """
    return 6 * n_matmul + 12 * layers * context * width


def kv_cache_bytes(layers: int, width: int, positions: int, bytes_per_value: int, batch: int = 1) -> int:
    """A KV cache's size: a key and a value (2), of width d, per layer, position and sequence."""
    return 2 * layers * width * positions * bytes_per_value * batch


# ---- generation -------------------------------------------------------------------------------


def next_token(logits: torch.Tensor, temperature: float, generator: torch.Generator | None) -> int:
    """Greedy (temperature 0) or a draw from softmax(logits / T) with ``generator``."""
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits.double() / temperature, dim=-1), 1, generator=generator))


@torch.no_grad()
def generate(model: GPT, prompt: Sequence[int], n: int, *, temperature: float = 0.0, seed: int = 0,
             cache: bool = True) -> list[int]:
    """``n`` tokens after ``prompt``. Without a cache each step reruns the model on the whole sequence so far;
    with one, each step feeds only the newest token and reuses every earlier key and value."""
    limit = model.config.context
    if len(prompt) + n > limit:
        raise ParameterError(f"a prompt of {len(prompt)} tokens and n = {n} are not allowed: together they must fit "
                             f"in the context of {limit} tokens")
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    out = [int(t) for t in prompt]
    if cache:
        logits, kv = model.step(torch.tensor([out], device=device))  # the prompt, at once ("prefill")
    for _ in range(n):
        if not cache:
            logits = model(torch.tensor([out], device=device))  # everything again, every step
        out.append(next_token(logits[0, -1].cpu(), temperature, gen))
        if cache and len(out) < len(prompt) + n:
            logits, kv = model.step(torch.tensor([[out[-1]]], device=device), kv)  # one token in
    return out[len(prompt):]


# ---- figures and the explorer -----------------------------------------------------------------


def loss_figure(steps: Sequence[int], train: Sequence[float], val: Sequence[float], lines: dict[str, float]):
    """Training (running mean of the batches) and validation loss in bits per byte, with yardsticks as lines."""
    from labkit.plot import figure

    fig, ax = figure()
    ax.plot(steps, train, label="GPT, training (running mean of the batches)")
    ax.plot(steps, val, ".-", label="GPT, validation (the whole split)")
    styles = [("tab:gray", "--"), ("tab:purple", ":"), ("tab:brown", "-."), ("tab:olive", (0, (5, 1, 1, 1)))]
    for (name, value), (color, style) in zip(lines.items(), styles, strict=False):
        ax.axhline(value, color=color, linestyle=style, linewidth=1.3, label=f"{name}: {value:.3f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("bits per byte")
    ax.set_title("the GPT against lesson 09's models and lzma")
    ax.legend(fontsize=8)
    return fig


def time_per_token_figure(positions: Sequence[int], without: Sequence[float], with_cache: Sequence[float]):
    """Milliseconds per generated token against its position, without and with the KV cache."""
    from labkit.plot import figure

    fig, ax = figure()
    ax.plot(positions, [1e3 * t for t in without], "o-", label="no cache: the whole prefix again")
    ax.plot(positions, [1e3 * t for t in with_cache], "s-", label="KV cache: the newest token only")
    ax.set_xlabel("position of the generated token")
    ax.set_ylabel("milliseconds per token (median)")
    ax.set_ylim(bottom=0)
    ax.set_title("the cost of one more token, measured on this machine")
    ax.legend()
    return fig


@torch.no_grad()
def attention_render(model: GPT, bpe, prompt: str, *, layer: int, head: int, temperature: float, n: int,
                     seed: int) -> tuple[str, object]:
    """The explorer's words and figure: one head's attention over the prompt, and a seeded continuation.

    ``bpe`` is any tokenizer with ``encode``, ``decode`` and ``pieces`` (lesson 09's ``BPE``).
    """
    import textwrap

    from labkit.plot import figure

    ids = bpe.encode(prompt).tolist()[-model.config.context:]
    device = next(model.parameters()).device
    x = model.tok(torch.tensor([ids], device=device)) + model.pos(torch.arange(len(ids), device=device))
    for block in model.blocks[:layer]:
        x, _ = block(x)
    attn = model.blocks[layer].attn
    q, k, _ = attn.qkv(model.blocks[layer].ln1(x)).split(model.config.width, dim=2)
    w = attention_weights(split_heads(q, attn.heads), split_heads(k, attn.heads))[0, head].cpu()  # (T, T)
    room = model.config.context - len(ids)
    new = generate(model, ids, min(n, room), temperature=temperature, seed=seed) if room > 0 else []
    labels = bpe.pieces(ids)
    fig, (left, right) = figure(2, width=12, height=5.8)
    shown = w.masked_fill(~causal_mask(len(ids), len(ids)), float("nan"))  # the future: blank, not 0
    image = left.imshow(shown.numpy(), cmap="viridis", vmin=0, vmax=1)
    left.grid(False)
    fig.colorbar(image, ax=left, fraction=0.04, label="weight")
    left.set_xticks(range(len(ids)), labels, rotation=90, fontfamily="monospace", fontsize=8)
    left.set_yticks(range(len(ids)), labels, fontfamily="monospace", fontsize=8)
    left.set_xlabel("key: the token looked at")
    left.set_ylabel("query: the token looking")
    left.set_title(f"layer {layer}, head {head}: attention weights (rows sum to 1)", fontsize=10)
    right.axis("off")
    text = prompt + bpe.decode(new)
    right.text(0, 1, "\n".join(textwrap.fill(line, 52) for line in text.splitlines()[:16]), va="top",
               family="monospace", fontsize=9)
    right.set_title(f"T = {temperature:.3g}, seed {seed}: {len(new)} tokens after the prompt", fontsize=10)
    last = w[-1]
    top = int(last.argmax())
    words = (f"layer {layer}, head {head}: the last token {labels[-1]!r} puts {float(last[top]):.0%} of its "
             f"attention on {labels[top]!r} (position {top} of {len(ids)}); continuation at T = {temperature:.3g}")
    return words, fig


def attention_explorer(model: GPT, bpe, prompts: Sequence[str], *, n: int = 40, seed: int = 0,
                       temperature: float = 0.8) -> None:
    """Layer, head and prompt menus with a temperature slider: the attention heat map and the continuation."""
    from labkit.explorer import explorer

    config = model.config
    explorer(
        lambda w: [[("prompt", w.Dropdown(options=list(prompts), value=prompts[0], description="prompt")),
                    ("layer", w.Dropdown(options=list(range(config.layers)), value=config.layers - 1,
                                         description="layer")),
                    ("head", w.Dropdown(options=list(range(config.heads)), value=0, description="head"))],
                   [("temperature", w.FloatLogSlider(value=temperature, base=10, min=-1.3, max=0.6, step=0.05,
                                                     description="temperature", continuous_update=False))]],
        lambda prompt, layer, head, temperature: attention_render(model, bpe, prompt, layer=layer, head=head,
                                                                  temperature=temperature, n=n, seed=seed),
        prompt=prompts[0], layer=config.layers - 1, head=0, temperature=temperature,
    )
