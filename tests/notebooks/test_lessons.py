"""Every lesson: well-formed, stored outputs from one clean run, runs under papermill with other
parameters, and stops at once with one clear line on a bad parameter."""

from __future__ import annotations

import ast
import json

import nbformat
import papermill as pm
import pytest

from helpers.cases import CASES
from helpers.papermill_run import run_papermill
from helpers.paths import lesson_paths
from labkit.results import load

LESSONS = lesson_paths()
IDS = [p.stem for p in LESSONS]


def test_there_are_lessons() -> None:
    assert LESSONS and LESSONS[0].name == "00_start_here.ipynb"


@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_structure(path) -> None:
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert "parameters" in code[0].metadata.get("tags", []), "the first code cell must be tagged 'parameters'"
    params = code[0].source
    for name in ("seed: int", "device: str", "result_path: str"):
        assert name in params, f"parameters cell lacks {name!r}"
    _papermill_reads_every_parameter(path, params)  # each one typed, with a # help comment papermill reads
    counts = [c.execution_count for c in code]
    assert counts == list(range(1, len(code) + 1)), "stored outputs must come from one clean top-to-bottom run"
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"stored outputs contain an error: {errors[0].get('evalue') if errors else ''}"
    assert path.stem in CASES, f"add tests/helpers/cases/l{path.stem[:2]}.py with its papermill cases"


@pytest.mark.notebook
@pytest.mark.parametrize("path", LESSONS, ids=IDS)
def test_runs_with_other_parameters(path, tmp_path) -> None:
    params = dict(CASES[path.stem]["params"], result_path=str(tmp_path / "result.json"))
    run_papermill(path, tmp_path / path.name, params)
    result = load(tmp_path / "result.json")
    assert result["notebook"] == path.stem
    for name, value in params.items():
        assert result["parameters"][name] == value, f"result records {name}={result['parameters'].get(name)!r}"
    assert result["metrics"], "the lesson wrote no metrics"
    assert result["environment"]["torch"] and result["seconds"] > 0
    json.dumps(result)


def _bad_cases():
    for path in LESSONS:
        for i, (params, message) in enumerate(CASES.get(path.stem, {}).get("bad", [])):
            yield pytest.param(path, params, message, id=f"{path.stem}-bad{i}")


@pytest.mark.notebook
@pytest.mark.parametrize(("path", "params", "message"), list(_bad_cases()))
def test_bad_parameter_fails_fast(path, params, message, tmp_path) -> None:
    from papermill.exceptions import PapermillExecutionError

    with pytest.raises(PapermillExecutionError) as caught:
        run_papermill(path, tmp_path / path.name, params)
    err = caught.value
    assert err.ename == "ParameterError", f"expected a ParameterError, got {err.ename}: {err.evalue}"
    assert message in err.evalue and "\n" not in err.evalue
    # It stopped at the validation cell, the first cell after the parameters: no work was done.
    nb = nbformat.read(tmp_path / path.name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    failed = [i for i, c in enumerate(code) if any(o.output_type == "error" for o in c.outputs)]
    tagged = [i for i, c in enumerate(code) if "parameters" in c.metadata.get("tags", [])]
    injected = [i for i, c in enumerate(code) if "injected-parameters" in c.metadata.get("tags", [])]
    expected = [max(tagged + injected) + 1]
    assert failed == expected, f"the error came in code cell {failed}, not right after the parameters ({expected})"


def test_every_case_is_a_lesson() -> None:
    assert set(CASES) <= set(IDS), f"cases for missing notebooks: {set(CASES) - set(IDS)}"


def _papermill_reads_every_parameter(path, source: str) -> None:
    """papermill's inspection (used by `labkit params` and sweeps) must see each parameter as written.

    papermill skips a line with a second '=' (say, in its help comment) with only a log warning,
    and the parameter then vanishes from `labkit params` and is refused by sweeps as unknown.
    """
    declared = {}
    for node in ast.parse(source).body:
        line = ast.unparse(node)
        assert isinstance(node, ast.AnnAssign), f"parameters cell: only `name: type = value  # help`, got {line!r}"
        declared[node.target.id] = (ast.unparse(node.annotation), ast.unparse(node.value))
    seen = pm.inspect_notebook(str(path))
    assert list(seen) == list(declared), f"papermill reads {list(seen)}, cell has {list(declared)} (= in a comment?)"
    for name, (kind, default) in declared.items():
        read = seen[name]
        assert read["inferred_type_name"] == kind, f"{name}: papermill reads type {read['inferred_type_name']!r}"
        assert ast.literal_eval(read["default"]) == ast.literal_eval(default), f"{name}: default {read['default']!r}"
        assert read["help"], f"{name}: papermill reads no help"


def test_nbvals_kernels_listen_on_unix_sockets_not_tcp_ports() -> None:
    import nbval.kernel

    km = nbval.kernel.KernelManager(kernel_name="python3")  # what nbval builds for each notebook (tests/conftest.py)
    assert km.transport == "ipc" and km.ip.startswith("/tmp/nbval-"), (km.transport, km.ip)
