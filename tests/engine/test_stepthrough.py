"""The step-through trace shows the engine's own numbers: forward values, gradients and updates, bit for bit."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from backproplab.engine.config import RunConfig
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network
from backproplab.engine.optimizers import make_optimizer
from backproplab.engine.regularization import add_regularization_gradient
from backproplab.engine.run import Run
from backproplab.engine.stepthrough import trace_step

CASES = {
    "mse": ("tanh", "linear", 2, lambda rng, n: rng.normal(size=(n, 2))),
    "huber": ("elu", "tanh", 2, lambda rng, n: rng.normal(size=(n, 2))),
    "softmax_mse": ("sigmoid", "softmax", 3, lambda rng, n: rng.uniform(size=(n, 3))),
    "bce": ("relu", "sigmoid", 1, lambda rng, n: rng.integers(0, 2, (n, 1)).astype(float)),
    "cross_entropy": ("gelu", "softmax", 3, lambda rng, n: rng.integers(0, 3, n)),
}


def _setup(case, batch, seed=0):
    activation, output_activation, outputs, make_y = CASES[case]
    rng = np.random.default_rng(seed)
    network = Network.build([2, 3, 2, outputs], activation, output_activation, "xavier_normal", rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0.0, 0.3, layer.b.shape)
    loss = get_loss("mse" if case == "softmax_mse" else case)
    return network, loss, rng.normal(size=(batch, 2)), make_y(rng, batch)


def _engine_step(network, loss, X, y, regularization):
    output = network.forward(X)
    result = loss.evaluate(network.output_layer.z, output, y)
    grad_X = network.backward(result.grad, loss.fused_activation is not None, need_input_grad=True)
    add_regularization_gradient(network, *regularization)
    return result, grad_X


def _stages(trace, kind):
    return [stage for stage in trace["stages"] if stage["kind"] == kind]


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("case", CASES)
def test_trace_equals_the_engine_bit_for_bit(case, batch):
    network, loss, X, y = _setup(case, batch)
    regularization = ("l2", 0.01)
    before = copy.deepcopy(network)
    trace = trace_step(network, loss, X, y, "sgd", {"lr": 0.1}, 0.1, regularization=regularization)

    for layer, original in zip(network.layers, before.layers, strict=True):  # the network is untouched
        np.testing.assert_array_equal(layer.W, original.W)
        np.testing.assert_array_equal(layer.grad_W, original.grad_W)
        assert layer.z is None

    result, grad_X = _engine_step(network, loss, X, y, regularization)
    assert [stage["kind"] for stage in trace["stages"]] == ["forward"] * 3 + ["loss"] + ["backward"] * 3 + [
        "update"
    ]
    for stage, layer in zip(_stages(trace, "forward"), network.layers, strict=True):
        np.testing.assert_array_equal(np.array([n["z"] for n in stage["neurons"]]).T, layer.z)
        np.testing.assert_array_equal(np.array([n["a"] for n in stage["neurons"]]).T, layer.a)
    loss_stage = _stages(trace, "loss")[0]
    assert loss_stage["value"] == result.value
    np.testing.assert_array_equal(loss_stage["gradient"], result.grad)
    backward = _stages(trace, "backward")
    assert [stage["layer"] for stage in backward] == [2, 1, 0]
    for stage in backward:
        layer = network.layers[stage["layer"]]
        np.testing.assert_array_equal(stage["grad_W"], layer.grad_W)
        np.testing.assert_array_equal(stage["grad_b"], layer.grad_b)
        per_weight = np.array([w["grad"] for w in stage["weights"]]).reshape(layer.W.shape)
        np.testing.assert_array_equal(per_weight, layer.grad_W)
    np.testing.assert_array_equal(trace["input_gradient"], grad_X)

    update = _stages(trace, "update")[0]
    for entry, (name, value) in zip(update["parameters"], _flat_params(network), strict=True):
        assert entry["id"] == name
        assert entry["new"] == entry["old"] - 0.1 * entry["grad"]
        assert entry["old"] == value


def _flat_params(network):
    for key, value in network.params().items():
        for index in np.ndindex(value.shape):
            yield f"{key}[{','.join(map(str, index))}]", float(value[index])


def test_chain_rule_factors_multiply_to_the_gradient():
    network, loss, X, y = _setup("mse", 1)
    trace = trace_step(network, loss, X, y, "sgd", {"lr": 0.1}, 0.1)
    hidden = _stages(trace, "backward")[-1]
    for neuron in hidden["neurons"]:
        assert neuron["upstream"][0] * neuron["local"][0] == neuron["grad_z"][0]
        assert neuron["chain"][0].startswith("∂L/∂a = Σₖ ∂L/∂zₖ·wₖ")
    weight = hidden["weights"][0]
    assert weight["chain"].startswith("∂L/∂w⁽¹⁾₁₁ = ∂L/∂a · ∂a/∂z · ∂z/∂w = ")
    assert weight["grad"] == pytest.approx(weight["grad_z"][0] * weight["a_in"][0], rel=1e-15)
    fused = _stages(trace_step(*_setup("bce", 1), "sgd", {"lr": 0.1}, 0.1), "backward")[0]
    assert fused["neurons"][0]["upstream"] is None and fused["neurons"][0]["local"] is None


@pytest.mark.parametrize(
    "name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta", "nadam"]
)
def test_update_continues_the_given_optimizer_state(name):
    network, loss, X, y = _setup("cross_entropy", 2)
    hyper = {"lr": 0.05, "weight_decay": 0.1}
    optimizer = make_optimizer(name, network.params(), **hyper)
    for _ in range(3):  # build up a real state
        _engine_step(network, loss, X, y, ("none", 0.0))
        optimizer.step(network.grads())
    trace = trace_step(network, loss, X, y, name, hyper, 0.02, optimizer.state_dict())
    _engine_step(network, loss, X, y, ("none", 0.0))
    optimizer.step(network.grads(), lr=0.02)
    for traced, layer in zip(_stages(trace, "update")[0]["weights"], network.layers, strict=True):
        np.testing.assert_array_equal(traced["W"], layer.W)
        np.testing.assert_array_equal(traced["b"], layer.b)


def test_trace_matches_a_real_run_step():
    config = RunConfig.model_validate(
        {
            "dataset": {
                "kind": "custom",
                "X": [[0.5, -1.0], [-0.3, 0.8]],
                "y": [1, 0],
                "train_fraction": 1.0,
                "task": "classification",
            },
            "model": {"hidden": [3], "activation": "tanh"},
            "loss": "bce",
            "optimizer": {"name": "adam", "lr": 0.05},
            "batch_size": 2,
            "regularization": {"kind": "l1", "rate": 0.01},
        }
    )
    run = Run(config)
    run.step(2)
    trace = trace_step(
        run.network,
        run.loss,
        run.X_train,
        run.target_train,
        run.optimizer.name,
        run.optimizer.hyper,
        run.optimizer.hyper["lr"],
        run.optimizer.state_dict(),
        ("l1", 0.01),
    )
    run.step(1)
    for traced, layer in zip(_stages(trace, "backward")[::-1], run.network.layers, strict=True):
        np.testing.assert_array_equal(traced["grad_W"], layer.grad_W)
    for traced, layer in zip(_stages(trace, "update")[0]["weights"], run.network.layers, strict=True):
        np.testing.assert_array_equal(traced["W"], layer.W)


def test_trace_is_json_safe_even_when_numbers_overflow():
    network, loss, X, y = _setup("mse", 2)
    network.layers[0].W[...] = 1e300
    trace = trace_step(network, loss, X * 1e10, y, "adam", {}, 1e-3)
    text = json.dumps(trace, allow_nan=False)
    assert "null" in text


@pytest.mark.parametrize(
    ("name", "hyper", "expected"),
    [
        ("sgd", {"lr": 0.1}, ["θ ← θ − η·g"]),
        ("momentum", {"lr": 0.1, "weight_decay": 0.01}, ["g ← g + λθ", "g ← u", "θ ← θ − η·g"]),
        ("nesterov", {"lr": 0.1}, ["g ← g + μ·u", "θ ← θ − η·g"]),
        ("rmsprop", {"centered": True, "momentum": 0.5}, ["m̄ ← α·m̄ + (1 − α)·g", "d = √(v − m̄²) + ε"]),
        ("rmsprop", {"momentum": 0.5}, ["d = √v + ε", "u ← μ·u + g/d", "θ ← θ − η·u"]),
        ("adam", {"amsgrad": True}, ["vₘₐₓ ← max(vₘₐₓ, v)"]),
        ("adamw", {}, ["θ ← θ·(1 − ηλ)"]),
    ],
)
def test_the_update_rule_is_the_optimizers_own_for_its_settings(name, hyper, expected):
    """The step-through shows Optimizer.rule(): centred and momentum forms included, nothing restated."""
    network, loss, X, y = _setup("cross_entropy", 2)
    update = _stages(trace_step(network, loss, X, y, name, hyper, 0.01), "update")[0]
    optimizer = make_optimizer(name, network.params(), **hyper)
    assert update["rule"] == ";  ".join(optimizer.rule())
    for equation in expected:
        assert equation in optimizer.rule()
    plain = make_optimizer(name, network.params())
    if name == "rmsprop":
        assert "θ ← θ − η·g/d" in plain.rule() and "θ ← θ − η·g/d" not in optimizer.rule()


@pytest.mark.parametrize(
    ("name", "hyper"),
    [
        ("momentum", {}),
        ("adagrad", {}),
        ("rmsprop", {"centered": True, "momentum": 0.9}),
        ("adam", {"amsgrad": True}),
        ("adadelta", {}),
        ("nadam", {}),
    ],
)
def test_each_parameter_shows_its_state_under_the_rules_symbols(name, hyper):
    network, loss, X, y = _setup("mse", 1)
    update = _stages(trace_step(network, loss, X, y, name, hyper, 0.01), "update")[0]
    symbols = update["symbols"]
    for entry in update["parameters"]:
        assert set(entry["state"]) <= set(symbols), "every state buffer has a symbol in the rule"
        for key in entry["state"]:
            assert symbols[key] in entry["formula"]
        assert entry["formula"].startswith("η = 0.01;  g = ")
