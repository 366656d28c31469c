"""labkit.data.load_csv and the synthetic house-price data: clear errors, and a script that remakes it exactly."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from helpers.paths import ROOT
from labkit.data import DataFormatError, data_dir, load_csv

SCRIPT = ROOT / "data" / "make_house_prices.py"


@pytest.fixture
def tmp_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder that labkit.data uses instead of the repo's."""
    (tmp_path / "README.md").write_text("test data\n")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    return tmp_path


def test_house_prices_loads_with_its_columns() -> None:
    header, table = load_csv("house_prices.csv")
    assert header == ["area_m2", "rooms", "age_years", "distance_km", "price_k"]
    assert table.shape == (600, 5) and table.dtype == torch.float64
    area, rooms, age, distance, price = table.T
    assert 40 <= area.min() and area.max() <= 200
    assert rooms.min() >= 1 and torch.equal(rooms, rooms.round())
    assert 0 <= age.min() and age.max() <= 80
    assert 0.5 <= distance.min() and distance.max() <= 25
    assert 0 < price.min() and price.max() < 2000, "prices are in thousands"


def test_truth_is_recovered_by_least_squares() -> None:
    truth = json.loads((data_dir() / "house_prices_truth.json").read_text())
    header, table = load_csv("house_prices.csv")
    X = torch.cat([torch.ones(len(table), 1, dtype=table.dtype), table[:, :4]], dim=1)
    y = table[:, 4]
    beta = torch.linalg.lstsq(X, y.unsqueeze(1)).solution.squeeze(1)
    resid = y - X @ beta
    sigma = resid.square().sum().div(len(y) - X.shape[1]).sqrt()
    se = sigma * torch.linalg.inv(X.T @ X).diagonal().sqrt()
    want = torch.tensor([truth["coefficients"][k] for k in ["intercept", *header[:4]]], dtype=table.dtype)
    assert ((beta - want).abs() < 3 * se).all(), f"fit {beta.tolist()} vs truth {want.tolist()} (se {se.tolist()})"
    assert abs(float(sigma) - truth["noise_sd"]) < 3, "residual spread should match the recorded noise"


def test_script_regenerates_the_files_byte_for_byte(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], check=True, capture_output=True)
    for name in ("house_prices.csv", "house_prices_truth.json"):
        made, committed = (tmp_path / name).read_bytes(), (ROOT / "data" / name).read_bytes()
        assert made == committed, f"{name} differs from the script's output"


def test_readme_documents_the_files() -> None:
    readme = (ROOT / "data" / "README.md").read_text()
    for name in ("house_prices.csv", "house_prices_truth.json", "make_house_prices.py"):
        assert name in readme
    assert "synthetic" in readme.lower()


def test_missing_file_names_it(tmp_data: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no_such.csv"):
        load_csv("no_such.csv")


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("a,b\n1,2\n3\n", ":3:", "expected 2 values"),
        ("a,b\n1,2\n3,x\n", ":3:", "column 'b' holds 'x'"),
        ("a,b\n1,nan\n", ":2:", "not a finite number"),
        ("a,\n1,2\n", ":1:", "header"),
        ("a,b\n", "", "no data rows"),
        ("", ":1:", "header"),
    ],
)
def test_malformed_file_names_file_and_line(tmp_data: Path, text: str, where: str, what: str) -> None:
    (tmp_data / "bad.csv").write_text(text)
    with pytest.raises(DataFormatError) as caught:
        load_csv("bad.csv")
    message = str(caught.value)
    assert f"bad.csv{where}" in message and what in message, message


def test_blank_lines_are_skipped_and_dtype_is_kept(tmp_data: Path) -> None:
    (tmp_data / "ok.csv").write_text("x, y\n1,2\n\n3.5,-4e1\n")
    header, table = load_csv("ok.csv", dtype=torch.float32)
    assert header == ["x", "y"]
    assert table.dtype == torch.float32 and table.tolist() == [[1.0, 2.0], [3.5, -40.0]]
