"""The jobs a job process can run, by name, and the one function that runs one from its spec file.

``run_job`` (``labkit.course.executor``) writes a spec (the job's kind, payload, output folder and result
file) and starts a process that calls ``run_spec`` on it: a plain ``python -m labkit.course.executor
SPEC``, or a child of the fork server (``labkit.course.forkserver``).
"""

from __future__ import annotations

import importlib
import json
import signal
from pathlib import Path
from typing import Any

JOBS = {
    "grade": "labkit.course.grade:grade_job",
    "run": "labkit.course.runs:run_job",
}
# What each job imports before it does anything: seconds of it, which the fork server does once for all.
TOOLS = {
    "grade": ("nbformat", "nbgrader.preprocessors", "nbconvert", "jupyter_client.manager"),
    "run": ("nbformat", "papermill", "nbconvert"),
}


def import_tools(kind: str | None = None) -> None:
    """Import what job ``kind`` uses (every job's, and the jobs' own modules, for None); imported ones cost nothing."""
    names = TOOLS[kind] if kind else [*{n for tools in TOOLS.values() for n in tools},
                                      *(ref.partition(":")[0] for ref in JOBS.values())]
    for name in names:
        importlib.import_module(name)


def run_spec(spec_path: str) -> int:
    """Inside the job's process: call the job function ``spec_path`` names and write its result."""
    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, stop)
    spec = json.loads(Path(spec_path).read_text())
    module, _, name = JOBS[spec["kind"]].partition(":")
    fn = getattr(importlib.import_module(module), name)
    result = fn(spec["payload"], Path(spec["out"]))
    Path(spec["result"]).write_text(json.dumps(result))
    return 0
