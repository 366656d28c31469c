"""The graded notebook a student reads: a score table on top, each item's result after it, hidden tests hidden."""

from __future__ import annotations

import copy
from typing import Any

from labkit.course.release import KERNEL_SPEC, LOG, nbg
from labkit.course.report import Row, first_line


def _summary_cell(student: str, assignment: str, rows: list[Row], notes: list[str]) -> Any:
    from nbformat.v4 import new_markdown_cell

    total, best = sum(r.score for r in rows), sum(r.max_score for r in rows)
    lines = [f"# Feedback: {assignment}", "", f"**{student}** — **{total:g} / {best:g} points**", "",
             "| item | points | result |", "| --- | --- | --- |"]
    for r in rows:
        why = r.reason.replace("|", "\\|") or "all tests pass"
        lines.append(f"| `{r.exercise}` | {r.score:g} / {r.max_score:g} | {r.status}: {why} |")
    if notes:
        lines += ["", "Notes:", ""] + [f"- {n}" for n in notes]
    return new_markdown_cell("\n".join(lines))


def feedback_notebook(nb: Any | None, student: str, assignment: str, rows: list[Row], notes: list[str],
                      *, show_hidden: bool = False) -> Any:
    """The graded notebook for the student: a summary on top, each graded item's result after it.

    Hidden tests stay hidden unless ``show_hidden``: their source is cleared again, and a failing
    test shows its error's message, not the traceback that would quote the hidden line. Manually
    graded answers and tasks keep the student's answer, marked for the instructor to grade.
    """
    import nbformat
    from nbformat.v4 import new_markdown_cell, new_notebook
    from nbgrader.preprocessors import ClearHiddenTests

    out = new_notebook(metadata={"kernelspec": KERNEL_SPEC})
    out.cells.append(_summary_cell(student, assignment, rows, notes))
    if nb is None:
        return out
    by_id = {r.exercise: r for r in rows}
    clear = ClearHiddenTests(log=LOG, enforce_metadata=False)
    for cell in copy.deepcopy(nb).cells:
        meta = nbg(cell)
        row = by_id.get(meta.get("grade_id")) if meta.get("grade") or meta.get("task") else None
        test = row is not None and cell.cell_type == "code" and not meta.get("solution")
        if test and not show_hidden:
            cell, _ = clear.preprocess_cell(cell, {}, 0)
            for o in cell.get("outputs", []):
                if o.get("output_type") == "error":
                    o["traceback"] = [f"{o.get('ename', '')}: {first_line(o.get('evalue', ''))}"]
        out.cells.append(cell)
        if row is not None:
            mark = {"passed": "✔", "manual": "✍", "not answered": "✘"}.get(row.status, "✘")
            text = f"**{mark} `{row.exercise}`: {row.score:g} / {row.max_score:g}** — {row.status}"
            out.cells.append(new_markdown_cell(text + (f": {row.reason}" if row.reason else "")))
    nbformat.validate(out)
    return out
