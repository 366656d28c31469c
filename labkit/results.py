"""The JSON a notebook writes to ``result_path``: one stable schema for every lesson.

Schema ``labkit.result/1``::

    {
      "schema": "labkit.result/1",
      "notebook": "02_gradient_descent",       # lesson name, without .ipynb
      "parameters": {"lr": 0.1, ...},          # every parameter the run used
      "metrics": {"final_loss": 0.0012, ...},  # the lesson's key numbers (floats, ints, strings)
      "environment": {"python": "3.11.7", "torch": "2.13.0+cpu", "labkit": "0.1.0",
                      "platform": "...", "cpu": "...", "threads": 2, "device": "cpu"},
      "seconds": 4.2,                          # from the parameter check to the write
      "finished": "2026-11-23T10:00:00+00:00"  # UTC, ISO 8601
    }
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from labkit.errors import DataFormatError

SCHEMA = "labkit.result/1"


def _plain(value: Any) -> Any:
    """Make numbers JSON-safe: tensors and numpy scalars become floats; NaN and inf become None."""
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 0) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass
class Run:
    """A notebook run in progress: started when its parameters pass, written at the end."""

    notebook: str
    parameters: dict[str, Any]
    started: float = field(default_factory=time.perf_counter)

    def record(self, metrics: dict[str, Any], *, device: Any = "cpu") -> dict[str, Any]:
        """The result as a dict in the documented schema."""
        from labkit.machine import environment

        return {
            "schema": SCHEMA,
            "notebook": self.notebook,
            "parameters": _plain(self.parameters),
            "metrics": _plain(metrics),
            "environment": _plain(environment(device)),
            "seconds": round(time.perf_counter() - self.started, 3),
            "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }

    def save(self, path: str, metrics: dict[str, Any], *, device: Any = "cpu") -> dict[str, Any] | None:
        """Write the result to ``path`` as JSON when a path is given; return what was written."""
        if not path:
            return None
        result = self.record(metrics, device=device)
        Path(path).write_text(json.dumps(result, indent=2) + "\n")
        return result


def start(notebook: str, parameters: dict[str, Any]) -> Run:
    """Begin timing a run of ``notebook`` with these (already checked) parameters."""
    return Run(notebook, dict(parameters))


def load(path: str | Path) -> dict[str, Any]:
    """Read a result file and check that it has the documented schema."""
    path = Path(path)
    data = json.loads(path.read_text())
    missing = {"schema", "notebook", "parameters", "metrics", "environment", "seconds"} - set(data)
    if data.get("schema") != SCHEMA or missing:
        raise DataFormatError(f"{path} is not a {SCHEMA} result (missing: {', '.join(sorted(missing)) or 'schema'})")
    return data
