"""Fixtures shared by every test; the shared helpers are modules in tests/helpers/."""

from __future__ import annotations

import pytest

# The report of what was skipped, and why, that ends every run (a plugin, not a fixture).
pytest_plugins = ["helpers.skip_report"]


@pytest.fixture(autouse=True)
def _headless(monkeypatch: pytest.MonkeyPatch) -> None:
    # Kernels started by tests inherit this: no progress bars or live widgets in outputs.
    monkeypatch.setenv("LABKIT_HEADLESS", "1")


@pytest.fixture
def agg():
    """matplotlib on its file-only backend, as pyplot; every figure is closed afterwards."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")
