"""Numbers on their way out of the engine: JSON has no NaN or ±infinity, so those become ``None`` (null).

The one home of the engine's "finite or null" helpers; the server's encoders import them too.

- :func:`finite_or_none` — one number: itself if finite, else None;
- :func:`nan_if_none` — the way back into a float column: None becomes NaN;
- :func:`finite_list` — an array (any shape) as nested lists, None in place of each non-finite entry;
- :func:`finite_list_or_none` — a vector as a list only when every entry is finite (a point, a velocity);
- :func:`json_safe` — any tree of dicts, lists, tuples, arrays and numpy scalars as plain JSON values;
- :func:`finite_float` — a number from user input, or a ConfigError naming the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .errors import ConfigError


def finite_or_none(value: float | None) -> float | None:
    """``value`` as a float when it is a finite number; None for None, NaN and ±inf."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def nan_if_none(value: float | None) -> float:
    """``value`` as a float, NaN for None (a metric that was not measured)."""
    return math.nan if value is None else float(value)


def finite_list(values: ArrayLike) -> list[Any]:
    """A (nested) float list with None in place of NaN and ±inf."""
    array = np.asarray(values, dtype=np.float64)
    finite = np.isfinite(array)
    if finite.all():
        result: list[Any] = array.tolist()
        return result
    # NOTE: boxing to object is the vectorised way to mix floats and None; the all-finite path above
    # skips it, because a live frame's columns are nearly always finite.
    boxed = array.astype(object)
    boxed[~finite] = None
    result = boxed.tolist()
    return result


def finite_list_or_none(values: ArrayLike) -> list[float] | None:
    """A 1-D list of floats when every entry is finite, else None (the whole value is unknown)."""
    array = np.asarray(values, dtype=np.float64).ravel()
    if not np.isfinite(array).all():
        return None
    return [float(value) for value in array]


def json_safe(value: Any) -> Any:
    """Arrays, numbers, tuples, lists and dicts as plain JSON values, with NaN and ±inf as None."""
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, np.ndarray):
        return finite_list(value) if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, str | bytes):
        return value
    if isinstance(value, Sequence):
        return [json_safe(item) for item in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, float | np.floating):
        return finite_or_none(float(value))
    if isinstance(value, np.generic):
        return value.item()
    return value


def finite_float(value: Any, field: str) -> float:
    """A finite float from user input, or a ConfigError saying ``field`` must be one."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(field, f"must be a number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ConfigError(field, "must be a finite number")
    return number
