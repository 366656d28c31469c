from __future__ import annotations

import pytest
import torch

from labkit.data import data_dir, data_path, linear_data


def test_data_dir_found_from_any_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("LABKIT_DATA", raising=False)
    monkeypatch.chdir(tmp_path)
    folder = data_dir()
    assert folder.name == "data" and (folder / "README.md").is_file()


def test_override_and_its_error(tmp_path, monkeypatch) -> None:
    (tmp_path / "a.csv").write_text("x\n1\n")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    assert data_dir() == tmp_path
    assert data_path("a.csv") == tmp_path / "a.csv"
    with pytest.raises(FileNotFoundError, match=r"data file 'b.csv' not found in .*; present: a.csv"):
        data_path("b.csv")
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match="LABKIT_DATA=.*is not a folder"):
        data_dir()


def test_linear_data_is_seeded_and_follows_the_line() -> None:
    x, y = linear_data(2000, slope=2.0, intercept=1.0, noise=0.1, seed=5)
    x2, y2 = linear_data(2000, slope=2.0, intercept=1.0, noise=0.1, seed=5)
    assert x.shape == (2000, 1) and y.shape == (2000, 1)
    assert torch.equal(x, x2) and torch.equal(y, y2)
    residual = y - (1.0 + 2.0 * x)
    assert abs(residual.std().item() - 0.1) < 0.01
    assert x.min() >= -3 and x.max() <= 3
