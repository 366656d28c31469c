"""The lessons' shipped results in data/results/: measured at the defaults, loaded by ``labkit.data.measured``."""

from __future__ import annotations

import ast
import json
import re

import nbformat
import pytest

from helpers.paths import NOTEBOOKS, ROOT
from labkit.course.catalog import inspect_params
from labkit.data import measured, measured_sweep
from labkit.errors import DataNotFoundError

RESULTS = ROOT / "data" / "results"
SHIPPED = sorted(RESULTS.glob("*.json"))


def stdout(lesson: str) -> str:
    """Everything a lesson's stored outputs printed (its outputs are what strict nbval checks)."""
    nb = nbformat.read(NOTEBOOKS / f"{lesson}.ipynb", as_version=4)
    return "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_something_is_shipped() -> None:
    assert SHIPPED, f"no results in {RESULTS}: lesson 10 reads lesson 09's from there"


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_result_is_its_lesson_at_the_defaults(path) -> None:
    data = measured(path.stem)
    assert data["notebook"] == path.stem and (NOTEBOOKS / f"{path.stem}.ipynb").is_file()
    assert data["environment"]["torch"].startswith("2.13.0") and data["finished"]
    defaults = {name: ast.literal_eval(p.default) for name, p in inspect_params(path.stem).items()
                if name != "result_path"}
    used = {name: value for name, value in data["parameters"].items() if name != "result_path"}
    assert used == defaults, "a shipped result must be the lesson at its current defaults: rerun it (data/README.md)"


def test_lesson_09_result_agrees_with_its_stored_outputs() -> None:
    """The numbers lesson 10 borrows are the ones lesson 09 prints at its defaults (to the printed digits)."""
    bpb = measured("09_tokens_and_language_models")["metrics"]["val_bits_per_byte"]
    out = stdout("09_tokens_and_language_models")
    printed = {"bigram_learned": r"(?m)^bigram, learned\s+\S+\s+\S+\s+([\d.]+)$",
               "mlp": r"(?m)^MLP\s+\S+\s+\S+\s+([\d.]+)$"}
    for name in ("gzip", "bz2", "lzma"):
        printed[name] = rf"(?m)^{name}\s+([\d.]+)\s+[\d.]+$"
        printed[f"{name}_after_train"] = rf"(?m)^{name}\s+[\d.]+\s+([\d.]+)$"
    for key, pattern in printed.items():
        shown = re.search(pattern, out)
        assert shown, f"lesson 09 no longer prints {key}'s bits per byte the way this test reads it"
        assert f"{bpb[key]:.3f}" == shown.group(1), f"{key}: shipped {bpb[key]}, lesson 09 prints {shown.group(1)}"


def test_a_missing_result_names_what_is_there() -> None:
    with pytest.raises(DataNotFoundError, match=r"no shipped result for lesson 'nope' .*present: .*09_tokens"):
        measured("nope")


def test_readme_documents_the_results() -> None:
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert "results/<lesson>.json" in readme and "labkit.data.measured" in readme
    for path in SHIPPED:
        assert path.name in readme, path.name


SWEEPS = sorted(p.name for p in RESULTS.iterdir() if p.is_dir())


@pytest.mark.parametrize("name", SWEEPS)
def test_a_shipped_sweep_is_one_lesson_over_its_seeds(name) -> None:
    runs = measured_sweep(name)
    assert len(runs) >= 2 and len({r["notebook"] for r in runs}) == 1
    lesson = runs[0]["notebook"]
    assert (NOTEBOOKS / f"{lesson}.ipynb").is_file() and name.startswith(lesson)
    fixed = [{k: v for k, v in r["parameters"].items() if k not in ("seed", "result_path")} for r in runs]
    assert all(f == fixed[0] for f in fixed), "the runs of a shipped sweep differ only in their seed"
    assert len({r["parameters"]["seed"] for r in runs}) == len(runs)
    known = set(inspect_params(lesson))
    assert set(runs[0]["parameters"]) <= known, "every swept parameter is still one of the lesson's"
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    assert f"results/{name}/" in readme and f"labkit sweep {lesson.split('_')[0]}" in readme


def test_a_missing_sweep_says_where_it_looked() -> None:
    with pytest.raises(DataNotFoundError, match=r"no shipped sweep 'nope': .*nope.*runs holds no run results"):
        measured_sweep("nope")


@pytest.mark.parametrize("name", SWEEPS)
def test_a_shipped_sweep_records_its_command_and_code(name) -> None:
    record = json.loads((RESULTS / name / "sweep.json").read_text())
    lesson = record["notebook"]
    assert record["command"].startswith(f"labkit sweep {lesson} ") and "-p seed" in record["command"]
    assert re.fullmatch(r"git [0-9a-f]{40}", record["code"]), "a sweep is run from a commit, with nothing uncommitted"
    for name_, value in record["fixed"].items():  # the command gives every fixed value the runs were given
        assert f"-f {name_} " in record["command"], name_
        assert all(r["parameters"][name_] == value for r in measured_sweep(name))


def test_lesson_11_sweep_reproduces_one_run() -> None:
    """One run of the shipped sweep, retrained by the lesson's recipe, lands within the seed-to-seed noise."""
    import math

    import torch

    from labkit import data
    from labkit.lessons import gpt
    from labkit.lessons import scaling as sc

    runs = {r["parameters"]["seed"]: r for r in measured_sweep("11_scaling_sweep")}
    p, m = runs[0]["parameters"], runs[0]["metrics"]
    width, n_steps = min(p["sizes"]), min(p["steps"])
    stored = next(q["loss"] for q in m["points"] if q["width"] == width and q["D"] == n_steps * p["batch_size"] *
                  p["context"])
    others = [next(q["loss"] for q in r["metrics"]["points"] if q["width"] == width and q["D"] == n_steps *
                   p["batch_size"] * p["context"]) for r in runs.values()]
    noise = max(others) / min(others) - 1  # this point's spread over the seeds
    train, val = (torch.tensor(list(data.corpus(split).encode()), dtype=torch.long) for split in ("train", "val"))
    threads, dtype = torch.get_num_threads(), torch.get_default_dtype()
    torch.set_num_threads(1)  # as the lesson runs: one thread, in float64
    torch.set_default_dtype(torch.float64)
    try:
        torch.manual_seed(0)
        model = gpt.GPT(gpt.GPTConfig(vocab=256, context=p["context"], layers=1, width=width, heads=2))
        sc.train_lm(model, train, val[: p["context"] + 1], steps=n_steps, batch=p["batch_size"], context=p["context"],
                    lr=m["rates"]["c"] / width, warmup=max(1, n_steps // 10), seed=0, lr_embedding=p["lr_embedding"])
        again = sc.validation_loss(model, val[:16_384], p["context"]) / math.log(2)
    finally:
        torch.set_num_threads(threads)
        torch.set_default_dtype(dtype)
    why = f"d = {width}, {n_steps} steps, seed 0: shipped {stored:.4f}, retrained {again:.4f}; seeds: {noise:.2%} apart"
    assert abs(again / stored - 1) <= max(noise, 0.005), why
