"""Facts about this machine: environment report, CPU/GPU names, CPU flags, peak estimates."""

from __future__ import annotations

import functools
import os
import platform
import sys
from pathlib import Path
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


def cpu_clock_ghz() -> tuple[float | None, str]:
    """The fastest clock this machine admits to, in GHz, and where it was read.

    Linux's cpufreq gives the maximum (boost) clock where it is exposed; otherwise /proc/cpuinfo's
    current clock, which a virtual machine often fixes at the base clock: the cores may run faster.
    """
    try:
        khz = float(Path("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").read_text())
        return khz / 1e6, "cpufreq's maximum clock"
    except (OSError, ValueError):
        pass
    try:
        return float(cpuinfo()["cpu MHz"]) / 1000, "/proc/cpuinfo's clock, often the base clock in a VM"
    except (KeyError, ValueError):
        return None, "no clock reported"


def cpu_cores() -> int:
    """Logical CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def cache_sizes() -> dict[str, int]:
    """Bytes of each data cache level of CPU 0, e.g. ``{'L1': 32768, 'L2': 1048576, 'L3': 33554432}``; {} if unknown."""
    sizes: dict[str, int] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            text = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1], 1)
        sizes[f"L{level}"] = int(text.rstrip("KMG")) * scale
    return sizes


def fp32_flops_per_cycle(flags: set[str], vendor: str = "", family: int | None = None,
                         model: int | None = None) -> tuple[int, str]:
    """Peak float32 FLOPs per cycle per core, and why: FMA units × lanes × 2 (a fused multiply-add is 2 FLOPs).

    By microarchitecture where /proc/cpuinfo names it: AMD Zen 1 has two 128-bit FMA pipes (16),
    Zen 2 to Zen 4 two 256-bit ones (32; Zen 4 runs AVX-512 on them in two halves), Zen 5 two
    512-bit ones (64). Intel cores with AVX-512 are counted with two 512-bit FMA units (64; some
    Xeon Silver and Gold 5xxx have one, so 32). Otherwise from the flags: AVX2 with FMA 32, AVX 16,
    SSE 8.
    """
    if vendor == "AuthenticAMD" and family is not None:
        if family == 0x17:
            return (16, "AMD Zen/Zen+: 2 × 128-bit FMA") if (model or 0) < 0x30 else (32, "AMD Zen 2: 2 × 256-bit FMA")
        if family == 0x19:
            zen4 = model is not None and (0x10 <= model <= 0x1F or 0x60 <= model <= 0x7F or 0xA0 <= model <= 0xAF)
            return (32, "AMD Zen 4: 2 × 256-bit FMA (AVX-512 in two halves)") if zen4 else \
                (32, "AMD Zen 3: 2 × 256-bit FMA")
        if family >= 0x1A:
            return 64, "AMD Zen 5: 2 × 512-bit FMA"
    if "avx512f" in flags:
        return 64, "AVX-512 with 2 FMA units (32 where the core has one)"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2: 2 × 256-bit FMA"
    if "avx" in flags:
        return 16, "AVX without FMA: 8 lanes × (1 add + 1 multiply)"
    return 8, "SSE: 4 lanes × (1 add + 1 multiply)"


def cpu_peak(threads: int | None = None) -> dict[str, Any]:
    """ESTIMATED float32 peak of this CPU: cores × clock × FLOPs per cycle, with the reasoning.

    An estimate, not a measurement: the clock may be reported lower than the cores run (a VM),
    and the FLOPs per cycle come from the microarchitecture. A measurement above it means the
    estimate is wrong.
    """
    info = cpuinfo()
    flags = cpu_flags()
    threads = torch.get_num_threads() if threads is None else threads
    ghz, clock_from = cpu_clock_ghz()
    try:
        family, model = int(info["cpu family"]), int(info["model"])
    except (KeyError, ValueError):
        family = model = None
    per_cycle, why = fp32_flops_per_cycle(flags, info.get("vendor_id", ""), family, model)
    peak = threads * ghz * per_cycle if ghz else None
    how = (f"estimate: {threads} core(s) × {ghz:.2f} GHz [{clock_from}] × {per_cycle} FLOP/cycle [{why}]"
           if ghz else "unknown: no clock reported here")
    return {
        "cpu": cpu_name(),
        "threads": threads,
        "ghz": ghz,
        "clock_from": clock_from,
        "family": family,
        "model": model,
        "flops_per_cycle": per_cycle,
        "flops_per_cycle_why": why,
        "peak_gflops": peak,
        "how": how,
        "amx": any(f.startswith("amx") for f in flags),
        "avx512_bf16": "avx512_bf16" in flags,
    }


# CUDA cores (float32 FMA lanes) per SM by compute capability; from NVIDIA's CUDA programming guide.
_CORES_PER_SM = {(6, 0): 64, (6, 1): 128, (7, 0): 64, (7, 5): 64, (8, 0): 64, (8, 6): 128, (8, 7): 128,
                 (8, 9): 128, (9, 0): 128, (10, 0): 128, (12, 0): 128}


def gpu_max_clock_ghz(device: torch.device, props: Any) -> tuple[float | None, str]:
    """A CUDA GPU's maximum SM clock in GHz and where it was read, or (None, why not).

    Not ``torch.cuda.clock_rate``: it reports the current clock, the idle one when nothing runs,
    and it raises without pynvml.
    """
    khz = getattr(props, "clock_rate", None)  # cudaDeviceProp.clockRate: the maximum, in kHz
    if khz:
        return khz / 1e6, "CUDA's device properties"
    try:
        import pynvml

        pynvml.nvmlInit()
        handle = pynvml.nvmlDeviceGetHandleByIndex(device.index or 0)
        return pynvml.nvmlDeviceGetMaxClockInfo(handle, pynvml.NVML_CLOCK_SM) / 1e3, "NVML's maximum SM clock"
    except Exception as err:  # noqa: BLE001 - pynvml missing, or NVML without this GPU: the clock is unknown
        return None, f"no maximum clock known ({type(err).__name__})"


def gpu_peak(device: str | torch.device = "cuda") -> dict[str, Any] | None:
    """ESTIMATED float32 (non-tensor-core) peak of a CUDA GPU: SMs × cores/SM × 2 × max clock; None without CUDA."""
    if not torch.cuda.is_available():
        return None
    device = torch.device(device)
    props = torch.cuda.get_device_properties(device)
    cc = (props.major, props.minor)
    cores = _CORES_PER_SM.get(cc)
    ghz, clock_from = gpu_max_clock_ghz(device, props)
    peak = props.multi_processor_count * cores * 2 * ghz if cores and ghz else None
    if peak:
        how = (f"estimate: {props.multi_processor_count} SMs × {cores} cores/SM × 2 (FMA) × {ghz:.2f} GHz "
               f"[{clock_from}]")
    elif not cores:
        how = f"unknown: no core count known for compute capability {cc[0]}.{cc[1]}"
    else:
        how = f"unknown: {clock_from}"
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
