"""Choose a device (saying why), synchronize with it."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from labkit.errors import DeviceError

ENV_VAR = "LABKIT_DEVICE"


@dataclass(frozen=True)
class DeviceChoice:
    """The device that was picked and the reason, in words a learner can read."""

    device: torch.device
    reason: str


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def available_devices() -> list[str]:
    """Every device string this machine accepts, e.g. ``['cpu', 'cuda', 'cuda:0']``."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.append("cuda")
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def _explicit(name: str, source: str) -> DeviceChoice:
    allowed = available_devices()
    if name not in allowed:
        raise DeviceError(
            f"{source} asks for device {name!r}, which is not available here; "
            f"available: auto, {', '.join(allowed)}"
        )
    return DeviceChoice(torch.device(name), f"asked for explicitly ({source})")


def device_choice(prefer: str = "auto") -> DeviceChoice:
    """Resolve ``prefer`` ('auto', 'cpu', 'cuda', 'cuda:N', 'mps') to a device and a reason."""
    if not isinstance(prefer, (str, torch.device)):
        raise DeviceError(f"device must be a string such as 'auto' or 'cpu', not {prefer!r}")
    name = str(prefer).strip().lower()
    if name != "auto":
        return _explicit(name, f"device={prefer!r}")
    override = os.environ.get(ENV_VAR, "").strip().lower()
    if override and override != "auto":
        return _explicit(override, f"{ENV_VAR}={override}")
    if torch.cuda.is_available():
        return DeviceChoice(torch.device("cuda"), f"auto: CUDA GPU found ({torch.cuda.get_device_name(0)})")
    if _mps_available():
        return DeviceChoice(torch.device("mps"), "auto: no CUDA GPU, Apple MPS found")
    return DeviceChoice(torch.device("cpu"), "auto: no CUDA GPU and no Apple MPS, so the CPU")


def pick_device(prefer: str = "auto") -> torch.device:
    """CUDA if present, else Apple MPS, else CPU; ``LABKIT_DEVICE`` overrides 'auto'."""
    return device_choice(prefer).device


def synchronize(device: str | torch.device) -> None:
    """Wait for queued work on ``device`` to finish (a no-op on the CPU)."""
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()
