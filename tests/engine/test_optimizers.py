"""Optimizers against torch.optim: a real network trained by the engine (forward, backward, update) must
follow torch's trajectory to rtol 1e-9 for 50 steps, for every optimizer and its options.

The reference is tests/fixtures/torch_reference.json (scripts/generate_torch_fixtures.py); tests marked
``torch`` rerun the same scenarios against the installed torch. The mutant tests show the tolerance is
tight enough to catch the classic mistakes (epsilon inside the root, L2 decay where AdamW decouples it,
a momentum buffer that starts at zero).
"""

from __future__ import annotations

import copy
import json
import typing
from pathlib import Path

import numpy as np
import pytest

from backproplab.engine.config import OptimizerConfig, OptimizerName
from backproplab.engine.errors import ConfigError
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network
from backproplab.engine.optimizers import (
    HYPERPARAMETER_NAMES,
    OPTIMIZER_NAMES,
    SGD,
    Adam,
    make_optimizer,
    optimizer_defaults,
)

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "torch_reference.json").read_text())
SCENARIOS = {scenario["id"]: scenario for scenario in REFERENCE["optimizers"]}
RTOL, ATOL = 1e-9, 1e-12


def train(scenario: dict, optimizer_class: type | None = None, lr_change_by: str = "step") -> dict:
    """Train the reference network with the engine as ``scenario`` says; the record torch's run has.

    ``lr_change_by`` is how the mid-run learning rate reaches the optimizer: as ``step(grads, lr)`` (a
    schedule's way) or through ``set_hyperparameters(lr=...)`` (a user's edit).
    """
    problem = REFERENCE["problems"][scenario["problem"]]
    network_spec = REFERENCE["network"]
    network = Network.build(
        network_spec["sizes"],
        network_spec["activation"],
        problem["output_activation"],
        "zeros",
        np.random.default_rng(0),
        weights=network_spec["weights"],
    )
    loss = get_loss(problem["loss"])
    X, target = np.array(problem["X"]), np.array(problem["target"], dtype=np.float64)
    params = network.params()
    if optimizer_class is None:
        optimizer = make_optimizer(scenario["optimizer"], params, **scenario["hyper"])
    else:
        optimizer = optimizer_class(params, **scenario["hyper"])
    lr_change, lr = scenario["lr_change"], None
    losses, snapshots = [], {}
    for step in range(scenario["steps"]):
        if lr_change is not None and step == lr_change["step"]:
            if lr_change_by == "step":
                lr = lr_change["lr"]
            else:
                optimizer.set_hyperparameters(lr=lr_change["lr"])
        output = network.forward(X)
        result = loss.evaluate(network.output_layer.z, output, target)
        network.backward(result.grad, grad_is_logits=loss.fused_activation is not None)
        optimizer.step(network.grads(), lr)
        losses.append(result.value)
        if str(step + 1) in scenario["torch"]["params"]:
            snapshots[str(step + 1)] = {name: param.copy() for name, param in params.items()}
    return {"losses": losses, "params": snapshots, "optimizer": optimizer}


def assert_matches(engine: dict, torch_record: dict) -> None:
    np.testing.assert_allclose(engine["losses"], torch_record["losses"], rtol=RTOL, atol=ATOL)
    for step, torch_params in torch_record["params"].items():
        for name, value in torch_params.items():
            np.testing.assert_allclose(
                engine["params"][step][name], value, rtol=RTOL, atol=ATOL, err_msg=f"{name} after step {step}"
            )
    state = engine["optimizer"].state
    for name, torch_state in torch_record["state"].items():
        for key, value in torch_state.items():
            np.testing.assert_allclose(state[name][key], value, rtol=RTOL, atol=ATOL, err_msg=f"{name}.{key}")


def max_param_deviation(engine: dict, torch_record: dict) -> float:
    """The largest |engine − torch| / (ATOL + RTOL·|torch|) over the final parameters (> 1 fails)."""
    final = str(max(int(step) for step in torch_record["params"]))
    return max(
        np.max(
            np.abs(engine["params"][final][name] - np.array(value)) / (ATOL + RTOL * np.abs(np.array(value)))
        )
        for name, value in torch_record["params"][final].items()
    )


@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_training_matches_torch_reference(scenario_id):
    scenario = SCENARIOS[scenario_id]
    assert_matches(train(scenario), scenario["torch"])


@pytest.mark.parametrize("scenario_id", [key for key, value in SCENARIOS.items() if value["lr_change"]])
def test_lr_edit_through_set_hyperparameters_matches_torch_param_group_edit(scenario_id):
    scenario = SCENARIOS[scenario_id]
    assert_matches(train(scenario, lr_change_by="set_hyperparameters"), scenario["torch"])


@pytest.mark.torch
@pytest.mark.parametrize("scenario_id", SCENARIOS)
def test_training_matches_live_torch(scenario_id, torch_generator):
    scenario = SCENARIOS[scenario_id]
    problem = REFERENCE["problems"][scenario["problem"]]
    assert_matches(train(scenario), torch_generator.optimizer_run(scenario, REFERENCE["network"], problem))


def _normalised(defaults: dict) -> dict:
    return {key: list(value) if isinstance(value, tuple | list) else value for key, value in defaults.items()}


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_defaults_are_torch_defaults(name):
    assert _normalised(optimizer_defaults(name)) == REFERENCE["optimizer_defaults"][name]
    assert make_optimizer(name, {"w": np.zeros(2)}).hyper == optimizer_defaults(name)


@pytest.mark.torch
@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_defaults_are_live_torch_defaults(name, torch_generator):
    assert _normalised(optimizer_defaults(name)) == _normalised(torch_generator.optimizer_defaults(name))


def test_names_match_the_config():
    assert set(OPTIMIZER_NAMES) == set(typing.get_args(OptimizerName))
    assert set(OptimizerConfig.model_fields) - {"name"} == set(HYPERPARAMETER_NAMES)
    config = OptimizerConfig(name="rmsprop", lr=0.1, centered=True, betas=(0.5, 0.5))
    optimizer = make_optimizer(config.name, {"w": np.zeros(2)}, **config.hyperparameters())
    assert optimizer.hyper == {**optimizer_defaults("rmsprop"), "lr": 0.1, "centered": True}


# --- mutants: the tolerance must catch the classic implementation mistakes --------------------------


class AdamEpsInsideRoot(Adam):
    """A textbook slip: θ ← θ − η̂·m / √(v̂ + ε) instead of torch's m / (√v̂ + ε)."""

    def _update(self, param, grad, state, lr):
        beta1, beta2 = self.hyper["betas"]
        state["step"] += 1
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        exp_avg += (1.0 - beta1) * (grad - exp_avg)
        exp_avg_sq *= beta2
        exp_avg_sq += (1.0 - beta2) * grad * grad
        corrected_second = exp_avg_sq / (1.0 - beta2 ** state["step"])
        param -= lr / (1.0 - beta1 ** state["step"]) * exp_avg / np.sqrt(corrected_second + self.hyper["eps"])


class SGDZeroStartedMomentum(SGD):
    """A common slip: the momentum buffer starts at 0, so the first step is damped too."""

    def _update(self, param, grad, state, lr):
        buffer = state.setdefault("momentum_buffer", np.zeros_like(param))
        buffer *= self.hyper["momentum"]
        buffer += (1.0 - self.hyper["dampening"]) * (grad + self.hyper["weight_decay"] * param)
        param -= lr * buffer


def test_adam_with_eps_inside_the_root_is_caught():
    scenario = SCENARIOS["adam-default"]
    assert_matches(train(scenario), scenario["torch"])
    assert max_param_deviation(train(scenario, AdamEpsInsideRoot), scenario["torch"]) > 1000.0


def test_l2_decay_instead_of_decoupled_decay_is_caught():
    scenario = SCENARIOS["adamw-options"]
    as_adam = dict(scenario, optimizer="adam")
    assert max_param_deviation(train(as_adam), scenario["torch"]) > 1000.0


def test_zero_started_momentum_buffer_is_caught():
    scenario = SCENARIOS["momentum-dampening"]
    mutant = dict(scenario, hyper={"momentum": 0.9, **scenario["hyper"]})
    assert max_param_deviation(train(mutant, SGDZeroStartedMomentum), scenario["torch"]) > 1000.0


# --- interface -----------------------------------------------------------------------------------------


def _params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W0": rng.normal(size=(3, 4)), "b0": rng.normal(size=4)}


def _grads(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {"W0": rng.normal(size=(3, 4)), "b0": rng.normal(size=4)}


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_step_updates_params_in_place_and_leaves_grads_alone(name):
    rng = np.random.default_rng(1)
    params, grads = _params(rng), _grads(rng)
    arrays, before, grads_before = dict(params), copy.deepcopy(params), copy.deepcopy(grads)
    optimizer = make_optimizer(name, params, lr=0.1, weight_decay=0.01)
    optimizer.step(grads)
    optimizer.step(grads)
    for key in params:
        assert params[key] is arrays[key]
        assert not np.allclose(params[key], before[key])
        np.testing.assert_array_equal(grads[key], grads_before[key])


def test_unknown_hyperparameter_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError) as error:
        make_optimizer("adam", {"w": np.zeros(2)}, lerning_rate=0.1)
    assert error.value.field == "optimizer.lerning_rate"
    with pytest.raises(ConfigError) as error:
        make_optimizer("adam", {"w": np.zeros(2)}).set_hyperparameters(beta=0.9)
    assert error.value.field == "optimizer.beta"


def test_hyperparameters_of_other_optimizers_are_ignored():
    sgd = make_optimizer("sgd", {"w": np.zeros(2)}, lr=0.1, betas=(0.5, 0.6), rho=0.5, amsgrad=True)
    assert sgd.hyper == {**optimizer_defaults("sgd"), "lr": 0.1}
    adam = make_optimizer("adam", {"w": np.zeros(2)}, momentum=0.9, nesterov=True, dampening=0.1)
    assert adam.hyper == optimizer_defaults("adam")


@pytest.mark.parametrize(
    ("name", "hyper", "field"),
    [
        ("sgd", {"nesterov": True}, "optimizer.nesterov"),
        ("nesterov", {"momentum": 0.0}, "optimizer.nesterov"),
        ("nesterov", {"dampening": 0.1}, "optimizer.nesterov"),
        ("sgd", {"lr": -0.1}, "optimizer.lr"),
        ("adam", {"betas": (1.0, 0.999)}, "optimizer.betas"),
        ("adam", {"betas": (0.9,)}, "optimizer.betas"),
        ("adam", {"eps": float("nan")}, "optimizer.eps"),
        ("adam", {"amsgrad": "yes"}, "optimizer.amsgrad"),
        ("adadelta", {"rho": 1.5}, "optimizer.rho"),
        ("rmsprop", {"alpha": "0.9"}, "optimizer.alpha"),
    ],
)
def test_invalid_settings_are_config_errors(name, hyper, field):
    with pytest.raises(ConfigError) as error:
        make_optimizer(name, {"w": np.zeros(2)}, **hyper)
    assert error.value.field == field


def test_rejected_change_leaves_the_optimizer_as_it_was():
    optimizer = make_optimizer("nesterov", {"w": np.zeros(2)}, lr=0.1)
    with pytest.raises(ConfigError):
        optimizer.set_hyperparameters(momentum=0.0)
    assert optimizer.hyper == {**optimizer_defaults("nesterov"), "lr": 0.1}


def test_none_restores_the_default():
    optimizer = make_optimizer("adam", {"w": np.zeros(2)}, lr=0.1, eps=1e-3)
    optimizer.set_hyperparameters(eps=None)
    assert optimizer.hyper == {**optimizer_defaults("adam"), "lr": 0.1}


def test_unknown_optimizer_name():
    with pytest.raises(ConfigError) as error:
        make_optimizer("adamax", {"w": np.zeros(2)})
    assert error.value.field == "optimizer.name"


def test_changing_hyperparameters_keeps_state_and_adds_new_buffers():
    rng = np.random.default_rng(2)
    optimizer = make_optimizer("adam", _params(rng), lr=0.01)
    for _ in range(3):
        optimizer.step(_grads(rng))
    exp_avg = optimizer.state["W0"]["exp_avg"].copy()
    optimizer.set_hyperparameters(lr=0.001, amsgrad=True)
    assert optimizer.state["W0"]["step"] == 3
    np.testing.assert_array_equal(optimizer.state["W0"]["exp_avg"], exp_avg)
    np.testing.assert_array_equal(optimizer.state["W0"]["max_exp_avg_sq"], 0.0)
    optimizer.step(_grads(rng))
    assert optimizer.state["W0"]["step"] == 4
    assert np.all(optimizer.state["W0"]["max_exp_avg_sq"] > 0.0)


def test_switching_sgd_momentum_off_and_on_follows_torch_buffer_rules():
    rng = np.random.default_rng(3)
    params = _params(rng)
    optimizer = make_optimizer("momentum", params, lr=0.1)
    optimizer.step(_grads(rng))
    optimizer.set_hyperparameters(momentum=0.0)  # plain fast path, the buffer is kept
    grads = _grads(rng)
    expected = {name: params[name] - 0.1 * grads[name] for name in params}
    optimizer.step(grads)
    for name in params:
        np.testing.assert_array_equal(params[name], expected[name])
    buffer = optimizer.state["W0"]["momentum_buffer"].copy()
    optimizer.set_hyperparameters(momentum=0.9)
    grads = _grads(rng)
    optimizer.step(grads)
    np.testing.assert_allclose(
        optimizer.state["W0"]["momentum_buffer"], 0.9 * buffer + grads["W0"], rtol=1e-15
    )


@pytest.mark.parametrize("name", OPTIMIZER_NAMES)
def test_state_dict_round_trip_resumes_exactly(name):
    rng = np.random.default_rng(4)
    grads = [_grads(rng) for _ in range(6)]
    params = _params(rng)
    optimizer = make_optimizer(name, params, lr=0.05, momentum=0.5)
    for step_grads in grads[:3]:
        optimizer.step(step_grads)
    # Through JSON, as the store keeps it: arrays become lists and betas a list.
    saved = json.loads(json.dumps(optimizer.state_dict(), default=lambda array: array.tolist()))
    resumed_params = copy.deepcopy(params)
    resumed = make_optimizer(name, resumed_params)
    resumed.load_state_dict(saved)
    assert resumed.hyper == optimizer.hyper
    for step_grads in grads[3:]:
        optimizer.step(step_grads)
        resumed.step(step_grads)
    for key in params:
        np.testing.assert_array_equal(resumed_params[key], params[key])


def test_state_dict_is_a_deep_copy():
    rng = np.random.default_rng(5)
    optimizer = make_optimizer("adam", _params(rng))
    optimizer.step(_grads(rng))
    saved = optimizer.state_dict()
    optimizer.step(_grads(rng))
    assert saved["state"]["W0"]["step"] == 1
    assert not np.array_equal(saved["state"]["W0"]["exp_avg"], optimizer.state["W0"]["exp_avg"])


def test_load_state_dict_checks_name_and_shapes():
    rng = np.random.default_rng(6)
    adam = make_optimizer("adam", _params(rng))
    adam.step(_grads(rng))
    with pytest.raises(ConfigError):
        make_optimizer("nadam", _params(rng)).load_state_dict(adam.state_dict())
    with pytest.raises(ConfigError):
        make_optimizer("adam", {"W0": np.zeros((2, 2)), "b0": np.zeros(4)}).load_state_dict(adam.state_dict())
