"""Per lesson: non-default parameters it must run with under papermill, and bad values that must stop it.

One module per lesson, ``lNN.py``, with ``LESSON`` (the notebook's stem) and ``CASE``: ``params``
(merged with ``result_path`` by the test, which then checks the result JSON) and ``bad``, a list
of (parameters, text the one-line error must contain). Every notebook in notebooks/ needs one
(tests/notebooks/test_lessons.py checks).
"""

from __future__ import annotations

import importlib
import pkgutil

CASES: dict[str, dict] = {}
for _module in pkgutil.iter_modules(__path__):
    _cases = importlib.import_module(f"{__name__}.{_module.name}")
    CASES[_cases.LESSON] = _cases.CASE
