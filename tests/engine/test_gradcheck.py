"""gradient_check's verdicts: ok on a correct network, error on a deliberately broken gradient."""

from __future__ import annotations

import copy
import dataclasses
import json

import numpy as np
import pytest

from backproplab.engine.activations import ACTIVATIONS
from backproplab.engine.gradcheck import gradient_check, sweep_h, verdict
from backproplab.engine.losses import LossResult, MeanSquaredError, get_loss
from backproplab.engine.network import Network

PROBLEMS = {
    "mse": ("tanh", "linear", 2, lambda rng, n: rng.normal(size=(n, 2))),
    "bce": ("sigmoid", "sigmoid", 1, lambda rng, n: rng.integers(0, 2, (n, 1)).astype(float)),
    "cross_entropy": ("gelu", "softmax", 3, lambda rng, n: rng.integers(0, 3, n)),
    "huber": ("softplus", "linear", 2, lambda rng, n: 3.0 * rng.normal(size=(n, 2))),
}


def _problem(loss_name, seed=0):
    activation, output_activation, outputs, make_y = PROBLEMS[loss_name]
    rng = np.random.default_rng(seed)
    network = Network.build([3, 4, 3, outputs], activation, output_activation, "xavier_normal", rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0.0, 0.2, layer.b.shape)
    return network, get_loss(loss_name), rng.normal(size=(6, 3)), make_y(rng, 6)


@pytest.mark.parametrize("regularization", [None, ("l2", 0.05), ("l1", 0.02)])
@pytest.mark.parametrize("loss_name", PROBLEMS)
def test_correct_network_is_ok(loss_name, regularization):
    network, loss, X, y = _problem(loss_name)
    report = gradient_check(network, loss, X, y, regularization=regularization)
    assert report["overall"]["verdict"] == "ok", report["overall"]
    assert all(layer["verdict"] == "ok" for layer in report["layers"])
    assert report["input_gradient_check"]["verdict"] == "ok"
    assert report["h"] == 1e-5
    assert report["overall"]["norm_relative_error"] < 1e-7
    json.dumps(report, allow_nan=False)


def test_the_check_leaves_the_network_exactly_as_found():
    network, loss, X, y = _problem("mse")
    network.forward(X[:2])
    before = copy.deepcopy(network)
    X_before = X.copy()
    gradient_check(network, loss, X, y, h=1e-3, regularization=("l2", 0.1))
    for layer, original in zip(network.layers, before.layers, strict=True):
        for slot in ("W", "b", "grad_W", "grad_b", "a_in", "z", "a"):
            np.testing.assert_array_equal(getattr(layer, slot), getattr(original, slot), strict=True)
    np.testing.assert_array_equal(X, X_before)


def test_regularisation_enters_the_weight_gradients_only():
    network, loss, X, y = _problem("mse")
    plain = gradient_check(network, loss, X, y)
    l2 = gradient_check(network, loss, X, y, regularization=("l2", 0.5))
    for index, layer in enumerate(network.layers):
        expected = np.array(plain["layers"][index]["W"]["analytic"]) + 0.5 * layer.W
        np.testing.assert_allclose(l2["layers"][index]["W"]["analytic"], expected, rtol=1e-12)
        assert l2["layers"][index]["b"]["analytic"] == plain["layers"][index]["b"]["analytic"]
    assert l2["loss"] == pytest.approx(
        plain["loss"] + 0.25 * sum(float((lay.W**2).sum()) for lay in network.layers)
    )


def test_a_broken_activation_derivative_is_an_error():
    network, loss, X, y = _problem("mse")
    tanh = ACTIVATIONS["tanh"]

    def wrong_derivative(z, a, out):
        out[...] = 1.0 - a  # should be 1 − a²

    network.layers[1].activation = dataclasses.replace(tanh, derivative_into=wrong_derivative)
    report = gradient_check(network, loss, X, y)
    assert report["overall"]["verdict"] == "error"
    assert [layer["verdict"] for layer in report["layers"]] == ["error", "error", "ok"]
    assert report["input_gradient_check"]["verdict"] == "error"


def test_a_slightly_wrong_loss_gradient_is_flagged():
    class SteeperMeanSquaredError(MeanSquaredError):
        def evaluate(self, logits, output, target):
            result = super().evaluate(logits, output, target)
            return LossResult(result.value, 1.01 * result.grad)

    network, _, X, y = _problem("mse")
    report = gradient_check(network, SteeperMeanSquaredError(), X, y)
    assert report["overall"]["verdict"] == "error"
    assert 1e-3 < report["overall"]["norm_relative_error"] < 1e-2


def test_verdict_thresholds():
    assert [verdict(e) for e in (0.0, 9e-8, 1e-7, 9e-5, 1e-4, 1.0, float("nan"))] == [
        "ok",
        "ok",
        "warning",
        "warning",
        "error",
        "error",
        "error",
    ]


def test_sweep_h_shows_truncation_and_round_off():
    network, loss, X, y = _problem("bce")
    points = sweep_h(network, loss, X, y, [1e-1, 1e-3, 1e-5, 1e-9, 1e-12])
    errors = {point["h"]: point["relative_error"] for point in points}
    assert errors[1e-5] < 1e-8
    assert errors[1e-1] > 100 * errors[1e-3] > 100 * errors[1e-5]  # truncation: error ∝ h²
    assert errors[1e-12] > errors[1e-9] > errors[1e-5]  # round-off: error ∝ 1/h


def test_an_h_too_small_to_move_the_weights_is_an_error_not_a_pass():
    network, loss, X, y = _problem("mse")
    report = gradient_check(network, loss, X, y, h=1e-20)
    assert report["overall"]["verdict"] == "error"
    assert report["overall"]["norm_relative_error"] is None
    json.dumps(report, allow_nan=False)


# --- kinks: what the module docstring says about each ---------------------------------------------------


def _kink_network(activation: str = "tanh") -> tuple[Network, np.ndarray]:
    rng = np.random.default_rng(3)
    network = Network.build([2, 4, 1], activation, "linear", "xavier_normal", rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0.0, 0.3, layer.b.shape)
    return network, rng.normal(size=(5, 2))


def test_l1_at_a_zero_weight_is_checked_exactly():
    network, X = _kink_network()
    network.layers[0].W[0, :] = 0.0  # on the kink of |W|
    y = np.random.default_rng(0).normal(size=(5, 1))
    report = gradient_check(network, get_loss("mse"), X, y, regularization=("l1", 0.1))
    assert report["overall"]["verdict"] == "ok"
    assert max(report["layers"][0]["W"]["relative_error"][0]) < 1e-7


def test_mae_on_its_kink_is_exact_where_the_output_is_linear_in_the_parameter():
    network, X = _kink_network()
    y = np.random.default_rng(0).normal(size=(5, 1))
    y[0, 0] = network.predict(X)[0, 0]  # row 0 sits exactly on mae's kink
    report = gradient_check(network, get_loss("mae"), X, y)
    output_layer, hidden_layer = report["layers"][1], report["layers"][0]
    assert output_layer["verdict"] == "ok"  # a = a_in·W + b: linear in W and b
    assert hidden_layer["verdict"] == "warning"  # behind tanh: O(h) against the analytic 0
    every_row = gradient_check(network, get_loss("mae"), X, network.predict(X))
    assert every_row["overall"]["verdict"] == "error"  # the analytic gradient is exactly 0 there


def test_huber_on_its_boundary_is_a_warning():
    network, X = _kink_network()
    y = np.random.default_rng(0).normal(size=(5, 1))
    y[0, 0] = network.predict(X)[0, 0] - 1.0  # |d| = δ = 1 exactly on row 0
    report = gradient_check(network, get_loss("huber"), X, y)
    assert report["overall"]["verdict"] == "warning"


def test_relu_at_exactly_zero_is_an_error_for_that_unit():
    network, X = _kink_network("relu")
    network.layers[0].b[0] = -(X[0] @ network.layers[0].W[:, 0])  # z = 0 for row 0, unit 0
    y = np.random.default_rng(0).normal(size=(5, 1))
    report = gradient_check(network, get_loss("mse"), X, y)
    assert report["layers"][0]["verdict"] == "error" and report["layers"][1]["verdict"] == "ok"
