"""Hidden tests catch the mistakes they are written for: a plausible wrong answer passes the visible
asserts, and the hidden ones reject it with the message that names the mistake.

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
from helpers.submissions import HIDDEN_BEGIN

matplotlib.use("Agg")

CASES = [
    # lesson, solution cell, the wrong answer, what the hidden tests must say
    ("00_start_here", "bytes_needed",
     "def bytes_needed(shape, dtype):\n    return torch.empty(shape, dtype=dtype).nbytes  # builds the tensor\n",
     "large shapes must not allocate"),
    ("01_loss_functions", "l01_stable_ce",
     "def stable_cross_entropy(logits, target):\n"
     "    m = logits.max()  # one max for the whole batch, not one per row\n"
     "    log_sum_exp = m + torch.log(torch.exp(logits - m).sum(dim=1))\n"
     "    return (log_sum_exp - logits.gather(1, target.unsqueeze(1)).squeeze(1)).mean()\n",
     "each row's own max"),
    ("02_gradient_descent", "l02_learning_rates",
     "lr_best = 0.07  # converges, but not the fastest fixed rate\nlr_diverge = 0.1\n",
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


@pytest.mark.parametrize(("lesson", "grade_id", "wrong", "message"), CASES, ids=[c[1] for c in CASES])
def test_hidden_tests_reject_the_plausible_wrong_answer(lesson, grade_id, wrong, message) -> None:
    cells = _cells(lesson)
    (index,) = [i for i, c in enumerate(cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id]
    test_cell = cells[index + 1]
    visible, hidden = test_cell.source.split(HIDDEN_BEGIN)
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
