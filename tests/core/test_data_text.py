"""labkit.data.corpus and chinese_text: the frozen text of lessons 09-11, its manifest, its split and its errors."""

from __future__ import annotations

import hashlib
import json
import platform
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from helpers.paths import ROOT
from labkit.data import DataFormatError, chinese_text, corpus
from labkit.errors import DataNotFoundError

TEXT = ROOT / "data" / "text"
SCRIPT = TEXT / "make_corpus.py"
MANIFEST = json.loads((TEXT / "manifest.json").read_text(encoding="utf-8"))
ENTRIES = {**MANIFEST["files"], **MANIFEST["extra"]}


def cjk(text: str) -> list[str]:
    """The CJK unified ideographs in ``text``."""
    return [c for c in text if "\u4e00" <= c <= "\u9fff"]


@pytest.fixture
def data_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the repo's data/ that labkit.data uses instead; returns its text/ folder."""
    shutil.copytree(ROOT / "data", tmp_path / "data", ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "data"))
    return tmp_path / "data" / "text"


def test_shipped_files_match_the_manifest() -> None:
    assert MANIFEST["schema"] == "labkit.corpus/1"
    assert set(MANIFEST["files"]) == {"train", "val"} and "chinese" in MANIFEST["extra"]
    for key, entry in ENTRIES.items():
        data = (TEXT / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], f"{entry['file']} differs from manifest.json"
        assert len(data) == entry["bytes"] and len(data.decode("utf-8")) == entry["characters"], key
    assert corpus("train") == (TEXT / MANIFEST["files"]["train"]["file"]).read_bytes().decode("utf-8")
    assert corpus("val") == (TEXT / MANIFEST["files"]["val"]["file"]).read_bytes().decode("utf-8")
    assert corpus() is corpus("train"), "a second read comes from the cache"
    assert chinese_text() == (TEXT / "chinese.txt").read_bytes().decode("utf-8")
    assert "MIT" in MANIFEST["extra"]["chinese"]["note"]
    assert chinese_text("en") == (TEXT / "chinese.en.txt").read_bytes().decode("utf-8")


def test_make_corpus_check_mode_agrees() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for entry in ENTRIES.values():
        assert entry["file"] in done.stdout
    assert "was changed" not in done.stdout


@pytest.mark.skipif(platform.python_version() != MANIFEST["python"],
                    reason=f"the corpus was frozen from Python {MANIFEST['python']}, this is "
                           f"{platform.python_version()}: its pydoc_data may differ")
def test_rebuild_is_byte_identical(tmp_path: Path) -> None:
    for path in TEXT.iterdir():
        if path.is_file():
            shutil.copy2(path, tmp_path / path.name)
    done = subprocess.run([sys.executable, str(tmp_path / SCRIPT.name), "--write"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    for name in (*(entry["file"] for entry in ENTRIES.values()), "manifest.json"):
        assert (tmp_path / name).read_bytes() == (TEXT / name).read_bytes(), f"{name} differs from a rebuild"


def test_split_is_disjoint_and_about_a_tenth() -> None:
    train, val = corpus("train"), corpus("val")
    long_train = {p for p in train.split("\n\n") if len(p) >= 200}
    long_val = {p for p in val.split("\n\n") if len(p) >= 200}
    assert long_val, "validation has long paragraphs to check"
    shared = long_train & long_val
    assert not shared, f"{len(shared)} paragraphs are in both splits, e.g. {next(iter(shared))[:80]!r}"
    share = len(val.encode()) / (len(train.encode()) + len(val.encode()))
    assert 0.05 <= share <= 0.15, f"validation is {share:.1%} of the bytes"


def test_corpus_is_large_enough() -> None:
    total = sum(len(corpus(split).encode("utf-8")) for split in ("train", "val"))
    assert total >= 300_000, f"the corpus has {total:,} bytes"


def test_chinese_text_is_mostly_cjk() -> None:
    text = chinese_text()
    ideographs = cjk(text)
    assert len(ideographs) >= 0.8 * len(text), f"{len(ideographs)} CJK characters of {len(text)}"
    assert all(len(c.encode("utf-8")) == 3 for c in ideographs), "each CJK character is 3 UTF-8 bytes"
    assert len(text.encode("utf-8")) > 2.5 * len(text)


def test_the_translation_says_the_same_in_as_many_paragraphs() -> None:
    zh, en = chinese_text("zh"), chinese_text("en")
    assert zh.count("\n\n") == en.count("\n\n") == 4, "five paragraphs each"
    assert not cjk(en) and en.isascii()
    assert "UTF-8" in zh and "UTF-8" in en
    with pytest.raises(DataFormatError) as err:
        chinese_text("fr")
    assert str(err.value) == "language = 'fr' is not allowed: must be 'zh' (the text) or 'en' (translated)"


def test_unknown_split_names_the_value_and_what_is_allowed() -> None:
    with pytest.raises(DataFormatError) as err:
        corpus("test")
    assert str(err.value) == "split = 'test' is not allowed: must be 'train' or 'val'"


def test_missing_file_names_the_path(data_copy: Path) -> None:
    (data_copy / "python_docs.val.txt").unlink()
    with pytest.raises(DataNotFoundError) as err:
        corpus("val")
    message = str(err.value)
    assert "\n" not in message and str(data_copy / "python_docs.val.txt") in message
    assert "git checkout data/text" in message
    assert corpus("train"), "the other split still loads"


def test_missing_manifest_names_the_path(data_copy: Path) -> None:
    (data_copy / "manifest.json").unlink()
    for load in (corpus, chinese_text):
        with pytest.raises(DataNotFoundError) as err:
            load()
        assert "\n" not in str(err.value) and str(data_copy / "manifest.json") in str(err.value)


def test_tampered_corpus_says_how_to_restore(data_copy: Path) -> None:
    path = data_copy / "python_docs.train.txt"
    assert corpus("train") == corpus("train")
    with path.open("a", encoding="utf-8") as handle:
        handle.write("one more line\n")  # a change after the first read is caught too
    with pytest.raises(DataFormatError) as err:
        corpus("train")
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "was changed" in message
    assert "git checkout data/text" in message
    assert f"Python {MANIFEST['python']}" in message and "make_corpus.py --write" in message


def test_tampered_chinese_text_is_caught(data_copy: Path) -> None:
    path = data_copy / "chinese.txt"
    path.write_bytes(path.read_bytes().replace("模型".encode(), "机器".encode(), 1))
    with pytest.raises(DataFormatError) as err:
        chinese_text()
    message = str(err.value)
    assert "\n" not in message and str(path) in message and "was changed" in message
    assert "git checkout data/text" in message and "make_corpus" not in message


def test_readme_documents_the_text_files() -> None:
    readme = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    for name in ("python_docs.train.txt", "python_docs.val.txt", "chinese.txt", "chinese.en.txt", "LICENSE-PSF.txt",
                 "manifest.json", "make_corpus.py", "labkit.data.corpus", "labkit.data.chinese_text"):
        assert name in readme, name
