"""Facts about this machine: environment report, CPU/GPU names, CPU flags, peak estimates."""

from __future__ import annotations

import functools
import os
import platform
import sys
from typing import Any

import torch


@functools.cache
def cpuinfo() -> dict[str, str]:
    """The first processor's entries in /proc/cpuinfo (empty where there is no such file)."""
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block ends at the first blank line
                key, _, value = line.partition(":")
                info.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    return info


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo where there is one, else what platform knows."""
    return cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    """The CPU feature flags from /proc/cpuinfo (empty where there is no such file)."""
    return set(cpuinfo().get("flags", "").split())


def cpu_clock_ghz() -> float | None:
    """The clock /proc/cpuinfo reports, in GHz (in a VM often the base clock, not the boost)."""
    try:
        return float(cpuinfo()["cpu MHz"]) / 1000
    except (KeyError, ValueError):
        return None


def fp32_flops_per_cycle(flags: set[str], vendor_amd: bool = False) -> int:
    """Peak float32 FLOPs per cycle per core from the vector extensions: lanes × 2 (FMA) × FMA units.

    AVX-512 on Intel server cores: 16 lanes × 2 × 2 units = 64. AMD Zen 4 runs AVX-512 on 256-bit
    units, so it stays at AVX2's 8 lanes × 2 × 2 = 32. AVX without FMA: 8 lanes × 2 ops = 16.
    """
    if "avx512f" in flags and not vendor_amd:
        return 64
    if "avx2" in flags and "fma" in flags:
        return 32
    if "avx" in flags:
        return 16
    return 8


def cpu_peak(threads: int | None = None) -> dict[str, Any]:
    """Estimated float32 peak of this CPU: cores × clock × FLOPs per cycle, with the reasoning."""
    flags = cpu_flags()
    name = cpu_name()
    threads = torch.get_num_threads() if threads is None else threads
    ghz = cpu_clock_ghz()
    per_cycle = fp32_flops_per_cycle(flags, vendor_amd="AMD" in name.upper())
    peak = threads * ghz * per_cycle if ghz else None
    how = (
        f"{threads} core(s) × {ghz:.2f} GHz × {per_cycle} FLOP/cycle (float32 FMA, from the CPU flags)"
        if ghz
        else "unknown: /proc/cpuinfo gives no clock here"
    )
    return {
        "cpu": name,
        "threads": threads,
        "ghz": ghz,
        "flops_per_cycle": per_cycle,
        "peak_gflops": peak,
        "how": how,
        "amx": any(f.startswith("amx") for f in flags),
        "avx512_bf16": "avx512_bf16" in flags,
    }


# CUDA cores (float32 FMA lanes) per SM by compute capability; from NVIDIA's CUDA programming guide.
_CORES_PER_SM = {(6, 0): 64, (6, 1): 128, (7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128,
                 (8, 9): 128, (9, 0): 128, (10, 0): 128, (12, 0): 128}


def gpu_peak(device: str | torch.device = "cuda") -> dict[str, Any] | None:
    """Estimated float32 (non-tensor-core) peak of a CUDA GPU: SMs × cores/SM × 2 × clock; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    device = torch.device(device)
    props = torch.cuda.get_device_properties(device)
    cc = (props.major, props.minor)
    cores = _CORES_PER_SM.get(cc)
    clock_khz = getattr(props, "clock_rate", None)
    if clock_khz is None:
        try:
            clock_khz = torch.cuda.clock_rate(device) * 1000  # MHz → kHz
        except (RuntimeError, AttributeError):  # the clock is optional information
            clock_khz = None
    peak = props.multi_processor_count * cores * 2 * clock_khz / 1e6 if cores and clock_khz else None
    how = (
        f"{props.multi_processor_count} SMs × {cores} cores/SM × 2 (FMA) × {clock_khz / 1e6:.2f} GHz"
        if peak
        else f"unknown for compute capability {cc[0]}.{cc[1]} (no clock or core count known)"
    )
    return {"gpu": props.name, "capability": f"{cc[0]}.{cc[1]}", "sms": props.multi_processor_count,
            "memory_gib": round(props.total_memory / 2**30, 1), "peak_gflops": peak, "how": how}


def environment(device: str | torch.device = "cpu") -> dict[str, Any]:
    """What a number measured on ``device`` depends on: versions, platform, CPU, threads (and the GPU)."""
    import labkit

    device = torch.device(device)
    info: dict[str, Any] = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "labkit": labkit.__version__,
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "threads": torch.get_num_threads(),
        "device": str(device),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = str(torch.version.cuda)
    return info


def _widgets_status() -> str:
    from importlib import metadata

    try:
        widgets = metadata.version("ipywidgets")
    except metadata.PackageNotFoundError:
        return "no: ipywidgets is not installed"
    try:
        lab = metadata.version("jupyterlab_widgets")
    except metadata.PackageNotFoundError:
        return f"no: ipywidgets {widgets} is installed but JupyterLab's widget extension is not"
    return f"yes (ipywidgets {widgets}, jupyterlab_widgets {lab})"


def report(prefer: str = "auto") -> dict[str, str]:
    """The environment of the device ``prefer`` resolves to, why it was chosen, every GPU and the widgets."""
    from labkit.device import device_choice

    choice = device_choice(prefer)
    info = {key: str(value) for key, value in environment(choice.device).items()}
    info["reason"] = choice.reason
    info["threads"] = f"{torch.get_num_threads()} used by torch, {os.cpu_count()} logical CPUs"
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            props = torch.cuda.get_device_properties(i)
            info[f"gpu {i}"] = f"{props.name}, {props.total_memory / 2**30:.1f} GiB"
    else:
        info["gpu"] = "none (no CUDA device visible to torch)"
    info["widgets"] = _widgets_status()
    return info


def doctor(prefer: str = "auto") -> dict[str, str]:
    """Print the environment report a learner can paste into a question; return it too."""
    info = report(prefer)
    width = max(map(len, info))
    print("\n".join(f"{key:<{width}} : {value}" for key, value in info.items()))
    return info
