"""A pytest plugin: the run's very last lines say what was skipped and why, so a skip never reads as a pass."""

from __future__ import annotations

from collections import Counter

import pytest


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_unconfigure(config: pytest.Config) -> None:
    """After pytest's own summary line: every skip reason with its count, or that nothing was skipped."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or hasattr(config, "workerinput"):  # xdist workers report to the controller
        return
    skipped = [r for r in reporter.stats.get("skipped", []) if getattr(r, "longrepr", None)]
    reporter.write_sep("=", "what was skipped, and why")
    if not skipped:
        reporter.write_line("nothing was skipped")
        return
    for reason, count in Counter(_reason(r) for r in skipped).most_common():
        reporter.write_line(f"SKIPPED {count} test(s): {reason}", yellow=True, bold=True)
