"""labkit: the helpers behind the workbook — devices, a training loop, timing, plots, parameters.

``import labkit`` stays cheap: matplotlib, ipywidgets and papermill load only inside the
functions that draw, show widgets or run notebooks.
"""

from labkit.device import doctor, pick_device, synchronize
from labkit.train import DivergenceError, History, fit

__version__ = "0.1.0"

__all__ = ["DivergenceError", "History", "__version__", "doctor", "fit", "pick_device", "synchronize"]
