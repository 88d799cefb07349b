"""L1 and L2 regularisation of the weights (never the biases), as docs/architecture.md states.

L2 adds rate/2 · Σ W² to the loss, whose gradient is rate · W ("weight decay").
L1 adds rate · Σ |W|, whose (sub)gradient is rate · sign(W) (0 at W = 0), which pushes small weights to
exactly zero.
"""

from __future__ import annotations

import numpy as np

from .network import Network

Regularization = tuple[str, float]  # (kind, rate): kind none, l1 or l2
NO_REGULARIZATION: Regularization = ("none", 0.0)


def weight_penalty(weights: np.ndarray, kind: str, rate: float) -> np.ndarray:
    """The penalty of weights along their last axis (…, P) → (…): rate/2·Σw² (l2), rate·Σ|w| (l1), 0 (none).

    One weight matrix, raveled, gives a 0-d array; a stack of them (one row per point of a loss
    landscape) gives one penalty per row.
    """
    if kind == "l2":
        squares: np.ndarray = np.einsum("...p,...p->...", weights, weights)
        return 0.5 * rate * squares
    if kind == "l1":
        absolute: np.ndarray = np.abs(weights).sum(axis=-1)
        return rate * absolute
    return np.zeros(weights.shape[:-1])


def regularization_penalty(network: Network, kind: str, rate: float) -> float:
    """The term added to the loss: rate/2·ΣW² (l2), rate·Σ|W| (l1), 0 (none), over every layer's W."""
    return sum(float(weight_penalty(layer.W.ravel(), kind, rate)) for layer in network.layers)


def add_regularization_gradient(network: Network, kind: str, rate: float) -> None:
    """Add the penalty's gradient to every layer's grad_W in place: rate·W (l2) or rate·sign(W) (l1)."""
    if kind == "none" or rate == 0.0:
        return
    for layer in network.layers:
        if kind == "l2":
            layer.grad_W += rate * layer.W
        else:
            layer.grad_W += rate * np.sign(layer.W)
