"""Lesson 09, text to numbers: byte-pair encoding, counted and learned next-token models, loss in bits, sampling."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from labkit.errors import ParameterError

# ---- byte-pair encoding -----------------------------------------------------------------------
#
# Text -> UTF-8 bytes (ids 0..255) -> repeatedly merge the most frequent adjacent pair into a new id.
# The ids live in one long tensor, so counting and merging are a few whole-tensor operations each.
# Pre-tokenization cuts the text into pieces first (words, runs of spaces, of punctuation); a WALL id
# between pieces stops any merge from crossing a cut.

WALL = -1
# GPT-2's pre-tokenizer, written for Python's re (which has no \p{L}: [^\W\d_] is "a letter"):
# an apostrophe suffix, or an optional space and then letters, digits, other symbols; or whitespace.
GPT2_SPLIT = r"""'(?:s|t|re|ve|m|ll|d)| ?[^\W\d_]+| ?\d+| ?(?:[^\s\w]|_)+|\s+(?!\S)|\s+"""


def to_bytes(text: str, split: str | None = None) -> torch.Tensor:
    """The UTF-8 bytes of ``text`` as ids 0..255; with a ``split`` pattern, each piece's bytes, WALL between."""
    if split is None:
        return torch.tensor(list(text.encode("utf-8")), dtype=torch.long)
    ids: list[int] = []
    for piece in re.findall(split, text):
        ids.extend(piece.encode("utf-8"))
        ids.append(WALL)
    return torch.tensor(ids, dtype=torch.long)


def pair_counts(ids: torch.Tensor, vocab: int) -> torch.Tensor:
    """How often each adjacent pair (a, b) occurs in ``ids``: a (vocab, vocab) table of counts."""
    a, b = ids[:-1], ids[1:]
    inside = (a != WALL) & (b != WALL)  # no pair spans a wall
    pairs = a[inside] * vocab + b[inside]  # pair (a, b) as one number a·vocab + b
    return torch.bincount(pairs, minlength=vocab * vocab).reshape(vocab, vocab)


def merge(ids: torch.Tensor, pair: tuple[int, int], new_id: int) -> torch.Tensor:
    """Replace every occurrence of ``pair`` in ``ids`` by ``new_id``, left to right (so 'aaa' -> 'Xa')."""
    a, b = pair
    hit = (ids[:-1] == a) & (ids[1:] == b)  # hit[i]: the pair starts at position i
    if a == b:  # runs of hits overlap ('aaa' has two): keep the 1st, 3rd, ... hit of every run
        i = torch.arange(len(hit))
        last_miss = torch.cummax(torch.where(hit, -1, i), dim=0).values  # latest position with no hit
        hit &= (i - last_miss) % 2 == 1  # the odd positions counted from the last miss
    starts = hit.nonzero().flatten()
    out = ids.clone()
    out[starts] = new_id  # the first of each merged pair becomes the new token ...
    keep = torch.ones(len(ids), dtype=torch.bool)
    keep[starts + 1] = False  # ... and the second disappears
    return out[keep]


@dataclass
class BPE:
    """A byte-level BPE tokenizer: ``merges[k]`` is the pair that token 256 + k stands for.

    ``split`` is the pre-tokenizer's pattern (None: the text is one piece, merges may cross words).
    """

    merges: list[tuple[int, int]] = field(default_factory=list)
    split: str | None = None

    @property
    def vocab_size(self) -> int:
        return 256 + len(self.merges)

    def vocab(self) -> list[bytes]:
        """The bytes each token id stands for."""
        table = [bytes([i]) for i in range(256)]
        for a, b in self.merges:
            table.append(table[a] + table[b])
        return table

    def truncated(self, vocab_size: int) -> BPE:
        """The tokenizer with the first ``vocab_size - 256`` merges: BPE at a smaller vocabulary."""
        if not 256 <= vocab_size <= self.vocab_size:
            raise ParameterError(f"vocab_size = {vocab_size} is not allowed: must be between 256 and {self.vocab_size}")
        return BPE(self.merges[: vocab_size - 256], self.split)

    def encode(self, text: str) -> torch.Tensor:
        """Token ids of ``text``: its UTF-8 bytes, then every merge in the order it was learned."""
        ids = to_bytes(text, self.split)
        for k, pair in enumerate(self.merges):
            if len(ids) < 2:
                break
            ids = merge(ids, pair, 256 + k)
        return ids[ids != WALL]

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """The text of token ids: their bytes joined, read as UTF-8 (a cut inside a character shows as '�')."""
        table = self.vocab()
        return b"".join(table[int(i)] for i in ids).decode("utf-8", errors="replace")

    def pieces(self, ids: Sequence[int] | torch.Tensor) -> list[str]:
        """Each token of ``ids`` as text to show (see ``printable``): labels for a figure's axis."""
        table = self.vocab()
        return [printable(table[int(i)]) for i in ids]


def train_bpe(text: str, vocab_size: int, split: str | None = None) -> BPE:
    """Learn ``vocab_size - 256`` merges from ``text``: count pairs, merge the most frequent, repeat.

    Ties go to the pair with the smallest number a·vocab + b (``argmax`` returns the first maximum).
    """
    if vocab_size < 256:
        raise ParameterError(f"vocab_size = {vocab_size} is not allowed: must be >= 256 (the 256 byte values)")
    ids = to_bytes(text, split)
    bpe = BPE(split=split)
    for new_id in range(256, vocab_size):
        counts = pair_counts(ids, vocab_size)
        best = int(counts.argmax())
        if counts.flatten()[best] < 2:
            break  # no pair occurs twice: merging would not shorten anything
        pair = divmod(best, vocab_size)
        ids = merge(ids, pair, new_id)
        bpe.merges.append(pair)
    return bpe


def hf_byte_chars() -> dict[str, int]:
    """GPT-2's byte-level alphabet, inverted: the printable character Hugging Face uses for each byte -> the byte.

    Bytes that print as themselves ('!'..'~', '¡'..'¬', '®'..'ÿ') keep their character; the other 68
    (space, newline, control bytes, ...) take the characters from U+0100 on, in byte order: space is 'Ġ'.
    """
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    others = [b for b in range(256) if b not in printable]
    return {**{chr(b): b for b in printable}, **{chr(256 + n): b for n, b in enumerate(others)}}


def hf_merges(tokenizer) -> list[tuple[bytes, bytes]]:
    """The merges a trained Hugging Face byte-level BPE learned, in order, as pairs of bytes."""
    import json

    chars = hf_byte_chars()
    merges = json.loads(tokenizer.to_str())["model"]["merges"]
    pairs = (m.split(" ") if isinstance(m, str) else m for m in merges)
    return [tuple(bytes(chars[c] for c in part) for part in pair) for pair in pairs]


def train_hf_bpe(text: str, vocab_size: int, *, pretokenize: bool = True):
    """Hugging Face ``tokenizers``' byte-level BPE trained on ``text`` (GPT-2's pre-tokenizer when ``pretokenize``)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=pretokenize)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, min_frequency=2, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())  # all 256 bytes, seen or not
    tokenizer.train_from_iterator([text], trainer=trainer)
    return tokenizer


def replay(text: str, merges: Sequence[tuple[bytes, bytes]], split: str | None = None) -> list[tuple[int, int]]:
    """Apply someone's merges (pairs of bytes) to ``text`` in order; per step, (count of their pair, largest count).

    Where the two are equal at every step, each merge took a most frequent pair: the same algorithm,
    whatever order it broke ties in.
    """
    ids = to_bytes(text, split)
    id_of = {bytes([i]): i for i in range(256)}
    steps = []
    for k, (a, b) in enumerate(merges):
        counts = pair_counts(ids, 256 + len(merges))
        pair = (id_of[a], id_of[b])
        steps.append((int(counts[pair]), int(counts.max())))
        ids = merge(ids, pair, 256 + k)
        id_of[a + b] = 256 + k
    return steps


def first_difference(mine: Sequence, theirs: Sequence) -> int | None:
    """The index of the first place two merge lists differ (None: one is a prefix of the other)."""
    return next((i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), None)


# ---- next-token models -------------------------------------------------------------------------


def contexts(ids: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of ``k`` tokens and the token after it: (len - k, k) contexts and (len - k,) targets."""
    return ids.unfold(0, k, 1)[:-1], ids[k:]


class MLP(torch.nn.Module):
    """Bengio et al. (2003)'s model: the k previous tokens' embeddings, concatenated, a tanh layer, then logits."""

    def __init__(self, vocab: int, context: int, dim: int, hidden: int):
        super().__init__()
        self.embed = torch.nn.Embedding(vocab, dim)  # vocab × dim: one row per token
        self.hidden = torch.nn.Linear(context * dim, hidden)
        self.out = torch.nn.Linear(hidden, vocab)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: (B, k) token ids
        e = self.embed(x).flatten(1)  # (B, k·dim): the k embeddings side by side
        return self.out(torch.tanh(self.hidden(e)))  # (B, vocab) logits of the next token


def nll_sum(model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 8192) -> float:
    """The summed negative log-likelihood (nats) of targets ``y`` after contexts ``x``, in batches, no gradients."""
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(y), batch):
            logits = model(x[start:start + batch])
            total += float(torch.nn.functional.cross_entropy(logits, y[start:start + batch], reduction="sum"))
    return total


def bits_per_byte_of(total_nats: float, n_bytes: int) -> float:
    """Bits per byte from a summed loss in nats: the cost of the whole text in bits, over its length in bytes."""
    return total_nats / math.log(2) / n_bytes


def compressed_bits_per_byte(data: bytes, *, after: bytes = b"") -> dict[str, float]:
    """gzip, bz2 and lzma (each at its highest level) on ``data``, in bits per byte.

    With ``after``, the bits ``data`` adds when it follows ``after`` in one file: what the compressor
    needs for it once it has seen that text (the yardstick of a model trained on it).
    """
    import bz2
    import gzip
    import lzma

    methods = {"gzip": lambda b: gzip.compress(b, 9, mtime=0), "bz2": lambda b: bz2.compress(b, 9),
               "lzma": lambda b: lzma.compress(b, preset=9 | lzma.PRESET_EXTREME)}
    return {name: 8 * (len(pack(after + data)) - (len(pack(after)) if after else 0)) / len(data)
            for name, pack in methods.items()}


# ---- sampling ----------------------------------------------------------------------------------


def entropy_bits(p: torch.Tensor) -> float:
    """The entropy of a probability vector in bits (0·log 0 counts as 0)."""
    p = p[p > 0]
    return float(-(p * p.log2()).sum())


def next_distribution(logits: torch.Tensor, temperature: float, top_k: int) -> torch.Tensor:
    """The distribution sampling draws from: softmax(logits / T), kept to the ``top_k`` likeliest, renormalised."""
    probs = torch.softmax(logits.double() / temperature, dim=-1)
    if top_k < len(probs):
        cut = probs.topk(top_k).values[-1]
        probs = torch.where(probs >= cut, probs, 0.0)
    return probs / probs.sum()


def window(ids: Sequence[int] | torch.Tensor, context: int, pad: int = ord("\n")) -> torch.Tensor:
    """The last ``context`` ids as a (1, context) batch, padded on the left with ``pad`` (a newline) when short."""
    ids = [int(i) for i in ids][-context:]
    return torch.tensor([pad] * (context - len(ids)) + ids).reshape(1, context)


def generate(model: torch.nn.Module, ids: torch.Tensor, n: int, *, context: int, temperature: float, top_k: int,
             seed: int) -> torch.Tensor:
    """``n`` tokens after ``ids``, each drawn from ``next_distribution`` of the last ``context`` tokens, seeded."""
    gen = torch.Generator().manual_seed(seed)
    out = ids.tolist()
    device = next(model.parameters()).device
    with torch.no_grad():
        for _ in range(n):
            probs = next_distribution(model(window(out, context).to(device))[0].cpu(), temperature, top_k)
            out.append(int(torch.multinomial(probs, 1, generator=gen)))
    return torch.tensor(out[len(ids):])


def printable(piece: bytes) -> str:
    """A token's bytes as text to show: spaces as '·', newlines as '↵', a cut character as '�'."""
    return piece.decode("utf-8", errors="replace").replace(" ", "·").replace("\n", "↵")


# ---- figures -----------------------------------------------------------------------------------


def bytes_per_token_figure(sizes: Sequence[int], rows: dict[str, Sequence[float]]):
    """Bytes per token of the validation text against the vocabulary size, one line per tokenizer."""
    from labkit.plot import figure

    fig, ax = figure()
    styles = ["-o", "--s", ":^", "-.d"]
    for (name, values), style in zip(rows.items(), styles, strict=False):
        ax.plot(sizes, values, style, label=name, markersize=6, alpha=0.85)
    ax.set_xscale("log", base=2)
    ax.set_xticks(list(sizes), [str(s) for s in sizes])
    ax.set_xlabel("vocabulary size (256 bytes + merges)")
    ax.set_ylabel("bytes per token (validation text)")
    ax.set_title("more merges, longer tokens")
    ax.legend()
    return fig


def tokens_per_character_figure(rows: dict[str, Sequence[float]], sizes: Sequence[int]):
    """Tokens per character of each text at each vocabulary size, as grouped bars."""
    from labkit.plot import figure

    fig, ax = figure()
    width = 0.8 / len(sizes)
    for j, size in enumerate(sizes):
        values = [rows[name][j] for name in rows]
        bars = ax.bar([i + (j - (len(sizes) - 1) / 2) * width for i in range(len(rows))], values, width,
                      label=f"vocabulary {size}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.set_xticks(range(len(rows)), list(rows))
    ax.set_ylabel("tokens per character")
    ax.set_title("one tokenizer trained on English, three texts")
    ax.legend()
    return fig


def bigram_figure(probs: torch.Tensor, labels: Sequence[str]):
    """P(next | previous) for a few frequent tokens, as a heat map (rows: previous token)."""
    from labkit.plot import figure

    fig, ax = figure(width=7.5, height=6.5)
    image = ax.imshow(torch.as_tensor(probs).double().numpy(), cmap="Blues", vmin=0)
    ax.set_xticks(range(len(labels)), labels, rotation=90, fontfamily="monospace")
    ax.set_yticks(range(len(labels)), labels, fontfamily="monospace")
    ax.set_xlabel("next token")
    ax.set_ylabel("previous token")
    ax.grid(False)
    ax.set_title(f"bigram probabilities among the {len(labels)} most frequent tokens")
    fig.colorbar(image, ax=ax, shrink=0.8, label="P(next | previous)")
    return fig


def meet_figure(gaps: Sequence[float]):
    """The learned bigram's training loss minus the counting model's, step by step, on a log axis."""
    from labkit.plot import figure

    fig, ax = figure()
    ax.plot(range(1, len(gaps) + 1), gaps)
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step (full batch)")
    ax.set_ylabel("loss above the counting model (nats)")
    ax.set_title("gradient descent walks to the counted probabilities")
    return fig


def curves_figure(steps: Sequence[int], train: Sequence[float], val: Sequence[float], lines: dict[str, float]):
    """The MLP's training and validation loss in bits per byte, with other models' validation as lines."""
    from labkit.plot import figure

    fig, ax = figure()
    ax.plot(steps, train, label="MLP, training (running mean of batches)")
    ax.plot(steps, val, marker="o", markersize=3, label="MLP, validation")
    for (name, value), style in zip(lines.items(), ["--", ":", "-."], strict=False):
        ax.axhline(value, linestyle=style, color="gray", label=name)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("bits per byte")
    ax.set_title("the fixed-context MLP learns past the bigram")
    ax.legend(fontsize=9)
    return fig


def bits_figure(table: dict[str, float], kinds: dict[str, str]):
    """Validation bits per byte of every model and compressor, as horizontal bars (shorter is better).

    An infinite value (a model that gave some byte probability 0) gets no bar, only the words.
    """
    from matplotlib.patches import Patch

    from labkit.plot import figure

    colors = {"model": "C0", "compressor": "C1", "compressor, after the training text": "C2"}
    fig, ax = figure(height=0.45 * len(table) + 1.6)
    names = list(table)
    finite = [v for v in table.values() if math.isfinite(v)]
    for row, name in enumerate(names):
        value = table[name]
        if math.isfinite(value):
            ax.barh(row, value, color=colors[kinds[name]])
            ax.text(value, row, f" {value:.3f}", va="center")
        else:
            ax.text(0.02 * max(finite), row, "∞: a pair it never saw has probability 0", va="center",
                    color=colors[kinds[name]])
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(len(names) - 0.5, -0.9)  # top to bottom, with room under the title
    ax.set_xlabel("bits per byte of the validation text (8 = stored as is)")
    ax.set_title("a language model is a compressor")
    ax.legend(handles=[Patch(color=c, label=k) for k, c in colors.items()], loc="upper center",
              bbox_to_anchor=(0.5, -0.16), ncol=3, fontsize=9)
    ax.set_xlim(0, max(finite) * 1.18)
    return fig


def entropy_figure(temperatures: Sequence[float], entropies: Sequence[float], vocab: int, marks: dict[float, float]):
    """The entropy of the next-token distribution against the temperature, from greedy to uniform."""
    from labkit.plot import figure

    fig, ax = figure()
    ax.plot(temperatures, entropies)
    ax.axhline(math.log2(vocab), color="gray", linestyle="--", label=f"uniform over {vocab} tokens")
    ax.scatter(list(marks), list(marks.values()), color="C3", zorder=3, label="the samples below")
    ax.set_xscale("log")
    ax.set_xlabel("temperature T")
    ax.set_ylabel("entropy of the next token (bits)")
    ax.set_title("low T: one sure token; high T: every token alike")
    ax.legend()
    return fig


# ---- explorer ----------------------------------------------------------------------------------


def sample_render(model: torch.nn.Module, bpe: BPE, prompt: str, *, context: int, temperature: float, top_k: int,
                  n: int, seed: int) -> tuple[str, object]:
    """The explorer's words and figure: a seeded continuation, and the next token's distribution after the prompt."""
    from labkit.plot import figure

    ids = bpe.encode(prompt)
    vocab = bpe.vocab()
    device = next(model.parameters()).device
    with torch.no_grad():
        logits = model(window(ids, context).to(device))[0].cpu()
    probs = next_distribution(logits, temperature, top_k)
    top = probs.topk(min(15, int((probs > 0).sum())))
    text = prompt + bpe.decode(generate(model, ids, n, context=context, temperature=temperature, top_k=top_k,
                                        seed=seed))
    fig, (left, right) = figure(2, width=11, height=4.2)
    left.axis("off")
    import textwrap

    shown = "\n".join(textwrap.fill(line, 48) for line in text.splitlines()[:14])
    left.text(0, 1, shown, va="top", family="monospace", fontsize=9)
    left.set_title(f"seed {seed}: {n} tokens after {prompt!r}", fontsize=10)
    labels = [printable(vocab[int(i)]) for i in top.indices]
    right.barh(range(len(labels)), top.values.tolist(), color="C0")
    right.set_yticks(range(len(labels)), labels, fontfamily="monospace")
    right.invert_yaxis()
    right.set_xlabel("probability of the next token")
    entropy = entropy_bits(probs)
    kept = int((probs > 0).sum())
    right.set_title(f"T = {temperature:.3g}, top-k {top_k}: {kept} tokens possible, entropy {entropy:.2f} bits",
                    fontsize=10)
    words = (f"temperature {temperature:g}, top-k {top_k}: the next token after {prompt!r} has entropy "
             f"{entropy:.2f} bits over {kept} possible tokens")
    return words, fig


def sample_explorer(model: torch.nn.Module, bpe: BPE, prompt: str, *, context: int, n: int = 60, seed: int = 0,
                    temperature: float = 0.8, top_k: int = 20) -> None:
    """Temperature and top-k sliders: the seeded continuation and the next-token distribution change with them."""
    from labkit.explorer import explorer

    explorer(
        lambda w: [[("temperature", w.FloatLogSlider(value=temperature, base=10, min=-1.3, max=0.6, step=0.05,
                                                     description="temperature", continuous_update=False)),
                    ("top_k", w.IntSlider(value=top_k, min=1, max=bpe.vocab_size, step=1, description="top-k",
                                          continuous_update=False))]],
        lambda temperature, top_k: sample_render(model, bpe, prompt, context=context, temperature=temperature,
                                                 top_k=top_k, n=n, seed=seed),
        temperature=temperature, top_k=top_k,
    )
