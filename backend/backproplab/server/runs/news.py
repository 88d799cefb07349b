"""What a trainer tells a run's subscribers (the web processes watching it): :class:`RunNews`, and the
:class:`Cursor` that records how far each subscriber has been told (runs/item.py builds the news)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class RunNews:
    """What a subscriber of a run gets: the run now, the metric rows since its previous news, and the
    heavy parts (pre-encoded JSON) its watchers asked for."""

    step: int
    epoch: int
    status: str
    message: str | None
    lr: float | None
    learning: dict[str, Any] | None
    latest_json: str
    rows: np.ndarray
    since_step: int
    n_layers: int
    params_json: str | None = None
    grid_json: str | None = None
    neurons_json: str | None = None
    run_json: str | None = None  # the description, when it changed (config, status) since the last news
    described: int = 0  # the version of that description
    lr_next: list[dict[str, Any]] = field(default_factory=list)  # the schedule's preview (encode.lr_next)


@dataclass
class Cursor:
    """How far a subscriber has been told: the step of its last rows, and the description version."""

    step: int = 0
    generation: int = -1
    described: int = -1
    grid_at: float = -math.inf
    grid_key: tuple[int, bool, int] | None = None  # (resolution, neurons, version) of the grid below
    grid_json: str | None = None
    neurons_json: str | None = None
