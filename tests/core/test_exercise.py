"""labkit.exercise.helpers_off: a switched-off helper fails the answer that calls it, however it was reached."""

from __future__ import annotations

import functools
import sys
import types

import pytest
import torch
from torch.nn import functional as F

from labkit.errors import ParameterError
from labkit.exercise import HelperSwitchedOff, helpers_off


def area(w: float, h: float) -> float:
    """The helper that answers the exercise."""
    return w * h


def honest(w: float, h: float) -> float:
    return sum(w for _ in range(int(h)))


WHY = "add the rows up yourself"


def test_an_answer_that_calls_the_helper_fails_with_its_name_and_why() -> None:
    def shortcut(w: float, h: float) -> float:
        return area(w, h)

    with pytest.raises(HelperSwitchedOff) as caught, helpers_off(area, why=WHY):
        shortcut(2, 3)
    assert str(caught.value) == f"{__name__}.area is switched off while your answer runs: {WHY}"
    assert isinstance(caught.value, AssertionError), "graders count it as a failed assert"


def test_an_honest_answer_passes_and_the_helper_is_back_afterwards() -> None:
    before = sys.getprofile()
    with helpers_off(area, why=WHY):
        assert honest(2, 3) == 6
    assert sys.getprofile() is before
    assert area(2, 3) == 6, "outside the block the helper works again"


def test_an_alias_taken_before_the_switch_is_caught() -> None:
    alias = area  # `from labkit.lessons.x import area as alias` in the solution cell
    copy = types.FunctionType(area.__code__, {})  # even a new function built on its code

    for fn in (alias, copy):
        with pytest.raises(HelperSwitchedOff, match="area is switched off"), helpers_off(area, why=WHY):
            fn(2, 3)


def test_a_builtin_is_caught_through_any_name() -> None:
    from torch.nn.functional import scaled_dot_product_attention as attend  # taken before the block

    q = torch.randn(1, 2, 4, 8)
    with pytest.raises(HelperSwitchedOff, match="scaled_dot_product_attention is switched off"), \
            helpers_off("torch.nn.functional.scaled_dot_product_attention", why="write softmax(QKᵀ/√d)V"):
        attend(q, q, q)
    with helpers_off(F.scaled_dot_product_attention, why="write softmax(QKᵀ/√d)V"):
        w = torch.softmax(q @ q.transpose(-2, -1) / 8**0.5, dim=-1)  # the answer written out is fine
        assert (w @ q).shape == q.shape


def test_a_helper_called_deep_inside_another_library_is_caught() -> None:
    logits, target = torch.randn(4, 3), torch.tensor([0, 1, 2, 0])
    with pytest.raises(HelperSwitchedOff, match="cross_entropy is switched off"), \
            helpers_off(F.cross_entropy, why="write the log-sum-exp yourself"):
        torch.nn.CrossEntropyLoss()(logits, target)  # the module calls F.cross_entropy


def test_catching_the_error_and_going_on_still_fails() -> None:
    def sly(w: float, h: float) -> float:
        try:
            return area(w, h)
        except Exception:  # noqa: BLE001 - what a learner might write
            return area(w, h)  # the watch is gone after the first call: the block's end still fails

    with pytest.raises(HelperSwitchedOff, match="area is switched off"), helpers_off(area, why=WHY):
        assert sly(2, 3) == 6


def test_turning_the_watch_off_is_caught() -> None:
    def unhook(w: float, h: float) -> float:
        sys.setprofile(None)
        return area(w, h)

    with pytest.raises(HelperSwitchedOff, match="setprofile is switched off"), helpers_off(area, why=WHY):
        unhook(2, 3)


def test_a_wrapped_helper_is_caught_by_the_code_it_wraps() -> None:
    @functools.lru_cache
    def cached(w: float, h: float) -> float:
        return area(w, h)

    @functools.wraps(honest)
    def wrapper(*args):
        return honest(*args)

    with pytest.raises(HelperSwitchedOff, match="honest is switched off"), helpers_off(wrapper, why=WHY):
        honest(1, 2)  # the function it wraps
    with pytest.raises(HelperSwitchedOff, match="area is switched off"), helpers_off(area, why=WHY):
        cached(2, 5)


def test_another_failure_does_not_hide_the_helper_call() -> None:
    def both(w: float, h: float) -> float:
        try:
            area(w, h)
        except HelperSwitchedOff:
            pass
        raise ValueError("something else went wrong")

    with pytest.raises(HelperSwitchedOff) as caught, helpers_off(area, why=WHY):
        both(2, 3)
    assert isinstance(caught.value.__cause__, ValueError)


def test_bad_helpers_are_one_line_errors() -> None:
    with pytest.raises(ParameterError, match="at least one function"):
        helpers_off(why=WHY)
    with pytest.raises(ParameterError, match="needs why="):
        helpers_off(area, why=" ")
    with pytest.raises(ParameterError, match="'torch.nn.functional.no_such_loss' is not a function"):
        helpers_off("torch.nn.functional.no_such_loss", why=WHY)
    with pytest.raises(ParameterError, match="not classes or values"):
        helpers_off(torch.nn.CrossEntropyLoss, why=WHY)
    with pytest.raises(ParameterError, match="not classes or values"):
        helpers_off(3, why=WHY)


def test_a_previous_profiler_is_restored() -> None:
    seen = []

    def profiler(frame, event, arg):
        seen.append(event)

    sys.setprofile(profiler)
    try:
        with helpers_off(area, why=WHY):
            honest(1, 1)
        assert sys.getprofile() is profiler
    finally:
        sys.setprofile(None)


def test_torch_functions_called_from_c_and_tensor_methods_are_caught() -> None:
    q = torch.randn(1, 2, 4, 8)
    why = "write softmax(QKᵀ/√d)V"
    for sly in (lambda: functools.partial(F.scaled_dot_product_attention, q)(q, q),
                lambda: list(map(F.scaled_dot_product_attention, [q], [q], [q]))):
        with pytest.raises(HelperSwitchedOff, match="scaled_dot_product_attention is switched off"), \
                helpers_off(F.scaled_dot_product_attention, why=why):
            sly()
    with pytest.raises(HelperSwitchedOff, match="softmax is switched off"), \
            helpers_off(torch.Tensor.softmax, torch.softmax, why="exponentiate and normalise yourself"):
        q.softmax(-1)
    with pytest.raises(ParameterError, match="only torch's tensor methods"):
        helpers_off(str.upper, why=WHY)


def test_guards_nest_and_the_inner_block_keeps_the_outer_helpers_off() -> None:
    with helpers_off(area, why=WHY):
        with helpers_off(F.cross_entropy, why="write the log-sum-exp yourself"):
            assert honest(2, 3) == 6  # an honest answer passes both
        with pytest.raises(HelperSwitchedOff, match="area is switched off"), \
                helpers_off(F.cross_entropy, why="write the log-sum-exp yourself"):
            area(2, 3)  # the outer guard's helper, called inside the inner block
        assert honest(1, 1) == 1
    assert sys.getprofile() is None


def test_a_dotted_name_switches_off_the_library_function_not_the_learners_namesake() -> None:
    namespace: dict = {"__name__": "__lesson__"}
    exec("def tensor_nbytes(shape, dtype):\n"  # noqa: S102 - a learner's own function that shares the helper's name
         "    count = 1\n    for side in shape:\n        count *= side\n    return count * dtype.itemsize\n", namespace)
    with helpers_off("labkit.lessons.memory.tensor_nbytes", why=WHY):
        assert namespace["tensor_nbytes"]((2, 3), torch.float32) == 24
    from labkit.lessons import memory

    rebound = memory.tensor_nbytes  # the solution cell kept the real one, then rebound the notebook's name
    with pytest.raises(HelperSwitchedOff, match="labkit.lessons.memory.tensor_nbytes is switched off"), \
            helpers_off("labkit.lessons.memory.tensor_nbytes", why=WHY):
        rebound((2, 3), torch.float32)
