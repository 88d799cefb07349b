"""The training trajectory: flattened parameters over time, for the loss landscape's PCA directions."""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Network

TRAJECTORY_CAPACITY = 1_000
TRAJECTORY_MAX_VALUES = 4_000_000  # 32 MB of float64: wide networks keep fewer trajectory points
INITIAL_POINTS = 32  # the buffer doubles on demand up to the capacity, so a young run stays small


class Trajectory:
    """Flattened parameter vectors (W0, b0, W1, …) every ``stride`` steps, bounded by halving.

    At most TRAJECTORY_CAPACITY points, and fewer for wide networks so the buffer stays ≤ 32 MB. When
    full, every other point is dropped and the stride doubles (``compactions`` counts the halvings).
    """

    def __init__(self, network: Network, every: int):
        self.size_per_point = network.parameter_count()
        self.capacity = max(16, min(TRAJECTORY_CAPACITY, TRAJECTORY_MAX_VALUES // self.size_per_point))
        self.points = np.empty((min(INITIAL_POINTS, self.capacity), self.size_per_point))
        self.steps = np.empty(len(self.points), dtype=np.int64)
        self.count = 0
        self.stride = every
        self.compactions = 0

    def record(self, step: int, flat_params: np.ndarray) -> None:
        """Keep the parameters (a Network's ``flat_params``) if ``step`` falls on the stride (or is 1)."""
        if step % self.stride and step != 1:
            return
        if self.count >= self.capacity:
            keep = np.arange(0, self.count, 2)
            self.points[: len(keep)] = self.points[keep]
            self.steps[: len(keep)] = self.steps[keep]
            self.count = len(keep)
            self.stride *= 2
            self.compactions += 1
        elif self.count == len(self.points):
            self._grow(min(2 * self.count, self.capacity))
        self.points[self.count] = flat_params
        self.steps[self.count] = step
        self.count += 1

    def _grow(self, points: int) -> None:
        grown = np.empty((points, self.size_per_point))
        grown[: self.count] = self.points[: self.count]
        steps = np.empty(points, dtype=np.int64)
        steps[: self.count] = self.steps[: self.count]
        self.points, self.steps = grown, steps

    def array(self, max_points: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the recorded steps and points; with ``max_points``, at most that many, evenly spaced
        by index i_k = round(k·(n−1)/(m−1)), k = 0…m−1 (so the first and the last point are kept)."""
        if max_points is None or self.count <= max_points:
            return self.steps[: self.count].copy(), self.points[: self.count].copy()
        picked = np.unique(np.linspace(0, self.count - 1, max(max_points, 2)).round().astype(np.int64))
        return self.steps[picked], self.points[picked]

    def state_dict(self) -> dict[str, Any]:
        return {
            "points": self.points[: self.count].copy(),
            "steps": self.steps[: self.count].copy(),
            "stride": self.stride,
            "compactions": self.compactions,
            "capacity": self.capacity,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.capacity = int(state.get("capacity", self.capacity))
        count = len(state["steps"])
        if count > len(self.points):
            self._grow(max(count, min(2 * count, self.capacity)))
        self.points[:count] = state["points"]
        self.steps[:count] = state["steps"]
        self.count = count
        self.stride = int(state["stride"])
        self.compactions = int(state.get("compactions", 0))
