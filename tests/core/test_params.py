from __future__ import annotations

import pytest

from labkit.params import ParameterError, check, check_device, check_list, check_output_path


def test_values_that_pass_come_back() -> None:
    assert check("epochs", 5, int, ge=1) == 5
    assert check("loss", "mse", str, choices=["mse", "mae"]) == "mse"
    assert check("flag", True, bool) is True


def test_an_int_is_a_fine_float() -> None:
    value = check("lr", 1, float, gt=0)
    assert value == 1.0 and isinstance(value, float)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("lr", -0.1, float), {"gt": 0}, "lr = -0.1 is not allowed: must be > 0"),
        (("lr", 20.0, float), {"gt": 0, "le": 10}, "lr = 20.0 is not allowed: must be > 0 and <= 10"),
        (("epochs", 2.5, int), {}, "epochs = 2.5 is not allowed: must be a whole number, got float"),
        (("epochs", True, int), {}, "epochs = True is not allowed: must be a whole number, got bool"),
        (("lr", "fast", float), {}, "lr = 'fast' is not allowed: must be a number, got str"),
        (("lr", float("nan"), float), {}, "lr = nan is not allowed: must be a finite number"),
        (("loss", "l3", str), {"choices": ["mse", "mae"]}, "loss = 'l3' is not allowed: must be one of 'mse', 'mae'"),
        (("flag", 1, bool), {}, "flag = 1 is not allowed: must be True or False, got int"),
    ],
)
def test_bad_values_get_one_line(args, kwargs, message) -> None:
    with pytest.raises(ParameterError) as err:
        check(*args, **kwargs)
    assert str(err.value) == message


def test_the_notebook_shows_only_the_line() -> None:
    err = ParameterError("n = -1 is not allowed: must be >= 1")
    assert err._render_traceback_() == ["ParameterError: n = -1 is not allowed: must be >= 1"]


def test_lists_are_checked_item_by_item() -> None:
    assert check_list("sizes", [64, 128], int, ge=1) == [64, 128]
    with pytest.raises(ParameterError, match=r"sizes\[1\] = 0 is not allowed: must be >= 1"):
        check_list("sizes", [64, 0], int, ge=1)
    with pytest.raises(ParameterError, match="must hold at least 1"):
        check_list("sizes", [], int)
    with pytest.raises(ParameterError, match="must be a list"):
        check_list("sizes", 64, int)


def test_device_parameter(monkeypatch) -> None:
    monkeypatch.delenv("LABKIT_DEVICE", raising=False)
    assert check_device("device", "cpu") == "cpu"
    assert check_device("device", "auto") == "auto"
    with pytest.raises(ParameterError, match=r"device = 'tpu' is not allowed: .*available: auto, cpu"):
        check_device("device", "tpu")


def test_output_path(tmp_path) -> None:
    assert check_output_path("result_path", "") == ""
    good = str(tmp_path / "r.json")
    assert check_output_path("result_path", good) == good
    with pytest.raises(ParameterError, match="does not exist"):
        check_output_path("result_path", str(tmp_path / "missing" / "r.json"))
    with pytest.raises(ParameterError, match=r"must end in \.json"):
        check_output_path("result_path", str(tmp_path / "r.txt"))
