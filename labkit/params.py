"""Validate notebook parameters: one clear line naming the parameter, its value, what is allowed."""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labkit.errors import OutputFolderError, ParameterError
from labkit.paths import safe_output_dir

_BOUNDS = {
    "gt": (operator.gt, ">"),
    "ge": (operator.ge, ">="),
    "lt": (operator.lt, "<"),
    "le": (operator.le, "<="),
}


# How a parameter's type reads in an error, by the type's name (as papermill reports it, too).
TYPE_WORDS = {"float": "a number", "int": "a whole number", "str": "a string", "bool": "True or False"}


def type_words(kind: type | str) -> str:
    """'a whole number' for int (or 'int'): the words an error uses for a parameter's type."""
    name = kind if isinstance(kind, str) else kind.__name__
    return TYPE_WORDS.get(name, name)


def _coerce(name: str, value: Any, kind: type) -> Any:
    # bool is an int in Python; a learner who writes epochs=True made a mistake.
    if kind is bool:
        if isinstance(value, bool):
            return value
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ParameterError(f"{name} = {value!r} is not allowed: must be a finite number")
            return float(value)
    elif isinstance(value, kind):
        return value
    raise ParameterError(
        f"{name} = {value!r} is not allowed: must be {type_words(kind)}, got {type(value).__name__}"
    )


def check(
    name: str,
    value: Any,
    kind: type,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
    choices: Iterable[Any] | None = None,
) -> Any:
    """Return ``value`` (an int becomes a float where a float is asked for) or raise ParameterError."""
    value = _coerce(name, value, kind)
    limits = {"gt": gt, "ge": ge, "lt": lt, "le": le}
    if any(limit is not None and not _BOUNDS[key][0](value, limit) for key, limit in limits.items()):
        allowed = " and ".join(f"{_BOUNDS[key][1]} {limit!r}" for key, limit in limits.items() if limit is not None)
        raise ParameterError(f"{name} = {value!r} is not allowed: must be {allowed}")
    if choices is not None:
        choices = list(choices)
        if value not in choices:
            raise ParameterError(
                f"{name} = {value!r} is not allowed: must be one of {', '.join(map(repr, choices))}"
            )
    return value


def check_list(name: str, value: Any, kind: type, *, min_len: int = 1, **limits: Any) -> list:
    """Check a list (or tuple) parameter item by item; the error names the bad item."""
    if not isinstance(value, (list, tuple)):
        raise ParameterError(f"{name} = {value!r} is not allowed: must be a list of {type_words(kind)}s")
    if len(value) < min_len:
        raise ParameterError(f"{name} = {value!r} is not allowed: must hold at least {min_len} item(s)")
    return [check(f"{name}[{i}]", item, kind, **limits) for i, item in enumerate(value)]


def check_device(name: str, value: Any) -> str:
    """Check a device parameter ('auto', 'cpu', 'cuda', 'cuda:N', 'mps') against this machine."""
    from labkit.device import DeviceError, device_choice

    value = check(name, value, str)
    try:
        device_choice(value)
    except DeviceError as err:
        raise ParameterError(f"{name} = {value!r} is not allowed: {err}") from None
    return value


def check_output_path(name: str, value: Any) -> str:
    """Check an optional output file path: '' means none; else a .json in a writable folder outside the sources."""
    value = check(name, value, str)
    if value:
        folder = Path(value).expanduser().resolve().parent
        try:
            safe_output_dir(folder, what="its folder")
        except OutputFolderError as err:
            raise ParameterError(f"{name} = {value!r} is not allowed: {err}") from None
        if not folder.is_dir():
            raise ParameterError(f"{name} = {value!r} is not allowed: folder {str(folder)!r} does not exist")
        if not os.access(folder, os.W_OK):
            raise ParameterError(f"{name} = {value!r} is not allowed: folder {str(folder)!r} is not writable")
        if Path(value).suffix != ".json":
            raise ParameterError(f"{name} = {value!r} is not allowed: must end in .json")
    return value
