"""Report what ran: tables (Markdown, CSV), a sweep's figure, the first error of a run, and HTML to read anywhere."""

from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from labkit.errors import CourseError


class RunLike(Protocol):
    """What a summary reads of a run (``labkit.course.runs.RunRecord`` has it)."""

    key: str
    status: str
    seconds: float
    error: str


@dataclass
class Row:
    """One line of the grade table: a student's result on one test cell of one assignment."""

    student: str
    assignment: str
    exercise: str
    score: float
    max_score: float
    status: str  # passed | failed | timeout | not run | missing | unreadable
    reason: str
    file: str


def export_html(notebook: Any, target: str | Path | None = None) -> Path:
    """Write a notebook (a path, or a notebook node with ``target``) as HTML with nbconvert's lab template."""
    import nbformat
    from nbconvert import HTMLExporter

    if isinstance(notebook, (str, Path)):
        target = Path(notebook).with_suffix(".html") if target is None else target
        notebook = nbformat.read(str(notebook), as_version=4)
    if target is None:
        raise ValueError("export_html needs a target path for a notebook that is not a file")
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    target = Path(target)
    target.write_text(body, encoding="utf-8")
    return target


def first_line(text: str) -> str:
    """The first line of ``text`` without terminal colours, at most 300 characters ('' for none)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text)).strip()
    return text.splitlines()[0][:300] if text else ""


def error_line(notebook_path: str | Path) -> str:
    """The first error an executed notebook holds, as one line ``Name: message`` ('' if none)."""
    import nbformat

    try:
        nb = nbformat.read(str(notebook_path), as_version=4)
    except Exception:  # noqa: BLE001 - a half-written notebook has no error to show
        return ""
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                message = (out.get("evalue") or "").strip().splitlines()
                return f"{out.get('ename', 'Error')}: {message[0] if message else ''}".rstrip(": ")
    return ""


def summary_table(records: Sequence[RunLike]) -> str:
    """Notebook, status, seconds and error line of each run, as a Markdown table."""
    rows = [[r.key, r.status, f"{r.seconds:.1f}", r.error] for r in records]
    return markdown_table(["notebook", "status", "seconds", "error"], rows)


def write_summary(records: Sequence[RunLike], out: Path) -> None:
    """``summary.md`` and ``summary.csv`` of a workbook run."""
    (out / "summary.md").write_text(summary_table(records) + "\n")
    with open(out / "summary.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["notebook", "status", "seconds", "error"])
        writer.writerows([r.key, r.status, r.seconds, r.error] for r in records)


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or value is None


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "" if value is None else str(value)


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-style Markdown table; ``|`` inside cells is escaped."""
    def line(cells: Sequence[Any]) -> str:
        return "| " + " | ".join(_cell(c).replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return "\n".join([line(header), "|" + "|".join(" --- " for _ in header) + "|", *map(line, rows)])


def collect(out: str | Path, *, x: str | None = None, metric: str | None = None) -> list[dict[str, Any]]:
    """Gather a sweep's runs into ``results.csv``, ``results.md`` and ``results.png``; return the rows."""
    out = Path(out)
    manifest = json.loads((out / "sweep.json").read_text())
    swept = list(manifest["grid"])
    rows, metric_names = [], []
    for run in manifest["runs"]:
        metrics = {k: v for k, v in (run.get("metrics") or {}).items() if _scalar(v)}
        metric_names += [k for k in metrics if k not in metric_names]
        row = {"run": run["key"], "status": run["status"], "seconds": run["seconds"]}
        row.update({name: run["parameters"].get(name) for name in swept})
        row.update(metrics)
        row["error"] = run["error"]
        rows.append(row)
    header = ["run", "status", "seconds", *swept, *metric_names, "error"]
    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)
    table = markdown_table(header, [[r.get(h) for h in header] for r in rows])
    (out / "results.md").write_text(f"# Sweep of {manifest['notebook']}\n\n{table}\n")
    figure_path = out / "results.png"
    fig = results_figure(rows, swept, metric_names, x=x, metric=metric, title=manifest["notebook"])
    if fig is not None:
        fig.savefig(figure_path)
        import matplotlib.pyplot as plt

        plt.close(fig)
    return rows


def results_figure(
    rows: Sequence[dict[str, Any]], swept: Sequence[str], metrics: Sequence[str], *,
    x: str | None = None, metric: str | None = None, title: str = "",
):
    """``metric`` against the swept parameter ``x``, one line per combination of the other swept values."""
    ok = [r for r in rows if r["status"] == "ok"]
    if x is None:
        numeric = [p for p in swept if all(_number(r.get(p)) for r in ok)]
        varied = [p for p in numeric if len({r.get(p) for r in ok}) > 1]
        x = (varied or numeric or [None])[0]
    if metric is None:
        numeric = [m for m in metrics if ok and all(_number(r.get(m)) for r in ok)]
        varied = [m for m in numeric if len({r.get(m) for r in ok}) > 1]
        metric = (varied or numeric or [None])[0]
    if x is None or metric is None or not ok:
        return None
    if metric not in metrics:
        raise CourseError(f"metric {metric!r} is not among the results; metrics: {', '.join(metrics)}")
    from labkit.plot import figure

    fig, ax = figure()
    others = [p for p in swept if p != x]
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in ok:
        groups.setdefault(tuple(r.get(p) for p in others), []).append(r)
    for group, members in groups.items():
        points = sorted((r[x], r[metric]) for r in members if _number(r.get(x)) and _number(r.get(metric)))
        if not points:
            continue
        label = ", ".join(f"{p}={v}" for p, v in zip(others, group, strict=True)) or None
        ax.plot(*zip(*points, strict=True), marker="o", label=label)
    for axis, values in (("x", [r.get(x) for r in ok]), ("y", [r.get(metric) for r in ok])):
        values = [v for v in values if _number(v)]
        if values and min(values) > 0 and max(values) / min(values) >= 100:
            getattr(ax, f"set_{axis}scale")("log")
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    ax.set_title(f"{title}: {metric} against {x}" if title else f"{metric} against {x}")
    if others:
        ax.legend(title=None)
    return fig

