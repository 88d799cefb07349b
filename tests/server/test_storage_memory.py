"""Memory per run: custom datasets stored once by content and shared, budgets per server and per identity
checked at creation (saying the cost and the limit), and lists that neither carry data nor load runs."""

from __future__ import annotations

import contextlib
import json

import numpy as np
import pytest
from fastapi.testclient import TestClient

from backproplab.engine.config import RunConfig
from backproplab.engine.custom_data import detach_custom_data
from backproplab.engine.run import Run
from backproplab.server.errors import ApiError
from backproplab.server.identities.access import Caller
from backproplab.server.identities.tokens import token_hash
from backproplab.server.live.protocol import Call
from backproplab.server.live.shard import Shard, ShardSettings
from backproplab.server.runs import datasets
from backproplab.server.runs.kind import RunKind
from backproplab.server.runs.memory import MB, memory_cost
from backproplab.server.settings import Settings
from backproplab.server.store import Checkpoint, connect
from conftest import open_client


def custom(rows: int, columns: int, offset: float = 0.0, as_ints: bool = False) -> dict:
    X = [[(row * 31 + col) % 17 + offset for col in range(columns)] for row in range(rows)]
    if not as_ints:
        X = [[float(value) for value in row] for row in X]
    return {
        "dataset": {"kind": "custom", "X": X, "y": [row % 2 for row in range(rows)]},
        "model": {"hidden": [3]},
    }


def app_client(tmp_path, token: bool = True, **settings) -> contextlib.AbstractContextManager[TestClient]:
    return open_client(Settings(data_dir=tmp_path, trainers="1", **settings), token=token)


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
            client.portal.call(runs.create, RunConfig(), Caller("alice"))
        with pytest.raises(ApiError) as refused:
            client.portal.call(runs.create, RunConfig(), Caller("alice"))
        assert refused.value.status == 429 and "your runs" in refused.value.reason
        assert client.portal.call(runs.create, RunConfig(), Caller("bob"))["step"] == 0
        assert client.post("/api/runs", json={}).status_code == 201  # no identity: the server's budget only


def test_lists_carry_no_data_and_load_no_runs(tmp_path):
    config = custom(2_000, 50)
    with app_client(tmp_path) as client:
        auth = {"Authorization": client.headers["Authorization"]}
        run_id = client.post("/api/runs", json=config).json()["id"]
        client.post(f"/api/runs/{run_id}/step", json={"steps": 12})
        listed = client.get("/api/runs")
        assert len(listed.content) < 20_000, "a list carries no rows"
        assert listed.json()[0]["config"]["dataset"]["X"] is None

    with app_client(tmp_path, token=False) as client:
        listed = client.get("/api/runs", headers=auth).json()
        assert [(run["id"], run["step"], run["status"]) for run in listed] == [(run_id, 12, "paused")]
        loaded = client.portal.call(
            lambda: client.app.state.trainers.broadcast("describe_loaded", kind="run")
        )
        assert loaded == [{}], "listing must not load runs into their trainers"
        assert json.dumps(listed).count("17") < 50
        assert client.get(f"/api/runs/{run_id}").json()["step"] == 12


def test_runs_in_one_trainer_share_one_copy_of_their_rows(tmp_path):
    store = connect(str(tmp_path), primary=True)
    sent: list = []
    shard = Shard(0, store, ShardSettings(), {"run": RunKind()}, sent.append)
    config, data = detach_custom_data(RunConfig.model_validate(custom(500, 8)))
    fraction = config.model_copy(
        update={"dataset": config.dataset.model_copy(update={"train_fraction": 1.0})}
    )
    store.insert_run("a", None, None, None, datasets.stored(data))
    store.insert_run("b", None, None, None, datasets.stored(data))
    for run_id in ("a", "b"):
        args = {"kind": "run", "config": fraction, "dataset": data.content_hash, "max_parameters": 10**6}
        shard.handle(Call(1, "create", run_id, args))
    first, second = (shard.items[run_id].run for run_id in ("a", "b"))
    assert first.custom_data is second.custom_data, "one copy for both runs"
    assert np.shares_memory(first.dataset.X_train, second.dataset.X_train)
    assert not first.custom_data.X.flags.writeable
    store.close()


def test_new_rows_by_patch_are_stored_and_the_old_ones_forgotten(tmp_path):
    with app_client(tmp_path) as client:
        run_id = client.post("/api/runs", json=custom(200, 3)).json()["id"]
        replaced = custom(150, 3, offset=0.5)["dataset"]
        assert client.patch(f"/api/runs/{run_id}", json={"dataset": replaced}).json()["rebuilt"]
        assert len(client.app.state.store.usage().datasets) == 1
        client.post(f"/api/runs/{run_id}/step", json={"steps": 4})
        points = client.get(f"/api/runs/{run_id}/points").json()
    with app_client(tmp_path) as client:
        assert client.get(f"/api/runs/{run_id}/points").json() == points
        assert client.get(f"/api/runs/{run_id}").json()["step"] == 4


def test_a_run_can_name_stored_rows_by_their_hash(tmp_path):
    with app_client(tmp_path) as client:
        first = client.post("/api/runs", json=custom(200, 3)).json()
        digest = first["config"]["dataset"]["content_hash"]
        by_hash = {"dataset": {"kind": "custom", "content_hash": digest}, "model": {"hidden": [3]}}
        second = client.post("/api/runs", json=by_hash)
        assert second.status_code == 201, second.text
        assert (
            client.get(f"/api/runs/{second.json()['id']}/points").json()
            == client.get(f"/api/runs/{first['id']}/points").json()
        )
        unknown = client.post("/api/runs", json={"dataset": {"kind": "custom", "content_hash": "0" * 64}})
        assert unknown.status_code == 422 and unknown.json()["field"] == "dataset.content_hash"
        assert client.app.state.store.usage().runs == 2 and len(client.app.state.store.usage().datasets) == 1


def test_a_whole_state_saved_before_shared_rows_is_read_and_its_rows_stored(tmp_path):
    run = Run(RunConfig.model_validate(custom(120, 4)))
    run.step(9)
    store = connect(str(tmp_path), primary=True)
    store.insert_identity("owner", token_hash("the-owner's-token"))
    store.insert_run("old", "owner", None, None)
    store.save("old", Checkpoint(run.to_bytes(), {"id": "old"}))  # a core as older servers saved it
    store.close()
    with app_client(tmp_path, token=False) as client:
        client.headers["Authorization"] = "Bearer the-owner's-token"
        assert client.get("/api/runs/old").json()["step"] == 9
        assert client.post("/api/runs/old/step", json={"steps": 1}).json()["step"] == 10
        assert client.app.state.store.load("old").dataset == run.custom_data.content_hash
    with app_client(tmp_path) as client:
        assert client.get("/api/runs/old").json()["step"] == 10
