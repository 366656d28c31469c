"""labkit: the helpers behind the workbook: devices, a training loop, timing, plots, parameters.

``import labkit`` stays cheap: torch loads when a name that needs it is first used
(``labkit.fit``, ``labkit.pick_device``, ...), and matplotlib, ipywidgets, papermill and nbgrader
only inside the functions that draw, show widgets, run notebooks or grade them. So the course
tools (``labkit.course``), which need no torch, start quickly.

Where things live: the core modules here (``device``, ``machine``, ``data``, ``params``,
``results``, ``history``, ``train``, ``plot``, ``bench``, ``explorer``, ``errors``, ``paths``)
are what lessons import; ``labkit.lessons.<topic>`` holds one lesson's math, texts, figures and
explorer; ``labkit.course`` holds the instructor's and scripts' tools (the ``labkit`` command).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# name -> the module that defines it, imported on first use
_EXPORTS = {
    "DivergenceError": "labkit.errors",
    "LabkitError": "labkit.errors",
    "History": "labkit.history",
    "doctor": "labkit.machine",
    "evaluate": "labkit.train",
    "fit": "labkit.train",
    "pick_device": "labkit.device",
    "synchronize": "labkit.device",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value  # the next lookup finds it directly
        return value
    raise AttributeError(f"module 'labkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})
