"""The network landscape endpoints' work: copy a run under its lock, then compute on the copy.

:func:`copy_run` is the only part that touches the live run (a few small arrays, lock held for
microseconds); :func:`landscape` and :func:`line` run in a worker thread on the copy while training goes on.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.errors import ConfigError
from ..engine.landscape import (
    filter_normalized_direction,
    flatten_params,
    full_gradient,
    gradient_direction,
    grid_axis,
    loss_along_gradient,
    loss_slice,
    pca_directions,
    project_trajectory,
)
from ..engine.losses import Loss
from ..engine.network import Network
from .slot import Slot

# Directions travel in the response (for live projection in the browser) up to this many parameters.
MAX_PLANE_PARAMETERS = 20_000
LOG_FLOOR = 1e-12  # log10 of a loss of exactly 0 (e.g. MSE at a perfect fit) is drawn as −12
PCA_MARGIN = 1.25  # the automatic PCA span covers the whole path with this much room


@dataclass(frozen=True)
class RunCopy:
    """What a landscape needs from a run, copied so the computation never touches the live one."""

    network: Network
    loss: Loss
    X: np.ndarray
    y: np.ndarray
    steps: np.ndarray
    trajectory: np.ndarray
    step: int
    lr: float | None


def copy_run(slot: Slot, split: str) -> RunCopy:
    """Copy weights, data and trajectory under the run's lock; the trajectory ends at the current θ."""
    with slot.locked() as run:
        X, y = (run.X_train, run.target_train) if split == "train" else (run.X_test, run.target_test)
        if len(X) == 0:
            raise ConfigError("split", f"this run has no {split} rows")
        steps, points = run.trajectory.array()
        network = copy.deepcopy(run.network)
        theta = flatten_params(network.params())
        if not len(steps) or steps[-1] != run.step_count:
            steps, points = np.append(steps, run.step_count), np.vstack([points, theta])
        return RunCopy(
            network, run.loss, X.copy(), y.copy(), steps, points, run.step_count, run.resolved()["lr"]
        )


@dataclass(frozen=True)
class Plane:
    d1: np.ndarray
    d2: np.ndarray
    path: np.ndarray
    explained_variance: np.ndarray | None


def choose_plane(source: RunCopy, directions: str, seed: int) -> Plane:
    """The two directions through θ and the trajectory's coordinates on their plane.

    ``filter``: two filter-normalised random directions. ``gradient``: d1 = −∇L (full batch) scaled to the
    norm of a filter-normalised random d2, so a step of 1 along either moves the weights equally far.
    ``pca``: the trajectory's top two principal components (plane through the current θ).
    """
    theta = source.trajectory[-1]
    if directions == "pca":
        pca = pca_directions(source.trajectory)
        return Plane(pca.d1, pca.d2, pca.coordinates, pca.explained_variance_ratio)
    rng = np.random.default_rng(seed)
    if directions == "filter":
        d1 = filter_normalized_direction(source.network, rng)
        d2 = filter_normalized_direction(source.network, rng)
    else:
        d2 = filter_normalized_direction(source.network, rng)
        grads = full_gradient(source.network, source.loss, source.X, source.y)
        d1 = -gradient_direction(grads, norm=float(np.linalg.norm(d2)) or 1.0)
    return Plane(d1, d2, project_trajectory(source.trajectory, theta, d1, d2), None)


def auto_span(directions: str, plane: Plane) -> float:
    """±1 for the scaled directions; for PCA (unit directions) enough to show the whole path."""
    if directions != "pca":
        return 1.0
    reach = float(np.abs(plane.path).max()) if plane.path.size else 0.0
    return PCA_MARGIN * reach if reach > 0.0 else 1.0


def landscape(
    source: RunCopy,
    plane: Plane,
    query: dict[str, Any],
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """The LandscapeOut body for ``query`` (directions, metric, split, seed, span, resolution)."""
    started = time.perf_counter()
    span = query["span"] if query["span"] is not None else auto_span(query["directions"], plane)
    axis = grid_axis(span, query["resolution"])
    raw = loss_slice(
        source.network, source.loss, source.X, source.y, plane.d1, plane.d2, axis, axis, progress
    )
    at_theta = float(
        loss_slice(source.network, source.loss, source.X, source.y, plane.d1, plane.d2, [0], [0])[0, 0]
    )
    log = query["metric"] == "log_loss"
    values = np.log10(np.maximum(raw, LOG_FLOOR)) if log else raw
    finite = values[np.isfinite(values)]
    theta = source.trajectory[-1]
    return {
        **query,
        "span": float(span),
        "step": source.step,
        "lr": source.lr,
        "alphas": axis.tolist(),
        "betas": axis.tolist(),
        "values": json_grid(values),
        "value_range": [float(finite.min()), float(finite.max())] if finite.size else [None, None],
        "current_value": _finite(math.log10(max(at_theta, LOG_FLOOR)) if log else at_theta),
        "current_loss": _finite(at_theta),
        "path": {"steps": source.steps.tolist(), "points": plane.path.tolist()},
        "explained_variance": None if plane.explained_variance is None else plane.explained_variance.tolist(),
        "plane": (
            {"origin": theta.tolist(), "d1": plane.d1.tolist(), "d2": plane.d2.tolist()}
            if theta.size <= MAX_PLANE_PARAMETERS
            else None
        ),
        "elapsed_ms": (time.perf_counter() - started) * 1e3,
    }


def line(source: RunCopy, split: str, points: int, alpha_max: float | None) -> dict[str, Any]:
    """The LandscapeLineOut body: L(θ − α·g) for α from 0 to ``alpha_max`` (default 4 × lr)."""
    grads = full_gradient(source.network, source.loss, source.X, source.y)
    flat = flatten_params(grads)
    norm = float(np.linalg.norm(flat))
    if not math.isfinite(norm):
        raise ConfigError("split", "the gradient is not finite at the current weights")
    lr = source.lr
    top = alpha_max if alpha_max is not None else 4.0 * lr if lr else 1.0
    marked = lr is not None and 0.0 < lr <= top
    alphas = np.linspace(0.0, top, points)
    if marked:  # sample the learning rate itself so the plot can mark L(θ − lr·g) exactly
        alphas = np.unique(np.append(np.linspace(0.0, top, points - 1), lr))
    values = loss_along_gradient(source.network, source.loss, source.X, source.y, flat, alphas)
    finite = np.isfinite(values)
    at_lr = values[np.searchsorted(alphas, lr)] if marked else None
    return {
        "split": split,
        "step": source.step,
        "lr": lr,
        "alphas": alphas.tolist(),
        "values": [_finite(v) for v in values],
        "current_loss": _finite(values[0]),
        "loss_at_lr": None if at_lr is None else _finite(at_lr),
        "best_alpha": float(alphas[finite][np.argmin(values[finite])]) if finite.any() else None,
        "gradient_norm": norm,
    }


def json_grid(values: np.ndarray) -> list[list[float | None]]:
    """Rows of floats with null for NaN and infinity (JSON has neither)."""
    clean = np.where(np.isfinite(values), values, np.nan).tolist()
    return [[None if v != v else v for v in row] for row in clean]


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
