"""labkit.course's runs and sweeps: bad input refused before anything runs, the collected table and figure,
and the proofs that a parallel sweep of a real lesson collects what each run computed."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from helpers.paths import NOTEBOOKS, ROOT
from labkit import results
from labkit.course.catalog import inspect_params, parse_grid, parse_value, split_values
from labkit.course.cli import main
from labkit.course.executor import threads_per_run
from labkit.course.report import collect
from labkit.course.runs import run_workbook
from labkit.course.sweep import expand, run_key, sweep
from labkit.errors import CourseError, OutputFolderError
from labkit.paths import safe_output_dir

# The sweep proof: lesson 02's one-dimensional descent on f(w) = (w − 3)², from w = 0 with its default
# lr = 0.3, leaves w − 3 = −3·(1 − 2·0.3)^k after k steps, so the final loss is 9·0.16^k: it must fall as
# steps rise, and each run must report exactly the number its own kernel computed.
SWEEP_PROOF = {
    "notebook": "02_gradient_descent",
    "param": "steps",
    "values": [1, 2, 4, 8],
    "metric": "loss_final_1d",
    "expect": lambda k: 9 * 0.16**k,
    "direction": -1,
}


def _digest(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.ipynb")))).hexdigest()


# ----------------------------------------------------------------------------- pure pieces


def test_inspect_params_reads_types_defaults_and_help() -> None:
    params = inspect_params("00")
    assert list(params) == ["seed", "device", "n", "model_billions", "result_path"]
    assert (params["n"].type, params["n"].default) == ("int", "4096")
    assert (params["model_billions"].type, params["model_billions"].default) == ("float", "7.0")
    assert params["seed"].help == "random seed, for reproducible numbers"
    assert params["device"].type == "str"


def test_parse_value_by_declared_type() -> None:
    assert parse_value("n", "64", "int") == 64
    assert parse_value("lr", "1e-3", "float") == pytest.approx(0.001)
    assert isinstance(parse_value("lr", "1", "float"), float)
    assert parse_value("flag", "False", "bool") is False
    assert parse_value("device", "'cpu'", "str") == "cpu"
    assert parse_value("sizes", "[1, 2]", "list[int]") == [1, 2]
    bad = [("n", "1.5", "int"), ("lr", "fast", "float"), ("lr", "nan", "float"), ("f", "maybe", "bool")]
    for name, text, kind in bad:
        with pytest.raises(CourseError, match=rf"^{name} = .* is not allowed: must be"):
            parse_value(name, text, kind)


def test_split_values_keeps_brackets_and_quotes_whole() -> None:
    assert split_values("0.01, 0.1,1.0") == ["0.01", "0.1", "1.0"]
    assert split_values("[1,2],[3]") == ["[1,2]", "[3]"]
    assert split_values("'a,b',c") == ["'a,b'", "c"]
    assert split_values(" , ") == []


def test_expand_and_run_keys() -> None:
    runs = expand({"lr": [0.01, 0.1, 1.0], "batch_size": [8, 64]})
    assert len(runs) == 6
    assert runs[0] == {"lr": 0.01, "batch_size": 8} and runs[1] == {"lr": 0.01, "batch_size": 64}
    assert run_key(runs[1]) == "lr=0.01_batch_size=64"
    assert run_key({"device": "cuda:0 x/y"}) == "device=cuda-0-x-y"


def test_threads_per_run_splits_the_cores() -> None:
    assert threads_per_run(1, cores=8) == 8
    assert threads_per_run(4, cores=8) == 2
    assert threads_per_run(3, cores=2) == 1


def test_parse_grid_from_command_line_pairs() -> None:
    assert parse_grid("00", [("n", "16,32"), ("seed", "1")]) == {"n": [16, 32], "seed": [1]}
    assert parse_grid("00", [("device", "cpu")]) == {"device": ["cpu"]}


# ----------------------------------------------------------------------------- bad input, before anything runs


@pytest.mark.parametrize(
    ("notebook", "grid", "out", "message"),
    [
        ("99", {"n": [1]}, None, "unknown lesson '99'; lessons: 00_start_here"),
        ("00", {"nn": [1]}, None, "unknown parameter 'nn' for 00_start_here; its parameters: seed, device, n"),
        ("00", {"n": ["big"]}, None, "n = 'big' is not allowed: must be a whole number (int)"),
        ("00", {"n": [True]}, None, "n = True is not allowed: must be a whole number (int)"),
        ("00", {"device": [1]}, None, "device = 1 is not allowed: must be a string (str)"),
        ("00", {}, None, "empty grid"),
        ("00", {"n": []}, None, "empty grid: parameter 'n' has no values"),
        ("00", {"result_path": ["x.json"]}, None, "result_path is set by the runner"),
        ("00", {"n": [16]}, NOTEBOOKS / "sweep", "is inside notebooks/, which holds sources; write under"),
        ("00", {"n": [16]}, ROOT / "data", "is inside data/, which holds sources; write under"),
        ("00", {"n": [16]}, ROOT / "labkit" / "x", "is inside labkit/, which holds sources; write under"),
        ("00", {"n": [16]}, ROOT, "is the project folder itself; write under"),
    ],
)
def test_bad_input_is_one_line_before_anything_runs(notebook, grid, out, message, tmp_path) -> None:
    before = _digest(NOTEBOOKS)
    target = out if out is not None else tmp_path / "sweep"
    with pytest.raises((CourseError, OutputFolderError)) as caught:
        sweep(notebook, grid, target, progress=False)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert not (tmp_path / "sweep").exists() and not (NOTEBOOKS / "sweep").exists()
    assert _digest(NOTEBOOKS) == before


def test_workbook_run_refuses_bad_input(tmp_path) -> None:
    with pytest.raises(CourseError, match="unknown lesson"):
        run_workbook(["97"], tmp_path / "wb", progress=False)
    with pytest.raises(CourseError, match="unknown parameter 'lr': none of 00_start_here declares it"):
        run_workbook(["00"], tmp_path / "wb", parameters={"lr": 0.1}, progress=False)
    with pytest.raises(CourseError, match="n = 1.5 is not allowed"):
        run_workbook(["00"], tmp_path / "wb", parameters={"n": 1.5}, progress=False)
    with pytest.raises(OutputFolderError, match="which holds sources"):
        run_workbook(["00"], NOTEBOOKS, progress=False)
    assert not (tmp_path / "wb").exists()
    assert safe_output_dir(tmp_path / "ok") == (tmp_path / "ok").resolve()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["sweep", "00", "-p", "nn", "1,2"], "labkit: error: unknown parameter 'nn' for 00_start_here"),
        (["sweep", "00", "-p", "n", "1,x"], "labkit: error: n = 'x' is not allowed: must be a whole number (int)"),
        (["sweep", "00"], "labkit: error: empty grid"),
        (["sweep", "42", "-p", "n", "1"], "labkit: error: unknown lesson '42'"),
        (["sweep", "00", "-p", "n", "-1,2", "--out", "notebooks/x"], "labkit: error: output folder"),
        (["run", "00", "-p", "lr", "0.1"], "labkit: error: unknown parameter 'lr'"),
    ],
)
def test_cli_bad_input_prints_one_line(argv, message, capsys) -> None:
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(message) and "\n" not in err


def test_cli_params_lists_types_defaults_and_help(capsys) -> None:
    assert main(["params", "00_start_here"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["name", "type", "default", "help"]
    assert lines[4].split()[:3] == ["n", "int", "4096"] and "side of the square matrix" in lines[4]


# ----------------------------------------------------------------------------- collecting, without kernels


def _fake_sweep(out: Path, ns: list[int], failed: int | None = None) -> None:
    """A sweep folder as runs would leave it: result JSONs in the real schema, notebooks, the manifest."""
    runs = []
    (out / "runs").mkdir(parents=True)
    for n in ns:
        key = f"n={n}"
        record = {"key": key, "notebook": "00_start_here", "parameters": {"n": n}, "status": "ok", "seconds": 1.0,
                  "error": "", "output": str(out / "runs" / f"{key}.ipynb"),
                  "result_path": str(out / "runs" / f"{key}.json"), "reused": False, "metrics": {}}
        if n == failed:
            record.update(status="failed", error="ParameterError: n = -1 is not allowed: must be >= 1")
        else:
            run = results.start("00_start_here", {"seed": 0, "device": "auto", "n": n})
            record["metrics"] = run.save(record["result_path"], {"matrix_bytes_float32": 4 * n * n})["metrics"]
            Path(record["output"]).write_text("{}")
        runs.append(record)
    manifest = {"notebook": "00_start_here", "grid": {"n": ns}, "fixed": {}, "runs": runs}
    (out / "sweep.json").write_text(json.dumps(manifest))


def test_collect_writes_table_and_figure(tmp_path) -> None:
    _fake_sweep(tmp_path, [-1, 8, 16, 32], failed=-1)
    rows = collect(tmp_path)
    assert [r["run"] for r in rows] == ["n=-1", "n=8", "n=16", "n=32"]
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert list(table[0]) == ["run", "status", "seconds", "n", "matrix_bytes_float32", "error"]
    assert [r["status"] for r in table] == ["failed", "ok", "ok", "ok"]
    assert [r["matrix_bytes_float32"] for r in table[1:]] == ["256", "1024", "4096"]
    assert table[0]["error"] == "ParameterError: n = -1 is not allowed: must be >= 1"
    markdown = (tmp_path / "results.md").read_text().splitlines()
    assert markdown[2].startswith("| run | status | seconds | n | matrix_bytes_float32 | error |")
    assert len([line for line in markdown if line.startswith("| n=")]) == 4
    assert (tmp_path / "results.png").stat().st_size > 5_000


def test_finished_runs_are_reused_unless_forced(tmp_path) -> None:
    _fake_sweep(tmp_path, [8, 16])
    records = sweep("00", {"n": [8, 16]}, tmp_path, progress=False)
    assert all(r.reused and r.status == "ok" for r in records)
    assert [r.metrics["matrix_bytes_float32"] for r in records] == [256, 1024]
    manifest = json.loads((tmp_path / "sweep.json").read_text())
    assert [r["reused"] for r in manifest["runs"]] == [True, True]


# ----------------------------------------------------------------------------- proofs with real kernels


@pytest.mark.notebook
def test_parallel_sweep_collects_what_each_run_computed(tmp_path) -> None:
    proof = SWEEP_PROOF
    param, metric, values = proof["param"], proof["metric"], proof["values"]
    records = sweep(proof["notebook"], {param: values}, tmp_path, workers=2, progress=False)
    assert [r.status for r in records] == ["ok"] * len(values), [r.error for r in records]
    with open(tmp_path / "results.csv") as f:
        table = list(csv.DictReader(f))
    assert len(table) == len(values)
    assert [float(r[param]) for r in table] == [float(v) for v in values]
    measured = [float(r[metric]) for r in table]
    if proof["expect"] is not None:
        assert measured == pytest.approx([proof["expect"](v) for v in values], rel=1e-5)
    steps = [b - a for a, b in zip(measured, measured[1:], strict=False)]
    assert all(proof["direction"] * s > 0 for s in steps), f"{metric} does not move the expected way: {measured}"
    for record in records:
        saved = results.load(record.result_path)  # the lesson's own JSON, in the documented schema
        assert saved["parameters"][param] == record.parameters[param]
        assert saved["environment"]["threads"] == threads_per_run(2), "each kernel gets its share of the cores"
        assert Path(record.output).is_file()
    assert (tmp_path / "results.png").is_file() and (tmp_path / "results.md").is_file()


@pytest.mark.notebook
def test_bad_parameter_run_fails_with_the_lessons_line_while_others_succeed(tmp_path) -> None:
    records = sweep("00", {"n": [-1, 8]}, tmp_path, workers=2, progress=False)
    bad, good = records
    assert bad.status == "failed" and good.status == "ok", [r.error for r in records]
    assert bad.error.startswith("ParameterError: n = -1 is not allowed: must be >= 1") and "\n" not in bad.error
    assert good.metrics["matrix_bytes_float32"] == 256
    with open(tmp_path / "results.csv") as f:
        table = {r["run"]: r for r in csv.DictReader(f)}
    assert table["n=-1"]["error"] == bad.error and table["n=8"]["status"] == "ok"
    again = sweep("00", {"n": [-1, 8]}, tmp_path, workers=2, progress=False)
    assert [r.reused for r in again] == [False, True], "a finished run is reused, a failed one runs again"


@pytest.mark.notebook
def test_workbook_run_writes_build_folder_not_sources(tmp_path) -> None:
    before = _digest(NOTEBOOKS)
    records = run_workbook(["00"], tmp_path, parameters={"n": 64}, progress=False)
    assert [(r.key, r.status) for r in records] == [("00_start_here", "ok")], records[0].error
    assert results.load(tmp_path / "00_start_here.json")["metrics"]["matrix_bytes_float32"] == 4 * 64 * 64
    assert "<html" in (tmp_path / "00_start_here.html").read_text()[:2000].lower()
    summary = (tmp_path / "summary.md").read_text()
    assert summary.startswith("| notebook | status | seconds | error |") and "| 00_start_here | ok |" in summary
    assert _digest(NOTEBOOKS) == before


@pytest.mark.notebook
def test_workbook_run_stops_a_notebook_at_its_time_limit(tmp_path) -> None:
    records = run_workbook(["00"], tmp_path, timeout=1, html=False, progress=False)
    assert records[0].status == "timeout" and "time limit of 1 s" in records[0].error
    assert not (tmp_path / "00_start_here.json").exists()


def test_a_local_kernel_talks_over_its_own_unix_sockets_never_racing_for_tcp_ports(tmp_path) -> None:
    # Parallel runs once lost a kernel ("Kernel died before replying to kernel_info"): a tcp port that
    # jupyter_client had picked and released was taken before the kernel bound it. Unix sockets in a
    # folder of the run's own cannot be taken by anyone else.
    from jupyter_client.manager import KernelManager

    from labkit.course.sandbox import local_kernel_manager

    km = local_kernel_manager(tmp_path / "k", KernelManager, kernel_name="python3")
    km.start_kernel()
    try:
        kc = km.client()
        kc.start_channels()
        kc.wait_for_ready(timeout=60)
        reply = kc.execute_interactive("print(6 * 7)", timeout=60, output_hook=lambda msg: None)
        assert reply["content"]["status"] == "ok"
        info = json.loads(Path(km.connection_file).read_text())
        assert info["transport"] == "ipc" and Path(km.connection_file).parent == tmp_path / "k"
        assert sorted(p.name for p in (tmp_path / "k").glob("k-*")), "the kernel's sockets are in its folder"
        kc.stop_channels()
    finally:
        km.shutdown_kernel(now=True)
    with pytest.raises(CourseError, match="too long a path for unix sockets"):
        local_kernel_manager(tmp_path / ("x" * 120), kernel_name="python3")
