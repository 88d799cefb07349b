"""The engine's one set of "finite or null" helpers: what JSON receives for NaN, ±inf and numpy values."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backproplab.engine.errors import ConfigError
from backproplab.engine.numbers import (
    finite_float,
    finite_list,
    finite_list_or_none,
    finite_or_none,
    json_safe,
    nan_if_none,
)


def test_finite_or_none_and_back():
    assert finite_or_none(1.5) == 1.5
    assert finite_or_none(np.float64(-2.0)) == -2.0
    assert [finite_or_none(value) for value in (math.nan, math.inf, -math.inf, None)] == [None] * 4
    assert nan_if_none(None) != nan_if_none(None)  # NaN
    assert nan_if_none(3) == 3.0


def test_finite_list_keeps_shape_and_replaces_only_non_finite_entries():
    values = np.array([[1.0, np.nan], [np.inf, -2.5]])
    assert finite_list(values) == [[1.0, None], [None, -2.5]]
    assert finite_list(np.arange(3.0)) == [0.0, 1.0, 2.0]
    assert finite_list(4.0) == 4.0  # a 0-d array is its number
    json.dumps(finite_list(values), allow_nan=False)


def test_finite_list_or_none_is_all_or_nothing():
    assert finite_list_or_none(np.array([1.0, 2.0])) == [1.0, 2.0]
    assert finite_list_or_none(np.array([1.0, np.nan])) is None


def test_json_safe_walks_any_tree():
    tree = {
        "array": np.array([1.0, np.inf]),
        "ints": np.array([1, 2]),
        "tuple": (0.5, np.float64(np.nan)),
        "scalar": np.int64(3),
        "flag": np.bool_(True),
        "text": "ok",
        "nested": [{"x": -np.inf}],
        7: None,
    }
    safe = json_safe(tree)
    assert safe == {
        "array": [1.0, None],
        "ints": [1, 2],
        "tuple": [0.5, None],
        "scalar": 3,
        "flag": True,
        "text": "ok",
        "nested": [{"x": None}],
        "7": None,
    }
    assert type(safe["scalar"]) is int and type(safe["flag"]) is bool
    json.dumps(safe, allow_nan=False)


@pytest.mark.parametrize("bad", [math.nan, math.inf, "1.0", None, True])
def test_finite_float_names_the_field(bad):
    with pytest.raises(ConfigError) as error:
        finite_float(bad, "value")
    assert error.value.field == "value"


def test_finite_float_accepts_numbers():
    assert finite_float(np.int32(2), "value") == 2.0 and finite_float(-0.5, "value") == -0.5
