"""A copy of what a computing read needs from a run (gradient check, landscape, step-through, health).

Taken by the trainer between two training slices — a few arrays, no engine objects (activations hold
lambdas, which do not pickle) — and rebuilt into a :class:`Network` wherever the computation runs, so it
never touches the live run and training goes on meanwhile.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...engine.activations import get_activation
from ...engine.losses import Loss, get_loss
from ...engine.network import DenseLayer, Network
from ...engine.run import Run
from . import encode

Split = Literal["train", "test"]


@dataclass(frozen=True)
class RunCopy:
    """Weights, data and whatever else a computation asked for, as plain arrays."""

    run_id: str
    step: int
    lr: float | None
    loss_name: str
    activations: tuple[str, ...]
    weights: tuple[tuple[np.ndarray, np.ndarray], ...]
    regularization: tuple[str, float]
    parameter_count: int
    train_rows: int
    X: np.ndarray | None = None
    y: np.ndarray | None = None
    rows: tuple[int, ...] = ()
    optimizer: tuple[str, dict[str, Any], dict[str, Any]] | None = None  # name, hyperparameters, state
    trajectory: tuple[np.ndarray, np.ndarray] | None = None  # steps, flat parameter vectors
    history: dict[str, Any] | None = None  # protocol history columns
    health: dict[str, Any] | None = None  # the engine's health log (JSON-safe)

    def network(self) -> Network:
        """A fresh network with the copied weights (its gradients start at zero)."""
        layers = [
            DenseLayer(W.copy(), b.copy(), get_activation(name, "model.activation"))
            for (W, b), name in zip(self.weights, self.activations, strict=True)
        ]
        return Network(layers)

    def loss(self) -> Loss:
        return get_loss(self.loss_name)


def copy_of(
    run: Run,
    run_id: str,
    split: Split | None = None,
    rows: tuple[int, int] | None = None,
    optimizer: bool = False,
    trajectory: int = 0,
    history: bool = False,
    health: bool = False,
) -> RunCopy:
    """Copy ``run``: the ``split`` data (all of it, or training rows [start, stop) with ``rows``), the
    optimizer state, history or health log when asked, and at most ``trajectory`` trajectory points."""
    X = y = None
    picked: tuple[int, ...] = ()
    if rows is not None:
        start, stop = rows
        picked = tuple(range(start, min(stop, len(run.X_train))))
        X, y = run.X_train[list(picked)].copy(), run.target_train[list(picked)].copy()
    elif split is not None:
        source = (run.X_train, run.target_train) if split == "train" else (run.X_test, run.target_test)
        X, y = source[0].copy(), source[1].copy()
    network = run.network
    reg = run.config.regularization
    steps, points = run.trajectory.array(trajectory) if trajectory else (None, None)
    return RunCopy(
        run_id=run_id,
        step=run.step_count,
        lr=encode.lr_in_force(run),
        loss_name=run.loss_name,
        activations=tuple(layer.activation.name for layer in network.layers),
        weights=tuple((layer.W.copy(), layer.b.copy()) for layer in network.layers),
        regularization=(reg.kind, reg.rate),
        parameter_count=network.parameter_count(),
        train_rows=len(run.X_train),
        X=X,
        y=y,
        rows=picked,
        optimizer=(
            (run.optimizer.name, dict(run.optimizer.hyper), run.optimizer.state_dict()) if optimizer else None
        ),
        trajectory=(steps, points) if steps is not None and points is not None else None,
        history=encode.history(run) if history else None,
        health=run.health.to_dict() if health else None,
    )
