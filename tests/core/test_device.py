from __future__ import annotations

import pytest
import torch

from labkit import device as dev
from labkit.device import DeviceError, device_choice, pick_device, synchronize


@pytest.fixture
def cpu_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


@pytest.fixture
def one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda i=0: "Fake GPU 9000")
    monkeypatch.setattr(dev, "_mps_available", lambda: False)


def test_auto_falls_back_to_cpu_and_says_why(cpu_only) -> None:
    choice = device_choice("auto")
    assert choice.device == torch.device("cpu")
    assert "no CUDA" in choice.reason and "MPS" in choice.reason
    assert pick_device() == torch.device("cpu")


def test_auto_prefers_cuda(one_gpu) -> None:
    choice = device_choice()
    assert choice.device == torch.device("cuda")
    assert "Fake GPU 9000" in choice.reason


def test_auto_prefers_mps_over_cpu(cpu_only, monkeypatch) -> None:
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert pick_device("auto") == torch.device("mps")


def test_env_var_overrides_auto_only(one_gpu, monkeypatch) -> None:
    monkeypatch.setenv("LABKIT_DEVICE", "cpu")
    choice = device_choice("auto")
    assert choice.device == torch.device("cpu") and "LABKIT_DEVICE" in choice.reason
    assert pick_device("cuda") == torch.device("cuda"), "an explicit device wins over the variable"


def test_bad_env_var_names_itself(cpu_only, monkeypatch) -> None:
    monkeypatch.setenv("LABKIT_DEVICE", "tpu")
    with pytest.raises(DeviceError, match=r"LABKIT_DEVICE=tpu .*available: auto, cpu"):
        pick_device()


@pytest.mark.parametrize("name", ["cuda", "tpu", "cuda:7", "mps"])
def test_absent_device_lists_what_is_available(cpu_only, name) -> None:
    with pytest.raises(DeviceError) as err:
        pick_device(name)
    message = str(err.value)
    assert repr(name) in message and "available: auto, cpu" in message and "\n" not in message


def test_cuda_index_out_of_range(one_gpu) -> None:
    assert pick_device("cuda:0") == torch.device("cuda:0")
    with pytest.raises(DeviceError, match="available: auto, cpu, cuda, cuda:0"):
        pick_device("cuda:7")


def test_not_a_string_is_rejected() -> None:
    with pytest.raises(DeviceError, match="must be a string"):
        pick_device(3)  # type: ignore[arg-type]


def test_synchronize_is_a_noop_on_cpu(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "synchronize", lambda *a: pytest.fail("CUDA synchronize on a CPU device"))
    assert synchronize("cpu") is None


def test_synchronize_waits_for_cuda(monkeypatch) -> None:
    calls = []
    monkeypatch.setattr(torch.cuda, "synchronize", lambda d=None: calls.append(d))
    synchronize("cuda:0")
    assert calls == [torch.device("cuda:0")]
