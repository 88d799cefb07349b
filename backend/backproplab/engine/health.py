"""Gradient health over time: per-layer histograms of weights and gradients, and the share of dead ReLUs.

TensorBoard draws a histogram per recorded step so a distribution's drift is visible along a time axis;
this log keeps the same, bounded: one snapshot every ``every`` steps up to ``capacity`` snapshots, then
every other snapshot is dropped and the interval doubles.

A ReLU unit is *dead* on a batch when its pre-activation z ≤ 0 for every sample: its gradient is then
exactly zero and it cannot learn from that batch. The share is measured on the training inputs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .history import finite_list
from .network import Network

HISTOGRAM_BINS = 30
CAPACITY = 200
EVERY = 50


class HealthLog:
    """Snapshots of per-layer weight and gradient histograms and dead-unit shares, bounded in number."""

    def __init__(self, every: int = EVERY, capacity: int = CAPACITY):
        self.every = every
        self.capacity = capacity
        self.snapshots: list[dict[str, Any]] = []

    def maybe_record(self, step: int, network: Network, X_train: np.ndarray) -> None:
        """Record a snapshot if ``step`` falls on the interval (step 1 always does)."""
        if step != 1 and step % self.every:
            return
        if len(self.snapshots) == self.capacity:
            self.snapshots = self.snapshots[::2]
            self.every *= 2
        self.snapshots.append(snapshot(step, network, X_train))

    def to_dict(self) -> dict[str, Any]:
        return {"every": self.every, "snapshots": self.snapshots}

    def state_dict(self) -> dict[str, Any]:
        return {"every": self.every, "snapshots": self.snapshots}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.every = int(state["every"])
        self.snapshots = list(state["snapshots"])


def snapshot(step: int, network: Network, X_train: np.ndarray) -> dict[str, Any]:
    """One time slice: for every layer, histograms of W and ∂L/∂W and the dead-unit share."""
    layers = []
    dead = dead_unit_shares(network, X_train)
    for index, layer in enumerate(network.layers):
        layers.append(
            {
                "weights": histogram(layer.W),
                "grads": histogram(layer.grad_W),
                "dead_share": dead[index],
            }
        )
    return {"step": step, "layers": layers}


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """{"edges": [bins+1], "counts": [bins]} over the finite values (empty when there are none)."""
    finite = values[np.isfinite(values)].ravel()
    if finite.size == 0:
        return {"edges": [], "counts": []}
    low, high = float(finite.min()), float(finite.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(finite, bins=bins, range=(low, high))
    return {"edges": finite_list(edges), "counts": counts.tolist()}


def dead_unit_shares(network: Network, X: np.ndarray) -> list[float | None]:
    """Per layer, the share of ReLU units whose z ≤ 0 for every row of X (None for non-ReLU layers)."""
    shares: list[float | None] = []
    a = X
    for layer in network.layers:
        z = a @ layer.W + layer.b
        if layer.activation.name == "relu":
            shares.append(float(np.mean((z <= 0).all(axis=0))))
        else:
            shares.append(None)
        a = layer.activation.forward(z)
    return shares
