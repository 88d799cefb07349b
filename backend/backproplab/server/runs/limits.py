"""Size limits a run's config must meet before anything is built from it."""

from __future__ import annotations

import itertools

import numpy as np

from ...engine.config import RunConfig
from ...engine.custom_data import CustomData
from ..errors import LimitError


def layer_sizes(config: RunConfig, data: CustomData | None = None) -> list[int]:
    """The widths of a config's network from inputs to outputs (exact for built-in data, an upper bound
    otherwise). Custom data comes inline in the config or, once held, as ``data``."""
    dataset = config.dataset
    if dataset.kind == "custom":
        X = dataset.X if dataset.X is not None else data.X if data is not None else [[0.0]]
        y = dataset.y if dataset.y is not None else data.y if data is not None else []
        inputs = len(X[0]) if len(X) else 1
        distinct = len(set(np.asarray(y, dtype=float).tolist()))
        outputs = distinct if distinct <= 64 else 1
    else:
        inputs = len(config.features)
        outputs = dataset.classes if dataset.kind in ("gauss", "spiral") else 1
    return [inputs, *config.model.hidden, outputs]


def parameter_estimate(config: RunConfig, data: CustomData | None = None) -> int:
    """The parameter count a config's network will have (exact for built-in data, an upper bound otherwise)."""
    sizes = layer_sizes(config, data)
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def check_size(
    config: RunConfig, max_parameters: int, field: str = "model.hidden", data: CustomData | None = None
) -> None:
    """Refuse a network over ``max_parameters`` parameters, naming ``field``."""
    count = parameter_estimate(config, data)
    if count > max_parameters:
        raise LimitError(
            f"the network would have about {count:,} parameters; the limit is {max_parameters:,}", field
        )
