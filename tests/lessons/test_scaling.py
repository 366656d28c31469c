"""Lesson 11's module: compute, the Markov source's entropy, the fitted laws and their optimum, figures."""

from __future__ import annotations

import math

import pytest
import torch

from labkit.errors import ParameterError
from labkit.lessons import scaling as sc

TRUE = sc.Law(E=1.2, A=30.0, alpha=0.4, B=200.0, beta=0.3)


def grid(law: sc.Law = TRUE, noise: float = 0.0, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    n = torch.tensor([1e3, 3e3, 1e4, 3e4, 1e5], dtype=torch.float64).repeat_interleave(4)
    d = torch.tensor([1e5, 1e6, 1e7, 1e8], dtype=torch.float64).repeat(5)
    loss = law(n, d) * torch.exp(noise * torch.randn(len(n), generator=gen, dtype=torch.float64))
    return n, d, loss


# ---- compute


def test_six_n_d_for_gpt3() -> None:
    # Brown et al. (2020), Table D.1: GPT-3 175B, 300B tokens, 3.14e23 training FLOPs
    assert sc.training_compute(175e9, 300e9) == pytest.approx(3.14e23, rel=0.01)


def test_gpu_days_is_compute_over_the_achieved_rate() -> None:
    assert sc.gpu_days(2 * 86_400 * 50e12, 100.0, 0.5) == pytest.approx(2.0)  # 50 TFLOP/s achieved, 2 days
    with pytest.raises(ParameterError, match="0 < utilisation <= 1"):
        sc.gpu_days(1e20, 100.0, 1.5)


# ---- the source of known entropy


def test_markov_rows_are_distributions_and_seeded() -> None:
    a, b = sc.markov_source(5, 2, seed=3), sc.markov_source(5, 2, seed=3)
    assert a.table.shape == (25, 5) and torch.allclose(a.table.sum(dim=1), torch.ones(25, dtype=torch.float64))
    assert torch.equal(a.table, b.table) and not torch.equal(a.table, sc.markov_source(5, 2, seed=4).table)


def test_stationary_distribution_is_stationary() -> None:
    source = sc.markov_source(4, 2, seed=1)
    pi = sc.stationary(source)
    moved = torch.zeros_like(pi)
    for s in range(source.states):
        for v in range(source.symbols):
            moved[int(sc.next_state(source, torch.tensor(s), torch.tensor(v)))] += pi[s] * source.table[s, v]
    assert float(pi.sum()) == pytest.approx(1.0) and torch.allclose(moved, pi, atol=1e-12)


def test_entropy_rate_of_known_chains() -> None:
    uniform = sc.MarkovSource(4, 1, torch.full((4, 4), 0.25, dtype=torch.float64))
    assert sc.entropy_rate(uniform) == pytest.approx(2.0)
    # a two-letter order-1 chain: stay with 0.9, switch with 0.1 -> H = H(0.9) = 0.469 bits
    flip = sc.MarkovSource(2, 1, torch.tensor([[0.9, 0.1], [0.1, 0.9]], dtype=torch.float64))
    h = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))
    assert sc.entropy_rate(flip) == pytest.approx(h)


def test_the_entropy_rate_is_the_loss_of_the_true_model_on_a_sample() -> None:
    source = sc.markov_source(6, 2, concentration=0.4, seed=2)
    letters = sc.sample(source, 60_000, seed=5)
    assert torch.equal(letters, sc.sample(source, 60_000, seed=5))
    state = letters[0] * source.symbols + letters[1]
    bits = []
    for letter in letters[2:].tolist():
        bits.append(-math.log2(float(source.table[state, letter])))
        state = int(sc.next_state(source, state, torch.tensor(letter)))
    assert sum(bits) / len(bits) == pytest.approx(sc.entropy_rate(source), rel=0.02)
    assert sc.source_bits(source, letters) == pytest.approx(sum(bits) / len(bits), rel=1e-12)


def test_bad_sources_get_one_line() -> None:
    with pytest.raises(ParameterError, match="need symbols >= 2"):
        sc.markov_source(1, 2)
    with pytest.raises(ParameterError, match="n = 0 is not allowed"):
        sc.sample(sc.markov_source(3, 1), 0)


# ---- training


def test_schedule_warms_up_then_decays_to_a_tenth() -> None:
    lr = [sc.learning_rate(s, lr=1.0, warmup=10, steps=100) for s in range(100)]
    assert lr[9] == pytest.approx(1.0) and lr[0] == pytest.approx(0.1) and lr[-1] == pytest.approx(0.1, abs=1e-3)
    assert sc.learning_rate(80, lr=1.0, warmup=10, steps=100, decay=False) == 1.0


class Bigram(torch.nn.Module):
    def __init__(self, v: int):
        super().__init__()
        self.table = torch.nn.Embedding(v, v)

    def forward(self, idx):
        return self.table(idx)


class Tiny(torch.nn.Module):  # an embedding (its own rate) and a linear head (a matrix and a bias)
    def __init__(self, v: int):
        super().__init__()
        self.table = torch.nn.Embedding(v, 4)
        self.out = torch.nn.Linear(4, v)

    def forward(self, idx):
        return self.out(self.table(idx))


def test_the_embeddings_take_their_own_rate_and_sgd_no_decay() -> None:
    from torch.optim.optimizer import register_optimizer_step_pre_hook

    seen = {}

    def first_step(optimizer, args, kwargs):  # the groups as the first update sees them
        seen.setdefault(type(optimizer).__name__, [(g["lr"], g["weight_decay"], len(g["params"]))
                                                   for g in optimizer.param_groups])

    hook = register_optimizer_step_pre_hook(first_step)
    try:
        ids = torch.arange(200) % 5
        torch.manual_seed(0)
        sc.train_lm(Tiny(5), ids, ids, steps=20, batch=2, context=4, lr=0.1, warmup=10, lr_embedding=0.5)
        sc.train_lm(Tiny(5), ids, ids, steps=20, batch=2, context=4, lr=0.1, warmup=10, optimizer="sgd")
    finally:
        hook.remove()
    # warm-up step 0 of 10: a tenth of each peak; matrices decay, biases and the embedding do not
    tenth = pytest.approx(0.01)
    assert seen["AdamW"] == [(tenth, 0.1, 1), (tenth, 0.0, 1), (pytest.approx(0.05), 0.0, 1)]
    assert all(decay == 0.0 for _, decay, _ in seen["SGD"]) and sum(n for *_, n in seen["SGD"]) == 3


def test_training_lowers_the_loss_towards_the_entropy() -> None:
    source = sc.markov_source(4, 1, concentration=0.5, seed=0)
    ids = sc.sample(source, 20_000, seed=0)
    torch.manual_seed(0)
    model = Bigram(4)
    start = sc.validation_loss(model, ids[-4000:], 16)
    points = sc.train_lm(model, ids[:-4000], ids[-4000:], steps=300, batch=16, context=16, lr=0.05, warmup=10,
                         evaluate_at=[100])
    assert [p["step"] for p in points] == [100, 300] and points[-1]["tokens"] == 300 * 16 * 16
    end = points[-1]["val_nats"] / math.log(2)
    assert end < start / math.log(2) and end == pytest.approx(sc.entropy_rate(source), abs=0.05)
    with pytest.raises(ParameterError, match="'adamw' or 'sgd'"):
        sc.train_lm(model, ids, ids, steps=1, batch=1, context=4, lr=0.1, optimizer="adam")


# ---- laws


def test_kaplans_law_is_its_formula() -> None:
    law = sc.KaplanLaw(Nc=8.8e13, alpha_N=0.076, Dc=5.4e13, alpha_D=0.095)  # Kaplan et al. 2020, Table 2
    n, d = 1e9, 1e10
    assert law(n, d) == pytest.approx(((8.8e13 / n) ** (0.076 / 0.095) + 5.4e13 / d) ** 0.095)
    assert law(n, 1e30) == pytest.approx((8.8e13 / n) ** 0.076), "with unlimited data only L(N) is left"
    assert law(1e30, d) == pytest.approx((5.4e13 / d) ** 0.095), "with unlimited size only L(D) is left"


def test_the_optimum_on_a_budget_is_the_closed_form() -> None:
    a, b = TRUE.alpha, TRUE.beta
    for c in (1e15, 1e18, 1e21):
        found = sc.optimal_on_budget(TRUE, c, points=20001)
        g = (a * TRUE.A / (b * TRUE.B)) ** (1 / (a + b))
        assert found["N"] == pytest.approx(g * (c / 6) ** (b / (a + b)), rel=0.01)
        assert 6 * found["N"] * found["D"] == pytest.approx(c) and found["loss"] == pytest.approx(
            float(TRUE(found["N"], found["D"])))


def test_compute_curves_and_the_multiplier() -> None:
    better, worse = (1.5, 40.0, 0.12), (1.5, 90.0, 0.12)
    line = (0.0, 40.0, 0.12)  # no floor: a straight line on log-log axes, as the lesson fits a frontier
    assert sc.compute_for_loss(line, 2.0) == pytest.approx((40.0 / 2.0) ** (1 / 0.12))
    target = 2.0
    assert better[0] + better[1] * sc.compute_for_loss(better, target) ** -better[2] == pytest.approx(target)
    assert sc.compute_multiplier(better, worse, target) == pytest.approx((90 / 40) ** (1 / 0.12))
    assert sc.compute_for_loss(better, 1.4) == math.inf


def test_the_frontier_keeps_only_points_no_cheaper_one_beats() -> None:
    points = [{"C": 1, "loss": 5}, {"C": 2, "loss": 6}, {"C": 3, "loss": 4}, {"C": 3, "loss": 4.5}, {"C": 9, "loss": 4}]
    assert [(p["C"], p["loss"]) for p in sc.frontier(points)] == [(1, 5), (3, 4)]


def test_bad_budgets_get_one_line() -> None:
    with pytest.raises(ParameterError, match="compute = 0 is not allowed"):
        sc.optimal_on_budget(TRUE, 0)


def test_an_optimum_outside_the_searched_range_is_flagged() -> None:
    # all loss from N: the optimum runs to the largest N searched, where D is smallest
    assert sc.optimal_on_budget(sc.Law(E=1.0, A=1e6, alpha=1.0, B=1e-30, beta=0.1), 1e18)["at_edge"]
    assert not sc.optimal_on_budget(TRUE, 1e18)["at_edge"]


# ---- figures and explorer


def test_figures_and_explorer_draw(capsys: pytest.CaptureFixture[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n, d, loss = grid()
    points = [{"N": float(a), "D": float(b), "C": 6 * float(a * b), "loss": float(c)}
              for a, b, c in zip(n, d, loss, strict=True)]
    fig = sc.scaling_figure(points, TRUE, shipped=points[:3], floor=1.2)
    assert len(fig.axes) == 3 and all(ax.get_xscale() == "log" for ax in fig.axes)
    # one curve of the law per D (left) and per N (middle), the frontier on the right
    assert len(fig.axes[0].lines) >= 2 * 4 and len(fig.axes[1].lines) >= 2 * 5
    plt.close(fig)
    kaplan = sc.KaplanLaw(Nc=1e7, alpha_N=0.1, Dc=1e8, alpha_D=0.2)
    fig = sc.prediction_figure(points, {"Hoffmann": (TRUE, 1.5, (1.4, 1.6)), "Kaplan": (kaplan, 1.52, (1.45, 1.6))},
                               n_new=3e5, d_new=1e8, measured=1.45, naive=1.7)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert "measured 1.450" in legend and "Kaplan: 1.520 (90% band 1.45 to 1.60)" in legend
    plt.close(fig)
    seeds = {(points[0]["N"], points[0]["D"]): [points[0]["loss"] * 1.05, points[0]["loss"] * 0.97]}
    fig = sc.residual_figure(points, {"Hoffmann": TRUE, "Kaplan": kaplan}, seeds=seeds)
    assert len(fig.axes) == 2 and fig.axes[0].get_ylim() == fig.axes[1].get_ylim(), "both laws on one scale"
    assert fig.axes[0].get_ylim()[1] >= 100 * (1 / 0.97 - 1), "the other seeds' bars fit on the axes"
    plt.close(fig)
    plt.close(sc.profile_figure([1.0, 1.1, 1.2], [0.02, 0.021, 0.03], best=1.05, truth=1.2))
    runs = {"AdamW": points[:8], "SGD": [dict(p, loss=p["loss"] * 1.2) for p in points[:8]]}
    fig = sc.frontier_figure(runs, {"AdamW": (1.5, 40.0, 0.12), "SGD": (1.5, 90.0, 0.12)}, target=2.0,
                             reached={"AdamW": 1e12, "SGD": None}, unit="bits per letter")
    assert fig.axes[0].get_ylabel() == "validation loss (bits per letter)"
    assert "AdamW reaches the target: 1e+12 FLOPs" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    plt.close(fig)
    gpu = {"name": "GPU X", "peak_tflops": {"bfloat16": 100.0, "float32": 10.0}}
    words, fig = sc.budget_render(TRUE, 6e17, gpu, utilisation=0.5)
    best = sc.optimal_on_budget(TRUE, 6e17)
    assert f"N = {best['N']:.3g}" in words and "on one GPU X at 50% of its 100 TFLOP/s" in words
    assert "days" in words or "hours" in words or "seconds" in words
    assert "on one GPU X at 50%" in fig.axes[0].get_title(), "another GPU draws another figure, not only other words"
    assert "bootstrap" not in words and "WARNING" not in words
    plt.close(fig)
    others = [sc.Law(TRUE.E, TRUE.A * f, TRUE.alpha, TRUE.B, TRUE.beta) for f in (0.5, 0.8, 1.0, 1.25, 2.0)]
    words, fig = sc.budget_render(TRUE, 6e17, gpu, utilisation=0.5, laws=others, fresh_tokens=1e6)
    ratios = torch.tensor([sc.optimal_on_budget(law, 6e17)["tokens_per_parameter"] for law in others],
                          dtype=torch.float64)
    low, high = torch.quantile(ratios, torch.tensor([0.05, 0.95], dtype=torch.float64)).tolist()
    assert f"90% of 5 bootstrap refits: {low:.3g} to {high:.3g}" in words
    losses = torch.tensor([sc.optimal_on_budget(law, 6e17)["loss"] for law in others], dtype=torch.float64)
    low, high = torch.quantile(losses, torch.tensor([0.05, 0.95], dtype=torch.float64)).tolist()
    assert low < high and f"(90% of the refits' own optima: {low:.3f} to {high:.3f})" in words, "the loss's interval"
    assert f"WARNING: D is {best['D'] / 1e6:,.0f} times the 1,000,000 tokens of fresh text" in words
    plt.close(fig)
    t4 = {"name": "T4-like", "peak_tflops": {"float32": 8.1, "float16": 65.0, "bfloat16": None}}
    words, fig = sc.budget_render(TRUE, 6e17, t4, utilisation=0.5)
    assert "its 65 TFLOP/s (float16, specification)" in words, "a sheet without bfloat16 is read at its float16"
    plt.close(fig)
    assert sc.budget_explorer(TRUE, [gpu], compute=1e18, laws=others) is None
    assert "predicted optimum" in capsys.readouterr().out
