"""Find the lessons and read their parameters as papermill sees them; turn command-line text into values."""

from __future__ import annotations

import ast
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.errors import CourseError
from labkit.params import type_words
from labkit.paths import notebooks_dir


def lessons(names: Sequence[str] | None = None) -> list[Path]:
    """Lesson paths in teaching order; ``names`` picks some by file name, stem or number prefix."""
    found = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if not names:
        return found
    chosen = []
    for name in names:
        name = str(name)
        matches = [p for p in found if name in (p.name, p.stem, p.stem[:2]) or Path(name).resolve() == p.resolve()]
        if not matches:
            raise CourseError(f"unknown lesson {name!r}; lessons: {', '.join(p.stem for p in found)}")
        chosen += [p for p in matches if p not in chosen]
    return chosen


def assignments(names: Sequence[str | Path] | None = None) -> list[Path]:
    """Instructor notebooks: lessons by name or number, or nbgrader-format ``.ipynb`` files (default: the lessons)."""
    if not names:
        return lessons()
    found: list[Path] = []
    for name in names:
        path = Path(name)
        if path.suffix == ".ipynb":
            if not path.is_file():
                raise CourseError(f"no assignment notebook at {name}: give a lesson name or number, or a .ipynb file")
            chosen = [path.resolve()]
        else:
            chosen = lessons([str(name)])
        found += [p for p in chosen if p not in found]
    return found


def lesson(name: str | Path) -> Path:
    """The one lesson ``name`` (a file name, stem or number) names."""
    return lessons([str(name)])[0]


@dataclass(frozen=True)
class Param:
    """One parameter of a lesson, as papermill inspects its tagged ``parameters`` cell."""

    name: str
    type: str
    default: str
    help: str


def inspect_params(notebook: str | Path) -> dict[str, Param]:
    """A lesson's parameters (name, type, default, help), read by ``papermill.inspect_notebook``."""
    import papermill as pm

    found = pm.inspect_notebook(str(lesson(notebook)))
    return {
        name: Param(name, p.get("inferred_type_name") or "None", p.get("default", ""), p.get("help", ""))
        for name, p in found.items()
    }


def params_table(notebook: str | Path) -> str:
    """The parameters of a lesson as an aligned text table, for ``labkit params``."""
    params = list(inspect_params(notebook).values())
    rows = [("name", "type", "default", "help")] + [(p.name, p.type, p.default, p.help) for p in params]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r[:3], widths, strict=True)) + "  " + r[3] for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths) + "  " + "-" * 4)
    return "\n".join(line.rstrip() for line in lines)


def known(name: str, params: dict[str, Param], stem: str) -> None:
    """CourseError unless ``name`` is a parameter of the lesson that a run may set."""
    if name not in params:
        raise CourseError(f"unknown parameter {name!r} for {stem}; its parameters: {', '.join(params)}")
    if name == "result_path":
        raise CourseError("result_path is set by the runner for each run; leave it out")


def _wrong_type(name: str, value: Any, kind: str) -> CourseError:
    return CourseError(f"{name} = {value!r} is not allowed: must be {type_words(kind)} ({kind})")


def check_value(name: str, value: Any, kind: str) -> Any:
    """``value`` if it fits the inspected type ``kind`` (an int is fine where a float is asked), else CourseError."""
    ok = {
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, (int, float)) and not isinstance(value, bool),
        "str": isinstance(value, str),
        "bool": isinstance(value, bool),
    }.get(kind, True)  # unannotated or compound types: the lesson's own check decides
    if not ok:
        raise _wrong_type(name, value, kind)
    return value


def parse_value(name: str, text: str, kind: str) -> Any:
    """Turn command-line text into a value of the inspected type ``kind``."""
    text = text.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            value = float(text)
            if not math.isfinite(value):
                raise ValueError
            return value
        if kind == "bool":
            words = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            return words[text.lower()]
        if kind == "str":
            return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text
    except (ValueError, KeyError):
        raise _wrong_type(name, text, kind) from None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def split_values(text: str) -> list[str]:
    """Split ``0.01,0.1,1.0`` at top-level commas (commas inside brackets or quotes stay)."""
    parts, depth, quote, current = [], 0, "", ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return [p.strip() for p in parts if p.strip()]


def parse_grid(notebook: str | Path, pairs: Sequence[tuple[str, str]]) -> dict[str, list[Any]]:
    """``[("lr", "0.01,0.1"), ...]`` from the command line into a typed grid for ``notebook``."""
    params = inspect_params(notebook)
    stem = lesson(notebook).stem
    grid: dict[str, list[Any]] = {}
    for name, text in pairs:
        known(name, params, stem)
        grid.setdefault(name, []).extend(parse_value(name, t, params[name].type) for t in split_values(text))
    return grid
