"""Size limits a run's config must meet before anything is built from it."""

from __future__ import annotations

import itertools

from ...engine.config import RunConfig
from ..errors import LimitError


def layer_sizes(config: RunConfig) -> list[int]:
    """The widths of a config's network from inputs to outputs (exact for built-in data, an upper
    bound otherwise)."""
    dataset = config.dataset
    if dataset.kind == "custom":
        inputs = len(dataset.X[0]) if dataset.X else 1
        distinct = len(set(dataset.y or []))
        outputs = distinct if distinct <= 64 else 1
    else:
        inputs = len(config.features)
        outputs = dataset.classes if dataset.kind in ("gauss", "spiral") else 1
    return [inputs, *config.model.hidden, outputs]


def parameter_estimate(config: RunConfig) -> int:
    """The parameter count a config's network will have (exact for built-in data, an upper bound otherwise)."""
    sizes = layer_sizes(config)
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def check_size(config: RunConfig, max_parameters: int, field: str = "model.hidden") -> None:
    """Refuse a network over ``max_parameters`` parameters, naming ``field``."""
    count = parameter_estimate(config)
    if count > max_parameters:
        raise LimitError(
            f"the network would have about {count:,} parameters; the limit is {max_parameters:,}", field
        )
