"""The command line: one rule for where output goes, and one line for a user error, a traceback for a bug."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import ROOT
from labkit.course import cli
from labkit.course.cli import main

WRITERS = {
    "assign": ["assign", "00"],
    "grade": ["grade", "{tmp}"],
    "run": ["run", "00"],
    "gpu-check": ["gpu-check", "00"],
    "sweep": ["sweep", "00", "-p", "n", "16"],
}
SOURCES = ["notebooks", "labkit", "data", "tests", "notebooks/sub/folder", "."]


def _digest() -> str:
    files = sorted(p for d in ("notebooks", "labkit", "data", "tests") for p in (ROOT / d).rglob("*") if p.is_file()
                   and "__pycache__" not in p.parts)
    return hashlib.sha256(b"".join(str(p).encode() + p.read_bytes() for p in files)).hexdigest()


@pytest.mark.parametrize("where", SOURCES)
@pytest.mark.parametrize("command", list(WRITERS))
def test_every_writing_command_refuses_the_sources(command, where, tmp_path, capsys) -> None:
    before = _digest()
    target = ROOT / where
    argv = [a.format(tmp=tmp_path) for a in WRITERS[command]] + ["--out", str(target)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err, err
    assert err.startswith("labkit: error: output folder") and f"write under {ROOT / 'build'}" in err, err
    assert _digest() == before, "nothing was written into the sources"
    assert not (ROOT / "notebooks" / "sub").exists()


def test_a_user_error_is_one_line_and_a_bug_keeps_its_traceback(monkeypatch, capsys) -> None:
    assert main(["params", "99"]) == 2
    assert capsys.readouterr().err.strip() == "labkit: error: unknown lesson '99'; lessons: " + ", ".join(
        p.stem for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")))

    def broken(args):
        raise KeyError("a bug in labkit")

    monkeypatch.setattr(cli, "_params", broken)
    with pytest.raises(KeyError, match="a bug in labkit"):
        main(["params", "00"])


def test_grading_without_bubblewrap_refuses_and_says_how_to_install_it(tmp_path, monkeypatch, capsys) -> None:
    import shutil

    from labkit.course import sandbox

    real = shutil.which
    monkeypatch.setattr(sandbox.shutil, "which", lambda name, *a, **k: None if name == "bwrap" else real(name))
    (tmp_path / "ann").mkdir()
    (tmp_path / "ann" / "00_start_here.ipynb").write_text("{}")
    assert main(["grade", str(tmp_path / "ann"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("labkit: error: cannot grade in a sandbox: bubblewrap (bwrap) is not")
    assert "apt-get install bubblewrap" in err and "--no-sandbox" in err
    assert not (tmp_path / "out").exists()


def test_no_sandbox_warns_on_every_run(tmp_path, capsys) -> None:
    from helpers import problem_set

    instructor = problem_set.write_instructor(tmp_path / "instructor")
    (tmp_path / "ann").mkdir()
    import nbformat

    nbformat.write(problem_set.instructor_notebook(), tmp_path / "ann" / "ps1.ipynb")
    for _ in range(2):  # the second run grades nothing new, and still warns
        assert main(["grade", str(tmp_path / "ann"), "--assignment", str(instructor), "--out", str(tmp_path / "out"),
                     "--no-sandbox", "--quiet"]) == 0
        err = capsys.readouterr().err
        assert err.startswith("labkit: warning: --no-sandbox: student code runs with your rights")


@pytest.mark.parametrize(("how", "prog"), [
    (["-m", "labkit"], "python -m labkit"),
    (["-m", "labkit.course"], "python -m labkit.course"),
    (None, "labkit"),
])
def test_every_way_to_start_the_command_line_runs_and_names_itself(how, prog) -> None:
    command = [sys.executable, *how] if how else [str(Path(sys.executable).with_name("labkit"))]
    done = subprocess.run([*command, "params", "99"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 2 and done.stderr.strip().startswith("labkit: error: unknown lesson '99'"), done.stderr
    usage = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert usage.returncode == 0 and usage.stdout.startswith(f"usage: {prog} "), usage.stdout[:200]
