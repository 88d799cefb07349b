"""The teaching views' computations, on a copy of a run (runs/copy.py) in the compute pool: the
step-through of one training step, the gradient check and its h sweep, and the gradient-health summary.
Pure functions of plain data, so training goes on while they run."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine.gradcheck import OK_THRESHOLD, WARNING_THRESHOLD, gradient_check, sweep_h
from ...engine.health import dead_unit_shares
from ...engine.network import Network
from ...engine.stepthrough import trace_step
from ..errors import ApiError, LimitError
from ..runs.copy import RunCopy
from .limits import MAX_SWEEP_HS, MAX_TRACE_PARAMETERS

DEFAULT_HS = tuple(10.0**-k for k in range(1, 13))
STAT_COLUMNS = ("grad_norm", "weight_norm", "update_ratio")


def _check_size(source: RunCopy, max_parameters: int, what: str) -> None:
    if source.parameter_count > max_parameters:
        raise LimitError(
            f"{what} is limited to networks of {max_parameters:,} parameters; this one has "
            f"{source.parameter_count:,}",
            "model.hidden",
        )


def _network_and_data(source: RunCopy) -> tuple[Network, np.ndarray, np.ndarray]:
    assert source.X is not None and source.y is not None
    return source.network(), source.X, source.y


def step_through(source: RunCopy) -> dict[str, Any]:
    """The trace of one training step of the copied weights and optimizer on the copied rows."""
    _check_size(source, MAX_TRACE_PARAMETERS, "the step-through")
    if not source.rows:
        last = source.train_rows - 1
        raise ApiError(
            f"the run has {source.train_rows} training rows: pick 0 to {last}", "sample", status=422
        )
    assert source.optimizer is not None
    name, hyper, state = source.optimizer
    if source.lr is None:
        raise ApiError("the learning rate in force is not a finite number", "optimizer.lr", status=422)
    network, X, y = _network_and_data(source)
    trace = trace_step(
        network, source.loss(), X, y, name, hyper, source.lr, state, regularization=source.regularization
    )
    return {"run_id": source.run_id, "step": source.step, "rows": list(source.rows), **trace}


def gradcheck(source: RunCopy, h: float, max_parameters: int) -> dict[str, Any]:
    """Backprop's gradients against central differences on the copied training rows."""
    _check_size(source, max_parameters, "the gradient check")
    network, X, y = _network_and_data(source)
    return gradient_check(network, source.loss(), X, y, h=h, regularization=source.regularization)


def h_sweep(source: RunCopy, hs: list[float], max_parameters: int) -> dict[str, Any]:
    """The gradient check's overall relative error for each h, on the copied training rows."""
    _check_size(source, max_parameters, "the gradient check")
    network, X, y = _network_and_data(source)
    points = sweep_h(network, source.loss(), X, y, hs, source.regularization)
    return {
        "samples": len(source.rows),
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


def health(source: RunCopy, max_points: int) -> dict[str, Any]:
    """Per-layer statistics over time, histogram snapshots and the current dead-ReLU shares."""
    assert source.history is not None and source.health is not None and source.X is not None
    network = source.network()
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
        "run_id": source.run_id,
        "step": source.step,
        "layers": layers,
        "stats": _layer_stats(source.history, max_points),
        "dead_share": dead_unit_shares(network, source.X),
        "every": source.health["every"],
        "snapshots": source.health["snapshots"],
    }


def _layer_stats(history: dict[str, Any], max_points: int) -> dict[str, list[Any]]:
    """The history rows that hold per-layer statistics, evenly thinned to ``max_points`` (keeping the last)."""
    kept = [i for i, norms in enumerate(history["grad_norm"]) if norms and norms[0] is not None]
    if len(kept) > max_points:
        picks = np.unique(np.linspace(0, len(kept) - 1, max_points).round().astype(int))
        kept = [kept[i] for i in picks]
    return {name: [history[name][i] for i in kept] for name in ("step", *STAT_COLUMNS)}
