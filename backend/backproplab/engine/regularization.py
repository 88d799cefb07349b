"""L1 and L2 regularisation of the weights (never the biases), as DESIGN.md states.

L2 adds rate/2 · Σ W² to the loss, whose gradient is rate · W ("weight decay").
L1 adds rate · Σ |W|, whose (sub)gradient is rate · sign(W) (0 at W = 0), which pushes small weights to
exactly zero.
"""

from __future__ import annotations

import numpy as np

from .network import Network

Regularization = tuple[str, float]  # (kind, rate): kind none, l1 or l2
NO_REGULARIZATION: Regularization = ("none", 0.0)


def regularization_penalty(network: Network, kind: str, rate: float) -> float:
    """The term added to the loss: rate/2·ΣW² (l2), rate·Σ|W| (l1), 0 (none)."""
    if kind == "l2":
        return 0.5 * rate * sum(float(np.vdot(layer.W, layer.W)) for layer in network.layers)
    if kind == "l1":
        return rate * sum(float(np.abs(layer.W).sum()) for layer in network.layers)
    return 0.0


def add_regularization_gradient(network: Network, kind: str, rate: float) -> None:
    """Add the penalty's gradient to every layer's grad_W in place: rate·W (l2) or rate·sign(W) (l1)."""
    if kind == "none" or rate == 0.0:
        return
    for layer in network.layers:
        if kind == "l2":
            layer.grad_W += rate * layer.W
        else:
            layer.grad_W += rate * np.sign(layer.W)
