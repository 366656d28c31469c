"""Fixtures shared by every test; the shared helpers are modules in tests/helpers/."""

from __future__ import annotations

import pytest

# The report of what was skipped, and why, that ends every run (a plugin, not a fixture).
pytest_plugins = ["helpers.skip_report"]


def pytest_configure(config: pytest.Config) -> None:
    """nbval's kernels talk over unix sockets of their own, as every kernel labkit starts does.

    Over tcp, jupyter_client picks a kernel's five ports by binding and closing them, and the kernel
    binds them a second later: two workers starting kernels at once (or a Dask or torch.distributed
    test listening meanwhile) can take the same port, and that kernel dies before it answers.
    """
    try:
        import nbval.kernel
    except ImportError:  # no nbval, no notebooks to validate
        return
    nbval.kernel.KernelManager = _kernel_manager_on_unix_sockets  # what nbval's start_new_kernel builds


def _kernel_manager_on_unix_sockets(**kwargs):
    """A jupyter_client KernelManager whose kernel's sockets are in a fresh folder of this run's."""
    import atexit
    import shutil
    import tempfile
    from pathlib import Path

    from jupyter_client.manager import KernelManager

    from labkit.course.sandbox import local_kernel_manager_class

    sockets = tempfile.mkdtemp(prefix="nbval-", dir="/tmp")  # short: a unix socket path has at most 107 bytes
    atexit.register(shutil.rmtree, sockets, ignore_errors=True)
    return local_kernel_manager_class(Path(sockets), KernelManager)(**kwargs)


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
