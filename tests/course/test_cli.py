"""The command line: one rule for where output goes, and one line for a user error, a traceback for a bug."""

from __future__ import annotations

import hashlib

import pytest

from helpers.paths import ROOT
from labkit.course import cli
from labkit.course.cli import main

WRITERS = {
    "assign": ["assign", "00"],
    "grade": ["grade", "{tmp}"],
    "run": ["run", "00"],
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
