"""Gradient health over time: per-layer histograms of weights and gradients, and the share of dead ReLUs.

TensorBoard draws a histogram per recorded step so a distribution's drift is visible along a time axis;
this log keeps the same, bounded: one snapshot every ``every`` steps up to ``capacity`` snapshots, then
every other snapshot is dropped and the interval doubles.

A ReLU unit is *dead* on a batch when its pre-activation z ≤ 0 for every sample: its gradient is then
exactly zero and it cannot learn from that batch. The share is measured on up to 256 training rows
(built-in datasets are generated in random order, so these are a fair sample).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .network import Network
from .numbers import finite_list

HISTOGRAM_BINS = 30
CAPACITY = 200
EVERY = 50
DEAD_UNIT_ROWS = 256  # the dead-unit share is measured on the first rows of the (shuffled) training set


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
        """JSON-safe: histogram arrays become lists (non-finite edges become None)."""
        return {"every": self.every, "snapshots": [_json_snapshot(snap) for snap in self.snapshots]}

    def state_dict(self) -> dict[str, Any]:
        return {"every": self.every, "snapshots": self.snapshots}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.every = int(state["every"])
        self.snapshots = list(state["snapshots"])


def snapshot(step: int, network: Network, X_train: np.ndarray) -> dict[str, Any]:
    """One time slice: for every layer, histograms of W and ∂L/∂W and the dead-unit share."""
    layers = []
    dead = dead_unit_shares(network, X_train[:DEAD_UNIT_ROWS])
    for index, layer in enumerate(network.layers):
        layers.append(
            {
                "weights": histogram(layer.W),
                "grads": histogram(layer.grad_W),
                "dead_share": dead[index],
            }
        )
    return {"step": step, "layers": layers}


def _json_snapshot(snap: dict[str, Any]) -> dict[str, Any]:
    layers = [
        {
            "weights": {
                "edges": finite_list(layer["weights"]["edges"]),
                "counts": np.asarray(layer["weights"]["counts"]).tolist(),
            },
            "grads": {
                "edges": finite_list(layer["grads"]["edges"]),
                "counts": np.asarray(layer["grads"]["counts"]).tolist(),
            },
            "dead_share": layer["dead_share"],
        }
        for layer in snap["layers"]
    ]
    return {"step": snap["step"], "layers": layers}


def histogram(values: np.ndarray, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """{"edges": array ≤ bins+1, "counts": array ≤ bins} over the finite values (empty when there are none).

    # NOTE: edges are low·(1−t) + high·t, which stays finite even when high − low overflows (a diverging
    run's weights near ±1e308); edges that coincide in float64 are merged, so any range is accepted.
    """
    finite = values[np.isfinite(values)].ravel()
    if finite.size == 0:
        return {"edges": np.empty(0), "counts": np.empty(0, dtype=np.int64)}
    low, high = float(finite.min()), float(finite.max())
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = np.unique(low * (1.0 - t) + high * t)
    if len(edges) < 2:
        pad = max(abs(low) * 1e-9, 0.5)
        edges = np.array([low - pad, high + pad])
    counts, edges = np.histogram(finite, bins=edges)
    return {"edges": edges, "counts": counts}


def dead_unit_shares(network: Network, X: np.ndarray) -> list[float | None]:
    """Per layer, the share of ReLU units whose z ≤ 0 for every row of X (None for non-ReLU layers)."""
    return [
        float(np.mean((z <= 0).all(axis=0))) if layer.activation.name == "relu" else None
        for layer, (z, _) in zip(network.layers, network.layer_outputs(X), strict=True)
    ]
