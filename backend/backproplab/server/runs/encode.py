"""A training run in the protocol's words (docs/protocol.md): its description, params, data, history and
decision-boundary grid, JSON-safe. The engine trains; this module is the one place that encodes it.
"""

from __future__ import annotations

import base64
import csv
import io
import math
from typing import Any

import numpy as np

from ...engine.errors import ConfigError
from ...engine.features import input_transform
from ...engine.history import SCALAR_COLUMNS, downsample_rows, rows_to_columns
from ...engine.numbers import finite_list, finite_or_none
from ...engine.run import Run

MAX_GRID_RESOLUTION = 200
EVALUATED = ("test_loss", "train_accuracy", "test_accuracy")
LR_PREVIEW = (10, 100, 1000)  # steps ahead whose lr the description previews under a schedule
_STEP, _EPOCH, _LR, _TRAIN_LOSS = 0, 1, 2, 3


def lr_in_force(run: Run) -> float | None:
    """The learning rate the next step uses (the one typed, or where the schedule has taken it)."""
    return finite_or_none(run.lr)


def lr_next(run: Run) -> list[dict[str, Any]]:
    """Where the schedule takes the lr if nothing is typed meanwhile: ``{"step", "lr"}`` for the steps
    10, 100 and 1000 ahead (the lr that step uses); empty when the lr stays (constant schedule)."""
    if run.config.schedule.kind == "constant":
        return []
    lrs = run.scheduler.upcoming(LR_PREVIEW[-1])  # lrs[k - 1] is the lr of the k-th step from now
    return [{"step": run.step_count + ahead, "lr": finite_or_none(lrs[ahead - 1])} for ahead in LR_PREVIEW]


def learning(run: Run) -> dict[str, Any] | None:
    """Why the network stopped learning, in words, with a one-click fix (None while it learns)."""
    issue = run.learning
    return issue.as_dict() if issue is not None else None


def resolved(run: Run) -> dict[str, Any]:
    """What the engine chose where the config left a default."""
    hyper = {
        key: (
            list(value)
            if isinstance(value, tuple)
            else finite_or_none(value)
            if isinstance(value, float)
            else value
        )
        for key, value in run.optimizer.hyper.items()
    }
    return {
        "task": run.dataset.task,
        "num_classes": run.dataset.num_classes,
        "input_size": run.network.sizes[0],
        "raw_input_size": int(run.dataset.X_train.shape[1]),
        "sizes": run.network.sizes,
        "loss": run.loss_name,
        "output_activation": run.output_activation,
        "optimizer": {"name": run.optimizer.name, **hyper},
        "lr": lr_in_force(run),
        "lr_next": lr_next(run),
        "train_size": len(run.X_train),
        "test_size": len(run.X_test),
        "input_names": input_names(run),
        "raw_names": run.dataset.columns,
        "target_name": run.dataset.target_name,
        "class_names": run.dataset.class_names,
        "extent": list(run.dataset.extent) if run.dataset.extent is not None else None,
    }


def input_names(run: Run) -> list[str]:
    """The network's inputs: the features of 2-D data (x1, x2, x1^2, …, as the config names them), the
    data's column names otherwise."""
    if run.dataset.X_train.shape[1] == 2:
        return list(run.config.features)
    return run.dataset.columns


def config(run: Run) -> dict[str, Any]:
    """The config as set, without a custom dataset's rows (GET /points serves them)."""
    value = run.config.model_dump(mode="json", exclude={"dataset": {"X", "y"}})
    value["dataset"]["X"] = value["dataset"]["y"] = None
    return value


def latest(run: Run) -> dict[str, Any]:
    """The most recent value of each scalar metric (evaluated metrics from the last evaluation); null where
    there is none yet."""
    values: dict[str, Any] = {"step": run.step_count, "epoch": run.epoch, "lr": None, "train_loss": None}
    row = run.metric_history.latest_row()
    if row is not None:
        values["lr"] = finite_or_none(row[_LR])
        values["train_loss"] = finite_or_none(row[_TRAIN_LOSS])
    for name in EVALUATED:
        values[name] = run.metric_history.last_finite(SCALAR_COLUMNS.index(name))
    return values


def params(run: Run) -> dict[str, Any]:
    """Weights, biases and their last gradients per layer, from the input side (one finiteness check of
    the network's flat vectors for a live frame's usual case, every number finite)."""
    network = run.network
    finite = np.isfinite(network.flat_params).all() and np.isfinite(network.flat_grads).all()
    listed = (lambda array: array.tolist()) if finite else finite_list
    return {
        "layers": [
            {
                "W": listed(layer.W),
                "b": listed(layer.b),
                "dW": listed(layer.grad_W),
                "db": listed(layer.grad_b),
                "activation": layer.activation.name,
            }
            for layer in network.layers
        ]
    }


def points(run: Run) -> dict[str, Any]:
    """The raw training and test points with their targets; the last ``added`` training points are the
    ones added by hand (config ``dataset.extra``)."""
    dataset = run.dataset
    return {
        "train": {"X": finite_list(dataset.X_train), "y": finite_list(dataset.y_train)},
        "test": {"X": finite_list(dataset.X_test), "y": finite_list(dataset.y_test)},
        "added": dataset.added,
    }


def history_rows(run: Run, since_step: int = 0, max_points: int | None = None) -> np.ndarray:
    """Stored rows with step > since_step; the full-resolution recent window when it covers them."""
    recent = run.metric_history.recent_since(since_step)
    if len(recent) and recent[0, _STEP] <= since_step + 1:
        rows = recent
    else:
        stored = run.metric_history.stored()
        rows = stored[stored[:, _STEP] > since_step]
    return downsample_rows(rows, max_points) if max_points else rows


def history(run: Run, max_points: int | None = None) -> dict[str, Any]:
    """The protocol's history columns."""
    columns: dict[str, Any] = rows_to_columns(history_rows(run, 0, max_points), len(run.network.layers))
    columns["stride"] = run.metric_history.stride
    columns["total_steps"] = run.step_count
    return columns


def history_csv(run: Run, max_points: int | None = None) -> str:
    """The history as CSV, per-layer columns flattened to grad_norm_0, grad_norm_1, …"""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(run.metric_history.column_names())
    for row in history_rows(run, 0, max_points):
        writer.writerow(["" if not math.isfinite(value) else _csv_number(value) for value in row])
    return buffer.getvalue()


def _csv_number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 2**53 else repr(float(value))


def grid(run: Run, resolution: int = 40, neurons: bool = False) -> dict[str, Any] | None:
    """The network's output (and optionally every neuron's) over the input plane; None if not 2-D.

    Rows go from the lowest x2 to the highest, columns from the lowest x1. Cells are bytes: q means
    min + q/255·(max − min).
    """
    dataset = run.dataset
    if dataset.X_train.shape[1] != 2 or dataset.extent is None:
        return None
    if not 2 <= resolution <= MAX_GRID_RESOLUTION:
        raise ConfigError("resolution", f"must be between 2 and {MAX_GRID_RESOLUTION}")
    x1_min, x1_max, x2_min, x2_max = dataset.extent
    grid_x, grid_y = np.meshgrid(
        np.linspace(x1_min, x1_max, resolution), np.linspace(x2_min, x2_max, resolution)
    )
    plane = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    activations = run.network.hidden_outputs(input_transform(plane, run.config.features, 2))
    output = activations[-1]
    result: dict[str, Any] = {"resolution": resolution, "extent": [x1_min, x1_max, x2_min, x2_max]}
    if dataset.task == "classification" and output.shape[1] > 1:
        result["output"] = quantize(output.max(axis=1), 0.0, 1.0)
        result["classes"] = base64.b64encode(np.argmax(output, axis=1).astype(np.uint8).tobytes()).decode()
    elif dataset.task == "classification":
        result["output"] = quantize(output[:, 0], 0.0, 1.0)
    else:
        result["output"] = quantize(output[:, 0])
    if neurons:
        result["neurons"] = [
            [quantize(layer_out[:, j]) for j in range(layer_out.shape[1])] for layer_out in activations
        ]
    return result


def quantize(values: np.ndarray, low: float | None = None, high: float | None = None) -> dict[str, Any]:
    """Values → {"min", "max", "data": base64 uint8}, byte q meaning min + q/255·(max − min)."""
    finite = np.where(np.isfinite(values), values, 0.0)
    low = float(finite.min()) if low is None else low
    high = float(finite.max()) if high is None else high
    span = high - low if high > low else 1.0
    scaled = np.clip(np.round((finite - low) / span * 255.0), 0, 255).astype(np.uint8)
    return {"min": low, "max": high, "data": base64.b64encode(scaled.tobytes()).decode()}
