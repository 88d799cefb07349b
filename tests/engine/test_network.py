"""The network's one forward loop: every reader of it (predictions, logits, per-layer outputs, the
gradient check's loss, dead-unit shares) sees the numbers the training forward pass computes."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.engine.config import MAX_HIDDEN_LAYERS, MAX_NEURONS, RunConfig
from backproplab.engine.gradcheck import loss_at
from backproplab.engine.health import dead_unit_shares
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network


def _network(activation: str = "tanh", output: str = "sigmoid") -> tuple[Network, np.ndarray]:
    rng = np.random.default_rng(1)
    network = Network.build([3, 5, 4, 1], activation, output, "xavier_normal", rng)
    for layer in network.layers:
        layer.b[...] = rng.normal(0.0, 0.5, layer.b.shape)
    return network, rng.normal(size=(7, 3))


def test_every_non_caching_read_equals_the_training_forward_pass():
    network, X = _network()
    logits, output = network.predict_with_logits(X)
    hidden = network.hidden_outputs(X)
    assert network.output_layer.z is None  # nothing above touched backward's caches
    cached_output = network.forward(X)
    np.testing.assert_array_equal(output, cached_output)
    np.testing.assert_array_equal(logits, network.output_layer.z)
    np.testing.assert_array_equal(network.predict(X), cached_output)
    for layer, (z, a), a_hidden in zip(network.layers, network.layer_outputs(X), hidden, strict=True):
        np.testing.assert_array_equal(z, layer.z)
        np.testing.assert_array_equal(a, layer.a)
        np.testing.assert_array_equal(a_hidden, layer.a)
    y = (X[:, :1] > 0).astype(float)
    loss = get_loss("bce")
    assert loss_at(network, loss, X, y) == loss.evaluate(network.output_layer.z, cached_output, y).value


def test_dead_unit_shares_read_the_pre_activations():
    network, X = _network("relu")
    network.layers[0].b[:2] = -1e3  # two of five units can never fire
    shares = dead_unit_shares(network, X)
    assert shares[0] == pytest.approx(0.4) and shares[2] is None
    expected = [float(np.mean((z <= 0).all(axis=0))) for z, _ in network.layer_outputs(X)]
    assert shares[:2] == expected[:2]


def test_layer_width_limit_is_512_and_exported():
    assert MAX_NEURONS == 512 and MAX_HIDDEN_LAYERS == 10
    assert RunConfig.model_validate({"model": {"hidden": [MAX_NEURONS, 64]}}).model.hidden == [512, 64]
    with pytest.raises(ValueError, match="less than or equal to 512"):
        RunConfig.model_validate({"model": {"hidden": [MAX_NEURONS + 1]}})
    with pytest.raises(ValueError):
        RunConfig.model_validate({"model": {"hidden": [4] * (MAX_HIDDEN_LAYERS + 1)}})


def test_a_pickled_network_keeps_its_layers_on_its_flat_vector():
    import pickle

    network, X = _network()
    network.forward(X)
    network.backward(np.ones((7, 1)), grad_is_logits=True)
    copy = pickle.loads(pickle.dumps(network))
    np.testing.assert_array_equal(copy.flat_params, network.flat_params)
    np.testing.assert_array_equal(copy.flat_grads, network.flat_grads)
    copy.flat_params += 1.0  # an update of the vector reaches every layer
    np.testing.assert_array_equal(copy.layers[1].W, network.layers[1].W + 1.0)
    np.testing.assert_array_equal(network.predict(X), _network()[0].predict(X))
