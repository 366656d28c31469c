"""Lesson 10's GPT against PyTorch's own Transformer layers, its attention against SDPA, and the KV cache (not a test).

Three comparisons, each timed in alternating rounds in one process by ``labkit.bench.compare``
(CPU, one thread, float32, the lesson's default shapes unless given):

1. one AdamW training step of the lesson's GPT against the same model built from
   ``torch.nn.TransformerEncoderLayer`` (pre-norm, GELU, no dropout) with a causal mask: same
   embeddings, widths, heads, layers, final norm and tied head, the same parameter count. The
   last line of the section is ``ratio: X.XX`` (lesson steps/s over PyTorch's). Target >= 0.90.
2. the lesson's attention written out (``gpt.attention``) against
   ``F.scaled_dot_product_attention``, forward, on the shapes one training step uses.
3. generating 256 tokens with the KV cache against without it (greedy, the same tokens).

Run with ``make bench-gpt``; on a busy machine the rounds disagree and the verdicts say so.
"""

from __future__ import annotations

import argparse
import sys

import torch
from torch import nn
from torch.nn import functional as F

from labkit.bench import compare
from labkit.lessons import gpt


class TorchGPT(nn.Module):
    """The lesson's GPT with each block replaced by PyTorch's ``TransformerEncoderLayer``."""

    def __init__(self, config: gpt.GPTConfig):
        super().__init__()
        self.tok = nn.Embedding(config.vocab, config.width)
        self.pos = nn.Embedding(config.context, config.width)
        layer = nn.TransformerEncoderLayer(config.width, config.heads, 4 * config.width, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.ln_f = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)
        self.head.weight = self.tok.weight

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        T = idx.shape[1]
        mask = nn.Transformer.generate_square_subsequent_mask(T, device=idx.device)
        x = self.tok(idx) + self.pos(torch.arange(T, device=idx.device))
        return self.head(self.ln_f(self.blocks(x, mask=mask, is_causal=True)))


def train_step(model: nn.Module, optimizer: torch.optim.Optimizer, x: torch.Tensor, y: torch.Tensor) -> None:
    logits = model(x)
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--width", type=int, default=96)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--vocab", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--new", type=int, default=256, help="tokens generated in the cache comparison")
    args = parser.parse_args(argv)
    config = gpt.GPTConfig(vocab=args.vocab, context=args.context, layers=args.layers, width=args.width,
                           heads=args.heads)  # checks the shapes: one line if they do not fit together
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, 1 thread, float32; V={args.vocab}, T={args.context}, L={args.layers}, "
          f"d={args.width}, heads={args.heads}, batch {args.batch}, {args.rounds} alternating rounds")

    # 1. training steps
    torch.manual_seed(0)
    ours, theirs = gpt.GPT(config), TorchGPT(config)
    n_ours, n_theirs = gpt.count_parameters(ours), gpt.count_parameters(theirs)
    if n_ours != n_theirs:
        raise SystemExit(f"the two models differ in size ({n_ours:,} against {n_theirs:,} parameters): not comparable")
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, args.vocab, (args.batch, args.context), generator=g)
    y = torch.randint(0, args.vocab, (args.batch, args.context), generator=g)
    opt_ours, opt_theirs = (torch.optim.AdamW(m.parameters(), lr=1e-4) for m in (ours, theirs))
    steps = compare(lambda: train_step(theirs, opt_theirs, x, y), lambda: train_step(ours, opt_ours, x, y),
                    labels=("TransformerEncoderLayer", "lesson GPT"), rounds=args.rounds, min_run_time=2.0)
    print(f"\n1. one training step, {n_ours:,} parameters each")
    print(f"   PyTorch TransformerEncoderLayer: {1 / steps.a.median:7.1f} steps/s")
    print(f"   lesson GPT:                      {1 / steps.b.median:7.1f} steps/s")
    print(f"   {steps.words()}")
    print(f"ratio: {steps.ratio:.2f}")

    # 2. attention written out against the fused kernel
    hs = args.width // args.heads
    q, k, v = (torch.randn(args.batch, args.heads, args.context, hs, generator=g) for _ in range(3))
    diff = (gpt.attention(q, k, v) - F.scaled_dot_product_attention(q, k, v, is_causal=True)).abs().max().item()
    attn = compare(lambda: F.scaled_dot_product_attention(q, k, v, is_causal=True), lambda: gpt.attention(q, k, v),
                   labels=("scaled_dot_product_attention", "attention written out"), rounds=args.rounds,
                   min_run_time=1.0)
    print(f"\n2. causal attention forward, (B, H, T, hs) = {tuple(q.shape)}, max difference {diff:.1e}")
    print(f"   scaled_dot_product_attention: {1e6 * attn.a.median:8.1f} µs")
    print(f"   written out:                  {1e6 * attn.b.median:8.1f} µs")
    print(f"   {attn.words()}")
    print(f"ratio: {attn.ratio:.2f}")

    # 3. generation with and without the cache
    long = gpt.GPTConfig(vocab=args.vocab, context=args.new + 16, layers=args.layers, width=args.width,
                         heads=args.heads)
    torch.manual_seed(0)
    model = gpt.GPT(long).eval()
    prompt = torch.randint(0, args.vocab, (16,), generator=g).tolist()
    same = gpt.generate(model, prompt, args.new, cache=True) == gpt.generate(model, prompt, args.new, cache=False)
    cache = compare(lambda: gpt.generate(model, prompt, args.new, cache=False),
                    lambda: gpt.generate(model, prompt, args.new, cache=True),
                    labels=("no cache", "KV cache"), rounds=min(args.rounds, 5), min_run_time=4.0, warmup=1,
                    min_blocks=1)
    print(f"\n3. generating {args.new} tokens after a 16-token prompt, greedy; the same tokens: {same}")
    print(f"   no cache: {cache.a.median:.3f} s ({args.new / cache.a.median:6.0f} tokens/s)")
    print(f"   KV cache: {cache.b.median:.3f} s ({args.new / cache.b.median:6.0f} tokens/s)")
    print(f"   {cache.words()}")
    print(f"ratio: {cache.ratio:.2f}")
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
