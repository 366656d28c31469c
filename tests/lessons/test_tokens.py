"""Lesson 09's module: byte-pair encoding (round trips, merges, Hugging Face), next-token models, bits, sampling."""

from __future__ import annotations

import math
import random
import re

import pytest
import torch

from labkit.errors import ParameterError
from labkit.lessons import tokens as tk

ENGLISH = ("The quick brown fox jumps over the lazy dog. The dog sleeps; the fox runs off, and the fox "
           "comes back the next day, and the next, and the next.\n\n    def f(x):\n        return x + 1\n") * 4


def _merge_by_hand(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def _random_unicode(rng: random.Random, n: int) -> str:
    """Characters from every width of UTF-8: ASCII, Latin, Greek, Han, emoji (with a ZWJ sequence), combining marks."""
    pools = ["abc xyz\n\t", "éßøñ", "αβγ", "中文字词元", "🙂🚀👩‍💻", "\u0301\u200d", "\U0010fffd\U0001f600"]
    chars = [rng.choice(rng.choice(pools)) for _ in range(n)]
    chars += [chr(rng.randrange(0x20, 0x110000)) for _ in range(n // 4)]
    rng.shuffle(chars)
    return "".join(c for c in chars if not 0xD800 <= ord(c) <= 0xDFFF)  # lone surrogates are not text UTF-8 can hold


@pytest.fixture(scope="module")
def trained() -> tk.BPE:
    return tk.train_bpe(ENGLISH + "中文中文中文 🙂🙂🙂", 256 + 60, tk.GPT2_SPLIT)


# ---- merging


@pytest.mark.parametrize(("ids", "pair", "merged"), [
    ([97, 97, 97], (97, 97), [256, 97]),
    ([97] * 4, (97, 97), [256, 256]),
    ([97] * 5, (97, 97), [256, 256, 97]),
    ([1, 2, 1, 2], (1, 2), [256, 256]),
    ([3, 1, 2], (1, 2), [3, 256]),
    ([], (1, 2), []),
    ([1], (1, 1), [1]),
    ([2, 1], (1, 2), [2, 1]),
])
def test_merge_takes_pairs_left_to_right_without_overlap(ids, pair, merged) -> None:
    assert tk.merge(torch.tensor(ids, dtype=torch.long), pair, 256).tolist() == merged


def test_merge_agrees_with_the_plain_loop_on_random_runs() -> None:
    g = torch.Generator().manual_seed(0)
    for _ in range(500):
        ids = torch.randint(0, 3, (int(torch.randint(0, 20, (1,), generator=g)),), generator=g)
        pair = tuple(torch.randint(0, 3, (2,), generator=g).tolist())
        assert tk.merge(ids, pair, 9).tolist() == _merge_by_hand(ids.tolist(), pair, 9), (ids.tolist(), pair)


def test_merge_never_crosses_a_wall() -> None:
    ids = torch.tensor([1, tk.WALL, 1, 1])
    assert tk.merge(ids, (1, 1), 5).tolist() == [1, tk.WALL, 5]
    assert tk.pair_counts(ids, 6)[1, 1] == 1 and tk.pair_counts(ids, 6).sum() == 1


def test_pair_counts_count_overlapping_pairs() -> None:
    counts = tk.pair_counts(torch.tensor([97, 97, 97, 98]), 100)
    assert counts[97, 97] == 2 and counts[97, 98] == 1 and counts.sum() == 3


# ---- training, encoding, decoding


def test_training_merges_the_most_frequent_pair_first() -> None:
    bpe = tk.train_bpe("ab ab ab cd", 257)
    assert bpe.merges == [(ord("a"), ord("b"))]
    assert bpe.vocab()[256] == b"ab"


def test_ties_go_to_the_smallest_pair_number() -> None:
    bpe = tk.train_bpe("cdab", 257)  # every pair once... a pair must occur twice to be merged
    assert bpe.merges == []
    bpe = tk.train_bpe("cdabcdab", 257)  # 'cd', 'da', 'ab', 'bc' twice or once: 'ab' has the smallest number
    assert bpe.merges == [(ord("a"), ord("b"))]


def test_training_stops_when_no_pair_repeats() -> None:
    bpe = tk.train_bpe("abcdefg", 300)
    assert bpe.merges == [] and bpe.vocab_size == 256


@pytest.mark.parametrize("split", [None, tk.GPT2_SPLIT])
def test_encode_then_decode_round_trips_arbitrary_unicode(trained: tk.BPE, split) -> None:
    rng = random.Random(2026)
    bpe = tk.BPE(trained.merges, split)
    for n in (0, 1, 2, 7, 50, 400):
        text = _random_unicode(rng, n)
        ids = bpe.encode(text)
        assert bpe.decode(ids) == text, repr(text)
        assert ((0 <= ids) & (ids < bpe.vocab_size)).all()
    for text in ("中文中文中文 🙂🙂🙂", "👩‍💻 e\u0301 \U0010fffd", "", " ", "\n\n\n", "aaaa"):
        assert bpe.decode(bpe.encode(text)) == text, repr(text)


def test_a_token_cut_inside_a_character_decodes_as_a_replacement_character() -> None:
    bpe = tk.BPE()
    ids = bpe.encode("中")
    assert len(ids) == 3 and bpe.decode(ids[:2]) == "\ufffd"


def test_the_gpt2_pattern_covers_every_character() -> None:
    rng = random.Random(1)
    for _ in range(50):
        text = _random_unicode(rng, 60)
        assert "".join(re.findall(tk.GPT2_SPLIT, text)) == text


def test_truncating_gives_the_smaller_tokenizer(trained: tk.BPE) -> None:
    small = trained.truncated(256 + 10)
    assert small.merges == trained.merges[:10] and small.split == trained.split
    with pytest.raises(ParameterError, match="vocab_size = 255 is not allowed"):
        trained.truncated(255)
    with pytest.raises(ParameterError, match="vocab_size = 200 is not allowed"):
        tk.train_bpe("abc", 200)


def test_the_lesson_bpe_matches_hugging_face_up_to_ties() -> None:
    bpe = tk.train_bpe(ENGLISH, 256 + 40, tk.GPT2_SPLIT)
    hf = tk.train_hf_bpe(ENGLISH, 256 + 40)
    theirs = tk.hf_merges(hf)
    assert len(theirs) == len(bpe.merges) == 40
    # This text repeats itself, so many pairs tie and the two lists part early; but replayed on the same
    # pieces, every one of Hugging Face's merges took a pair as frequent as any: the same algorithm.
    steps = tk.replay(ENGLISH, theirs, tk.GPT2_SPLIT)
    assert all(count == most for count, most in steps), steps
    vocab = bpe.vocab()
    ours = [(vocab[a], vocab[b]) for a, b in bpe.merges]
    assert all(count == most for count, most in tk.replay(ENGLISH, ours, tk.GPT2_SPLIT))
    assert tk.replay(ENGLISH, [(b"q", b"u")], tk.GPT2_SPLIT)[0][0] < tk.replay(ENGLISH, [(b"q", b"u")])[0][1]
    assert hf.decode(hf.encode(ENGLISH).ids) == ENGLISH


def test_hf_byte_chars_invert_the_byte_level_alphabet() -> None:
    from tokenizers import pre_tokenizers

    chars = tk.hf_byte_chars()
    assert sorted(chars.values()) == list(range(256))
    assert set(chars) == set(pre_tokenizers.ByteLevel.alphabet())
    assert chars["Ġ"] == ord(" ") and chars["Ċ"] == ord("\n") and chars["a"] == ord("a")


def test_first_difference() -> None:
    assert tk.first_difference([1, 2, 3], [1, 2, 4]) == 2
    assert tk.first_difference([1, 2], [1, 2, 3]) is None


# ---- models and bits


def test_contexts_are_every_window_and_the_token_after_it() -> None:
    x, y = tk.contexts(torch.arange(6), 2)
    assert x.tolist() == [[0, 1], [1, 2], [2, 3], [3, 4]] and y.tolist() == [2, 3, 4, 5]


def test_mlp_shapes_and_nll_sum_equals_cross_entropy() -> None:
    torch.manual_seed(0)
    model = tk.MLP(50, 3, 4, 8)
    x, y = torch.randint(0, 50, (37, 3)), torch.randint(0, 50, (37,))
    assert model(x).shape == (37, 50)
    with torch.no_grad():
        expected = float(torch.nn.functional.cross_entropy(model(x), y, reduction="sum"))
    assert math.isclose(tk.nll_sum(model, x, y, batch=5), expected, rel_tol=1e-5)


def test_bits_per_byte_of_a_uniform_byte_model_is_eight() -> None:
    assert math.isclose(tk.bits_per_byte_of(1000 * math.log(256), 1000), 8.0)


def test_compressors_in_bits_per_byte() -> None:
    text = ENGLISH.encode()
    alone = tk.compressed_bits_per_byte(text)
    assert set(alone) == {"gzip", "bz2", "lzma"} and all(0 < v < 8 for v in alone.values())
    after = tk.compressed_bits_per_byte(text, after=text)  # the same text again costs almost nothing
    assert all(after[name] < alone[name] / 2 for name in alone), (alone, after)


# ---- sampling


def test_entropy_in_bits() -> None:
    assert math.isclose(tk.entropy_bits(torch.full((8,), 1 / 8)), 3.0)
    assert tk.entropy_bits(torch.tensor([1.0, 0.0])) == 0.0


def test_next_distribution_temperature_and_top_k() -> None:
    z = torch.tensor([2.0, 1.0, 0.0, -1.0])
    assert torch.allclose(tk.next_distribution(z, 1.0, 4), torch.softmax(z.double(), 0))
    cut = tk.next_distribution(z, 0.5, 2)
    assert (cut[2:] == 0).all() and torch.allclose(cut[:2], torch.softmax(z[:2].double() / 0.5, 0))
    assert tk.next_distribution(z, 1e-6, 4)[0] == 1.0
    assert torch.allclose(tk.next_distribution(z, 1.0, 100), torch.softmax(z.double(), 0))


def test_generate_is_seeded_and_top_k_one_is_greedy() -> None:
    torch.manual_seed(0)
    model = tk.MLP(30, 2, 4, 8)
    start = torch.tensor([1, 2])
    a = tk.generate(model, start, 10, context=2, temperature=1.0, top_k=30, seed=3)
    b = tk.generate(model, start, 10, context=2, temperature=1.0, top_k=30, seed=3)
    assert torch.equal(a, b) and len(a) == 10
    greedy = tk.generate(model, start, 5, context=2, temperature=1.0, top_k=1, seed=0)
    ids = start.tolist()
    with torch.no_grad():
        for _ in range(5):
            ids.append(int(model(torch.tensor(ids[-2:]).reshape(1, -1))[0].argmax()))
    assert greedy.tolist() == ids[2:]


def test_printable_shows_spaces_newlines_and_cut_characters() -> None:
    assert tk.printable(b" the\n") == "·the↵"
    assert tk.printable("中".encode()[:2]) == "\ufffd"


def test_pieces_label_each_token_of_an_encoding(trained: tk.BPE) -> None:
    ids = trained.encode(" the cat\n")
    assert "".join(trained.pieces(ids)) == "·the·cat↵" and len(trained.pieces(ids)) == len(ids)


# ---- figures and explorer


def test_figures_draw(trained: tk.BPE) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figs = [
        tk.bytes_per_token_figure([300, 512], {"a": [1.2, 2.0], "b": [1.2, 2.0]}),
        tk.tokens_per_character_figure({"en": [0.5, 0.4], "zh": [2.9, 2.8]}, [300, 512]),
        tk.bigram_figure(torch.rand(5, 5), ["a", "b", "c", "d", "e"]),
        tk.meet_figure([1.0, 0.1, 0.01]),
        tk.curves_figure([1, 2], [3.0, 2.5], [3.1, 2.7], {"bigram": 2.9}),
        tk.bits_figure({"MLP": 2.0, "counted": math.inf, "gzip": 2.7},
                       {"MLP": "model", "counted": "model", "gzip": "compressor"}),
        tk.entropy_figure([0.1, 1.0, 10.0], [0.1, 2.0, 5.0], 64, {1.0: 2.0}),
    ]
    torch.manual_seed(0)
    model = tk.MLP(trained.vocab_size, 2, 4, 8)
    words, fig = tk.sample_render(model, trained, "The ", context=2, temperature=0.8, top_k=5, n=12, seed=0)
    figs.append(fig)
    assert "entropy" in words and "top-k 5" in words and "over 5 possible tokens" in words
    for fig in figs:
        assert fig.axes
        plt.close(fig)
