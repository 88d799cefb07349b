"""The network landscape's computations, on a copy of the run (runs/copy.py) in the compute pool.

Pure functions of plain data, so they run in another process while training goes on: the plane through
the current weights, bands of the loss grid (the web process asks for them one by one, reporting progress
and stopping when its client leaves), and the 1-D line along the gradient.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.errors import ConfigError
from ...engine.landscape import (
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
from ...engine.numbers import finite_or_none
from ..runs.copy import RunCopy

# Directions travel in the response (for live projection in the browser) up to this many parameters.
MAX_PLANE_PARAMETERS = 20_000
LOG_FLOOR = 1e-12  # log10 of a loss of exactly 0 (e.g. MSE at a perfect fit) is drawn as −12
PCA_MARGIN = 1.25  # the automatic PCA span covers the whole path with this much room


@dataclass(frozen=True)
class Plane:
    """Two directions through θ, the trajectory's coordinates on them, and θ itself."""

    theta: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    path: np.ndarray
    steps: np.ndarray
    explained_variance: np.ndarray | None


def trajectory_to_now(source: RunCopy) -> tuple[np.ndarray, np.ndarray]:
    """The recorded trajectory, ending at the current weights."""
    theta = flatten_params(source.network().params())
    steps, points = (
        source.trajectory if source.trajectory is not None else (np.empty(0), np.empty((0, theta.size)))
    )
    if not len(steps) or steps[-1] != source.step:
        steps, points = np.append(steps, source.step), np.vstack([points.reshape(-1, theta.size), theta])
    return steps, points


def choose_plane(source: RunCopy, directions: str, seed: int) -> Plane:
    """The two directions through θ and the trajectory's coordinates on their plane.

    ``filter``: two filter-normalised random directions. ``gradient``: d1 = −∇L (full batch) scaled to the
    norm of a filter-normalised random d2, so a step of 1 along either moves the weights equally far.
    ``pca``: the trajectory's top two principal components (plane through the current θ).
    """
    steps, trajectory = trajectory_to_now(source)
    theta = trajectory[-1]
    network = source.network()
    if directions == "pca":
        pca = pca_directions(trajectory)
        return Plane(theta, pca.d1, pca.d2, pca.coordinates, steps, pca.explained_variance_ratio)
    rng = np.random.default_rng(seed)
    if directions == "filter":
        d1 = filter_normalized_direction(network, rng)
        d2 = filter_normalized_direction(network, rng)
    else:
        d2 = filter_normalized_direction(network, rng)
        X, y = _data(source)
        grads = full_gradient(network, source.loss(), X, y, regularization=source.regularization)
        d1 = -gradient_direction(grads, norm=float(np.linalg.norm(d2)) or 1.0)
    # NOTE: weights near the float64 limit (1e308, set by hand) are finite, but the norms that scale the
    # directions overflow to inf, and the projection's least squares then fails to converge.
    if not (np.isfinite(d1).all() and np.isfinite(d2).all()):
        raise ConfigError(
            "directions",
            "the weights are too large to scale directions by (their norm overflows float64); "
            "set smaller weights or reset the run",
        )
    return Plane(theta, d1, d2, project_trajectory(trajectory, theta, d1, d2), steps, None)


def span_of(directions: str, plane: Plane, span: float | None) -> float:
    """The asked span, else ±1 for the scaled directions and, for PCA (unit directions), the whole path."""
    if span is not None:
        return span
    if directions != "pca":
        return 1.0
    reach = float(np.abs(plane.path).max()) if plane.path.size else 0.0
    return PCA_MARGIN * reach if reach > 0.0 else 1.0


def band(source: RunCopy, plane: Plane, alphas: np.ndarray, betas: np.ndarray) -> np.ndarray:
    """Rows ``betas`` × columns ``alphas`` of L(θ + α·d1 + β·d2)."""
    X, y = _data(source)
    network, loss = source.network(), source.loss()
    return loss_slice(
        network, loss, X, y, plane.d1, plane.d2, alphas, betas, regularization=source.regularization
    )


def landscape_body(
    source: RunCopy, plane: Plane, query: dict[str, Any], span: float, raw: np.ndarray, elapsed: float
) -> dict[str, Any]:
    """The LandscapeOut body from the assembled grid ``raw``."""
    axis = grid_axis(span, query["resolution"])
    at_theta = float(band(source, plane, np.zeros(1), np.zeros(1))[0, 0])
    log = query["metric"] == "log_loss"
    values = np.log10(np.maximum(raw, LOG_FLOOR)) if log else raw
    finite = values[np.isfinite(values)]
    return {
        **query,
        "span": float(span),
        "step": source.step,
        "lr": source.lr,
        "alphas": axis.tolist(),
        "betas": axis.tolist(),
        "values": json_grid(values),
        "value_range": [float(finite.min()), float(finite.max())] if finite.size else [None, None],
        "current_value": finite_or_none(math.log10(max(at_theta, LOG_FLOOR)) if log else at_theta),
        "current_loss": finite_or_none(at_theta),
        "path": {"steps": plane.steps.astype(int).tolist(), "points": plane.path.tolist()},
        "explained_variance": None if plane.explained_variance is None else plane.explained_variance.tolist(),
        "plane": (
            {"origin": plane.theta.tolist(), "d1": plane.d1.tolist(), "d2": plane.d2.tolist()}
            if plane.theta.size <= MAX_PLANE_PARAMETERS
            else None
        ),
        "elapsed_ms": elapsed * 1e3,
    }


def line(source: RunCopy, split: str, points: int, alpha_max: float | None) -> dict[str, Any]:
    """The LandscapeLineOut body: L(θ − α·g) for α from 0 to ``alpha_max`` (default 4 × lr)."""
    X, y = _data(source)
    network, loss = source.network(), source.loss()
    grads = full_gradient(network, loss, X, y, regularization=source.regularization)
    flat = flatten_params(grads)
    norm = float(np.linalg.norm(flat))
    if not math.isfinite(norm):
        raise ConfigError("split", "the gradient is not finite at the current weights")
    lr = source.lr
    top = alpha_max if alpha_max is not None else 4.0 * lr if lr else 1.0
    marked = lr if lr is not None and 0.0 < lr <= top else None  # the lr, when the plot marks it
    alphas = np.linspace(0.0, top, points)
    if marked is not None:  # sample the learning rate itself so the plot can mark L(θ − lr·g) exactly
        alphas = np.unique(np.append(np.linspace(0.0, top, points - 1), marked))
    values = loss_along_gradient(network, loss, X, y, flat, alphas, regularization=source.regularization)
    finite = np.isfinite(values)
    at_lr = values[np.searchsorted(alphas, marked)] if marked is not None else None
    return {
        "split": split,
        "step": source.step,
        "lr": lr,
        "alphas": alphas.tolist(),
        "values": [finite_or_none(v) for v in values],
        "current_loss": finite_or_none(values[0]),
        "loss_at_lr": None if at_lr is None else finite_or_none(at_lr),
        "best_alpha": float(alphas[finite][np.argmin(values[finite])]) if finite.any() else None,
        "gradient_norm": norm,
    }


def json_grid(values: np.ndarray) -> list[list[float | None]]:
    """Rows of floats with null for NaN and infinity (JSON has neither)."""
    clean = np.where(np.isfinite(values), values, np.nan).tolist()
    return [[None if v != v else v for v in row] for row in clean]


def _data(source: RunCopy) -> tuple[np.ndarray, np.ndarray]:
    if source.X is None or source.y is None or not len(source.X):
        raise ConfigError("split", "this run has no rows in that split")
    return source.X, source.y
