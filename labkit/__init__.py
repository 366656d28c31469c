"""labkit: the helpers behind the workbook: devices, a training loop, timing, plots, parameters.

``import labkit`` stays cheap: matplotlib, ipywidgets, papermill and nbgrader load only inside
the functions that draw, show widgets, run notebooks or grade them.

Where things live: the core modules here (``device``, ``machine``, ``data``, ``params``,
``results``, ``history``, ``train``, ``plot``, ``bench``, ``explorer``, ``errors``, ``paths``)
are what lessons import; ``labkit.lessons.<topic>`` holds one lesson's math, texts, figures and
explorer; ``labkit.course`` holds the instructor's and scripts' tools (the ``labkit`` command).
"""

from labkit.device import pick_device, synchronize
from labkit.errors import DivergenceError, LabkitError
from labkit.history import History
from labkit.machine import doctor
from labkit.train import evaluate, fit

__version__ = "0.1.0"

__all__ = [
    "DivergenceError", "History", "LabkitError", "__version__", "doctor", "evaluate", "fit", "pick_device",
    "synchronize",
]
