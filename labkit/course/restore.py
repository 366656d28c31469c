"""Put the instructor's graded cells back into a submission, as ``nbgrader autograde`` does, before it runs.

Test cells are restored by ``grade_id`` (hidden tests included) over edited ones and in place of
deleted ones; task cells and locked cells likewise; a student cannot add, unmark or re-point a
graded cell. This is nbgrader's own ``OverwriteCells``, asked the instructor's notebook instead of
nbgrader's database.
"""

from __future__ import annotations

import copy
import re
from types import SimpleNamespace
from typing import Any

from labkit.course.release import KERNEL_SPEC, LOG, apply, nbg

NBGRADER_KEYS = ("grade", "solution", "task", "locked", "grade_id", "schema_version", "points")


def _is_locked(cell: Any) -> bool:
    from nbgrader import utils

    return bool(utils.is_locked(cell))


class SourceBook:
    """Answers the few questions nbgrader's ``OverwriteCells`` asks its database, from a notebook."""

    def __init__(self, source_nb: Any) -> None:
        cells = [c for c in source_nb.cells if nbg(c).get("grade_id")]
        self.source_cells = [
            SimpleNamespace(name=nbg(c)["grade_id"], cell_type=c.cell_type, source=c.source,
                            checksum=nbg(c)["checksum"], locked=_is_locked(c))
            for c in cells
        ]
        self._by_name = {c.name: c for c in self.source_cells}
        self.points = {nbg(c)["grade_id"]: float(nbg(c).get("points", 0)) for c in cells
                       if nbg(c).get("grade") or nbg(c).get("task")}
        self.grade_cells = [SimpleNamespace(name=nbg(c)["grade_id"], max_score=self.points[nbg(c)["grade_id"]])
                            for c in cells if nbg(c).get("grade")]
        self.task_cells = [SimpleNamespace(name=nbg(c)["grade_id"], max_score=self.points[nbg(c)["grade_id"]])
                           for c in cells if nbg(c).get("task")]
        self.solution_cells = [SimpleNamespace(name=nbg(c)["grade_id"]) for c in cells if nbg(c).get("solution")]

    def __enter__(self) -> SourceBook:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def find_notebook(self, *_: object) -> SourceBook:
        return self

    def find_source_cell(self, name: str, *_: object) -> SimpleNamespace:
        from nbgrader.api import MissingEntry

        if name not in self._by_name:
            raise MissingEntry()
        return self._by_name[name]

    def find_graded_cell(self, name: str, *_: object) -> SimpleNamespace:
        return SimpleNamespace(max_score=self.points.get(name, 0.0))


def _restore_cells_class() -> type:
    from nbgrader.preprocessors import OverwriteCells

    class RestoreCells(OverwriteCells):
        """nbgrader's ``OverwriteCells``, asking the instructor notebook instead of the database."""

        source_nb: Any = None

        def preprocess(self, nb: Any, resources: dict) -> tuple[Any, dict]:
            self.gradebook = SourceBook(self.source_nb)
            self.notebook_id = self.assignment_id = ""
            with self.gradebook:
                nb, resources = super(OverwriteCells, self).preprocess(nb, resources)
            return nb, resources

    return RestoreCells


def _insert_missing_cells(nb: Any, source: Any, notes: list[str]) -> None:
    """Add back graded, task or answer cells the student deleted, after the nearest cell still there.

    nbgrader's ``add_missing_grade_cells`` fails when a deleted test cell's answer cell is gone too,
    so deleted cells go back here, in nbgrader's own format for a missing cell.
    """
    import nbformat
    from nbgrader.preprocessors import OverwriteCells

    book = SourceBook(source)
    make = OverwriteCells(log=LOG)
    present = {nbg(c).get("grade_id") for c in nb.cells}
    source_ids = [c.name for c in book.source_cells]
    by_id = {nbg(c).get("grade_id"): c for c in source.cells if nbg(c).get("grade_id")}
    for i, cell in enumerate(book.source_cells):
        if cell.name in present:
            continue
        meta = nbg(by_id[cell.name])
        if meta.get("grade") and not meta.get("solution"):
            new = nbformat.from_dict(make.missing_cell_transform(cell, book.points[cell.name]))
            notes.append(f"test cell {cell.name} was deleted; restored from the instructor's version")
        elif meta.get("task"):
            new = nbformat.from_dict(make.missing_cell_transform(cell, book.points[cell.name], is_task=True))
            notes.append(f"task cell {cell.name} was deleted; restored from the instructor's version")
        else:
            new = copy.deepcopy(by_id[cell.name])
            notes.append(f"answer cell {cell.name} was deleted; put back empty")
        new["id"] = re.sub(r"[^A-Za-z0-9_-]", "-", f"restored-{cell.name}")[:64]
        before = [j for j, c in enumerate(nb.cells) if nbg(c).get("grade_id") in source_ids[:i]]
        if before:
            at = before[-1] + 1
        else:
            at = min(next(j for j, c in enumerate(source.cells) if nbg(c).get("grade_id") == cell.name),
                     len(nb.cells))
        nb.cells.insert(at, new)
        present.add(cell.name)


def restore(nb: Any, source: Any, released: Any, notes: list[str]) -> Any:
    """``nb`` with outputs cleared, duplicate ids dropped and the instructor's graded cells back in place.

    ``source`` is the gradebook version of the instructor notebook (hidden tests included),
    ``released`` the student version; what was changed is added to ``notes``.
    """
    from nbgrader import utils
    from nbgrader.preprocessors import ClearOutput, DeduplicateIds

    known = {nbg(c)["grade_id"]: c for c in source.cells if nbg(c).get("grade_id")}
    visible = {nbg(c)["grade_id"]: nbg(c)["checksum"] for c in released.cells if nbg(c).get("grade_id")}
    full = {nbg(c)["grade_id"]: nbg(c)["checksum"] for c in source.cells if nbg(c).get("grade_id")}
    for cell in nb.cells:
        meta = cell.get("metadata", {})
        if "nbgrader" not in meta:
            continue
        gid = (meta.get("nbgrader") or {}).get("grade_id")
        if gid not in known:
            del meta["nbgrader"]  # a student cannot add test cells, nor turn their cells into them
            continue
        # Flags come from the instructor: a test cell cannot be unmarked, re-pointed or made editable.
        original = nbg(known[gid])
        meta["nbgrader"] = {k: original[k] for k in NBGRADER_KEYS if k in original}
        locked_test = (original.get("grade") and not original.get("solution")) or original.get("task")
        if locked_test:
            meta["nbgrader"]["checksum"] = visible.get(gid, full[gid])
            if cell.cell_type != known[gid].cell_type or utils.compute_checksum(cell) not in (visible.get(gid),
                                                                                              full[gid]):
                kind = "task" if original.get("task") else "test"
                notes.append(f"{kind} cell {gid} was edited; restored from the instructor's version")
    nb.metadata["kernelspec"] = dict(KERNEL_SPEC)
    nb = apply(nb, [ClearOutput(log=LOG), DeduplicateIds(log=LOG)])
    _insert_missing_cells(nb, source, notes)
    restore_cells = _restore_cells_class()(log=LOG)
    restore_cells.source_nb = source
    nb, _ = restore_cells.preprocess(nb, {})
    return nb
