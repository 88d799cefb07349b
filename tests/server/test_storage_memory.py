"""Memory per run: custom datasets stored once by content and shared, budgets per server and per identity
checked at creation (saying the cost and the limit), and lists that neither carry data nor load runs."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from backproplab.engine.config import RunConfig
from backproplab.server.app import create_app
from backproplab.server.errors import ApiError
from backproplab.server.runs.memory import MB, memory_cost
from backproplab.server.settings import Settings


def custom(rows: int, columns: int, offset: float = 0.0, as_ints: bool = False) -> dict:
    X = [[(row * 31 + col) % 17 + offset for col in range(columns)] for row in range(rows)]
    if not as_ints:
        X = [[float(value) for value in row] for row in X]
    return {
        "dataset": {"kind": "custom", "X": X, "y": [row % 2 for row in range(rows)]},
        "model": {"hidden": [3]},
    }


def app_client(tmp_path, **settings) -> TestClient:
    return TestClient(create_app(Settings(data_dir=tmp_path, trainers="1", **settings)))


def test_a_dataset_is_stored_once_and_deleted_with_its_last_run(tmp_path):
    with app_client(tmp_path) as client:
        store = client.app.state.store
        same = [
            client.post("/api/runs", json=custom(300, 5, as_ints=spelling)).json()["id"]
            for spelling in (0, 1, 0)
        ]
        other = client.post("/api/runs", json=custom(300, 5, offset=0.5)).json()["id"]
        usage = store.usage()
        assert usage.runs == 4 and len(usage.datasets) == 2
        assert client.post(f"/api/runs/{same[1]}/step", json={"steps": 5}).json()["step"] == 5
        for run_id in same[:2]:
            assert client.delete(f"/api/runs/{run_id}").status_code == 204
        assert len(store.usage().datasets) == 2
        assert client.delete(f"/api/runs/{same[2]}").status_code == 204
        assert len(store.usage().datasets) == 1
        assert client.get(f"/api/runs/{other}/points").json()["train"]["X"]


def test_server_budget_refuses_runs_saying_the_cost_and_the_limit(tmp_path):
    default = memory_cost(RunConfig())
    budget_mb = (3 * default.total) // MB + 1
    with app_client(tmp_path, memory_budget_mb=budget_mb) as client:
        made = [client.post("/api/runs", json={}).status_code for _ in range(3)]
        assert made == [201, 201, 201]
        refused = client.post("/api/runs", json={})
        assert refused.status_code == 429
        assert f"{budget_mb:,} MB" in refused.json()["detail"] and "delete a run" in refused.json()["detail"]

        too_big = client.post(
            "/api/runs", json={"model": {"hidden": [64] * 6}, "dataset": {"samples": 20_000}}
        )
        assert too_big.status_code == 422
        body = too_big.json()
        assert body["field"] == "model.hidden" and "would need about" in body["reason"]
        assert f"{budget_mb:,} MB" in body["reason"]

        run_id = client.get("/api/runs").json()[0]["id"]
        assert client.delete(f"/api/runs/{run_id}").status_code == 204
        assert client.post("/api/runs", json={}).status_code == 201


def test_runs_on_one_dataset_pay_for_it_once(tmp_path):
    config = custom(4_000, 150)
    cost = memory_cost(RunConfig.model_validate(config))
    assert cost.data >= 4 * MB, "half the data must outweigh rounding the budget to MB"
    budget_mb = (2 * cost.run + cost.data + cost.data // 2) // MB
    with app_client(tmp_path, memory_budget_mb=budget_mb) as client:
        assert client.post("/api/runs", json=config).status_code == 201
        assert client.post("/api/runs", json=config).status_code == 201, "the second run shares the data"
        client.delete(f"/api/runs/{client.get('/api/runs').json()[0]['id']}")
        assert client.post("/api/runs", json=custom(4_000, 150, offset=0.25)).status_code == 429


def test_identity_budget_is_per_identity(tmp_path):
    default = memory_cost(RunConfig())
    per_identity_mb = (2 * default.total) // MB + 1
    with app_client(tmp_path, memory_budget_per_identity_mb=per_identity_mb) as client:
        runs = client.app.state.runs
        for _ in range(2):
            client.portal.call(runs.create, RunConfig(), "alice")
        with pytest.raises(ApiError) as refused:
            client.portal.call(runs.create, RunConfig(), "alice")
        assert refused.value.status == 429 and "your runs" in refused.value.reason
        assert client.portal.call(runs.create, RunConfig(), "bob")["step"] == 0
        assert client.post("/api/runs", json={}).status_code == 201  # no identity: the server's budget only


def test_lists_carry_no_data_and_load_no_runs(tmp_path):
    config = custom(2_000, 50)
    with app_client(tmp_path) as client:
        run_id = client.post("/api/runs", json=config).json()["id"]
        client.post(f"/api/runs/{run_id}/step", json={"steps": 12})
        listed = client.get("/api/runs")
        assert len(listed.content) < 20_000, "a list carries no rows"
        assert listed.json()[0]["config"]["dataset"]["X"] is None

    with app_client(tmp_path) as client:
        listed = client.get("/api/runs").json()
        assert [(run["id"], run["step"], run["status"]) for run in listed] == [(run_id, 12, "paused")]
        loaded = client.portal.call(
            lambda: client.app.state.trainers.broadcast("describe_loaded", kind="run")
        )
        assert loaded == [{}], "listing must not load runs into their trainers"
        assert json.dumps(listed).count("17") < 50
        assert client.get(f"/api/runs/{run_id}").json()["step"] == 12
