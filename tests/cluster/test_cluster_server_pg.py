"""The server's tests that matter (create, step, restart, delete) against a real PostgreSQL."""

from __future__ import annotations

import time

import httpx
import pytest
from cluster_harness import Replica
from fastapi.testclient import TestClient

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.app import create_app
from backproplab.server.runs import encode
from backproplab.server.settings import Settings

CONFIG = {"seed": 5, "dataset": {"kind": "moons"}, "optimizer": {"name": "rmsprop", "lr": 0.01}}


def reference_params(steps: int) -> dict:
    run = Run(RunConfig.model_validate(CONFIG))
    run.step(steps)
    return encode.params(run)


@pytest.fixture
def client(postgres_url, tmp_path):
    settings = Settings(data_dir=tmp_path, database_url=postgres_url, trainers="2")
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8000") as test_client:
        token = test_client.post("/api/identities").json()["token"]
        test_client.headers["Authorization"] = f"Bearer {token}"
        yield test_client


def test_create_step_list_and_delete(client, tmp_path):
    created = client.post("/api/runs", json=CONFIG)
    assert created.status_code == 201
    run_id = created.json()["id"]
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 25}).json()["step"] == 25
    assert client.get(f"/api/runs/{run_id}/params").json() == reference_params(25)
    assert [run["id"] for run in client.get("/api/runs").json()] == [run_id]
    assert client.delete(f"/api/runs/{run_id}").status_code == 204
    assert client.get(f"/api/runs/{run_id}").status_code == 404
    assert client.get("/api/runs").json() == []
    assert not list(tmp_path.glob("*.sqlite3")), "with a database URL nothing is written to the data dir"


def test_runs_survive_a_graceful_restart_and_a_kill_9(postgres_url, tmp_path):
    args = ["--database-url", postgres_url, "--data-dir", str(tmp_path), "--trainers", "2"]
    env = {"BACKPROPLAB_CHECKPOINT_INTERVAL": "0.5"}
    first = Replica("first", args, tmp_path, env).start()
    token = httpx.post(first.url + "/api/identities").json()["token"]
    auth = {"Authorization": f"Bearer {token}"}  # kept in the database: good on every later server
    try:
        stepped = httpx.post(first.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
        httpx.post(f"{first.url}/api/runs/{stepped}/step", json={"steps": 40}, headers=auth)
        deleted = httpx.post(first.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
        assert httpx.delete(f"{first.url}/api/runs/{deleted}", headers=auth).status_code == 204
    finally:
        first.stop()

    second = Replica("second", args, tmp_path, env).start()
    try:
        assert [run["id"] for run in httpx.get(second.url + "/api/runs", headers=auth).json()] == [stepped]
        assert httpx.get(f"{second.url}/api/runs/{stepped}/params").json() == reference_params(40)
        running = httpx.post(second.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
        httpx.post(f"{second.url}/api/runs/{running}/play", headers=auth)
        time.sleep(1.5)
    finally:
        second.kill()

    third = Replica("third", args, tmp_path, env).start()
    try:
        restored = httpx.get(f"{third.url}/api/runs/{running}").json()
        assert restored["status"] == "paused" and restored["step"] > 0, "checkpointed while it played"
        httpx.post(f"{third.url}/api/runs/{running}/step", json={"steps": 10}, headers=auth)
        assert httpx.get(f"{third.url}/api/runs/{running}/params").json() == reference_params(
            restored["step"] + 10
        )
    finally:
        third.stop()


def test_replicas_on_one_database_take_no_data_dir_lock(postgres_url, tmp_path):
    """Two servers on one data dir refuse to share it (store/lock.py); with a database URL they share the
    database instead, and the data dir holds nothing of theirs."""
    args = ["--database-url", postgres_url, "--data-dir", str(tmp_path), "--trainers", "1"]
    first = Replica("first", args, tmp_path).start()
    try:
        second = Replica("second", args, tmp_path).start()
        try:
            token = httpx.post(first.url + "/api/identities").json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            run_id = httpx.post(first.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
            assert [run["id"] for run in httpx.get(second.url + "/api/runs", headers=auth).json()] == [run_id]
            assert httpx.get(second.url + "/api/health").json()["status"] == "ok"
        finally:
            second.stop()
    finally:
        first.stop()
    assert not list(tmp_path.glob("*.lock")) and not list(tmp_path.glob("*.sqlite3*"))
