"""The teaching endpoints: step-through, textbook examples, gradient check, health, presets, comparisons, sweeps."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.teaching.schemas import RACE_PACE

SMALL = {"dataset": {"kind": "xor", "samples": 100}, "model": {"hidden": [3, 2]}, "seed": 4}


def _create(client, config=None, steps=0) -> str:
    run_id = client.post("/api/runs", json=config or SMALL).json()["id"]
    if steps:
        assert client.post(f"/api/runs/{run_id}/step", json={"steps": steps}).status_code == 200
    return run_id


def _replay(config: dict, steps: int) -> Run:
    """The same run, stepped in-process: runs are deterministic from their config."""
    run = Run(RunConfig.model_validate(config))
    run.step(steps)
    return run


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "lr": 0.1}, {"name": "adam", "lr": 0.01}])
def test_step_through_equals_the_engine(client, optimizer):
    config = {**SMALL, "optimizer": optimizer}
    run_id = _create(client, config, steps=25)
    response = client.get(f"/api/runs/{run_id}/stepthrough", params={"sample": 5, "batch": 2})
    assert response.status_code == 200
    trace = response.json()
    assert trace["rows"] == [5, 6] and trace["step"] == 25

    run = _replay(config, 25)
    X, y = run.X_train[5:7], run.target_train[5:7]
    np.testing.assert_array_equal(trace["inputs"], X)
    network = run.network
    output = network.forward(X)
    result = run.loss.evaluate(network.output_layer.z, output, y)
    network.backward(result.grad, run.loss.fused_activation is not None)
    stages = trace["stages"]
    forward = [stage for stage in stages if stage["kind"] == "forward"]
    backward = {stage["layer"]: stage for stage in stages if stage["kind"] == "backward"}
    for layer, stage in zip(network.layers, forward, strict=True):
        np.testing.assert_array_equal([neuron["z"] for neuron in stage["neurons"]], layer.z.T)
        np.testing.assert_array_equal([neuron["a"] for neuron in stage["neurons"]], layer.a.T)
    for index, layer in enumerate(network.layers):
        np.testing.assert_array_equal(backward[index]["grad_W"], layer.grad_W)
        np.testing.assert_array_equal(backward[index]["grad_b"], layer.grad_b)
    loss_stage = next(stage for stage in stages if stage["kind"] == "loss")
    assert loss_stage["value"] == result.value

    run.optimizer.step(network.grads(), lr=optimizer["lr"])  # the update continues the run's optimizer
    update = stages[-1]
    assert update["kind"] == "update" and update["optimizer"] == optimizer["name"]
    for layer_index, weights in enumerate(update["weights"]):
        np.testing.assert_array_equal(weights["W"], network.layers[layer_index].W)


def test_step_through_leaves_the_run_alone(client):
    run_id = _create(client, steps=3)
    before = client.get(f"/api/runs/{run_id}/params").json()
    client.get(f"/api/runs/{run_id}/stepthrough")
    assert client.get(f"/api/runs/{run_id}/params").json() == before
    assert client.get(f"/api/runs/{run_id}").json()["step"] == 3


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"sample": 10_000}, "sample"),
        ({"batch": 0}, "batch"),
        ({"batch": 99}, "batch"),
        ({"sample": "x"}, "sample"),
    ],
)
def test_step_through_bad_input_is_422(client, query, field):
    run_id = _create(client)
    response = client.get(f"/api/runs/{run_id}/stepthrough", params=query)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_step_through_of_a_missing_run_is_404(client):
    assert client.get("/api/runs/nope/stepthrough").status_code == 404


@pytest.mark.parametrize(("a", "b", "c"), [(5, 3, 2), (-1.5, 4, 0.25), (0, -2, 7)])
def test_textbook_expression_gradients(client, a, b, c):
    graph = client.get("/api/textbook/expression", params={"a": a, "b": b, "c": c}).json()
    nodes = {node["id"]: node for node in graph["nodes"]}
    assert nodes["J"]["value"] == pytest.approx(3 * (a + b * c))
    assert nodes["a"]["grad"] == pytest.approx(3)
    assert nodes["b"]["grad"] == pytest.approx(3 * c)
    assert nodes["c"]["grad"] == pytest.approx(3 * b)
    assert graph["backward"][0] == "J"


def test_textbook_expression_rejects_non_finite_numbers(client):
    response = client.get("/api/textbook/expression", params={"a": "nan"})
    assert response.status_code == 422 and response.json()["field"] == "a"


def test_textbook_network_is_the_engine_trace_of_its_config(client):
    example = client.get("/api/textbook/network").json()
    run_id = _create(client, example["config"])
    trace = client.get(f"/api/runs/{run_id}/stepthrough").json()
    assert trace["stages"] == example["trace"]["stages"]


def test_gradcheck_is_ok_on_a_correct_network(client):
    run_id = _create(client, steps=20)
    check = client.get(f"/api/runs/{run_id}/gradcheck").json()
    assert check["overall"]["verdict"] == "ok"
    assert all(layer["verdict"] == "ok" for layer in check["layers"])


def test_h_sweep_is_a_v(client):
    run_id = _create(client, steps=10)
    sweep = client.get(f"/api/runs/{run_id}/gradcheck/sweep", params={"hs": "1e-1,1e-5,1e-11"}).json()
    errors = [point["relative_error"] for point in sweep["points"]]
    assert [point["h"] for point in sweep["points"]] == [1e-1, 1e-5, 1e-11]
    assert errors[1] < sweep["thresholds"]["ok"] < min(errors[0], errors[2])


@pytest.mark.parametrize("hs", ["0,1e-5", "abc", "1", ",".join(["1e-3"] * 17)])
def test_h_sweep_bad_h_is_422(client, hs):
    run_id = _create(client)
    response = client.get(f"/api/runs/{run_id}/gradcheck/sweep", params={"hs": hs})
    assert response.status_code == 422 and response.json()["field"] == "hs"


def _preset(client, name):
    presets = {preset["id"]: preset for preset in client.get("/api/presets").json()["presets"]}
    return presets[name]["config"]


def test_presets_are_run_configs(client):
    presets = client.get("/api/presets").json()["presets"]
    assert {preset["id"] for preset in presets} >= {"vanishing", "fixed", "textbook"}
    for preset in presets:
        assert client.post("/api/runs", json=preset["config"]).status_code == 201


def test_vanishing_preset_first_layer_gradient_is_orders_below_the_last(client):
    health = client.get(f"/api/runs/{_create(client, _preset(client, 'vanishing'), steps=100)}/health").json()
    norms = np.array(health["stats"]["grad_norm"], dtype=float)
    assert np.all(norms[:, 0] < 1e-2 * norms[:, -1])  # at least two orders of magnitude, at every record

    fixed = client.get(f"/api/runs/{_create(client, _preset(client, 'fixed'), steps=100)}/health").json()
    fixed_norms = np.array(fixed["stats"]["grad_norm"], dtype=float)
    assert np.median(fixed_norms[:, 0] / fixed_norms[:, -1]) > 0.1


def test_health_has_histograms_over_time_and_dead_relu_shares(client):
    config = {**_preset(client, "fixed"), "optimizer": {"name": "sgd", "lr": 3.0}}
    run_id = _create(client, config, steps=120)
    health = client.get(f"/api/runs/{run_id}/health", params={"max_points": 5}).json()
    # A snapshot rides on an evaluation at most every 50 steps: step 1, and the evaluation when the
    # 120-step request finished.
    assert [snapshot["step"] for snapshot in health["snapshots"]] == [1, 120]
    first = health["snapshots"][0]["layers"][0]
    assert sum(first["weights"]["counts"]) == 2 * 8 and len(first["grads"]["edges"]) == 31
    assert len(health["stats"]["step"]) == 5 and health["stats"]["step"][-1] == 120
    assert len(health["dead_share"]) == 7 and health["dead_share"][-1] is None  # the sigmoid output
    assert all(0.0 <= share <= 1.0 for share in health["dead_share"][:-1])


def _race(client, **base):
    body = {
        "base": {**SMALL, **base},
        "racers": [
            {"label": "SGD", "optimizer": {"name": "sgd", "lr": 0.1}},
            {"label": "Adam", "optimizer": {"name": "adam", "lr": 0.01}},
            {"label": "RMSProp", "optimizer": {"name": "rmsprop", "lr": 0.01}},
        ],
    }
    response = client.post("/api/comparisons", json=body)
    assert response.status_code == 201
    return response.json()


def test_comparison_racers_start_from_identical_weights(client):
    race = _race(client)
    assert race["identical_start"] is True
    params = [client.get(f"/api/runs/{racer['run_id']}/params").json() for racer in race["racers"]]
    weights = [[(layer["W"], layer["b"]) for layer in p["layers"]] for p in params]
    assert weights[0] == weights[1] == weights[2]
    names = [racer["run"]["resolved"]["optimizer"]["name"] for racer in race["racers"]]
    assert names == ["sgd", "adam", "rmsprop"]
    assert client.get(f"/api/comparisons/{race['id']}").json()["racers"][0]["label"] == "SGD"


def test_comparison_controls_move_every_racer(client):
    race = _race(client)
    stepped = client.post(f"/api/comparisons/{race['id']}/step", json={"steps": 30}).json()
    assert [racer["run"]["step"] for racer in stepped["racers"]] == [30, 30, 30]
    losses = {racer["run"]["latest"]["train_loss"] for racer in stepped["racers"]}
    assert len(losses) == 3  # the same start, different optimizers, different paths
    played = client.post(f"/api/comparisons/{race['id']}/play").json()["racers"]
    assert {(r["run"]["status"], r["run"]["steps_per_second"]) for r in played} == {("running", RACE_PACE)}
    paused = client.post(f"/api/comparisons/{race['id']}/pause").json()
    assert {racer["run"]["status"] for racer in paused["racers"]} == {"paused"}
    reset = client.post(f"/api/comparisons/{race['id']}/reset").json()
    assert [racer["run"]["step"] for racer in reset["racers"]] == [0, 0, 0]


def test_a_comparison_plays_its_racers_at_one_pace_from_the_leaders_step(client):
    """Racers train at different speeds (an Adam step costs more than an SGD one, racers may share a busy
    trainer), so a comparison plays them all at one pace; play first brings every racer behind up to the
    leader, so racers moved apart (one stepped on its own here) race from one step again."""
    race = _race(client)
    ahead, *others = (racer["run_id"] for racer in race["racers"])
    assert client.post(f"/api/runs/{ahead}/step", json={"steps": 40}).status_code == 200
    played = client.post(f"/api/comparisons/{race['id']}/play", json={"steps_per_second": 1}).json()
    client.post(f"/api/comparisons/{race['id']}/pause")
    assert {r["run"]["steps_per_second"] for r in played["racers"]} == {1}
    steps = {run_id: client.get(f"/api/runs/{run_id}").json()["step"] for run_id in (ahead, *others)}
    assert all(steps[run_id] >= 40 for run_id in others), steps
    flat = client.post(f"/api/comparisons/{race['id']}/play", json={"steps_per_second": None}).json()
    client.post(f"/api/comparisons/{race['id']}/pause")
    assert {r["run"]["steps_per_second"] for r in flat["racers"]} == {None}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"racers": [{"label": "a", "optimizer": {"name": "sgd"}}]}, "racers"),
        ({"racers": [{"label": "a", "optimizer": {"name": "nope"}}] * 2}, "racers.0.optimizer.name"),
        (
            {"racers": [{"label": "a", "optimizer": {"lr": -1}}, {"label": "b", "optimizer": {}}]},
            "racers.0.optimizer.lr",
        ),
        ({"racers": [{"label": "a", "optimizer": {}}, {"label": "a", "optimizer": {}}]}, "racers"),
        ({"base": {"seed": -1}, "racers": [{"label": "a", "optimizer": {}}] * 2}, "base.seed"),
    ],
)
def test_comparison_bad_input_is_422(client, body, field):
    response = client.post("/api/comparisons", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_comparison_unknown_id_and_action(client):
    assert client.get("/api/comparisons/nope").status_code == 404
    race = _race(client)
    assert client.post(f"/api/comparisons/{race['id']}/jump").status_code == 422
    assert client.post(f"/api/comparisons/{race['id']}/step", json={"steps": 0}).status_code == 422
    too_fast = client.post(f"/api/comparisons/{race['id']}/play", json={"steps_per_second": 0})
    assert (too_fast.status_code, too_fast.json()["field"]) == (422, "steps_per_second")


def test_sweep_classifies_learning_rates(client):
    body = {"config": {"seed": 1}, "lrs": [1e-6, 0.3, 1000.0], "steps": 300}
    response = client.post("/api/sweeps", json=body)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [result["status"] for result in results] == ["stalled", "converged", "diverged"]
    for result in results:
        assert len(result["curve"]["step"]) == len(result["curve"]["train_loss"]) <= 200
        assert result["curve"]["step"][-1] == result["steps_done"] == 300


def test_sweep_log_spaced_range(client):
    body = {"lrs": {"min": 1e-3, "max": 10, "count": 5}, "steps": 10}
    results = client.post("/api/sweeps", json=body).json()["results"]
    assert [result["lr"] for result in results] == pytest.approx([1e-3, 1e-2, 1e-1, 1, 10])


def test_sweep_nan_divergence_is_diverged(client):
    body = {"config": {"loss": "mse", "model": {"activation": "relu"}}, "lrs": [5000.0], "steps": 200}
    result = client.post("/api/sweeps", json=body).json()["results"][0]
    assert result["status"] == "diverged"


def test_sweep_on_stored_rows_named_by_hash_trains_on_them(client):
    """A sweep's config may name custom rows stored before by their content hash, as a run's may (the
    Learn page sweeps a CSV run this way): it trains on those rows, not the default circle."""
    X = [[(row * 7 % 13) / 6 - 1, (row * 5 % 11) / 5 - 1] for row in range(90)]
    inline = {
        "seed": 2,
        "model": {"hidden": [3]},
        "dataset": {"kind": "custom", "X": X, "y": [r % 3 for r in range(90)]},
    }
    digest = client.post("/api/runs", json=inline).json()["config"]["dataset"]["content_hash"]
    by_hash = {**inline, "dataset": {"kind": "custom", "content_hash": digest}}
    assert client.post("/api/runs", json=by_hash).status_code == 201

    def loss_before(config: dict) -> float:
        response = client.post("/api/sweeps", json={"config": config, "lrs": [0.1], "steps": 5})
        assert response.status_code == 200, response.text
        return response.json()["results"][0]["initial_loss"]

    on_rows = loss_before(by_hash)
    assert on_rows == pytest.approx(_replay(inline, 0).evaluate()["train_loss"], rel=1e-12)
    assert on_rows == loss_before(inline)
    assert on_rows != pytest.approx(loss_before({"seed": 2, "model": {"hidden": [3]}}), rel=1e-3)
    unknown = {"dataset": {"kind": "custom", "content_hash": "0" * 64}}
    response = client.post("/api/sweeps", json={"config": unknown, "lrs": [0.1]})
    assert response.status_code == 422 and response.json()["field"] == "dataset.content_hash"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lrs": []}, "lrs"),
        ({"lrs": [0.1, 0.0]}, "lrs.1"),
        ({"lrs": "0.1"}, "lrs"),
        ({"lrs": {"min": 1, "max": 0.1, "count": 3}}, "lrs"),
        ({"lrs": {"min": 1e-3, "max": 1, "count": 50}}, "lrs.count"),
        ({"lrs": [0.1], "steps": 10**6}, "steps"),
        ({"lrs": [0.1] * 12, "steps": 5000, "config": {"model": {"hidden": [64] * 6}}}, "steps"),
        ({"lrs": [0.1], "config": {"loss": "bce", "dataset": {"kind": "sine"}}}, "loss"),
    ],
)
def test_sweep_bad_input_is_422(client, body, field):
    response = client.post("/api/sweeps", json=body)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_teaching_routes_are_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    for path in (
        "/api/runs/{run_id}/stepthrough",
        "/api/textbook/expression",
        "/api/textbook/network",
        "/api/runs/{run_id}/gradcheck/sweep",
        "/api/runs/{run_id}/health",
        "/api/presets",
        "/api/comparisons",
        "/api/comparisons/{comparison_id}",
        "/api/comparisons/{comparison_id}/{action}",
        "/api/sweeps",
    ):
        assert path in schema["paths"]
    for name in ("StepTrace", "ExpressionGraph", "HSweep", "HealthOut", "ComparisonCreate", "SweepRequest"):
        assert schema["components"]["schemas"][name]["examples"]
