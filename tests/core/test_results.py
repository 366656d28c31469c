from __future__ import annotations

import json
import math

import pytest
import torch

from labkit import results


def test_round_trip_has_the_documented_schema(tmp_path) -> None:
    run = results.start("99_demo", {"lr": 0.1, "epochs": 3})
    path = tmp_path / "r.json"
    written = run.save(str(path), {"final_loss": torch.tensor(0.25), "curve": [1.0, math.inf]}, device="cpu")
    loaded = results.load(path)
    assert loaded == written
    assert loaded["schema"] == "labkit.result/1"
    assert loaded["notebook"] == "99_demo"
    assert loaded["parameters"] == {"lr": 0.1, "epochs": 3}
    assert loaded["metrics"] == {"final_loss": 0.25, "curve": [1.0, None]}, "tensors become floats, inf becomes null"
    env = loaded["environment"]
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and env["threads"] >= 1
    assert loaded["seconds"] >= 0 and loaded["finished"].endswith("+00:00")


def test_no_path_writes_nothing(tmp_path) -> None:
    assert results.start("x", {}).save("", {"a": 1}) is None
    assert list(tmp_path.iterdir()) == []


def test_load_rejects_other_json(tmp_path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"hello": 1}))
    with pytest.raises(ValueError, match="is not a labkit.result/1 result"):
        results.load(path)
