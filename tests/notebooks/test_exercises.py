"""Hidden tests catch the mistakes they are written for, and no exercise is passed by a shortcut.

A plausible wrong answer passes the visible asserts, and the hidden ones reject it with the message
that names the mistake. A shortcut (the helper the lesson imports, called by any name; the cell
above renamed) fails the test cell too: ``labkit.exercise.helpers_off`` switches the helpers off.

Each case replaces one solution region of a lesson with the wrong answer, runs the lesson's code
cells before it in one namespace (as the kernel would), then the test cell in two halves.
"""

from __future__ import annotations

import contextlib
import io

import matplotlib
import nbformat
import pytest

from helpers.paths import NOTEBOOKS
from helpers.submissions import HIDDEN_BEGIN, replace_solution

matplotlib.use("Agg")

L07_SETUP = "import math\nimport torch\nfrom labkit.lessons import compress as cz\n"
L09_TOKENS = ("import math\nimport torch\nfrom torch.nn import functional as F\n"
              "from labkit.lessons import tokens as tk\n")
# A made-up model's numbers for the bits exercise: its visible test reads them, the hidden ones bring their own.
L09_BITS = L09_TOKENS + (
    "from labkit.data import chinese_text, corpus\ntrain_text, zh_text = corpus('train'), chinese_text()\n"
    "val_nats_mlp, y_val, val_target_bytes = 3.0, [0] * 100, 210\ntable = {'MLP': 3.0 * 100 / 210 / math.log(2)}\n"
)
# A small random corpus for the smoothing exercise: most of its validation pairs were never seen in training.
L09_BIGRAM = L09_TOKENS + """g = torch.Generator().manual_seed(0)
vocab_size = 20
train_ids, val_ids = torch.randint(0, 20, (300,), generator=g), torch.randint(0, 20, (200,), generator=g)
counts = tk.pair_counts(train_ids, 20).double()
P_count = counts / counts.sum(1, keepdim=True).clamp_min(1)
prev, nxt, prev_train, next_train = val_ids[:-1], val_ids[1:], train_ids[:-1], train_ids[1:]
val_nats_count = float(-P_count[prev, nxt].log().mean())
seen = counts > 0
train_nats_count = float(-(counts[seen] * P_count[seen].log()).sum() / counts.sum())
to_bpb = 1.0
"""

# Lesson 10: an untrained GPT of a small shape stands in for the trained one (the tests compare with it, not with text).
L10_GPT = """import math
import torch
from torch.nn import functional as F
from labkit.lessons import gpt
from labkit.lessons import tokens as tk
torch.manual_seed(0)
vocab_size, context, layers, width = 300, 32, 2, 24
model = gpt.GPT(gpt.GPTConfig(vocab=vocab_size, context=context, layers=layers, width=width, heads=4)).eval()
n_params = gpt.count_parameters(model)
bpe = tk.BPE([(116, 104), (256, 101)])
prompt_ids = bpe.encode("The value of").tolist()
"""

L11_SCALING = """import math
import numpy as np
import torch
from labkit import data
from labkit.lessons import scaling as sc
"""

CASES = [
    # lesson, solution cell, the wrong answer, what the hidden tests must say
    ("00_start_here", "bytes_needed",
     ("    count = 1\n", "    if not shape:  # no sides, so no elements? A scalar is one number\n        return 0\n"
                       "    count = 1\n"),
     "a scalar has one element"),
    ("01_loss_functions", "l01_stable_ce",
     "def stable_cross_entropy(logits, target):\n"
     "    m = logits.max()  # one max for the whole batch, not one per row\n"
     "    log_sum_exp = m + torch.log(torch.exp(logits - m).sum(dim=1))\n"
     "    return (log_sum_exp - logits.gather(1, target.unsqueeze(1)).squeeze(1)).mean()\n",
     "each row's own max"),
    ("02_gradient_descent", "l02_learning_rates",
     "lr_best = 0.074  # fewest steps from this start, but not the fastest rate in the long run\n"
     "rate_best = 1 - 0.074\nlr_diverge = 0.1\n",
     "the fastest fixed rate balances"),
    # (old, new): the wrong answer is the solution with one line changed
    ("05_backpropagation", "l05_value_backward",
     ("self.grad += (1 - t**2) * out.grad", "self.grad += 1 - t**2  # forgets the gradient arriving from above"),
     "multiply the local derivative by out.grad"),
    ("05_backpropagation", "l05_cross_entropy_backward",
     ("    return (P - onehot) / len(y)", "    return P - onehot  # the gradient of the sum, not of the mean"),
     "divide by N"),
    ("05_backpropagation", "l05_train_values",
     ("    return {\"W1\": W1, \"b1\": b1, \"W2\": W2, \"b2\": b2}, losses",
      "    params.update(W1=W1, b1=b1, W2=W2, b2=b2)  # hands back the caller's dict, changed\n"
      "    return params, losses"),
     "leave params unchanged"),
    ("06_classifier", "l06_accuracy",
     ("""    right, total = 0, 0
    with torch.no_grad():
        for x, y in batches:
            right += int((model(x).argmax(dim=1) == y).sum())
            total += len(y)
    return right / total""",
      """    with torch.no_grad():  # the mean of the batches' accuracies: a short last batch counts too much
        means = [float((model(x).argmax(dim=1) == y).float().mean()) for x, y in batches]
    return sum(means) / len(means)"""),
     "weigh each batch by its size"),
    # (lesson, cell, wrong, message, setup): these exercises need only the imports in setup, not the lesson's run
    ("03_linear_regression", "l03_weighted_least_squares",
     ("    Xw = X * w.reshape(-1, 1)  # row i times w_i: Xᵀ W = Xwᵀ",
      "    Xw = X * w.sqrt().reshape(-1, 1)  # the square root belongs to the other formulation"),
     "a weight of k must count a house as k copies of it", "import torch\n"),
    ("03_linear_regression", "l03_exact_step",
     ("    Hg = X.T @ (X @ g) / n  # the curvature XᵀX/n applied to g", "    Hg = X.T @ (X @ g)  # forgets the mean"),
     "α must minimise the loss along the line", "import torch\n"),
    ("04_gpu_vs_cpu", "l04_crossover",
     ("    if max(ratios) < 1 / (1 + tolerance):", "    if max(ratios) < 1 - tolerance:  # not the same factor"),
     "with tolerance 0.02",
     "from labkit import bench\nsweep = {'n': [16, 32], 'compared': {'cpu_1thread/cpu': [{'ratios': [0.5] * 5}, "
     "{'ratios': [2.0] * 5}]}}\n"),
    ("07_precision_and_compression", "l07_format_edges",
     ("return 2.0 ** (1 - bias - M) / 2", "return 2.0 ** (1 - bias - M)  # the smallest subnormal itself"),
     "the threshold must be the largest value that becomes 0", L07_SETUP),
    ("07_precision_and_compression", "l07_format_edges",
     ("return min(2 ** (M + 1), math.floor(largest))", "return 2 ** (M + 1)  # forgets where the range ends"),
     "the range ends at 15.9", L07_SETUP),
    ("07_precision_and_compression", "l07_loss_scaling",
     ("return None, scale * 0.5, 0", "return None, scale * 0.5, good_steps  # keeps counting across an overflow"),
     "your scale", L07_SETUP),
    ("07_precision_and_compression", "l07_loss_scaling",
     ("if not all(bool(torch.isfinite(g).all()) for g in grads):",
      "if any(bool(torch.isinf(g).any()) for g in grads):  # NaN slips through"),
     "skip exactly the steps whose gradients overflowed", L07_SETUP),
    ("07_precision_and_compression", "l07_csr_break_even",
     ("    pointers = (rows + 1) * pointer_bits  # paid even by an empty matrix",
      "    pointers = 0  # forgets the row pointers"),
     "is larger than dense", L07_SETUP),
    ("09_tokens_and_language_models", "l09_merge_pair",
     ("    while i < len(ids):", "    while i < len(ids) - 1:  # stops a step early: a last lone id is lost"),
     "'aaa' -> 'Xa'", L09_TOKENS),
    ("09_tokens_and_language_models", "l09_bits",
     ("    return 2.0 ** (bpb * bytes_per_token)", "    return math.exp(bpb * bytes_per_token)  # bits, not nats"),
     "2 ** (bpb × bytes per token)", L09_BITS),
    ("09_tokens_and_language_models", "l09_sample",
     ("    k = min(top_k, len(scaled))", "    k = len(scaled)  # forgets the cut"),
     "top_k = 1 is greedy", L09_TOKENS + "vocab_size = 5\nlogits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])\n"),
    ("09_tokens_and_language_models", "l09_add_one",
     ("    return (counts + 1) / (counts.sum(dim=1, keepdim=True) + V)",
      "    counts += 1  # smooths the caller's table in place\n    return counts / counts.sum(dim=1, keepdim=True)"),
     "leave the counts unchanged", L09_BIGRAM),
    ("10_attention_and_gpt", "l10_self_attention",
     ("    scores = q @ k.transpose(-2, -1) / math.sqrt(hs)",
      "    scores = q @ k.transpose(-2, -1) / math.sqrt(C)  # the model's width, not the head's"),
     "scale by 1/√(head size)", L10_GPT),
    ("10_attention_and_gpt", "l10_parameters",
     ("    head = 0 if tied else vocab * d", "    head = 0 if tied else vocab * d + vocab  # gives the head a bias"),
     "the head has no bias", L10_GPT),
    ("10_attention_and_gpt", "l10_cached_step",
     ("model.pos.weight[length]", "model.pos.weight[0]  # every token at position 0"),
     "from the model run on the whole sequence", L10_GPT),
    ("11_scaling", "l11_fit_predict",  # no check of E: the logarithm of a loss at or below E
     ("    if (excess <= 0).any():\n", "    if False:  # every loss is above E, surely\n"),
     "raise a ValueError", L11_SCALING),
    ("11_scaling", "l11_fit_predict",  # no check of its own: math.log's "math domain error" raised instead
     ("    if (excess <= 0).any():\n",
      "    [math.log(v) for v in excess.tolist()]  # math.log raises for a loss at or below E\n    if False:\n"),
     "the ValueError should say E = ", L11_SCALING),
    ("11_scaling", "l11_compute_optimal",
     ("(C / 6) ** (b / (a + b))", "(C / 6) ** (a / (a + b))  # the exponents swapped"), "at C =", L11_SCALING),
    ("11_scaling", "l11_isoflop",  # the loss interpolated linearly in D, not in log D
     ('share = math.log(d / before["D"]) / math.log(after["D"] / before["D"])',
      'share = (d - before["D"]) / (after["D"] - before["D"])'), "interpolate linearly in log D", L11_SCALING),
    ("11_scaling", "l11_isoflop",  # a bottom outside the widths trained, reported as the optimum
     ("    if not profile[0][0] <= n_opt <= profile[-1][0]:\n", "    if False:  # the parabola knows best\n"),
     "the parabola's bottom is outside the profile's N", L11_SCALING),
]


# The shortcuts an exercise must not let through: the solution region replaced by each, the whole test cell must fail
# with the message given. (Lessons adopt labkit.exercise.helpers_off one by one; each lists its shortcuts here.)
SHORTCUTS = [
    # lesson, solution cell, the shortcut (the body of the solution region), what the failure must say[, setup]
    ("00_start_here", "bytes_needed", "return tensor_nbytes(shape, dtype)",
     "labkit.lessons.memory.tensor_nbytes is switched off while your answer runs"),
    ("00_start_here", "bytes_needed",
     "from labkit.lessons.memory import tensor_nbytes as size_of  # another name for the same helper\n"
     "return size_of(shape, dtype)", "tensor_nbytes is switched off"),
    ("00_start_here", "bytes_needed",
     "import math\nreturn int(inference_bytes(math.prod(shape), str(dtype).removeprefix('torch.')))",
     "labkit.footprint.inference_bytes is switched off"),
    ("00_start_here", "bytes_needed",  # a tensor that holds no memory, made only to read its size
     "return torch.empty(shape, dtype=dtype, device='meta').nbytes", "torch.empty is switched off"),
    ("00_start_here", "bytes_needed",
     "return torch.tensor(0, dtype=dtype).expand(shape).nbytes", "torch.Tensor.expand is switched off"),
    ("00_start_here", "bytes_needed",
     "import math\n"
     "return int(training_bytes(math.prod(shape), weights='float32', optimizer='sgd', master=False).total) // 2",
     "labkit.footprint.training_bytes is switched off"),
    ("11_scaling", "l11_fit_predict",
     "import numpy as np\nslope, icpt = np.polyfit(np.log(n), np.log(np.asarray(loss) - E), 1)\n"
     "return math.exp(icpt), -slope, E + math.exp(icpt) * n_new ** slope", "numpy.polyfit is switched off",
     L11_SCALING),
    ("11_scaling", "l11_fit_predict",
     "from scipy.optimize import curve_fit as fit_curve  # another name, taken before the test\n"
     "(a, alpha), _ = fit_curve(lambda x, a, b: E + a * x ** -b, n, loss, p0=(1.0, 0.5))\n"
     "return float(a), float(alpha), E + a * n_new ** -alpha", "scipy.optimize.curve_fit is switched off",
     L11_SCALING),
    ("11_scaling", "l11_compute_optimal",
     "r = sc.optimal_on_budget(law, C, points=40001)\nreturn r['N'], r['D']",
     "labkit.lessons.scaling.optimal_on_budget is switched off", L11_SCALING),
    ("11_scaling", "l11_compute_optimal",
     "from scipy.optimize import minimize_scalar\n"
     "f = lambda x: law.A / math.exp(x) ** law.alpha + law.B / (C / 6 / math.exp(x)) ** law.beta\n"
     "n = math.exp(minimize_scalar(f, bounds=(0, math.log(C / 6)), method='bounded').x)\nreturn n, C / (6 * n)",
     "scipy.optimize.minimize_scalar is switched off", L11_SCALING),
]


def _cells(lesson: str):
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


def _run(source: str, namespace: dict) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - the lesson's own code


def _namespace_before(cells, index: int) -> dict:
    namespace: dict = {"__name__": "__lesson__"}
    for cell in cells[:index]:
        if cell.metadata.get("nbgrader", {}).get("grade"):  # an earlier test cell: not needed
            continue
        _run(cell.source, namespace)
    return namespace


def _ids(cases) -> list[str]:
    seen: dict[str, int] = {}
    ids = []
    for case in cases:
        seen[case[1]] = seen.get(case[1], 0) + 1
        ids.append(case[1] if seen[case[1]] == 1 else f"{case[1]}-{seen[case[1]]}")
    return ids


@pytest.mark.parametrize("case", CASES, ids=_ids(CASES))
def test_hidden_tests_reject_the_plausible_wrong_answer(case) -> None:
    lesson, grade_id, wrong, message, *setup = case
    cells = _cells(lesson)
    (index,) = [i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    test_cell = cells[index + 1]
    visible, hidden = test_cell.source.split(HIDDEN_BEGIN)
    if setup:  # only what the exercise needs, stated here (a NameError says when that is no longer enough)
        namespace: dict = {"__name__": "__lesson__"}
        _run(setup[0], namespace)
    else:
        namespace = _namespace_before(cells, index)

    _run(cells[index].source, namespace)  # the instructor's answer passes everything
    _run(test_cell.source, namespace)

    if isinstance(wrong, tuple):
        old, new = wrong
        assert old in cells[index].source, f"the solution no longer holds {old!r}"
        wrong = cells[index].source.replace(old, new)
    _run(wrong, namespace)
    _run(visible, namespace)  # the wrong answer gets past the visible asserts ...
    with pytest.raises(Exception) as caught:  # noqa: PT011 - an AssertionError, or the error it makes
        _run(visible + hidden, namespace)
    assert message in str(caught.value), f"the hidden tests stopped it, but with {caught.value!r}"


@pytest.mark.parametrize("case", SHORTCUTS, ids=[f"{c[1]}-shortcut-{k}" for k, c in enumerate(SHORTCUTS)])
def test_the_shortcut_fails_the_test_cell(case) -> None:
    lesson, grade_id, shortcut, message, *setup = case
    cells = _cells(lesson)
    (index,) = [i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    if setup:  # only what the exercise needs (running the lesson's cells before it would train its models)
        namespace: dict = {"__name__": "__lesson__"}
        _run(setup[0], namespace)
        _run(cells[index].source, namespace)
        _run(cells[index + 1].source, namespace)  # the instructor's answer passes its test cell
    else:
        namespace = _namespace_before(cells, index)
    answer = replace_solution(cells[index].source, shortcut.splitlines())
    assert answer != cells[index].source, "the shortcut replaced nothing"
    _run(answer, namespace)
    with pytest.raises(AssertionError) as caught:
        _run(cells[index + 1].source, namespace)
    assert message in str(caught.value), f"the test cell stopped it, but with {caught.value!r}"
