"""Size limits a run's config must meet before anything is built from it: parameters, and the cost of
its costliest single step (costs.py), which bounds how long one run can hold its trainer."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from ...engine.config import RunConfig
from ...engine.custom_data import CustomData
from ..costs import MOVE_WORK, check_work, forward_products, forward_work, peak_step_work
from ..errors import LimitError

Rows = Sequence[Any] | np.ndarray


def _custom_values(config: RunConfig, data: CustomData | None) -> tuple[Rows, Rows]:
    """Custom data's X and y: inline in the config or, once held, ``data``."""
    dataset = config.dataset
    X: Rows = dataset.X if dataset.X is not None else data.X if data is not None else [[0.0]]
    y: Rows = dataset.y if dataset.y is not None else data.y if data is not None else []
    return X, y


def layer_sizes(config: RunConfig, data: CustomData | None = None) -> list[int]:
    """The layer widths a config's network will have (exact for built-in data, an upper bound otherwise).

    Custom data comes inline in the config or, once held, as ``data``.
    """
    dataset = config.dataset
    if dataset.kind == "custom":
        X, y = _custom_values(config, data)
        inputs = len(X[0]) if len(X) else 1
        distinct = len(set(np.asarray(y, dtype=float).tolist()))
        outputs = distinct if distinct <= 64 else 1
    else:
        inputs = len(config.features)
        outputs = dataset.classes if dataset.kind in ("gauss", "spiral") else 1
    return [inputs, *config.model.hidden, outputs]


def parameter_estimate(config: RunConfig, data: CustomData | None = None) -> int:
    """The parameter count a config's network will have (exact for built-in data, an upper bound otherwise)."""
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(layer_sizes(config, data)))


def row_counts(config: RunConfig, data: CustomData | None = None) -> tuple[float, float]:
    """(training rows, test rows) of a config's data, as the engine splits them (to within a row)."""
    dataset = config.dataset
    rows = len(_custom_values(config, data)[0]) if dataset.kind == "custom" else dataset.samples
    train = rows * dataset.train_fraction
    return train, rows - train


def check_size(
    config: RunConfig,
    max_parameters: int,
    *,
    max_step_work: float | None = None,
    prefix: str = "",
    data: CustomData | None = None,
) -> None:
    """Refuse a network over ``max_parameters`` parameters, or a step costing over ``max_step_work``
    multiply-adds: 422 naming ``batch_size`` when the batch is most of the cost, else ``model.hidden``
    (``prefix`` is prepended to both, e.g. "config."). Custom data is inline or ``data``."""
    count = parameter_estimate(config, data)
    if count > max_parameters:
        raise LimitError(
            f"the network would have about {count:,} parameters; the limit is {max_parameters:,}",
            prefix + "model.hidden",
        )
    if max_step_work is None:
        return
    sizes = layer_sizes(config, data)
    train, test = row_counts(config, data)
    batch = min(config.batch_size, max(int(train), 1))
    work = peak_step_work(sizes, batch, train, test)
    field = "batch_size" if 3 * forward_work(sizes, batch) >= work / 2 else "model.hidden"
    check_work(
        work, max_step_work, prefix + field, "one training step (with its evaluation)", "max_step_work"
    )


def grid_resolution(sizes: Sequence[int], wanted: int, max_work: float, neurons: bool = False) -> int:
    """The finest grid resolution up to ``wanted`` whose pass over resolution² points, and the values it
    sends (the output, or every neuron's with ``neurons``), cost at most ``max_work`` (never below 2)."""
    sent = sum(sizes[1:]) if neurons else 1
    per_point = forward_products(sizes) + MOVE_WORK * sent
    return max(2, min(wanted, math.isqrt(int(max_work // per_point))))
