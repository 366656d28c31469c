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


def _fake_gpu(monkeypatch, **props) -> None:
    from types import SimpleNamespace

    fake = SimpleNamespace(name="Fake A100", major=8, minor=0, multi_processor_count=108, total_memory=80 * 2**30,
                           **props)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda device=None: fake)
    monkeypatch.setattr(torch.cuda, "clock_rate", lambda *a: pytest.fail("the current (idle) clock was used"))


def test_gpu_peak_from_the_maximum_clock_matches_the_specification(monkeypatch) -> None:
    from labkit.data import specifications

    _fake_gpu(monkeypatch, clock_rate=1_410_000)  # kHz: the A100's boost clock
    peak = machine.gpu_peak("cuda:0")
    a100 = next(s for s in specifications("gpu") if s["name"].startswith("NVIDIA A100"))
    assert peak["peak_gflops"] == pytest.approx(a100["peak_tflops"]["float32"] * 1e3, rel=0.01)
    assert peak["how"].startswith("estimate:") and "108 SMs × 64 cores/SM" in peak["how"]


def test_gpu_peak_without_a_known_clock_says_so(monkeypatch) -> None:
    import sys

    _fake_gpu(monkeypatch)  # no clock_rate in the properties
    monkeypatch.setitem(sys.modules, "pynvml", None)  # pynvml not installed: its import fails
    peak = machine.gpu_peak("cuda:0")
    assert peak["peak_gflops"] is None and peak["how"] == "unknown: no maximum clock known (ModuleNotFoundError)"
    assert peak["gpu"] == "Fake A100" and peak["memory_gib"] == 80


def test_gpu_peak_is_none_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    assert machine.gpu_peak() is None


def test_flops_per_cycle_by_microarchitecture() -> None:
    amd = "AuthenticAMD"
    assert machine.fp32_flops_per_cycle({"avx2", "fma"}, amd, 0x17, 0x01)[0] == 16, "Zen 1: 128-bit FMA pipes"
    assert machine.fp32_flops_per_cycle({"avx2", "fma"}, amd, 0x17, 0x31)[0] == 32, "Zen 2"
    zen4 = machine.fp32_flops_per_cycle({"avx512f", "avx2", "fma"}, amd, 0x19, 0x11)
    assert zen4[0] == 32 and "Zen 4" in zen4[1], "Zen 4 runs AVX-512 on 256-bit pipes"
    assert machine.fp32_flops_per_cycle({"avx512f"}, amd, 0x1A, 0x02)[0] == 64, "Zen 5: 512-bit pipes"
    assert machine.fp32_flops_per_cycle({"avx512f", "avx2", "fma"}, "GenuineIntel", 6, 0x8F)[0] == 64
    assert machine.fp32_flops_per_cycle({"avx2", "fma", "avx"})[0] == 32
    assert machine.fp32_flops_per_cycle({"avx"})[0] == 16
    assert machine.fp32_flops_per_cycle(set())[0] == 8


def test_cpu_peak_is_labelled_an_estimate_and_explains_itself() -> None:
    peak = machine.cpu_peak(threads=2)
    assert peak["threads"] == 2 and peak["how"].startswith(("estimate:", "unknown"))
    if peak["ghz"]:
        assert peak["peak_gflops"] == pytest.approx(2 * peak["ghz"] * peak["flops_per_cycle"])
        assert peak["clock_from"] in peak["how"] and peak["flops_per_cycle_why"] in peak["how"]


def test_this_machines_cpu_matches_its_specification_sheet() -> None:
    from labkit.data import specifications

    info = machine.cpuinfo()
    family, model = int(info.get("cpu family", -1)), int(info.get("model", -1))
    for sheet in specifications("cpu"):
        if family == sheet["cpu_family"] and any(lo <= model <= hi for lo, hi in sheet["cpu_models"]):
            assert machine.cpu_peak()["flops_per_cycle"] == sheet["flops_per_cycle_per_core"]["float32"]
            return
    pytest.skip(f"no specification sheet for cpu family {family} model {model}")


def test_cache_sizes_grow_with_the_level() -> None:
    sizes = machine.cache_sizes()
    levels = [sizes[k] for k in sorted(sizes)]
    assert levels == sorted(levels), sizes


def test_one_environment_for_results_timings_and_the_report() -> None:
    env = machine.environment("cpu")
    assert env["torch"] == torch.__version__ and env["device"] == "cpu" and env["threads"] >= 1
    assert set(env) <= set(machine.report("cpu")), "the report holds every fact the environment records"
