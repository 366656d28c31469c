"""Switch off the helpers that would answer an exercise while a learner's answer runs in its test cell.

A lesson imports helpers (``labkit.lessons.memory.tensor_nbytes``) and torch offers functions
(``torch.nn.functional.cross_entropy``) that compute what an exercise asks the learner to write.
A test cell wraps its asserts in ``helpers_off``::

    with helpers_off("labkit.lessons.memory.tensor_nbytes", why="multiply the elements by the bytes of one"):
        assert bytes_needed((1000, 1000), torch.float32) == 4_000_000

Name the helpers by their dotted names: the test then switches off the library's function even
if the notebook's own name for it was rebound, and never a function of the learner's that
happens to share its short name. While the block runs, a call to a switched-off function fails
the test with one line that names the function and says why. The watch is on the functions
themselves, not on their names: an alias taken before the block (``from torch.nn.functional
import scaled_dot_product_attention as f``), an exact copy of a function's code, or a call from
deeper inside another library is caught as well, and an answer that catches the error and goes
on still fails when the block ends.

It watches through ``sys.setprofile`` (Python functions by their code object, built-in ones by
identity), in the calling thread, and through a ``torch.overrides.TorchFunctionMode`` where
torch is loaded, which also sees torch functions and tensor methods called from C (``map``,
``functools.partial``). Guards nest: an inner block keeps the outer one's helpers off too. A
reference answer computed inside the block with a switched-off function fails, as it should: a
hidden test's reference lives in the test or is computed another way. This keeps honest
learners from a shortcut; it is no sandbox against hostile code (threads, an edited copy of a
helper's source), which ``labkit grade`` runs in one.
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

from labkit.errors import ParameterError

# Turning the watch off would switch every helper back on: these stay off inside every block.
_ALWAYS_OFF = tuple(fn for fn in (sys.setprofile, getattr(sys, "_setprofileallthreads", None),
                                  getattr(threading, "setprofile_all_threads", None)) if fn is not None)
_WATCH_SWITCHES = {f"{fn.__module__}.{fn.__name__}" for fn in _ALWAYS_OFF}


class HelperSwitchedOff(AssertionError):
    """An answer called a function that its test switched off: the test fails, and says which and why."""


def _resolve(helper: Callable[..., Any] | str) -> tuple[str, Callable[..., Any]]:
    """(dotted name, the function) for a function or the dotted name of one."""
    if isinstance(helper, str):
        module_name, _, attr = helper.rpartition(".")
        obj: Any = None
        while module_name:  # "torch.nn.functional.cross_entropy": the longest importable module prefix
            try:
                obj = importlib.import_module(module_name)
                break
            except ImportError:
                module_name, _, head = module_name.rpartition(".")
                attr = f"{head}.{attr}"
        for part in attr.split("."):
            obj = getattr(obj, part, None)
        if obj is None or not callable(obj):
            raise ParameterError(f"helper {helper!r} is not a function that can be imported: give its dotted name, "
                                 "for example 'torch.nn.functional.cross_entropy'")
        return helper, obj
    if isinstance(helper, type) or not callable(helper):
        raise ParameterError(f"helper {helper!r} is not a function: switch off functions (or their dotted names), "
                             "not classes or values")
    owner = getattr(helper, "__objclass__", None)
    if owner is not None and getattr(owner, "__module__", "").split(".")[0] != "torch":
        raise ParameterError(f"helper {helper!r} is a method of {owner.__name__}: only torch's tensor methods can be "
                             "switched off; switch off a function")
    module = getattr(helper, "__module__", None) or ""
    name = getattr(helper, "__qualname__", None) or getattr(helper, "__name__", repr(helper))
    return (f"{module}.{name}" if module else name), helper


def _codes(fn: Any) -> list[types.CodeType]:
    """The code objects that running ``fn`` enters: its own and those of the functions it wraps."""
    codes = []
    while fn is not None:
        code = getattr(fn, "__code__", None)
        if isinstance(code, types.CodeType):
            codes.append(code)
        fn = getattr(fn, "__wrapped__", None)
    return codes


class helpers_off:  # noqa: N801 - used as a context manager, like contextlib's suppress
    """While the block runs, a call to any of ``helpers`` fails the test, with ``why`` in its message."""

    def __init__(self, *helpers: Callable[..., Any] | str, why: str) -> None:
        if not helpers:
            raise ParameterError("helpers_off needs at least one function to switch off")
        if not why or not why.strip():
            raise ParameterError("helpers_off needs why=: the one line that tells the learner what to do instead")
        self.why = why.strip()
        self.names: dict[Any, str] = {}  # code object (Python) or id of a function (built-in) -> dotted name
        self.functions: dict[int, str] = {}  # id of each function -> dotted name, for torch's function mode
        self._keep: list[Any] = []  # the functions themselves, so that their ids stay theirs
        for helper in helpers:
            name, fn = _resolve(helper)
            codes = _codes(fn)
            for key in codes or [id(fn)]:
                self.names[key] = name
            self.functions[id(fn)] = name
            self._keep.append(fn)
        for fn in _ALWAYS_OFF:
            self.names[id(fn)] = f"{fn.__module__}.{fn.__name__}"
        self.called: list[str] = []
        self._previous: Any = None
        self._outer: helpers_off | None = None
        self._torch_mode: Any = None
        self._quiet = False  # while the guard itself turns the watch on or off

    def message(self, name: str) -> str:
        """One line: which function is off, and what to do instead."""
        if name in _WATCH_SWITCHES:
            return f"{name} is switched off while your answer runs: it would turn this test's watch off"
        return f"{name} is switched off while your answer runs: {self.why}"

    def _watch(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            self._trip(self.names.get(frame.f_code))
        elif event == "c_call" and not self._quiet:
            self._trip(self.names.get(id(arg)))

    def _trip(self, name: str | None) -> None:
        if name is not None:
            self.called.append(name)
            raise HelperSwitchedOff(self.message(name))  # Python stops the watch here; __exit__ still fails the test

    def __enter__(self) -> helpers_off:
        self.called = []
        self._previous = sys.getprofile()
        outer = getattr(self._previous, "__self__", None)
        self._outer = outer if isinstance(outer, helpers_off) else None
        if self._outer is not None:  # nested: the outer guard's helpers stay off in here too
            self._outer._quiet = True
            self.names = {**self._outer.names, **self.names}
            self.functions = {**self._outer.functions, **self.functions}
        self._quiet = True
        sys.setprofile(self._watch)
        self._quiet = False
        self._torch_mode = _torch_mode(self)
        if self._torch_mode is not None:
            self._torch_mode.__enter__()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> bool:
        self._quiet = True
        if self._torch_mode is not None:
            self._torch_mode.__exit__(None, None, None)
        watched = sys.getprofile() == self._watch
        sys.setprofile(self._previous)
        if self._outer is not None:
            self._outer._quiet = False
        if self.called and not isinstance(error, HelperSwitchedOff):
            raise HelperSwitchedOff(self.message(self.called[0])) from error
        if not watched and not self.called and error is None:
            # only a call to a switched-off function ends the watch early, so this block turned it off itself
            raise HelperSwitchedOff("the test's watch was turned off while your answer ran: leave sys.setprofile alone")
        return False


def _torch_mode(guard: helpers_off) -> Any:
    """A TorchFunctionMode that trips ``guard`` on a switched-off torch function, however it is called; None
    where torch is not loaded (an exercise that never imported torch cannot call it)."""
    if "torch" not in sys.modules:
        return None
    from torch.overrides import TorchFunctionMode

    class SwitchedOff(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):  # noqa: ANN001 - torch's signature
            guard._trip(guard.functions.get(id(func)))
            return func(*args, **(kwargs or {}))

    return SwitchedOff()
