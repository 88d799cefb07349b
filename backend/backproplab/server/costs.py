"""What a computation will cost, estimated in multiply-adds before it starts, and the check against a budget.

A dense layer's forward pass over n rows costs n·fan_in·fan_out multiply-adds, so a network's pass costs
n·F with F = Σ fan_in·fan_out over its layers. Backprop costs about twice the forward pass (the weight
gradient and the input gradient are each a product of the same size), so a training step on a batch of b
rows costs about 3·b·F. Every numpy call also has a fixed cost that dominates small networks (a gradient
check does two passes per parameter); it is counted as ``CALL_WORK`` multiply-adds per layer and pass.

Budgets (settings): ``max_step_work`` bounds the costliest single training step of a run (a step cannot be
interrupted, so it bounds how long one run can hold its trainer), ``max_request_work`` the whole of one
request (landscape, gradient check, h sweep, health, step-through, sweep, or ``steps`` × a step).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..engine.health import EVERY as HEALTH_EVERY
from .errors import LimitError

# NOTE: measured on one core: a 3-layer pass of 8 rows takes ~10 µs of call overhead per layer whatever
# its size, about what 2e4 multiply-adds take at the ~2e9/s one BLAS thread sustains.
CALL_WORK = 20_000
# NOTE: a heavy read's copy of the run (data, trajectory) travels trainer -> web process -> compute process,
# pickled and unpickled at each hop; ~50 multiply-adds' worth of time per float moved, measured alike.
MOVE_WORK = 50
# A landscape's path travels as at most this many parameter values (2 MB of float64), evenly spaced along
# the recorded trajectory and never fewer than MIN_PATH_POINTS points: a heavy run's whole trajectory
# (7 MB for a 2-64-64-1 network after 2,000 steps) took its trainer ~12 ms to copy and pickle per request.
PATH_VALUES = 2**18
MIN_PATH_POINTS = 64


@dataclass(frozen=True)
class CostBasis:
    """What a run's heavy reads cost depends on; read from its trainer before anything is copied."""

    sizes: tuple[int, ...]
    train_rows: int
    test_rows: int
    trajectory_points: int

    @property
    def parameters(self) -> int:
        return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(self.sizes))

    def rows(self, split: str) -> int:
        return self.train_rows if split == "train" else self.test_rows

    @property
    def path_points(self) -> int:
        """How many trajectory points a landscape moves (path_sample) and projects."""
        return min(self.trajectory_points, path_sample(self.parameters))


def path_sample(parameters: int) -> int:
    """At most this many trajectory points travel with a landscape's copy of a run: max(64, 2¹⁸ / P)."""
    return max(MIN_PATH_POINTS, PATH_VALUES // max(parameters, 1))


def forward_products(sizes: Sequence[int]) -> int:
    """F = Σ fan_in·fan_out: multiply-adds of one row through the network."""
    return sum(fan_in * fan_out for fan_in, fan_out in itertools.pairwise(sizes))


def forward_work(sizes: Sequence[int], rows: float) -> float:
    """One forward pass over ``rows`` rows: rows·F plus the per-layer call overhead."""
    return rows * forward_products(sizes) + (len(sizes) - 1) * CALL_WORK


def peak_step_work(sizes: Sequence[int], batch: int, train_rows: float, test_rows: float) -> float:
    """The costliest single training step: the step itself (3 passes of the batch), plus the whole-set
    evaluation (train and test rows) and the health snapshot (train rows) that some steps also do."""
    return (
        3 * forward_work(sizes, batch)
        + forward_work(sizes, train_rows)
        + forward_work(sizes, test_rows)
        + forward_work(sizes, train_rows)
    )


def mean_step_work(
    sizes: Sequence[int], batch: int, train_rows: float, test_rows: float, eval_every: float
) -> float:
    """A training step on average: the step, the evaluation every ``eval_every`` steps and the health
    snapshot every HEALTH_EVERY steps (at most; its interval only grows)."""
    evaluation = forward_work(sizes, train_rows) + forward_work(sizes, test_rows)
    return (
        3 * forward_work(sizes, batch)
        + evaluation / max(eval_every, 1)
        + forward_work(sizes, train_rows) / HEALTH_EVERY
    )


def gradcheck_work(sizes: Sequence[int], samples: int, checks: int = 1) -> float:
    """Central differences: two passes over the samples per parameter (and per input value, once), for
    each of ``checks`` step sizes, plus backprop's own gradients."""
    parameters = sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
    passes = 2 * parameters * checks + 2 * sizes[0] * samples + 3
    return passes * forward_work(sizes, samples)


def landscape_work(basis: CostBasis, rows: int, points: int, directions: str, path: bool = True) -> float:
    """A loss grid of ``points`` points over ``rows`` rows (one batched pass per point, so no call overhead
    per point), choosing the plane (a full gradient; the trajectory's SVD for PCA), projecting the path,
    and moving the copy (the rows, and the trajectory's sample when the path is drawn)."""
    sizes, parameters, path_points = basis.sizes, basis.parameters, basis.path_points + 1
    work = points * rows * forward_products(sizes) + 3 * forward_work(sizes, rows)
    work += MOVE_WORK * rows * (sizes[0] + 1)
    if path:
        work += (MOVE_WORK + 4) * path_points * parameters  # moved, then projected on the plane
    if directions == "pca":
        work += path_points * parameters * min(path_points, parameters)
    return work


def check_work(work: float, limit: float, field: str, what: str, setting: str = "max_request_work") -> None:
    """Refuse work over ``limit`` multiply-adds with a 422 that names ``field``, the cost and the limit."""
    if not math.isfinite(work) or work > limit:
        raise LimitError(
            f"{what} would cost about {work:.2g} multiply-adds; this server's limit is {limit:.2g} "
            f"(BACKPROPLAB_{setting.upper()}); make {field} smaller",
            field,
        )
