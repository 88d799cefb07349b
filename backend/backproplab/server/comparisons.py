"""Optimizer comparisons: several managed runs from one base config, differing only in the optimizer.

Every racer is an ordinary run created through the Manager, so it streams over /ws/runs/{id} and takes
PATCH and WebSocket ``set`` messages (a live learning-rate change per racer). The same seed gives every
racer the same data, initial weights and batch order; creation checks the weights are bit-identical.
Comparisons live in memory (their runs persist like any other run).
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.config import RunConfig
from .errors import ApiError
from .manager import Manager
from .schemas_teaching import ComparisonCreate
from .slot import Slot

MAX_COMPARISONS = 100  # the oldest is forgotten past this (its runs stay)


@dataclass
class Comparison:
    id: str
    labels: list[str]
    run_ids: list[str]
    identical_start: bool


class ComparisonNotFoundError(ApiError):
    status = 404

    def __init__(self, comparison_id: str):
        super().__init__(f"no comparison with id {comparison_id!r}", "comparison_id")


class Comparisons:
    """The server's comparisons, by id (methods run in worker threads)."""

    def __init__(self, manager: Manager):
        self.manager = manager
        self.items: OrderedDict[str, Comparison] = OrderedDict()

    def create(self, request: ComparisonCreate) -> Comparison:
        """Create one run per racer (all or none) and check they start from identical weights."""
        base = request.base.model_dump()
        configs = [
            RunConfig.model_validate({**base, "optimizer": racer.optimizer.model_dump()})
            for racer in request.racers
        ]
        slots: list[Slot] = []
        try:
            for config in configs:
                slots.append(self.manager.create(config))
        except Exception:
            for slot in slots:
                self.manager.delete(slot)
            raise
        comparison = Comparison(
            id=secrets.token_urlsafe(12),
            labels=[racer.label for racer in request.racers],
            run_ids=[slot.id for slot in slots],
            identical_start=_identical_weights(slots),
        )
        self.items[comparison.id] = comparison
        while len(self.items) > MAX_COMPARISONS:
            self.items.popitem(last=False)
        return comparison

    def get(self, comparison_id: str) -> Comparison:
        comparison = self.items.get(comparison_id)
        if comparison is None:
            raise ComparisonNotFoundError(comparison_id)
        return comparison

    def slots(self, comparison: Comparison) -> list[Slot]:
        """The racers' runs that still exist, in racer order."""
        return [self.manager.slots[i] for i in comparison.run_ids if i in self.manager.slots]

    def describe(self, comparison: Comparison) -> dict[str, Any]:
        racers = []
        for label, run_id in zip(comparison.labels, comparison.run_ids, strict=True):
            slot = self.manager.slots.get(run_id)
            racers.append(
                {"label": label, "run_id": run_id, "run": self.manager.describe(slot) if slot else None}
            )
        return {"id": comparison.id, "identical_start": comparison.identical_start, "racers": racers}

    def control(self, comparison: Comparison, action: str, steps: int = 1) -> None:
        """play, pause, reset or step every racer; ``step`` gives each the same number of steps."""
        for slot in self.slots(comparison):
            if action == "step":
                self.manager.step(slot, steps)
            else:
                getattr(self.manager, action)(slot)


def _identical_weights(slots: list[Slot]) -> bool:
    weights = []
    for slot in slots:
        with slot.locked() as run:
            weights.append([value.copy() for value in run.network.params().values()])
    first = weights[0]
    return all(all(np.array_equal(a, b) for a, b in zip(first, other, strict=True)) for other in weights[1:])
