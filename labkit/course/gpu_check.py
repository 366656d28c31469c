"""``labkit gpu-check``: every lesson on this machine's GPU, kept as measured reference results.

Run where a CUDA or Apple MPS GPU is visible to torch. Each lesson runs headless with
``device=cuda`` (or ``mps``) through the same runner as ``labkit run``; each lesson's result JSON
(schema ``labkit.result/1``) is then copied to ``measured_<gpu>_<lesson>.json``, the name lesson 04
looks for in ``data/reference/``. Nothing is written into ``data/``: the command says what to copy.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from labkit.errors import CourseError


def torch_has_mps() -> bool:
    """Whether torch can use Apple's MPS GPU here."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def gpu_device() -> tuple[str, str]:
    """('cuda' or 'mps', the GPU's name), or a CourseError naming why there is no GPU to check."""
    import torch

    if torch.cuda.is_available():
        return "cuda", torch.cuda.get_device_name(0)
    if torch_has_mps():
        return "mps", "Apple MPS"
    raise CourseError("gpu-check needs a GPU: torch sees no CUDA device and no Apple MPS here "
                      "(`labkit doctor` says why); the lessons' CPU results are what `labkit run` writes")


def slug(name: str) -> str:
    """'NVIDIA H100 80GB HBM3' → 'nvidia_h100_80gb_hbm3': a GPU's name as part of a file name."""
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "gpu"


def reference_name(gpu: str, lesson: str) -> str:
    """The file name a measured result gets beside the specification sheets."""
    return f"measured_{slug(gpu)}_{lesson}.json"


def gpu_check(out: str | Path = "build/gpu-check", *, notebooks: list[str] | None = None,
              timeout: float = 600, progress: bool = True) -> tuple[list, list[Path]]:
    """Run the lessons on the GPU into ``out``; return (run records, measured reference files written)."""
    from labkit.course.runs import run_workbook
    from labkit.paths import safe_output_dir

    safe_output_dir(out)  # a bad folder is refused first, GPU or not
    device, gpu = gpu_device()
    records = run_workbook(notebooks, out, timeout=timeout, parameters={"device": device}, progress=progress)
    written = []
    for record in records:
        if record.status == "ok":
            target = Path(out) / reference_name(gpu, record.notebook)
            shutil.copyfile(record.result_path, target)
            written.append(target)
    return records, written
