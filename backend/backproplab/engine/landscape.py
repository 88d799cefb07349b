"""The network's own loss landscape: L on a plane θ + α·d1 + β·d2 through the current weights θ.

After Li et al. 2018, "Visualizing the Loss Landscape of Neural Nets" (code: tomgoldstein/loss-landscape),
with three choices of directions: filter-normalised random directions, the top two principal components
of the training trajectory, or the gradient. Their code evaluates the grid one point at a time; here the
whole grid goes through the network in a few numpy passes (see :func:`loss_slice`).

Parameters travel as one flat vector in the order W0, b0, W1, b1, … (:func:`flatten_params`), so a
direction, a trajectory row and θ itself all share one layout. Nothing here writes to the network.
"""

from __future__ import annotations

import copy
import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError
from .losses import Loss
from .network import Network
from .regularization import NO_REGULARIZATION, Regularization, add_regularization_gradient, weight_penalty

MAX_RESOLUTION = 101
# Grid points per chunk are chosen so one chunk's largest activation stays about this size. Measured on
# the benchmark network: 256 KiB to 1 MiB equally fast (cache-resident), 32 KiB 2× slower (per-call
# overhead), 2 MiB and up slower again. Memory stays a few MB (more only if one grid point needs it).
CHUNK_BYTES = 1 << 20
# Chunks run on up to this many threads: numpy's ufuncs and matmuls release the GIL, so on a machine with
# spare cores the grid is filled in parallel (bench/bench_landscape.py: 1.3× on 2 cores).
MAX_WORKERS = 4


def _param_order(name: str) -> tuple[int, int]:
    """Sort key putting W0, b0, W1, b1, … in layer order, W before b."""
    return int(name[1:]), 0 if name[0] == "W" else 1


def flatten_params(params: dict[str, np.ndarray]) -> np.ndarray:
    """One float64 vector of every parameter in W0, b0, W1, b1, … order (W row-major)."""
    names = sorted(params, key=_param_order)
    return np.concatenate([np.asarray(params[name], dtype=np.float64).ravel() for name in names])


def unflatten_params(vector: np.ndarray, like: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The inverse of :func:`flatten_params`: new arrays shaped like ``like``'s, keyed by its names."""
    vector = np.asarray(vector, dtype=np.float64)
    names = sorted(like, key=_param_order)
    sizes = [like[name].size for name in names]
    if vector.shape != (sum(sizes),):
        raise ConfigError("directions", f"expected a vector of {sum(sizes)} parameters, got {vector.shape}")
    pieces = np.split(vector, np.cumsum(sizes)[:-1])
    return {name: piece.reshape(like[name].shape).copy() for name, piece in zip(names, pieces, strict=True)}


def filter_normalized_direction(network: Network, rng: np.random.Generator) -> np.ndarray:
    """A random direction scaled neuron by neuron to the network's own weights (Li et al. §4).

    For each layer, d_W ~ N(0, 1) of W's shape, then column j (the incoming weights of neuron j, since W
    is (fan_in, fan_out)) is rescaled: d_W[:, j] ← d_W[:, j] · ‖W[:, j]‖ / ‖d_W[:, j]‖. Bias directions are
    zero. A step α along it moves every neuron by the same fraction α of its own weight norm, so the plot is
    not distorted by scale-invariant rescalings of individual neurons.
    """
    direction = {}
    for index, layer in enumerate(network.layers):
        noise = rng.standard_normal(layer.W.shape)
        scale = np.linalg.norm(layer.W, axis=0) / np.linalg.norm(noise, axis=0)
        direction[f"W{index}"] = noise * scale
        direction[f"b{index}"] = np.zeros_like(layer.b)
    return flatten_params(direction)


def gradient_direction(grads: dict[str, np.ndarray], norm: float = 1.0) -> np.ndarray:
    """The flattened gradient rescaled to length ``norm`` (e.g. the norm of a filter-normalised partner)."""
    flat = flatten_params(grads)
    length = float(np.linalg.norm(flat))
    if not (math.isfinite(length) and length > 0.0):
        raise ConfigError("directions", "the gradient is zero or not finite, so it gives no direction")
    return flat * (norm / length)


def full_gradient(
    network: Network,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    regularization: Regularization = NO_REGULARIZATION,
) -> dict[str, np.ndarray]:
    """∇L(θ) of the loss over every row of X, plus the regularisation's gradient, by backprop on a copy.

    ``regularization`` is ``(kind, rate)`` as a run's config has it: the gradient is then exactly what a
    full-batch training step of that run computes.
    """
    X, y = _checked_data(network, loss, X, y)
    probe = copy.deepcopy(network)
    output = probe.forward(X)
    result = loss.evaluate(probe.logits, output, y)
    probe.backward(result.grad, loss.fused_activation is not None)
    add_regularization_gradient(probe, *regularization)
    return {name: grad.copy() for name, grad in probe.grads().items()}


@dataclass(frozen=True)
class PCADirections:
    """Top two principal directions of a trajectory, their explained variance and the projected path."""

    d1: np.ndarray
    d2: np.ndarray
    explained_variance_ratio: np.ndarray
    coordinates: np.ndarray


def pca_directions(trajectory: np.ndarray) -> PCADirections:
    """PCA of a (T, P) trajectory of flattened parameters, rows in time order (Li et al. §7).

    Li et al. form θ_t − θ_final and fit sklearn's PCA, which centres the rows on their mean; centring
    removes the final point again, so this is the PCA of the trajectory itself: the SVD of the centred
    rows, C = U S Vᵀ. The directions are the first two rows of Vᵀ (unit vectors), the explained variance
    ratios are S_k² / Σ S². The plane is drawn through the final point, so the path coordinates are
    (θ_t − θ_final)·d_k. Signs are fixed so the path starts at non-positive coordinates.
    """
    trajectory = np.asarray(trajectory, dtype=np.float64)
    if trajectory.ndim != 2 or trajectory.shape[0] < 2 or trajectory.shape[1] < 2:
        raise ConfigError("trajectory", "PCA needs at least 2 recorded points of at least 2 parameters")
    centred = trajectory - trajectory.mean(axis=0)
    _, singular, components = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(singular * singular))
    if not total > 0.0:
        raise ConfigError("trajectory", "the weights have not moved yet, so the path has no direction")
    coordinates = (trajectory - trajectory[-1]) @ components[:2].T
    signs = np.where(coordinates[0] > 0.0, -1.0, 1.0)
    return PCADirections(
        d1=components[0] * signs[0],
        d2=components[1] * signs[1],
        explained_variance_ratio=singular[:2] ** 2 / total,
        coordinates=coordinates * signs,
    )


def project_trajectory(
    trajectory: np.ndarray, origin: np.ndarray, d1: np.ndarray, d2: np.ndarray
) -> np.ndarray:
    """(T, 2) coordinates (α, β) minimising ‖θ_t − origin − α·d1 − β·d2‖ for each trajectory row θ_t.

    The normal equations of the least-squares fit with A = [d1 d2] (P, 2); lstsq handles any
    non-orthogonal pair (random directions are only nearly orthogonal).
    """
    offsets = np.asarray(trajectory, dtype=np.float64) - np.asarray(origin, dtype=np.float64)
    basis = np.stack([d1, d2], axis=1)
    coordinates, *_ = np.linalg.lstsq(basis, offsets.T, rcond=None)
    projected: np.ndarray = coordinates.T
    return projected


def grid_axis(span: float, resolution: int) -> np.ndarray:
    """``resolution`` evenly spaced coordinates from −span to span, validated for user input."""
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ConfigError("resolution", "must be an integer")
    if not 2 <= resolution <= MAX_RESOLUTION:
        raise ConfigError("resolution", f"must be between 2 and {MAX_RESOLUTION}")
    if not (isinstance(span, int | float | np.floating) and math.isfinite(span) and span > 0.0):
        raise ConfigError("span", "must be a finite positive number")
    return np.linspace(-span, span, resolution)


def loss_slice(
    network: Network,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    d1: np.ndarray,
    d2: np.ndarray,
    alphas: np.ndarray,
    betas: np.ndarray,
    progress: Callable[[int, int], None] | None = None,
    regularization: Regularization = NO_REGULARIZATION,
) -> np.ndarray:
    """values[i, j] = L(θ + alphas[j]·d1 + betas[i]·d2) on data (X, y): rows are β, columns α.

    L is the data loss (mean over the rows of X) plus the ``regularization`` penalty (``(kind, rate)``,
    weights only) at each point, as the run trains on. The grid is cut into chunks of G points; each
    chunk goes through the network at once:

    - every layer's weights at the G points are the rows of C·[W, D1, D2] with C = [1, α_g, β_g] (G, 3),
      one matrix product giving a (G, fan_in, fan_out) weight stack (and likewise the biases);
    - the first layer's pre-activation is affine in (α, β):
      X(W0 + αD1 + βD2) + b = (XW0 + b0) + α(XD1 + d1_b0) + β(XD2 + d2_b0), so the three (n, h) products
      are computed once for the whole grid and each chunk only mixes them with C;
    - later layers are batched matmuls (G, n, fan_in) @ (G, fan_in, fan_out).

    Chunks run on up to MAX_WORKERS threads, each with its own buffers. ``progress(done, total)`` is called
    as the chunks complete, in order. The network's weights and caches are untouched.
    """
    alphas, betas = _checked_axis(alphas, "alphas"), _checked_axis(betas, "betas")
    X, y = _checked_data(network, loss, X, y)
    size = network.parameter_count()
    layers = _layer_bases(network, _checked_direction(d1, size, "d1"), _checked_direction(d2, size, "d2"))
    first_W, first_b = layers[0]
    first = np.stack([X @ first_W[k] + first_b[k] for k in range(3)]).reshape(3, -1)

    grid_beta, grid_alpha = np.meshgrid(betas, alphas, indexing="ij")
    coefficients = np.stack([np.ones(grid_alpha.size), grid_alpha.ravel(), grid_beta.ravel()], axis=1)
    chunk = max(1, CHUNK_BYTES // (X.shape[0] * max(network.sizes[1:]) * 8))
    capacity = min(chunk, coefficients.shape[0])
    values = np.empty(coefficients.shape[0])
    buffers = threading.local()  # each worker thread pushes its chunks through its own buffers

    def fill(start: int) -> None:
        if not hasattr(buffers, "forward"):
            buffers.forward = _BatchedForward(network, layers, first, X.shape[0], capacity, blas=workers == 1)
        logits = buffers.forward.logits(coefficients[start : start + chunk])
        output = None if loss.fused_activation else network.output_layer.activation.forward(logits)
        values[start : start + chunk] = loss.stack_means(logits, output, y)

    starts = range(0, values.size, chunk)
    workers = min(MAX_WORKERS, available_cpus(), len(starts))
    with ThreadPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        filled = pool.map(fill, starts) if pool else map(fill, starts)  # both yield in order, as done
        for start, _ in zip(starts, filled, strict=True):
            if progress is not None:
                progress(min(start + chunk, values.size), values.size)
    values += _grid_penalties(layers, coefficients, *regularization)
    return values.reshape(betas.size, alphas.size)


def available_cpus() -> int:
    """CPUs this process may run on (the container's share, not the host's)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def loss_along_gradient(
    network: Network,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    grad: np.ndarray,
    alphas: np.ndarray,
    regularization: Regularization = NO_REGULARIZATION,
) -> np.ndarray:
    """L(θ − α·g) for each α (penalty included): the 1-D view of a gradient-descent step of rate α.

    ``grad`` is the flattened (unscaled) gradient g (from :func:`full_gradient` with the same
    ``regularization``), so α is directly comparable with the learning rate: plain SGD's next point on the
    full batch is α = lr. A one-row :func:`loss_slice` with d1 = −g and d2 = 0.
    """
    minus_grad = -np.asarray(grad, dtype=np.float64)
    line: np.ndarray = loss_slice(
        network,
        loss,
        X,
        y,
        minus_grad,
        np.zeros_like(minus_grad),
        alphas,
        np.zeros(1),
        regularization=regularization,
    )[0]
    return line


def _grid_penalties(
    layers: list[tuple[np.ndarray, np.ndarray]], coefficients: np.ndarray, kind: str, rate: float
) -> np.ndarray:
    """The regularisation penalty at each grid point [1, α, β]: of every layer's W + α·D1_W + β·D2_W.

    Weights are mixed as the forward pass mixes them (C·[W, D1, D2]), in row blocks of about CHUNK_BYTES.
    """
    penalties = np.zeros(len(coefficients))
    if kind == "none" or rate == 0.0:
        return penalties
    for stacked_W, _ in layers:
        basis = stacked_W.reshape(3, -1)
        rows = max(1, CHUNK_BYTES // (basis.shape[1] * 8))
        for start in range(0, len(coefficients), rows):
            mixed = coefficients[start : start + rows] @ basis
            penalties[start : start + rows] += weight_penalty(mixed, kind, rate)
    return penalties


def _as_floats(values: Any, field: str) -> np.ndarray:
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(field, "must be numbers") from None


def _checked_axis(values: np.ndarray, field: str) -> np.ndarray:
    axis = _as_floats(values, field)
    if axis.ndim != 1 or not 1 <= axis.size <= MAX_RESOLUTION:
        raise ConfigError(field, f"must be a list of 1 to {MAX_RESOLUTION} coordinates")
    if not np.isfinite(axis).all():
        raise ConfigError(field, "coordinates must be finite numbers")
    return axis


def _checked_data(
    network: Network, loss: Loss, X: np.ndarray, y: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """X as (n, inputs) float64 and y as the loss wants it: (n,) labels for cross_entropy, else (n, outputs).

    # NOTE: a (n,) target against (G, n, 1) logits would broadcast to (G, n, n) silently; refuse it.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != network.sizes[0] or X.shape[0] == 0:
        raise ConfigError("X", f"expected shape (n, {network.sizes[0]}) with n ≥ 1, got {X.shape}")
    y = np.asarray(y)
    expected = (X.shape[0],) if loss.name == "cross_entropy" else (X.shape[0], network.sizes[-1])
    if y.shape != expected:
        raise ConfigError("y", f"expected shape {expected} for loss {loss.name!r}, got {y.shape}")
    return X, y


def _checked_direction(direction: np.ndarray, size: int, field: str) -> np.ndarray:
    vector = _as_floats(direction, field)
    if vector.shape != (size,):
        raise ConfigError(field, f"expected a direction of {size} parameters, got shape {vector.shape}")
    if not np.isfinite(vector).all():
        raise ConfigError(field, "direction must be finite")
    return vector


def _layer_bases(network: Network, d1: np.ndarray, d2: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per layer, (W, D1_W, D2_W) stacked (3, fan_in, fan_out) and (b, D1_b, D2_b) stacked (3, fan_out)."""
    like = network.params()
    directions = (like, unflatten_params(d1, like), unflatten_params(d2, like))
    return [
        (
            np.stack([params[f"W{index}"] for params in directions]),
            np.stack([params[f"b{index}"] for params in directions]),
        )
        for index in range(len(network.layers))
    ]


class _BatchedForward:
    """Pushes up to ``capacity`` grid points through the network at once, into buffers made once.

    # NOTE: allocating a fresh array per stage costs as much as the arithmetic (measured here: a batched
    matmul into a new array was 5× slower than into a reused one), so every stage writes into a buffer,
    and hidden activations run in place (``Activation.forward_into(z, z)``).
    """

    def __init__(
        self,
        network: Network,
        layers: list[tuple[np.ndarray, np.ndarray]],
        first: np.ndarray,
        n: int,
        capacity: int,
        blas: bool,
    ):
        self.network, self.layers, self.first, self.blas = network, layers, first, blas
        self.z = [np.empty((capacity, n, layer.fan_out)) for layer in network.layers]
        self.weights = [np.empty((capacity, layer.fan_in, layer.fan_out)) for layer in network.layers]
        self.biases = [np.empty((capacity, layer.fan_out)) for layer in network.layers]

    def logits(self, coefficients: np.ndarray) -> np.ndarray:
        """The last layer's z for the G grid points whose rows of ``coefficients`` are [1, α, β]."""
        g = coefficients.shape[0]
        z = self.z[0][:g]
        _mix(coefficients, self.first, z.reshape(g, -1), self.blas)
        for index in range(1, len(self.layers)):
            self.network.layers[index - 1].activation.forward_into(z, z)  # in place: a = f(z)
            a = z
            stacked_W, stacked_b = self.layers[index]
            weights, bias, z = self.weights[index][:g], self.biases[index][:g], self.z[index][:g]
            _mix(coefficients, stacked_W.reshape(3, -1), weights.reshape(g, -1), self.blas)
            _mix(coefficients, stacked_b, bias, self.blas)
            np.matmul(a, weights, out=z)
            z += bias[:, np.newaxis, :]
        return z


def _mix(coefficients: np.ndarray, stacked: np.ndarray, out: np.ndarray, blas: bool) -> None:
    """out = coefficients @ stacked for (G, 3) rows [1, α, β] and a (3, K) stack, written into ``out``.

    # NOTE: np.matmul hands this to multi-threaded BLAS, whose threads fight the chunk threads of
    :func:`loss_slice` (measured: 2 chunk threads were 0.94× one); einsum's own loop stays on its thread
    but is 1.6× slower than BLAS alone, so BLAS is used when the chunks run on one thread.
    """
    if blas:
        np.matmul(coefficients, stacked, out=out)
    else:
        np.einsum("gk,kn->gn", coefficients, stacked, out=out)
