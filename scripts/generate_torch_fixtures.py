"""Write tests/fixtures/torch_reference.json: what PyTorch computes, in float64, for the engine to match.

    python scripts/generate_torch_fixtures.py

The file holds, each as its inputs plus torch's answer under "torch":

- optimizers: a real 3-4-2 tanh network trained full-batch for 50 steps on fixed data (mse regression or
  cross-entropy classification) by every optimizer with default and non-default hyperparameters, some
  with the learning rate changed at step 25; the loss at every step, the parameters after steps 1 and
  50, and the optimizer state at the end. Gradients come from the parameters, so the whole
  forward/backward/update loop is compared, not the update rule alone.
- optimizer_defaults: each optimizer's default hyperparameters.
- schedules: each lr_scheduler's learning rate for 60 steps.
- schedule_runs: the same network trained full-batch (cross-entropy) for 40 steps under a schedule, with a
  learning rate typed mid-run (a param_group edit), a schedule attached mid-run, and CyclicLR cycling the
  momentum (SGD's momentum, Adam's β₁, RMSprop's momentum); the lr and momentum at every step, the losses
  and the final parameters.
- losses and activations: values and gradients, including very large |z|.
- init: the bound or standard deviation torch.nn.init passes to its sampler.

torch is needed here only (never by the engine). The tests import this module to rerun the same
computations live when torch is importable, so every torch call lives in this one file.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import torch
from torch.nn import functional

# NOTE: float64 everywhere, and as the *default* dtype too: NAdam keeps mu_product and the step count in
# the default dtype, and a float32 mu_product alone moves NAdam's results by ~1e-8 relative.
torch.set_default_dtype(torch.float64)
torch.set_num_threads(1)

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the scenario tables beside this file
from torch_scenarios import (  # noqa: E402
    OPTIMIZER_SCENARIOS,
    SCHEDULE_RUN_STEPS,
    SCHEDULE_RUNS,
    SCHEDULE_SETTINGS,
)

OUTPUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "torch_reference.json"
SEED = 20240611
OPTIMIZER_STEPS = 50
LR_CHANGE_STEP = 25
SCHEDULE_STEPS = 60
SNAPSHOT_STEPS = (1, OPTIMIZER_STEPS)
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta", "nadam")
TORCH_ONLY_OPTIONS = (
    "maximize",
    "foreach",
    "capturable",
    "differentiable",
    "fused",
    "decoupled_weight_decay",
)

# Kinks at 0, moderate values, and |z| large enough to saturate or overflow naive formulas.
Z_POINTS = [-800.0, -50.0, -20.0, -5.0, -1.0, -0.5, -1e-3, 0.0, 1e-3, 0.5, 1.0, 3.0, 5.0, 25.0, 50.0, 800.0]
INIT_FANS = [(3, 4), (4, 2), (64, 1), (2, 64)]


def _tensor(values: Any) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64)


def _torch_loss(name: str, prediction: torch.Tensor, target: Any) -> torch.Tensor:
    """The engine's loss ``name`` as torch computes it, from logits (fused losses) or outputs."""
    if name == "mse":
        return functional.mse_loss(prediction, _tensor(target))
    if name == "mae":
        return functional.l1_loss(prediction, _tensor(target))
    if name == "huber":
        return functional.huber_loss(prediction, _tensor(target), delta=1.0)
    if name == "bce":
        return functional.binary_cross_entropy_with_logits(prediction, _tensor(target))
    if name == "cross_entropy":
        return functional.cross_entropy(prediction, torch.tensor(target, dtype=torch.long))
    raise ValueError(f"no torch loss for {name!r}")


def _torch_optimizer(name: str, params: list[torch.Tensor], hyper: dict[str, Any]) -> torch.optim.Optimizer:
    """torch's optimizer for the engine's ``name`` (momentum and nesterov are SGD presets), CPU loop path."""
    kwargs = dict(hyper)
    if name == "momentum":
        kwargs = {"momentum": 0.9, **kwargs}
    if name == "nesterov":
        kwargs = {"momentum": 0.9, "nesterov": True, **kwargs}
    torch_class = {
        "sgd": torch.optim.SGD,
        "momentum": torch.optim.SGD,
        "nesterov": torch.optim.SGD,
        "adagrad": torch.optim.Adagrad,
        "rmsprop": torch.optim.RMSprop,
        "adam": torch.optim.Adam,
        "adamw": torch.optim.AdamW,
        "adadelta": torch.optim.Adadelta,
        "nadam": torch.optim.NAdam,
    }[name]
    return torch_class(params, foreach=False, **kwargs)


def optimizer_defaults(name: str) -> dict[str, Any]:
    """torch's default hyperparameters for ``name`` (options about execution, not maths, left out)."""
    optimizer = _torch_optimizer(name, [torch.zeros(1, requires_grad=True)], {})
    return {key: value for key, value in optimizer.defaults.items() if key not in TORCH_ONLY_OPTIONS}


def optimizer_run(
    scenario: dict[str, Any], network: dict[str, Any], problem: dict[str, Any]
) -> dict[str, Any]:
    """Train the network with torch as ``scenario`` says; losses per step, snapshots and final state."""
    params = {}
    for index, layer in enumerate(network["weights"]):
        params[f"W{index}"] = _tensor(layer["W"]).requires_grad_()
        params[f"b{index}"] = _tensor(layer["b"]).requires_grad_()
    optimizer = _torch_optimizer(scenario["optimizer"], list(params.values()), scenario["hyper"])
    X = _tensor(problem["X"])
    losses, snapshots = [], {}
    for step in range(scenario["steps"]):
        if scenario["lr_change"] is not None and step == scenario["lr_change"]["step"]:
            for group in optimizer.param_groups:
                group["lr"] = scenario["lr_change"]["lr"]
        optimizer.zero_grad()
        activation = X
        for index in range(len(network["weights"])):
            logits = activation @ params[f"W{index}"] + params[f"b{index}"]
            activation = _torch_activation(network["activation"], logits)
        # The loss reads the last logits: mse on a linear output, or cross-entropy fused with softmax.
        loss = _torch_loss(problem["loss"], logits, problem["target"])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if step + 1 in SNAPSHOT_STEPS:
            snapshots[str(step + 1)] = {name: param.detach().tolist() for name, param in params.items()}
    state = {}
    for name, param in params.items():
        state[name] = {
            key: value.item() if value.ndim == 0 else value.tolist()
            for key, value in optimizer.state[param].items()
        }
    return {"losses": losses, "params": snapshots, "state": state}


def _torch_scheduler(
    optimizer: torch.optim.Optimizer, config: dict[str, Any]
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """torch's scheduler for a ScheduleConfig (as JSON), attached now at the param group's lr (None: constant).

    # NOTE: a scheduler records the lr it was attached at as ``initial_lr`` in the param group and keeps
    the first one it finds; dropping it first makes a scheduler attached mid-run start from the lr in force,
    as a fresh optimizer's would (only CosineAnnealingLR reads it, and only at t − 1 − T ≡ 0 mod 2T).
    """
    for group in optimizer.param_groups:
        group.pop("initial_lr", None)
    lr = optimizer.param_groups[0]["lr"]
    schedulers = torch.optim.lr_scheduler
    kind = config["kind"]
    if kind == "constant":
        return None
    if kind == "step":
        return schedulers.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])
    if kind == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=config["gamma"])
    if kind == "cosine":
        return schedulers.CosineAnnealingLR(
            optimizer, T_max=config["t_max"], eta_min=config.get("eta_min", 0.0)
        )
    if kind == "cyclic":
        return schedulers.CyclicLR(
            optimizer,
            base_lr=lr,
            max_lr=config.get("max_lr") or 10 * lr,
            step_size_up=config["step_size_up"],
            step_size_down=config.get("step_size_down"),
            cycle_momentum=config.get("cycle_momentum", True),
            base_momentum=config.get("base_momentum", 0.8),
            max_momentum=config.get("max_momentum", 0.9),
        )
    raise ValueError(f"no torch scheduler for {kind!r}")


def schedule_lrs(config: dict[str, Any], base_lr: float, steps: int) -> list[float]:
    """The lr torch uses at each optimizer step, with scheduler.step() after every optimizer.step()."""
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=base_lr)
    scheduler = _torch_scheduler(optimizer, {"cycle_momentum": False, **config})
    lrs = []
    for _ in range(steps):
        lrs.append(optimizer.param_groups[0]["lr"])
        param.grad = torch.zeros_like(param)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
    return lrs


def schedule_run(
    scenario: dict[str, Any], network: dict[str, Any], problem: dict[str, Any]
) -> dict[str, Any]:
    """Train as ``scenario`` says, typing lrs and attaching schedules mid-run; lr, momentum and loss per step."""
    params = {}
    for index, layer in enumerate(network["weights"]):
        params[f"W{index}"] = _tensor(layer["W"]).requires_grad_()
        params[f"b{index}"] = _tensor(layer["b"]).requires_grad_()
    optimizer = _torch_optimizer(scenario["optimizer"], list(params.values()), scenario["hyper"])
    group = optimizer.param_groups[0]
    scheduler = _torch_scheduler(optimizer, scenario["schedule"])
    X = _tensor(problem["X"])
    lrs, momenta, losses = [], [], []
    for step in range(scenario["steps"]):
        for at, kind, value in scenario["changes"]:
            if at == step and kind == "lr":
                for each in optimizer.param_groups:
                    each["lr"] = value
            elif at == step:
                scheduler = _torch_scheduler(optimizer, value)
        lrs.append(group["lr"])
        momenta.append(group["betas"][0] if "betas" in group else group.get("momentum"))
        optimizer.zero_grad()
        activation = X
        for index in range(len(network["weights"])):
            logits = activation @ params[f"W{index}"] + params[f"b{index}"]
            activation = _torch_activation(network["activation"], logits)
        loss = _torch_loss(problem["loss"], logits, problem["target"])
        loss.backward()
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    final = {name: param.detach().tolist() for name, param in params.items()}
    return {"lrs": lrs, "momenta": momenta, "losses": losses, "params": final}


def loss_value_and_grad(name: str, prediction: Any, target: Any) -> dict[str, Any]:
    """Loss value and its gradient with respect to the prediction (logits for bce and cross_entropy)."""
    prediction = _tensor(prediction).requires_grad_()
    loss = _torch_loss(name, prediction, target)
    loss.backward()
    return {"value": loss.item(), "grad": prediction.grad.tolist()}


def _torch_activation(name: str, z: torch.Tensor) -> torch.Tensor:
    return {
        "linear": lambda: z * 1.0,
        "sigmoid": lambda: torch.sigmoid(z),
        "tanh": lambda: torch.tanh(z),
        "relu": lambda: functional.relu(z),
        "leaky_relu": lambda: functional.leaky_relu(z, negative_slope=0.01),
        "elu": lambda: functional.elu(z, alpha=1.0),
        "softplus": lambda: functional.softplus(z),
        "gelu": lambda: functional.gelu(z),
        "gelu_tanh": lambda: functional.gelu(z, approximate="tanh"),
        "softmax": lambda: torch.softmax(z, dim=1),
    }[name]()


def activation_value_and_grad(name: str, z: Any, upstream: Any) -> dict[str, Any]:
    """f(z) and the vector-Jacobian product upstream·∂f/∂z (the derivative itself when upstream is 1)."""
    z = _tensor(z).requires_grad_()
    value = _torch_activation(name, z)
    value.backward(_tensor(upstream))
    return {"value": value.tolist(), "grad": z.grad.tolist()}


def init_sampler_calls(scheme: str, fan_in: int, fan_out: int) -> dict[str, Any]:
    """The distribution torch.nn.init draws a (fan_out, fan_in) weight (and Linear's bias) from.

    Records the arguments torch passes to Tensor.uniform_ / Tensor.normal_, so the exact bound or std
    torch computes is compared, not a statistical estimate.
    """
    calls = []
    uniform, normal = torch.Tensor.uniform_, torch.Tensor.normal_

    def recording_uniform(tensor, low=0.0, high=1.0, *, generator=None):
        calls.append(["uniform", low, high])
        return uniform(tensor, low, high, generator=generator)

    def recording_normal(tensor, mean=0.0, std=1.0, *, generator=None):
        calls.append(["normal", mean, std])
        return normal(tensor, mean, std, generator=generator)

    weight = torch.empty(fan_out, fan_in)
    with (
        mock.patch.object(torch.Tensor, "uniform_", recording_uniform),
        mock.patch.object(torch.Tensor, "normal_", recording_normal),
    ):
        if scheme == "uniform":
            torch.nn.Linear(fan_in, fan_out)  # weight then bias, torch's default for a dense layer
        elif scheme == "normal":
            torch.nn.init.normal_(weight)
        elif scheme == "xavier_uniform":
            torch.nn.init.xavier_uniform_(weight)
        elif scheme == "xavier_normal":
            torch.nn.init.xavier_normal_(weight)
        elif scheme == "he_uniform":
            torch.nn.init.kaiming_uniform_(weight, nonlinearity="relu")
        elif scheme == "he_normal":
            torch.nn.init.kaiming_normal_(weight, nonlinearity="relu")
        else:
            raise ValueError(f"no torch init for {scheme!r}")
    return {"weight": calls[0], "bias": calls[1] if len(calls) > 1 else None}


def _reference_network(rng: np.random.Generator) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """A 3-4-2 tanh network's start weights and two problems on the same 8 inputs."""
    network = {
        "sizes": [3, 4, 2],
        "activation": "tanh",
        "weights": [
            {"W": rng.normal(0.0, 0.8, (3, 4)).tolist(), "b": rng.normal(0.0, 0.3, 4).tolist()},
            {"W": rng.normal(0.0, 0.8, (4, 2)).tolist(), "b": rng.normal(0.0, 0.3, 2).tolist()},
        ],
    }
    X = rng.normal(0.0, 1.0, (8, 3)).tolist()
    problems = {
        "mse": {
            "loss": "mse",
            "output_activation": "linear",
            "X": X,
            "target": rng.normal(0.0, 1.0, (8, 2)).tolist(),
        },
        "cross_entropy": {
            "loss": "cross_entropy",
            "output_activation": "softmax",
            "X": X,
            "target": rng.integers(0, 2, 8).tolist(),
        },
    }
    return network, problems


def _loss_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    output = rng.normal(0.0, 1.5, (5, 2))
    target = rng.normal(0.0, 1.0, (5, 2))
    target[0, 0] = output[0, 0]  # a zero difference: MAE's kink, where torch's sign gives 0
    target[1, 1] = output[1, 1] - 1.0  # exactly on Huber's δ = 1 boundary
    logits = np.array([[-800.0], [-50.0], [-2.0], [0.0], [0.5], [3.0], [50.0], [800.0]])
    binary = np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0], [0.0], [1.0]])
    class_logits = np.vstack(
        [rng.normal(0.0, 2.0, (3, 3)), [[1000.0, 0.0, -1000.0], [-800.0, -800.0, -799.0]]]
    )
    labels = [0, 2, 1, 2, 0]
    cases = [
        {"loss": name, "prediction": output.tolist(), "target": target.tolist()}
        for name in ("mse", "mae", "huber")
    ]
    cases.append({"loss": "bce", "prediction": logits.tolist(), "target": binary.tolist()})
    cases.append({"loss": "cross_entropy", "prediction": class_logits.tolist(), "target": labels})
    return cases


def _activation_cases(rng: np.random.Generator) -> list[dict[str, Any]]:
    names = ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "gelu_tanh"]
    cases = [{"activation": name, "z": Z_POINTS, "upstream": [1.0] * len(Z_POINTS)} for name in names]
    z = np.vstack(
        [rng.normal(0.0, 2.0, (2, 4)), [[1000.0, 0.0, -1000.0, 999.0], [-800.0, -800.0, -799.0, -801.0]]]
    )
    cases.append(
        {"activation": "softmax", "z": z.tolist(), "upstream": rng.normal(0.0, 1.0, z.shape).tolist()}
    )
    return cases


def build_reference() -> dict[str, Any]:
    """Every reference case, inputs and torch's answers, as one JSON-ready dict."""
    rng = np.random.default_rng(SEED)
    network, problems = _reference_network(rng)
    defaults = {name: optimizer_defaults(name) for name in OPTIMIZER_NAMES}
    optimizers = []
    for scenario_id, name, hyper, problem, new_lr in OPTIMIZER_SCENARIOS:
        scenario = {
            "id": scenario_id,
            "optimizer": name,
            "hyper": hyper,
            "problem": problem,
            "steps": OPTIMIZER_STEPS,
            "lr_change": None if new_lr is None else {"step": LR_CHANGE_STEP, "lr": new_lr},
        }
        scenario["torch"] = optimizer_run(scenario, network, problems[problem])
        optimizers.append(scenario)
    schedules = [
        {"config": config, "base_lr": base_lr, "torch": schedule_lrs(config, base_lr, SCHEDULE_STEPS)}
        for config, base_lr in SCHEDULE_SETTINGS
    ]
    schedule_runs = []
    for scenario_id, name, hyper, schedule, changes in SCHEDULE_RUNS:
        scenario = {
            "id": scenario_id,
            "optimizer": name,
            "hyper": hyper,
            "schedule": schedule,
            "changes": [list(change) for change in changes],
            "steps": SCHEDULE_RUN_STEPS,
        }
        scenario["torch"] = schedule_run(scenario, network, problems["cross_entropy"])
        schedule_runs.append(scenario)
    losses = [
        {**case, "torch": loss_value_and_grad(case["loss"], case["prediction"], case["target"])}
        for case in _loss_cases(rng)
    ]
    activations = [
        {**case, "torch": activation_value_and_grad(case["activation"], case["z"], case["upstream"])}
        for case in _activation_cases(rng)
    ]
    init = [
        {
            "scheme": scheme,
            "fan_in": fan_in,
            "fan_out": fan_out,
            "torch": init_sampler_calls(scheme, fan_in, fan_out),
        }
        for scheme in ("uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")
        for fan_in, fan_out in INIT_FANS
    ]
    return {
        "generated_by": "scripts/generate_torch_fixtures.py",
        "torch_version": torch.__version__.split("+")[0],
        "network": network,
        "problems": problems,
        "optimizer_defaults": defaults,
        "optimizers": optimizers,
        "schedules": schedules,
        "schedule_runs": schedule_runs,
        "losses": losses,
        "activations": activations,
        "init": init,
    }


def main() -> None:
    reference = build_reference()
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(reference, indent=1, allow_nan=False) + "\n")
    print(f"wrote {OUTPUT} ({OUTPUT.stat().st_size / 1024:.0f} KiB, torch {reference['torch_version']})")


if __name__ == "__main__":
    main()
