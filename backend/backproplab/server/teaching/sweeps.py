"""Learning-rate sweep: the same run (seed, data, initial weights) trained at several learning rates.

Each learning rate trains a fresh engine Run in a worker thread (not a managed run: nothing streams or
persists). The status follows one stated rule (RULE), on the loss over the whole training set before and
after training, which unlike the mini-batch loss is free of sampling noise.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...engine.config import RunConfig, merge_config
from ...engine.custom_data import CustomData
from ...engine.run import Run
from ..runs import encode

CURVE_POINTS = 200
CONVERGED_FRACTION = 0.5
RULE = (
    "diverged: training stopped on a NaN or infinite loss or weights, or the final training-set loss is "
    "above the initial one; converged: the final training-set loss is at most half the initial one; "
    "stalled: otherwise (it fell, but by less than half)"
)


def log_spaced(low: float, high: float, count: int) -> list[float]:
    """``count`` learning rates from ``low`` to ``high``, evenly spaced on a log scale."""
    return [float(value) for value in np.geomspace(low, high, count)]


def classify(initial: float | None, final: float | None, diverged: bool) -> str:
    """converged, stalled or diverged by RULE."""
    if diverged or initial is None or final is None or not math.isfinite(final) or final > initial:
        return "diverged"
    return "converged" if final <= CONVERGED_FRACTION * initial else "stalled"


def train_at(config: RunConfig, lr: float, steps: int, data: CustomData | None = None) -> dict[str, Any]:
    """Train ``config`` (on custom rows ``data``, named by its ``dataset.content_hash``) at learning rate
    ``lr`` for ``steps`` steps; the losses, status and curve."""
    # eval_every: the sweep reads the training-set loss only at the start and the end.
    run = Run(merge_config(config, {"optimizer": {"lr": lr}, "eval_every": 100_000}), data)
    initial = _finite(run.evaluate()["train_loss"])
    done = run.step(steps)
    final = None if run.diverged else _finite(run.evaluate()["train_loss"])
    history = encode.history(run, CURVE_POINTS)
    return {
        "lr": lr,
        "status": classify(initial, final, run.diverged),
        "initial_loss": initial,
        "final_loss": final,
        "steps_done": done,
        "message": run.message,
        "curve": {"step": history["step"], "train_loss": history["train_loss"]},
    }


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
