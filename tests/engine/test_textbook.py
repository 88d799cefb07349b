"""The textbook presets: J(a, b, c) = 3(a + bc) and the one-neuron-per-layer network."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backproplab.engine.config import RunConfig
from backproplab.engine.losses import get_loss
from backproplab.engine.run import Run
from backproplab.engine.textbook import (
    TINY_X,
    TINY_Y,
    expression_graph,
    tiny_network,
    tiny_network_config,
    tiny_network_example,
)


@pytest.mark.parametrize(
    ("a", "b", "c"), [(5.0, 3.0, 2.0), (1.0, -2.0, 0.5), (0.0, 0.0, 0.0), (-3.5, 7.0, -4.0)]
)
def test_expression_graph_derivatives(a, b, c):
    graph = expression_graph(a, b, c)
    node = {entry["id"]: entry for entry in graph["nodes"]}
    assert node["J"]["value"] == 3 * (a + b * c)
    assert (node["u"]["value"], node["v"]["value"]) == (b * c, a + b * c)
    assert (node["J"]["grad"], node["v"]["grad"], node["u"]["grad"]) == (1.0, 3.0, 3.0)
    assert node["a"]["grad"] == 3.0
    assert node["b"]["grad"] == 3 * c
    assert node["c"]["grad"] == 3 * b
    json.dumps(graph, allow_nan=False)


def test_expression_graph_shape_for_drawing():
    graph = expression_graph()
    node = {entry["id"]: entry for entry in graph["nodes"]}
    assert node["J"]["value"] == 33.0
    assert {(edge["from"], edge["to"]) for edge in graph["edges"]} == {
        ("b", "u"),
        ("c", "u"),
        ("a", "v"),
        ("u", "v"),
        ("v", "J"),
    }
    assert graph["backward"] == ["J", "v", "u", "c", "b", "a"]
    assert node["b"]["chain"] == "dJ/db = dJ/du · du/db = 3 × 2 = 6"
    assert node["u"]["local"] == {"b": 2.0, "c": 3.0}


def test_tiny_network_gradients_match_central_differences():
    trace = tiny_network_example()["trace"]
    network, loss = tiny_network(), get_loss("mse")
    X, y = np.array([[TINY_X]]), np.array([[TINY_Y]])
    h = 1e-6
    for stage in (s for s in trace["stages"] if s["kind"] == "backward"):
        layer = network.layers[stage["layer"]]
        for values, analytic in ((layer.W, stage["grad_W"]), (layer.b, stage["grad_b"])):
            flat = values.reshape(-1)
            saved = flat[0]
            flat[0] = saved + h
            plus = loss.evaluate(None, network.predict(X), y).value
            flat[0] = saved - h
            minus = loss.evaluate(None, network.predict(X), y).value
            flat[0] = saved
            assert np.ravel(analytic)[0] == pytest.approx((plus - minus) / (2 * h), rel=1e-8)


def test_tiny_network_numbers_by_hand():
    a1 = 1 / (1 + np.exp(-(0.8 * TINY_X + 0.2)))
    a2 = 1 / (1 + np.exp(-(0.4 * a1 - 0.1)))
    grad_w2 = 2 * (a2 - TINY_Y) * a2 * (1 - a2) * a1
    trace = tiny_network_example()["trace"]
    forward = [s for s in trace["stages"] if s["kind"] == "forward"]
    assert forward[1]["neurons"][0]["a"][0] == pytest.approx(a2, rel=1e-14)
    output_stage = next(s for s in trace["stages"] if s["kind"] == "backward")
    assert output_stage["grad_W"][0][0] == pytest.approx(grad_w2, rel=1e-13)


def test_tiny_network_config_is_a_valid_run_that_takes_the_traced_step():
    example = tiny_network_example()
    run = Run(RunConfig.model_validate(example["config"]))
    run.step(1)
    update = next(s for s in example["trace"]["stages"] if s["kind"] == "update")
    for traced, layer in zip(update["weights"], run.network.layers, strict=True):
        np.testing.assert_array_equal(traced["W"], layer.W)
        np.testing.assert_array_equal(traced["b"], layer.b)
    assert tiny_network_config() == example["config"]
