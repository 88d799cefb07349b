"""The ``GET /api/choices`` body built from the engine, for browser tests against a server that does not
serve the route yet (the frontend reads every choice from the server and has no fallback of its own).

The shape is the one in the team notes: datasets by task, features, activations, losses, inits,
regularizations, schedules with their fields, optimizers with torch's defaults and field names, limits.
"""

from __future__ import annotations

from typing import Any, get_args

from backproplab.engine import config, datasets, optimizers
from backproplab.engine.activations import ACTIVATIONS


def _schedule_fields() -> dict[str, list[dict[str, Any]]]:
    fields = config.ScheduleConfig.model_fields
    names = {
        "constant": [],
        "step": ["step_size", "gamma"],
        "exponential": ["gamma"],
        "cosine": ["t_max", "eta_min"],
        "cyclic": ["max_lr", "step_size_up", "step_size_down"],
    }
    out: dict[str, list[dict[str, Any]]] = {}
    for kind, keys in names.items():
        out[kind] = []
        for key in keys:
            info = fields[key]
            bounds = {type(item).__name__: item for item in info.metadata}
            low = getattr(bounds.get("Ge"), "ge", None) or getattr(bounds.get("Gt"), "gt", None)
            high = getattr(bounds.get("Le"), "le", None)
            out[kind].append(
                {
                    "name": key,
                    "integer": info.annotation in (int, int | None),
                    "default": info.default,
                    "min": low,
                    "max": high,
                }
            )
    return out


def _optimizers() -> dict[str, dict[str, Any]]:
    out = {}
    for name in get_args(config.OptimizerName):
        defaults = optimizers.optimizer_defaults(name)
        fields: list[str] = []
        for key in defaults:
            if key == "lr":
                continue
            fields.extend(["beta1", "beta2"] if key == "betas" else [key])
        out[name] = {
            "defaults": {k: list(v) if isinstance(v, tuple) else v for k, v in defaults.items()},
            "fields": fields,
        }
    return out


def choices() -> dict[str, Any]:
    hidden = [name for name in ACTIVATIONS if name != "softmax"]
    return {
        "datasets": {
            "classification": list(datasets.CLASSIFIERS),
            "regression": list(datasets.REGRESSORS),
            "multiclass": sorted(datasets.MULTICLASS),
        },
        "features": list(get_args(config.FeatureName)),
        "activations": hidden,
        "output_activations": [*hidden, "softmax"],
        "losses": list(get_args(config.LossName)),
        "inits": list(get_args(config.InitName)),
        "regularizations": ["none", "l1", "l2"],
        "schedules": _schedule_fields(),
        "optimizers": _optimizers(),
        "limits": {
            "max_hidden_layers": 10,
            "max_neurons": 64,
            "max_parameters": 200_000,
            "max_steps_per_request": 10_000,
            "max_rows": config.MAX_ROWS,
            "max_racers": 8,
            "max_gradcheck_parameters": 200_000,
            "max_trace_parameters": 2_000,
            "max_fps": 60,
        },
    }
