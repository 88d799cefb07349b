"""Gradient health over time: per-layer histograms of weights and gradients, and the share of dead ReLUs.

TensorBoard draws a histogram per recorded step so a distribution's drift is visible along a time axis;
this log keeps the same, bounded: a snapshot at an evaluation at least ``every`` steps after the last one
(and at step 1), up to ``capacity`` snapshots; then every other snapshot is dropped and the interval
doubles. Snapshots ride on the run's evaluations, whose cadence is already set by cost.

A ReLU unit is *dead* when its pre-activation z ≤ 0 for every training row: its gradient is then exactly
zero and it cannot learn. The share comes from the evaluation's forward pass over the training rows (see
learning.LayerWatch), so it costs nothing extra.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .learning import LayerWatch
from .network import Network
from .numbers import finite_list

HISTOGRAM_BINS = 30
CAPACITY = 200
EVERY = 50


class HealthLog:
    """Snapshots of per-layer weight and gradient histograms and dead-unit shares, bounded in number."""

    def __init__(self, every: int = EVERY, capacity: int = CAPACITY):
        self.every = every
        self.capacity = capacity
        self.snapshots: list[dict[str, Any]] = []
        self.compactions = 0  # halvings so far: snapshots were dropped that many times

    def due(self, step: int) -> bool:
        """Whether a snapshot belongs at ``step``: step 1, and ``every`` steps after the last one."""
        return step == 1 or not self.snapshots or step >= self.snapshots[-1]["step"] + self.every

    def record(self, step: int, network: Network, dead_shares: list[float | None]) -> None:
        """Add the snapshot of ``step`` (dropping every other one first when the log is full)."""
        if len(self.snapshots) == self.capacity:
            self.snapshots = self.snapshots[::2]
            self.every *= 2
            self.compactions += 1
        self.snapshots.append(snapshot(step, network, dead_shares))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: histogram arrays become lists (non-finite edges become None)."""
        return {"every": self.every, "snapshots": [_json_snapshot(snap) for snap in self.snapshots]}

    def state_dict(self) -> dict[str, Any]:
        """For Run.to_bytes (forks, exports): the snapshots packed (packed_snapshots), ~10x faster to pack
        than one archive entry per histogram."""
        return {
            "every": self.every,
            "packed": packed_snapshots(self.snapshots),
            "compactions": self.compactions,
            "capacity": self.capacity,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """A state_dict, or one from before the snapshots were packed (``snapshots``: an older export)."""
        self.every = int(state["every"])
        self.snapshots = (
            unpacked_snapshots(state["packed"]) if "packed" in state else list(state["snapshots"])
        )
        self.compactions = int(state.get("compactions", 0))
        self.capacity = int(state.get("capacity", self.capacity))


def snapshot(step: int, network: Network, dead_shares: list[float | None]) -> dict[str, Any]:
    """One time slice: for every layer, histograms of W and ∂L/∂W and the dead-unit share."""
    layers = [
        {"weights": histogram(layer.W), "grads": histogram(layer.grad_W), "dead_share": dead}
        for layer, dead in zip(network.layers, dead_shares, strict=True)
    ]
    return {"step": step, "layers": layers}


_HISTOGRAMS = ("weights", "grads")  # each layer's histograms, in the order packed_snapshots lays them out


def packed_snapshots(snapshots: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Snapshots as eight flat arrays, for a checkpoint: kept as they are, every histogram would be an
    archive entry of its own (12 per snapshot of a 3-layer network; 40 snapshots took ~8 ms to pack).
    Each snapshot's layers follow one another, each layer's W then ∂L/∂W histogram; a dead share that is
    None is NaN where ``dead_known`` is False. :func:`unpacked_snapshots` inverts it exactly."""
    layers = [layer for snap in snapshots for layer in snap["layers"]]
    histograms = [layer[part] for layer in layers for part in _HISTOGRAMS]
    dead = [layer["dead_share"] for layer in layers]
    return {
        "steps": np.array([snap["step"] for snap in snapshots], dtype=np.int64),
        "layers": np.array([len(snap["layers"]) for snap in snapshots], dtype=np.int64),
        "edge_sizes": np.array([len(hist["edges"]) for hist in histograms], dtype=np.int64),
        "count_sizes": np.array([len(hist["counts"]) for hist in histograms], dtype=np.int64),
        "edges": np.concatenate([np.empty(0), *(hist["edges"] for hist in histograms)]),
        "counts": np.concatenate([np.empty(0, np.int64), *(hist["counts"] for hist in histograms)]),
        "dead": np.array([np.nan if share is None else share for share in dead], dtype=np.float64),
        "dead_known": np.array([share is not None for share in dead], dtype=bool),
    }


def unpacked_snapshots(packed: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """The snapshots :func:`packed_snapshots` packed."""
    edges = iter(np.split(packed["edges"], np.cumsum(packed["edge_sizes"])[:-1]))
    counts = iter(np.split(packed["counts"], np.cumsum(packed["count_sizes"])[:-1]))
    dead = iter(zip(packed["dead"].tolist(), packed["dead_known"].tolist(), strict=True))
    snapshots = []
    for step, count in zip(packed["steps"].tolist(), packed["layers"].tolist(), strict=True):
        layers = []
        for _ in range(count):
            layer: dict[str, Any] = {
                part: {"edges": next(edges), "counts": next(counts)} for part in _HISTOGRAMS
            }
            share, known = next(dead)
            layer["dead_share"] = share if known else None
            layers.append(layer)
        snapshots.append({"step": step, "layers": layers})
    return snapshots


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

    Bins are [e_i, e_i+1), the last one closed, as numpy.histogram's.

    # NOTE: edges are low·(1−t) + high·t, which stays finite even when high − low overflows (a diverging
    run's weights near ±1e308); edges that coincide in float64 are merged, so any range is accepted. With
    bins + 1 distinct edges and a finite range, a value's bin is computed, ⌊(x − low)·bins/(high − low)⌋,
    in a few passes (numpy.histogram with explicit edges sorts the values, most of a snapshot's cost on a
    100,000-weight layer); a value within an ulp of an edge may then land in the neighbouring bin.
    Otherwise the bins are found by binary search among the edges.
    """
    flat = values.ravel()
    finite = flat if np.isfinite(flat).all() else flat[np.isfinite(flat)]
    if finite.size == 0:
        return {"edges": np.empty(0), "counts": np.empty(0, dtype=np.int64)}
    low, high = float(finite.min()), float(finite.max())
    t = np.linspace(0.0, 1.0, bins + 1)
    edges = np.unique(low * (1.0 - t) + high * t)
    if len(edges) < 2:
        pad = max(abs(low) * 1e-9, 0.5)
        edges = np.array([low - pad, high + pad])
    span = high - low
    if len(edges) == bins + 1 and math.isfinite(span):
        scaled = finite - low
        scaled *= bins / span
        index = scaled.astype(np.intp)
        np.minimum(index, bins - 1, out=index)
    else:
        index = np.minimum(np.searchsorted(edges, finite, side="right") - 1, len(edges) - 2)
    counts = np.bincount(index, minlength=len(edges) - 1)
    return {"edges": edges, "counts": counts}


def dead_unit_shares(network: Network, X: np.ndarray) -> list[float | None]:
    """Per layer, the share of ReLU units whose z ≤ 0 for every row of X (None for non-ReLU layers)."""
    watch = LayerWatch(len(network.layers))
    for index, (layer, (z, _)) in enumerate(zip(network.layers, network.layer_outputs(X), strict=True)):
        watch.see(index, layer, z, hidden=index < len(network.layers) - 1)
    return watch.dead_shares
