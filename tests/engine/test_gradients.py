"""The engine's own correctness proof: backprop against central differences of an independent forward pass.

The oracle is written here from the textbook formulas (naive numpy, float64) and shares no code with the
engine beyond reading the weights: L(θ) = loss(f_L(… f_1(X W_1 + b_1) …)). Its central differences
(L(θ + h) − L(θ − h)) / 2h, h = 1e-5, have an error budget near 1e-10 relative, so a correct backprop
passes ‖a − n‖ / (‖a‖ + ‖n‖) < 1e-7 for every parameter array and for the input, and any wrong factor
fails by orders of magnitude. Points are drawn away from kinks (relu-family z = 0, mae a = y, huber
|a − y| = 1), where no finite difference converges.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from backproplab.engine.activations import HIDDEN_ACTIVATIONS
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network

H = 1e-5
TOLERANCE = 1e-7
KINK_MARGIN = 1e-3
BATCH = 5  # odd, so mae's and huber's ±1 slopes never cancel exactly in an output bias


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


REFERENCE_ACTIVATIONS = {
    "linear": lambda z: z,
    "sigmoid": _sigmoid,
    "tanh": np.tanh,
    "relu": lambda z: np.where(z > 0, z, 0.0),
    "leaky_relu": lambda z: np.where(z > 0, z, 0.01 * z),
    "elu": lambda z: np.where(z > 0, z, np.exp(z) - 1.0),
    "softplus": lambda z: np.log(1.0 + np.exp(z)),
    "gelu": lambda z: (
        z * np.array([0.5 * (1.0 + math.erf(value / math.sqrt(2.0))) for value in z.ravel()]).reshape(z.shape)
    ),
    "gelu_tanh": lambda z: 0.5 * z * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (z + 0.044715 * z**3))),
    "softmax": _softmax,
}
KINKED = {"relu", "leaky_relu", "elu"}


def _reference_loss(name, z, a, y):
    if name == "bce":
        p = _sigmoid(z)
        return -np.mean(y * np.log(p) + (1.0 - y) * np.log(1.0 - p))
    if name == "cross_entropy":
        return -np.mean(np.log(_softmax(z)[np.arange(len(y)), y]))
    d = a - y
    if name == "mse":
        return np.mean(d * d)
    if name == "mae":
        return np.mean(np.abs(d))
    return np.mean(np.where(np.abs(d) <= 1.0, 0.5 * d * d, np.abs(d) - 0.5))


def _reference(network, activations, loss_name, X, y):
    a = z = X
    for layer, act in zip(network.layers, activations, strict=True):
        z = a @ layer.W + layer.b
        a = REFERENCE_ACTIVATIONS[act](z)
    return _reference_loss(loss_name, z, a, y)


def _central_differences(f, values):
    grad = np.empty_like(values)
    for index in np.ndindex(values.shape):
        saved = values[index]
        values[index] = saved + H
        plus = f()
        values[index] = saved - H
        minus = f()
        values[index] = saved
        grad[index] = (plus - minus) / (2 * H)
    return grad


def _error(analytic, numerical):
    return np.linalg.norm(analytic - numerical) / (np.linalg.norm(analytic) + np.linalg.norm(numerical))


# Targets set at a chosen distance |a − y| from the outputs, keeping mae and huber off their kinks.
TARGET_OFFSETS = {
    "mse": (0.1, 2.0),
    "mae": (0.1, 2.0),
    "huber_quadratic": (0.05, 0.8),
    "huber_linear": (1.3, 3.0),
}
OUTPUT_FOR_LOSS = {"bce": "sigmoid", "cross_entropy": "softmax"}


def _problem(hidden_sizes, activation, output_activation, loss_name, outputs, seed):
    """A random network, batch and target with every relu-family z and every loss kink at a safe distance."""
    rng = np.random.default_rng(seed)
    for _ in range(200):
        sizes = [3, *hidden_sizes, outputs]
        weights = [
            {
                "W": rng.normal(0.0, 1.5 / np.sqrt(fan_in), (fan_in, fan_out)),
                "b": rng.normal(0.0, 0.5, fan_out),
            }
            for fan_in, fan_out in itertools.pairwise(sizes)
        ]
        network = Network.build(sizes, activation, output_activation, "zeros", rng, weights=weights)
        X = rng.normal(0.0, 1.0, (BATCH, sizes[0]))
        network.forward(X)
        kinked = [layer for layer in network.layers if layer.activation.name in KINKED]
        if any(np.abs(layer.z).min() < KINK_MARGIN for layer in kinked):
            continue
        if any(not (layer.z > 0).any() for layer in kinked if layer is not network.output_layer):
            continue  # a dead relu layer would zero every gradient before it: nothing left to check
        output = network.output_layer.a
        if loss_name == "bce":
            y = rng.integers(0, 2, (BATCH, 1)).astype(np.float64)
        elif loss_name == "cross_entropy":
            y = rng.integers(0, outputs, BATCH)
        else:
            low, high = TARGET_OFFSETS[loss_name]
            y = output + rng.choice([-1.0, 1.0], output.shape) * rng.uniform(low, high, output.shape)
        return network, X, y
    raise AssertionError("no kink-free problem found")


def _check(network, X, y, loss_name):
    loss = get_loss("huber" if loss_name.startswith("huber") else loss_name)
    activations = [layer.activation.name for layer in network.layers]

    output = network.forward(X)
    result = loss.evaluate(network.output_layer.z, output, y)
    np.testing.assert_allclose(result.value, _reference(network, activations, loss_name, X, y), rtol=1e-12)
    grad_X = network.backward(
        result.grad, grad_is_logits=loss.fused_activation is not None, need_input_grad=True
    )

    def f():
        return _reference(network, activations, loss_name, X, y)

    checks = {name: (grad.copy(), values) for name, (grad, values) in _named(network).items()}
    checks["X"] = (grad_X, X)
    for name, (analytic, values) in checks.items():
        assert analytic.shape == values.shape, name
        numerical = _central_differences(f, values)
        assert np.linalg.norm(analytic) > 0, f"{name}: zero gradient checks nothing"
        assert _error(analytic, numerical) < TOLERANCE, (name, _error(analytic, numerical))


def _named(network):
    grads, params = network.grads(), network.params()
    return {name: (grads[name], params[name]) for name in params}


LOSS_CASES = ["mse", "mae", "huber_quadratic", "huber_linear", "bce", "cross_entropy"]
SHAPES = {
    "no_hidden": [],
    "one_hidden": [5],
    "three_hidden": [4, 3, 4],
    "wide": [24],
    "narrow": [2, 1, 2],
}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("loss_name", LOSS_CASES)
@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_hidden_activation_by_loss_by_shape(activation, loss_name, shape):
    base = "huber" if loss_name.startswith("huber") else loss_name
    output_activation = OUTPUT_FOR_LOSS.get(base, "linear")
    outputs = 1 if base == "bce" else 3
    seed = sum(map(ord, activation + loss_name + shape))
    _check(*_problem(SHAPES[shape], activation, output_activation, loss_name, outputs, seed), loss_name)


@pytest.mark.parametrize("loss_name", ["mse", "mae", "huber_quadratic", "huber_linear"])
@pytest.mark.parametrize("output_activation", [*HIDDEN_ACTIVATIONS, "softmax"])
def test_every_output_activation_with_regression_losses(output_activation, loss_name):
    seed = sum(map(ord, output_activation + loss_name))
    _check(*_problem([4], "tanh", output_activation, loss_name, 3, seed), loss_name)


def test_backward_fills_gradient_shapes_and_returns_the_input_gradient():
    network, X, y = _problem([5, 3], "tanh", "linear", "mse", 2, seed=1)
    loss = get_loss("mse")
    output = network.forward(X)
    grad_X = network.backward(
        loss.evaluate(network.output_layer.z, output, y).grad, False, need_input_grad=True
    )
    assert grad_X.shape == X.shape
    for layer in network.layers:
        assert layer.grad_W.shape == layer.W.shape and layer.grad_b.shape == layer.b.shape
        assert layer.grad_W.dtype == np.float64 and np.abs(layer.grad_W).sum() > 0
    assert network.backward(loss.evaluate(network.output_layer.z, output, y).grad, False) is None
