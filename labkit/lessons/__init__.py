"""One module per lesson topic: the math, texts, figures and explorer a lesson needs beyond its own cells.

Each module imports the core (``labkit.plot``, ``labkit.explorer``, ...), never ``labkit.course``
and never another lesson; matplotlib and ipywidgets load only inside the functions that draw.
"""
