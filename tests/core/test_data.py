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


def test_digits_are_split_stratified_and_standardised_on_train() -> None:
    from labkit.data import digits

    d = digits(seed=0)
    assert len(d.y_train) + len(d.y_val) + len(d.y_test) == 1797
    assert d.x_train.shape[1] == 64 and d.images_test.shape[1:] == (8, 8)
    for split in (d.y_train, d.y_val, d.y_test):
        share = split.bincount(minlength=10).float() / len(split)
        assert share.min() > 0.08 and share.max() < 0.12, "each class in each split, about a tenth"
    assert d.x_train.mean(dim=0).abs().max() < 1e-5, "centred on the training split"
    assert torch.equal(digits(seed=0).x_test, d.x_test) and not torch.equal(digits(seed=1).x_test, d.x_test)
    assert torch.allclose((d.images_test.reshape(-1, 64) - d.mean) / d.std, d.x_test, atol=1e-5)
    with pytest.raises(ValueError, match="val \\+ test = 1 is not allowed"):
        digits(val=0.5, test=0.5)


def test_specification_sheets_say_where_they_come_from(tmp_path, monkeypatch) -> None:
    import json

    from labkit.data import DataFormatError, specifications

    sheets = specifications()
    assert {s["kind"] for s in sheets} == {"gpu", "cpu", "links"}
    for sheet in sheets:
        assert sheet["label"].startswith("specification, not measurement"), sheet["file"]
        assert sheet["source"]["url"].startswith("https://") and sheet["source"]["published"]
    gpus = {s["name"]: s for s in specifications("gpu")}
    assert {"NVIDIA T4", "NVIDIA A100 SXM4 80GB", "NVIDIA H100 SXM5 80GB"} <= set(gpus)
    for gpu in gpus.values():
        assert gpu["peak_tflops"]["float32"] > 0 and gpu["memory_bandwidth_gbps"] > 0
        assert gpu["host_link"]["gbps_per_direction"] > 0
    (tmp_path / "reference").mkdir()
    (tmp_path / "README.md").write_text("data")
    (tmp_path / "reference" / "spec_bad.json").write_text(json.dumps({"schema": "labkit.spec/1", "kind": "gpu"}))
    monkeypatch.setenv("LABKIT_DATA", str(tmp_path))
    with pytest.raises(DataFormatError, match="spec_bad.json: not a labkit.spec/1 sheet"):
        specifications()


def test_a_sheets_peak_by_dtype_or_one_line_naming_what_it_rates() -> None:
    from labkit.data import spec_peak, specifications
    from labkit.errors import ParameterError

    t4 = next(s for s in specifications("gpu") if s["name"] == "NVIDIA T4")
    assert spec_peak(t4, "float16") == t4["peak_tflops"]["float16"] > 0
    with pytest.raises(ParameterError, match=r"dtype = 'bfloat16' is not allowed for NVIDIA T4: .* for float32"):
        spec_peak(t4, "bfloat16")  # on the sheet, but with no number
