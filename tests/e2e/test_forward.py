"""The browser's forward pass (frontend/src/model/forward.js) against the engine's Network, on the same
grid of points, for every activation and feature: the decision boundary and every neuron's heatmap the
dashboard draws are the engine's numbers to 1e-9."""

from __future__ import annotations

import math

import numpy as np
import pytest
from e2e_harness import api

from backproplab.engine.activations import ACTIVATIONS, get_activation
from backproplab.engine.features import input_transform
from backproplab.engine.network import DenseLayer, Network

TOLERANCE = 1e-9
RESOLUTION = 17
EXACT_GELU_AT_1 = 0.5 * (1 + math.erf(1 / math.sqrt(2)))


@pytest.fixture
def module_page(server, open_page):
    """A same-origin page in which forward.js can be imported."""
    return open_page(f"{server.url}/css/app.css", ready=lambda page: None)


def engine_gelu_is_exact() -> bool:
    return abs(float(ACTIVATIONS["gelu"].forward(np.array([1.0]))[0]) - EXACT_GELU_AT_1) < 1e-12


def browser_name(name: str) -> str:
    """The browser's name for the engine's activation ``name`` (before the engine's switch to exact GELU,
    its ``gelu`` is the tanh form, which the browser calls ``gelu_tanh``)."""
    return "gelu_tanh" if name == "gelu" and not engine_gelu_is_exact() else name


def browser_grids(page, params: dict, features: list[str], extent: list[float], task: str):
    layers = [{**layer, "activation": browser_name(layer["activation"])} for layer in params["layers"]]
    return page.evaluate(
        """async ({ layers, features, extent, resolution, task }) => {
          const { planeGrids, prepareLayers } = await import("/src/model/forward.js");
          const grids = planeGrids({ layers: prepareLayers({ layers }), features, extent, resolution, task, neurons: {} });
          return { output: Array.from(grids.output), classes: grids.classes && Array.from(grids.classes),
                   neurons: grids.neurons.map((layer) => layer.map((column) => Array.from(column))) };
        }""",
        {"layers": layers, "features": features, "extent": extent, "resolution": RESOLUTION, "task": task},
    )


def engine_outputs(params: dict, features: list[str], extent: list[float]) -> list[np.ndarray]:
    network = Network(
        [
            DenseLayer(np.array(layer["W"]), np.array(layer["b"]), get_activation(layer["activation"]))
            for layer in params["layers"]
        ]
    )
    x1_min, x1_max, x2_min, x2_max = extent
    grid_x, grid_y = np.meshgrid(
        np.linspace(x1_min, x1_max, RESOLUTION), np.linspace(x2_min, x2_max, RESOLUTION)
    )
    points = np.column_stack([grid_x.ravel(), grid_y.ravel()])
    return network.hidden_outputs(input_transform(points, features, 2))


def trained_run(server, config: dict) -> tuple[dict, dict]:
    run = api(server, "/api/runs", "POST", config)
    api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 60}, token=run["token"])
    return api(server, f"/api/runs/{run['id']}"), api(server, f"/api/runs/{run['id']}/params")


HIDDEN = [name for name in ACTIVATIONS if name != "softmax"]
CASES = [
    *(
        pytest.param(
            {"model": {"hidden": [5, 3], "activation": name, "init": "he_normal"}, "optimizer": {"lr": 0.3}},
            id=f"hidden-{name}",
        )
        for name in HIDDEN
    ),
    pytest.param(
        {
            "dataset": {"kind": "spiral", "classes": 3},
            "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"],
            "model": {"hidden": [6], "activation": "relu"},
            "optimizer": {"name": "adam", "lr": 0.05},
        },
        id="softmax-every-feature",
    ),
    pytest.param(
        {"dataset": {"kind": "sine"}, "features": ["sin(x1)", "x2"], "model": {"hidden": [4]}},
        id="regression-linear-output",
    ),
]


@pytest.mark.parametrize("config", CASES)
def test_browser_grids_equal_the_engine(server, module_page, config):
    run, params = trained_run(server, config)
    resolved = run["resolved"]
    features, extent, task = resolved["input_names"], resolved["extent"], resolved["task"]
    browser = browser_grids(module_page, params, features, extent, task)
    engine = engine_outputs(params, features, extent)
    for layer, (values, columns) in enumerate(zip(engine, browser["neurons"], strict=True)):
        np.testing.assert_allclose(
            np.array(columns).T, values, rtol=0, atol=TOLERANCE, err_msg=f"layer {layer}"
        )
    last = engine[-1]
    if task == "classification" and last.shape[1] > 1:
        assert browser["classes"] == np.argmax(last, axis=1).tolist()
        np.testing.assert_allclose(browser["output"], last.max(axis=1), rtol=0, atol=TOLERANCE)
    else:
        np.testing.assert_allclose(browser["output"], last[:, 0], rtol=0, atol=TOLERANCE)


def test_exact_gelu_matches_the_erf_form(module_page):
    """The browser's gelu is torch's exact ½ z (1 + erf(z/√2)) (computed here with Python's math.erf)."""
    zs = [k / 16 for k in range(-200, 201)] + [-40.0, -12.5, 9.75, 30.0]
    got = module_page.evaluate(
        """async (zs) => {
          const { ACTIVATIONS } = await import("/src/model/forward.js");
          const { erf } = await import("/src/model/erf.js");
          return { gelu: zs.map(ACTIVATIONS.gelu), erf: zs.map(erf) };
        }""",
        zs,
    )
    for z, gelu, erf in zip(zs, got["gelu"], got["erf"], strict=True):
        assert erf == pytest.approx(math.erf(z), abs=1e-15)
        assert gelu == pytest.approx(0.5 * z * math.erfc(-z / math.sqrt(2)), abs=1e-12, rel=1e-12)
