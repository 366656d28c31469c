"""labkit.machine: the environment report, /proc/cpuinfo facts and the peak estimates built on them."""

from __future__ import annotations

import pytest
import torch

from labkit import device as dev
from labkit import machine


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; none is visible to torch")


def test_doctor_prints_a_pasteable_report(cpu_only, capsys) -> None:
    info = machine.doctor()
    out = capsys.readouterr().out
    for key in ("python", "torch", "labkit", "device", "reason", "threads", "gpu", "widgets"):
        assert key in info
    printed = {key.strip(): value for key, value in (line.split(" : ", 1) for line in out.splitlines())}
    assert printed == info, "every fact is printed, one per line, as `key : value`"
    assert printed["torch"] == torch.__version__ and printed["device"] == "cpu"
    assert info["widgets"].startswith("yes"), "ipywidgets and jupyterlab_widgets are pinned dependencies"


@needs_cuda
def test_gpu_peak_estimate() -> None:
    peak = machine.gpu_peak()
    assert peak is not None and peak["sms"] > 0


def test_gpu_peak_is_none_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert machine.gpu_peak() is None


def test_flops_per_cycle() -> None:
    assert machine.fp32_flops_per_cycle({"avx512f", "avx2", "fma"}) == 64
    assert machine.fp32_flops_per_cycle({"avx512f", "avx2", "fma"}, vendor_amd=True) == 32
    assert machine.fp32_flops_per_cycle({"avx2", "fma", "avx"}) == 32
    assert machine.fp32_flops_per_cycle({"avx"}) == 16
    assert machine.fp32_flops_per_cycle(set()) == 8


def test_cpu_peak_explains_itself() -> None:
    peak = machine.cpu_peak(threads=2)
    assert peak["threads"] == 2 and "how" in peak
    if peak["ghz"]:
        assert peak["peak_gflops"] == pytest.approx(2 * peak["ghz"] * peak["flops_per_cycle"])



def test_one_environment_for_results_timings_and_the_report() -> None:
    env = machine.environment("cpu")
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and env["threads"] >= 1
    assert set(env) <= set(machine.report("cpu")), "the report holds every fact the environment records"
