"""The cases scripts/generate_torch_fixtures.py runs through PyTorch: optimizers, schedules and schedule
runs with live changes (data only; the generator holds every torch call)."""

from __future__ import annotations

from typing import Any

# (id, optimizer, hyperparameters, problem, learning rate from step 25 on or None)
OPTIMIZER_SCENARIOS: list[tuple[str, str, dict[str, Any], str, float | None]] = [
    ("sgd-default", "sgd", {}, "mse", None),
    ("sgd-lr-change", "sgd", {"lr": 0.1}, "mse", 0.03),
    ("sgd-weight-decay", "sgd", {"lr": 0.1, "weight_decay": 0.05}, "cross_entropy", None),
    ("momentum-default", "momentum", {"lr": 0.05}, "mse", None),
    ("momentum-dampening", "momentum", {"lr": 0.05, "dampening": 0.3, "weight_decay": 1e-3}, "mse", 0.1),
    ("sgd-momentum-0.5", "sgd", {"lr": 0.05, "momentum": 0.5}, "cross_entropy", None),
    ("nesterov-default", "nesterov", {"lr": 0.05}, "mse", None),
    (
        "nesterov-weight-decay",
        "nesterov",
        {"lr": 0.1, "momentum": 0.7, "weight_decay": 0.01},
        "cross_entropy",
        0.02,
    ),
    ("adagrad-default", "adagrad", {}, "mse", None),
    (
        "adagrad-options",
        "adagrad",
        {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8},
        "cross_entropy",
        0.05,
    ),
    ("rmsprop-default", "rmsprop", {}, "mse", None),
    (
        "rmsprop-centered-momentum",
        "rmsprop",
        {"lr": 0.003, "alpha": 0.9, "centered": True, "momentum": 0.5, "weight_decay": 0.01},
        "mse",
        0.001,
    ),
    ("rmsprop-momentum", "rmsprop", {"lr": 0.001, "momentum": 0.9, "eps": 1e-6}, "cross_entropy", None),
    ("adam-default", "adam", {}, "mse", None),
    (
        "adam-options",
        "adam",
        {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01},
        "cross_entropy",
        0.003,
    ),
    ("adam-amsgrad", "adam", {"lr": 0.01, "amsgrad": True}, "mse", None),
    ("adam-small-beta1", "adam", {"lr": 0.01, "betas": (0.3, 0.9)}, "mse", None),
    ("adamw-default", "adamw", {}, "mse", None),
    ("adamw-options", "adamw", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}, "cross_entropy", 0.02),
    ("adadelta-default", "adadelta", {}, "mse", None),
    ("adadelta-options", "adadelta", {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.01}, "mse", 2.0),
    ("nadam-default", "nadam", {}, "mse", None),
    (
        "nadam-options",
        "nadam",
        {"lr": 0.01, "betas": (0.85, 0.995), "weight_decay": 0.01, "momentum_decay": 0.01},
        "cross_entropy",
        0.005,
    ),
]

SCHEDULE_SETTINGS: list[tuple[dict[str, Any], float]] = [
    ({"kind": "step", "step_size": 7, "gamma": 0.5}, 0.1),
    ({"kind": "step", "step_size": 1, "gamma": 0.9}, 0.3),
    ({"kind": "exponential", "gamma": 0.95}, 0.1),
    ({"kind": "cosine", "t_max": 20, "eta_min": 0.001}, 0.1),
    ({"kind": "cosine", "t_max": 7, "eta_min": 0.0}, 0.5),
    ({"kind": "cosine", "t_max": 60, "eta_min": 0.0}, 0.03),
    ({"kind": "cyclic", "step_size_up": 5}, 0.01),
    ({"kind": "cyclic", "step_size_up": 4, "step_size_down": 9, "max_lr": 0.7}, 0.1),
]

SCHEDULE_RUN_STEPS = 40
# (id, optimizer, hyperparameters, schedule, changes): each change is (step, "lr", value) — the lr typed
# before that step — or (step, "schedule", config) — a schedule attached before that step.
SCHEDULE_RUNS: list[tuple[str, str, dict[str, Any], dict[str, Any], list[tuple[int, str, Any]]]] = [
    ("exponential-lr-typed", "sgd", {"lr": 0.5}, {"kind": "exponential", "gamma": 0.95}, [(20, "lr", 0.2)]),
    ("step-lr-typed", "sgd", {"lr": 0.5}, {"kind": "step", "step_size": 7, "gamma": 0.5}, [(20, "lr", 0.3)]),
    (
        "cosine-lr-typed",
        "adam",
        {"lr": 0.05},
        {"kind": "cosine", "t_max": 12, "eta_min": 0.001},
        [(20, "lr", 0.02)],
    ),
    (
        "cyclic-sgd-momentum",
        "sgd",
        {"lr": 0.1},
        {"kind": "cyclic", "step_size_up": 5, "max_lr": 0.5},
        [(12, "lr", 0.3)],
    ),
    (
        "cyclic-adam-beta1",
        "adam",
        {"lr": 0.01},
        {"kind": "cyclic", "step_size_up": 4, "step_size_down": 6},
        [],
    ),
    (
        "cyclic-rmsprop-momentum",
        "rmsprop",
        {"lr": 0.001},
        {"kind": "cyclic", "step_size_up": 3, "base_momentum": 0.5, "max_momentum": 0.95},
        [],
    ),
    (
        "cyclic-adagrad-no-momentum",
        "adagrad",
        {"lr": 0.05},
        {"kind": "cyclic", "step_size_up": 6, "cycle_momentum": False},
        [(15, "lr", 0.2)],
    ),
    (
        "attach-exponential",
        "sgd",
        {"lr": 0.4},
        {"kind": "constant"},
        [(20, "schedule", {"kind": "exponential", "gamma": 0.9})],
    ),
    (
        "switch-to-cosine",
        "momentum",
        {"lr": 0.2},
        {"kind": "exponential", "gamma": 0.9},
        [(20, "schedule", {"kind": "cosine", "t_max": 8})],
    ),
]
