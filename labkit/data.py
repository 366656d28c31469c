"""The workbook's data: bundled files read with clear errors, seeded synthetic sets, specification sheets."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from labkit.errors import DataFormatError, DataNotFoundError, ParameterError
from labkit.paths import data_dir

__all__ = ["DataFormatError", "chinese_text", "corpus", "data_dir", "data_path", "digits", "linear_data",
           "load_csv", "measured", "measured_sweep", "spec_peak", "sweep_record", "specifications"]
SPEC_SCHEMA = "labkit.spec/1"
CORPUS_SCHEMA = "labkit.corpus/1"
SPLITS = ("train", "val")


def data_path(name: str) -> Path:
    """The path of a bundled file in ``data/``, or a clear error listing what is there."""
    folder = data_dir()
    path = folder / name
    if not path.is_file():
        present = sorted(p.name for p in folder.iterdir() if p.is_file() and p.name != "README.md")
        raise DataNotFoundError(
            f"data file {name!r} not found in {folder}; present: {', '.join(present) or 'nothing'}"
        )
    return path


def linear_data(
    n: int = 256, *, slope: float = 2.0, intercept: float = 1.0, noise: float = 0.5, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded points on y = intercept + slope·x + noise, x uniform in [-3, 3]; shapes (n, 1) and (n, 1)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=gen) * 6 - 3
    y = intercept + slope * x + noise * torch.randn(n, 1, generator=gen)
    return x, y


def load_csv(name: str, *, dtype: torch.dtype = torch.float64) -> tuple[list[str], torch.Tensor]:
    """A numeric CSV in ``data/`` as (header, tensor of shape (rows, columns)); errors name the file and line."""
    import csv

    path = data_path(name)
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header or not all(column.strip() for column in header):
            raise DataFormatError(f"{path}:1: expected a header row of column names, got {header!r}")
        header = [column.strip() for column in header]
        values: list[list[float]] = []
        for row in reader:
            line = reader.line_num
            if not row:
                continue  # a blank line, e.g. at the end of the file
            if len(row) != len(header):
                raise DataFormatError(
                    f"{path}:{line}: expected {len(header)} values ({', '.join(header)}), got {len(row)}"
                )
            numbers = []
            for column, cell in zip(header, row, strict=True):
                try:
                    number = float(cell)
                except ValueError:
                    raise DataFormatError(f"{path}:{line}: column {column!r} holds {cell!r}, not a number") from None
                if not math.isfinite(number):
                    raise DataFormatError(f"{path}:{line}: column {column!r} holds {cell!r}, not a finite number")
                numbers.append(number)
            values.append(numbers)
    if not values:
        raise DataFormatError(f"{path}: has a header but no data rows")
    return header, torch.tensor(values, dtype=dtype)


def measured(lesson: str) -> dict[str, Any]:
    """A lesson's shipped result, ``data/results/<lesson>.json`` (labkit.result/1): measured, with its machine."""
    from labkit.results import load

    folder = data_dir() / "results"
    path = folder / f"{lesson}.json"
    if not path.is_file():
        present = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
        raise DataNotFoundError(f"no shipped result for lesson {lesson!r} in {folder}; present: "
                                f"{', '.join(present) or 'none'}")
    return load(path)


def measured_sweep(name: str) -> list[dict[str, Any]]:
    """A shipped sweep, ``data/results/<name>/runs/*.json``: every run's result (labkit.result/1), by run key."""
    from labkit.results import load

    folder = data_dir() / "results" / name / "runs"
    runs = sorted(folder.glob("*.json")) if folder.is_dir() else []
    if not runs:
        raise DataNotFoundError(f"no shipped sweep {name!r}: {folder} holds no run results (data/README.md says "
                                "how to make one)")
    return [load(path) for path in runs]


def sweep_record(name: str) -> dict[str, Any]:
    """A shipped sweep's own record, ``data/results/<name>/sweep.json``: its grid, fixed values, command and code."""
    import json

    path = data_dir() / "results" / name / "sweep.json"
    if not path.is_file():
        raise DataNotFoundError(f"no shipped sweep {name!r}: {path} is missing (data/README.md says how to make one)")
    return json.loads(path.read_text())


def spec_peak(spec: dict[str, Any], dtype: str) -> float:
    """A specification sheet's peak TFLOP/s in ``dtype``, or a one-line error naming the dtypes it rates."""
    peak = spec["peak_tflops"].get(dtype)
    if not peak:
        known = ", ".join(k for k, v in spec["peak_tflops"].items() if v)
        raise ParameterError(f"dtype = {dtype!r} is not allowed for {spec['name']}: its specification gives peaks "
                             f"for {known}")
    return peak


def specifications(kind: str | None = None) -> list[dict[str, Any]]:
    """The specification sheets in ``data/reference/spec_*.json`` (of one ``kind``: 'gpu', 'cpu', 'links').

    Each holds a maker's published figures with its source (document, URL, date) and the label
    "specification, not measurement"; a file without them is an error that names it.
    """
    import json

    folder = data_dir() / "reference"
    found = []
    for path in sorted(folder.glob("spec_*.json")):
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:
            raise DataFormatError(f"{path}: not valid JSON ({err})") from None
        missing = {"schema", "kind", "name", "label", "source"} - set(spec)
        if spec.get("schema") != SPEC_SCHEMA or missing or "specification" not in str(spec.get("label")):
            raise DataFormatError(f"{path}: not a {SPEC_SCHEMA} sheet labelled a specification "
                                  f"(missing: {', '.join(sorted(missing)) or 'the schema or the label'})")
        if not {"document", "url", "published"} <= set(spec["source"]):
            raise DataFormatError(f"{path}: its source must give the document, the url and when it was published")
        spec["file"] = path.name
        if kind is None or spec["kind"] == kind:
            found.append(spec)
    return found


def corpus(split: str = "train") -> str:
    """The English corpus of lessons 09-11, split 'train' or 'val': CPython's help pages, frozen in ``data/text/``.

    Read as UTF-8 and checked against the SHA-256 in ``data/text/manifest.json`` on the first read
    (and again whenever the file changes); later calls return the text already read.
    """
    if split not in SPLITS:
        raise DataFormatError(f"split = {split!r} is not allowed: must be 'train' or 'val'")
    return _text_file("files", split)


def chinese_text(language: str = "zh") -> str:
    """A short Chinese text written by this project ('zh'), or its English translation ('en'), checked like ``corpus``.

    The two say the same thing, so they compare what a tokenizer does to each language.
    """
    if language not in ("zh", "en"):
        raise DataFormatError(f"language = {language!r} is not allowed: must be 'zh' (the text) or 'en' (translated)")
    return _text_file("extra", "chinese" if language == "zh" else "chinese_en")


def _text_file(section: str, key: str) -> str:
    """A file listed in ``data/text/manifest.json`` under ``section`` and ``key``, its digest checked."""
    folder = data_dir() / "text"
    manifest_path = folder / "manifest.json"
    git_restore = "restore it with `git checkout data/text`"
    manifest = _corpus_manifest(manifest_path, *_stamp(manifest_path, f"the corpus manifest; {git_restore}"))
    entry = manifest.get(section) if isinstance(manifest.get(section), dict) else {}
    entry = entry.get(key)
    if not isinstance(entry, dict) or not {"file", "sha256"} <= set(entry):
        raise DataFormatError(f"{manifest_path}: has no {section}.{key} entry with a file and its sha256")
    path = folder / entry["file"]
    restore = git_restore
    if section == "files":
        restore += (f" or rebuild it with Python {manifest.get('python', '(the manifest names none)')}: "
                    f"`python data/text/make_corpus.py --write`")
    return _checked_text(path, *_stamp(path, f"listed in {manifest_path.name}; {restore}"), entry["sha256"], restore)


def _stamp(path: Path, what: str) -> tuple[int, int]:
    """(modification time, size) of ``path``, so a cached read is redone when the file changes."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise DataNotFoundError(f"{path} not found ({what})") from None
    return info.st_mtime_ns, info.st_size


@lru_cache(maxsize=8)
def _corpus_manifest(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    import json

    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:
        raise DataFormatError(f"{path}: not valid JSON ({err}); restore it with `git checkout data/text`") from None
    if not isinstance(manifest, dict) or manifest.get("schema") != CORPUS_SCHEMA:
        raise DataFormatError(f"{path}: not a {CORPUS_SCHEMA} manifest; restore it with `git checkout data/text`")
    return manifest


@lru_cache(maxsize=8)
def _checked_text(path: Path, mtime_ns: int, size: int, sha256: str, restore: str) -> str:
    import hashlib

    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != sha256:
        raise DataFormatError(f"{path} was changed: its SHA-256 is not the one in manifest.json; {restore}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise DataFormatError(f"{path}: not UTF-8 ({err})") from None


@dataclass
class Digits:
    """scikit-learn's 8×8 handwritten digits, split and standardised: tensors ready for a classifier."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    images_test: torch.Tensor  # (n, 8, 8), the raw 0..16 pixel values of the test digits, for showing them
    mean: torch.Tensor  # the standardisation, fitted on the training split only
    std: torch.Tensor


def digits(seed: int = 0, *, val: float = 0.15, test: float = 0.15) -> Digits:
    """The 1,797 digits bundled with scikit-learn, split stratified into train/validation/test, standardised on train.

    Nothing is downloaded: the data ships inside scikit-learn (a copy of the UCI test set).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    for name, value in (("val", val), ("test", test)):
        if not 0 < value < 1:
            raise DataFormatError(f"{name} = {value!r} is not allowed: must be a fraction between 0 and 1")
    if val + test >= 1:
        raise DataFormatError(f"val + test = {val + test:g} is not allowed: must leave a training split (< 1)")
    bunch = load_digits()
    x, y, images = bunch.data, bunch.target, bunch.images
    index = list(range(len(y)))
    rest, test_idx = train_test_split(index, test_size=test, stratify=y, random_state=seed)
    train_idx, val_idx = train_test_split(rest, test_size=val / (1 - test), stratify=y[rest], random_state=seed)
    xt = torch.tensor(x, dtype=torch.float32)
    yt = torch.tensor(y, dtype=torch.long)
    mean = xt[train_idx].mean(dim=0)
    std = xt[train_idx].std(dim=0)
    std = torch.where(std > 0, std, torch.ones_like(std))  # a pixel constant in training is only centred
    scaled = (xt - mean) / std
    return Digits(scaled[train_idx], yt[train_idx], scaled[val_idx], yt[val_idx], scaled[test_idx], yt[test_idx],
                  torch.tensor(images[test_idx], dtype=torch.float32), mean, std)
