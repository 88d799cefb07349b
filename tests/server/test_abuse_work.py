"""Bounded work: every request that computes is priced before it starts (multiply-adds, costs.py) and
refused with 422 naming the field to lower when over its budget; a run whose single step would cost over
``max_step_work`` is refused at create and PATCH; server-computed grids stay within the step budget."""

from __future__ import annotations

import pytest
from server_harness import BASE_URL, open_client

from backproplab.server.settings import Settings

# The heavy run: 0.34-0.88 s per step, which starved every other run of its trainer.
HEAVY = {"dataset": {"kind": "circle", "samples": 20000}, "model": {"hidden": [64] * 10}, "batch_size": 10000}
# Cheap batches, but every epoch ends with an evaluation of 20,000 rows through 37,000 parameters.
EVALUATES_A_LOT = {"dataset": {"kind": "circle", "samples": 20000}, "model": {"hidden": [64] * 10}}


def assert_over_budget(response, field: str) -> None:
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field, body
    assert "multiply-adds" in body["reason"] and "limit" in body["reason"], body["reason"]


@pytest.fixture
def small_budget(tmp_path):
    """A server whose request budget is small enough for ordinary runs to reach it."""
    settings = Settings(data_dir=tmp_path, trainers="1", max_request_work=3e7)
    with open_client(settings) as client:
        yield client


def test_a_run_whose_step_costs_too_much_is_refused_at_create(client):
    assert_over_budget(client.post("/api/runs", json=HEAVY), "batch_size")
    assert_over_budget(client.post("/api/runs", json=EVALUATES_A_LOT), "model.hidden")
    assert client.get("/api/runs").json() == []


def test_a_patch_that_makes_a_step_too_costly_is_refused_and_changes_nothing(client):
    run = client.post("/api/runs", json={"dataset": {"kind": "circle", "samples": 20000}}).json()
    assert_over_budget(
        client.patch(f"/api/runs/{run['id']}", json={"model": {"hidden": [64] * 10}}), "model.hidden"
    )
    assert_over_budget(
        client.patch(f"/api/runs/{run['id']}", json={"model": {"hidden": [64] * 10}, "batch_size": 10000}),
        "batch_size",
    )
    assert client.get(f"/api/runs/{run['id']}").json()["config"] == run["config"]


def test_a_sweep_of_a_too_costly_config_is_refused(client):
    response = client.post("/api/sweeps", json={"config": HEAVY, "lrs": [0.1], "steps": 1})
    assert_over_budget(response, "config.batch_size")


def test_steps_over_the_request_budget_are_refused_over_rest_and_websocket(small_budget):
    run_id = small_budget.post("/api/runs", json={}).json()["id"]
    assert small_budget.post(f"/api/runs/{run_id}/step", json={"steps": 10}).status_code == 200
    assert_over_budget(small_budget.post(f"/api/runs/{run_id}/step", json={"steps": 10000}), "steps")
    with small_budget.websocket_connect(f"{BASE_URL.replace('http', 'ws')}/ws/runs/{run_id}") as ws:
        ws.send_json({"type": "step", "steps": 10000})
        while (message := ws.receive_json())["type"] != "error":
            pass
        assert message["field"] == "steps" and "multiply-adds" in message["message"]
    assert small_budget.get(f"/api/runs/{run_id}").json()["step"] == 10


@pytest.fixture(scope="module")
def priced(tmp_path_factory):
    """A run of 20,000 rows through a 2-64-64-1 network, on a server with a request budget of 2e9."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("priced"), trainers="1", max_request_work=2e9)
    with open_client(settings) as client:
        config = {"dataset": {"kind": "circle", "samples": 20000}, "model": {"hidden": [64, 64]}}
        yield client, client.post("/api/runs", json=config).json()["id"]


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("landscape?resolution=101", "resolution"),
        ("landscape?resolution=101&progress=true", "resolution"),
        ("landscape/line?points=101", "points"),
        ("gradcheck?samples=100", "samples"),
        ("gradcheck/sweep?samples=100&hs=1e-3,1e-5", "samples"),
        ("gradcheck/sweep?samples=1", "hs"),
    ],
)
def test_heavy_reads_over_the_request_budget_are_refused_before_they_start(priced, path, field):
    client, run_id = priced
    assert_over_budget(client.get(f"/api/runs/{run_id}/{path}"), field)


def test_reads_within_the_budget_still_answer(small_budget):
    run_id = small_budget.post("/api/runs", json={}).json()["id"]
    small_budget.post(f"/api/runs/{run_id}/step", json={"steps": 20})
    for path in ("landscape?resolution=11", "landscape/line?points=11", "gradcheck", "stepthrough", "health"):
        assert small_budget.get(f"/api/runs/{run_id}/{path}").status_code == 200, path
    sweep = small_budget.post("/api/sweeps", json={"lrs": [0.1, 1.0], "steps": 20})
    assert sweep.status_code == 200, sweep.text


def test_server_computed_grids_stay_within_the_step_budget(tmp_path):
    settings = Settings(data_dir=tmp_path, trainers="1", max_step_work=2e7)
    with open_client(settings) as client:
        config = {"model": {"hidden": [64, 64, 64]}}
        run_id = client.post("/api/runs", json=config).json()["id"]
        with client.websocket_connect(f"{BASE_URL.replace('http', 'ws')}/ws/runs/{run_id}") as ws:
            ws.receive_json()
            ws.send_json({"type": "view", "grid": True, "neurons": True, "resolution": 200})
            while (message := ws.receive_json())["type"] not in ("state", "frame") or not message.get("grid"):
                pass
        resolution = message["grid"]["resolution"]
        assert 2 <= resolution < 200
        assert resolution**2 * (2 * 64 + 64 * 64 * 2 + 64) <= 2e7
