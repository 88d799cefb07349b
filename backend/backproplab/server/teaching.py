"""The teaching views' computations on a live run: copy what is needed under the run's lock, compute outside.

Every function here is called from a worker thread (``asyncio.to_thread``), never on the event loop. The
run's lock is held only while copying the network, the rows and the optimizer state, so a step-through,
an h sweep or a health summary never holds up training or other clients.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.gradcheck import OK_THRESHOLD, WARNING_THRESHOLD, sweep_h
from ..engine.health import dead_unit_shares
from ..engine.losses import Loss
from ..engine.network import Network
from ..engine.run import Run
from ..engine.schedules import make_schedule
from ..engine.stepthrough import trace_step
from .errors import ApiError, LimitError
from .slot import Slot

MAX_TRACE_PARAMETERS = 2_000  # the trace spells out every weight's chain rule: keep it readable and small
MAX_TRACE_BATCH = 8
MAX_SWEEP_HS = 16
DEFAULT_HS = tuple(10.0**-k for k in range(1, 13))
STAT_COLUMNS = ("grad_norm", "weight_norm", "update_ratio")


@dataclass
class RunCopy:
    """What a computation needs from a run, copied under its lock."""

    step: int
    network: Network
    loss: Loss
    X: np.ndarray
    y: np.ndarray
    rows: list[int]
    regularization: tuple[str, float]


def _copy(run: Run, rows: list[int], max_parameters: int) -> RunCopy:
    count = run.network.parameter_count()
    if count > max_parameters:
        raise LimitError(
            f"limited to networks of {max_parameters:,} parameters; this one has {count:,}", "model.hidden"
        )
    reg = run.config.regularization
    return RunCopy(
        step=run.step_count,
        network=copy.deepcopy(run.network),
        loss=run.loss,
        X=run.X_train[rows].copy(),
        y=run.target_train[rows].copy(),
        rows=rows,
        regularization=(reg.kind, reg.rate),
    )


def _rows(run: Run, start: int, count: int) -> list[int]:
    size = len(run.X_train)
    if not 0 <= start < size:
        raise ApiError(f"the run has {size} training rows: pick 0 to {size - 1}", "sample", status=422)
    return list(range(start, min(start + count, size)))


def step_through(slot: Slot, sample: int, batch: int) -> dict[str, Any]:
    """The trace of one training step of the run's current weights and optimizer on rows sample…sample+batch−1."""
    if not 1 <= batch <= MAX_TRACE_BATCH:
        raise LimitError(f"must be between 1 and {MAX_TRACE_BATCH}", "batch")
    with slot.locked() as run:
        data = _copy(run, _rows(run, sample, batch), MAX_TRACE_PARAMETERS)
        optimizer = run.optimizer
        name, hyper, state = optimizer.name, dict(optimizer.hyper), optimizer.state_dict()
        lr = make_schedule(run.config.schedule).lr_at(run.step_count, optimizer.hyper["lr"])
    trace = trace_step(
        data.network, data.loss, data.X, data.y, name, hyper, lr, state, regularization=data.regularization
    )
    return {"run_id": slot.id, "step": data.step, "rows": data.rows, **trace}


def h_sweep(slot: Slot, samples: int, hs: list[float], max_parameters: int) -> dict[str, Any]:
    """The gradient check's overall relative error for each h, on the first ``samples`` training rows."""
    with slot.locked() as run:
        data = _copy(run, list(range(min(samples, len(run.X_train)))), max_parameters)
    points = sweep_h(data.network, data.loss, data.X, data.y, hs, data.regularization)
    return {
        "samples": len(data.rows),
        "points": points,
        "thresholds": {"ok": OK_THRESHOLD, "warning": WARNING_THRESHOLD},
    }


def parse_hs(text: str | None) -> list[float]:
    """Comma-separated step sizes, each in (0, 0.5]; the default spans 1e-1 … 1e-12."""
    if not text:
        return list(DEFAULT_HS)
    try:
        hs = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ApiError("must be comma-separated numbers, e.g. 1e-2,1e-5,1e-8", "hs", status=422) from None
    if not 1 <= len(hs) <= MAX_SWEEP_HS:
        raise LimitError(f"give 1 to {MAX_SWEEP_HS} values", "hs")
    if not all(0.0 < h <= 0.5 for h in hs):
        raise ApiError("every h must be above 0 and at most 0.5", "hs", status=422)
    return hs


def health(slot: Slot, max_points: int) -> dict[str, Any]:
    """Per-layer statistics over time, histogram snapshots and the current dead-ReLU shares."""
    with slot.locked() as run:
        history = run.history()
        logged = run.health.to_dict()
        snapshots = list(logged["snapshots"])  # snapshots are never mutated, the list is replaced
        network = copy.deepcopy(run.network)
        X_train, step = run.X_train, run.step_count  # a rebuild replaces X_train, never edits it
    layers = [
        {
            "layer": index,
            "fan_in": layer.fan_in,
            "fan_out": layer.fan_out,
            "activation": layer.activation.name,
        }
        for index, layer in enumerate(network.layers)
    ]
    return {
        "run_id": slot.id,
        "step": step,
        "layers": layers,
        "stats": _layer_stats(history, max_points),
        "dead_share": dead_unit_shares(network, X_train),
        "every": logged["every"],
        "snapshots": snapshots,
    }


def _layer_stats(history: dict[str, Any], max_points: int) -> dict[str, list[Any]]:
    """The history rows that hold per-layer statistics, evenly thinned to ``max_points`` (keeping the last)."""
    kept = [i for i, norms in enumerate(history["grad_norm"]) if norms and norms[0] is not None]
    if len(kept) > max_points:
        picks = np.unique(np.linspace(0, len(kept) - 1, max_points).round().astype(int))
        kept = [kept[i] for i in picks]
    return {name: [history[name][i] for i in kept] for name in ("step", *STAT_COLUMNS)}
