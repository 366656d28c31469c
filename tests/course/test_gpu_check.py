"""``labkit gpu-check``: refuses clearly without a GPU; with one, keeps each lesson's result as measured_*.json."""

from __future__ import annotations

import pytest

from labkit import results
from labkit.course import gpu_check as gc
from labkit.course.cli import main
from labkit.device import available_devices

pytestmark = pytest.mark.notebook


@pytest.mark.skipif(len(available_devices()) > 1 or gc.torch_has_mps(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so_in_one_line(capsys, tmp_path) -> None:
    assert main(["gpu-check", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "gpu-check needs a GPU: torch sees no CUDA device and no Apple MPS" in err
    assert not (tmp_path / "out").exists(), "nothing is written before the check"


def test_reference_names() -> None:
    assert gc.slug("NVIDIA H100 80GB HBM3") == "nvidia_h100_80gb_hbm3"
    assert gc.reference_name("Tesla T4", "04_gpu_vs_cpu") == "measured_tesla_t4_04_gpu_vs_cpu.json"
    assert gc.slug("***") == "gpu"


def test_each_lesson_result_is_kept_under_its_reference_name(monkeypatch, tmp_path, capsys) -> None:
    # The GPU is faked (the device the lessons get is the CPU); the run, the result JSON and the copy are real.
    monkeypatch.setattr(gc, "gpu_device", lambda: ("cpu", "Fake GPU 9000"))
    out = tmp_path / "check"
    assert main(["gpu-check", "00", "--out", str(out), "--quiet"]) == 0
    kept = out / "measured_fake_gpu_9000_00_start_here.json"
    result = results.load(kept)
    assert result["notebook"] == "00_start_here" and result["parameters"]["device"] == "cpu"
    said = capsys.readouterr().out
    assert f"cp {out}/measured_*.json data/reference/" in said, said
