"""Resources stay bounded without refusing a class: runs per identity as well as per server (each refusal
says what to do), old untouched runs deleted oldest first, names, and keep-training for unwatched runs."""

from __future__ import annotations

import time

from backproplab.server.runs import service as run_service
from backproplab.server.runs.item import UNWATCHED
from backproplab.server.settings import Settings

NOBODY = {"Authorization": ""}


def test_runs_per_identity_then_per_server(tmp_path, app_client, mint):
    settings = Settings(
        data_dir=tmp_path, max_runs_per_identity=2, max_runs=3, admin_token="a-long-admin-token"
    )
    with app_client(settings) as client:
        client.post("/api/runs", json={}), client.post("/api/runs", json={})
        mine = client.post("/api/runs", json={})
        assert mine.status_code == 429
        assert "you have 2 runs" in mine.json()["reason"] and "delete" in mine.json()["reason"]
        other = mint(client)
        assert client.post("/api/runs", json={}, headers=other).status_code == 201  # one client's limit only
        full = client.post("/api/runs", json={}, headers=mint(client))
        assert full.status_code == 429 and "BACKPROPLAB_MAX_RUNS" in full.json()["reason"]
        fork = client.post(f"/api/runs/{client.get('/api/runs').json()[0]['id']}/fork")
        assert fork.status_code == 429  # forks and class runs count too


def test_the_admin_has_no_per_identity_limit(tmp_path, app_client):
    admin = {"Authorization": "Bearer a-long-admin-token"}
    settings = Settings(data_dir=tmp_path, max_runs_per_identity=1, admin_token="a-long-admin-token")
    with app_client(settings) as client:
        assert [client.post("/api/runs", json={}, headers=admin).status_code for _ in range(3)] == [201] * 3
        assert client.get("/api/identities/me", headers=admin).json()["max_runs"] is None


def test_races_per_identity(tmp_path, app_client, mint):
    with app_client(Settings(data_dir=tmp_path, max_races_per_identity=1)) as client:
        assert client.post("/api/races", json={}).status_code == 201
        refused = client.post("/api/races", json={})
        assert refused.status_code == 429 and "you have 1 races" in refused.json()["reason"]
        assert client.post("/api/races", json={}, headers=mint(client)).status_code == 201


def updated(client, run_id: str) -> float:
    return client.app.state.store.run_record(run_id).updated


def expire(client, now: float) -> int:
    return client.portal.call(lambda: client.app.state.runs.expire(now))


def test_untouched_runs_expire_oldest_first(tmp_path, app_client, monkeypatch):
    ttl = 1000.0
    with app_client(Settings(data_dir=tmp_path, run_ttl=ttl)) as client:
        old, middle, young = (client.post("/api/runs", json={}).json()["id"] for _ in range(3))
        time.sleep(0.05)
        client.post(f"/api/runs/{old}/step", json={"steps": 1})  # touched: now the youngest
        assert updated(client, old) > updated(client, young)
        assert expire(client, updated(client, middle) + ttl - 1e-3) == 0  # nothing untouched for a ttl yet
        monkeypatch.setattr(run_service, "EXPIRE_BATCH", 1)  # one per pass: which goes first?
        assert expire(client, updated(client, old) + ttl + 1) == 1
        assert client.get(f"/api/runs/{middle}").status_code == 404  # the oldest untouched one
        assert expire(client, updated(client, young) + ttl + 1e-3) == 1
        assert client.get(f"/api/runs/{young}").status_code == 404
        assert client.get(f"/api/runs/{old}").status_code == 200


def test_a_ttl_of_zero_keeps_runs_forever(tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, run_ttl=0)) as client:
        run_id = client.post("/api/runs", json={}).json()["id"]
        assert expire(client, time.time() + 10**9) == 0
        assert client.get(f"/api/runs/{run_id}").status_code == 200


def test_the_server_expires_runs_by_itself(tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, run_ttl=1.0)) as client:
        run_id = client.post("/api/runs", json={}).json()["id"]
        deadline = time.monotonic() + 10
        while client.get(f"/api/runs/{run_id}").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert client.get(f"/api/runs/{run_id}").status_code == 404
        # An identity that owns nothing any more and is older than the TTL is forgotten too: its token
        # is answered 401, saying how to get a new one.
        forgotten = client.get("/api/runs")
        assert forgotten.status_code == 401 and "POST /api/identities" in forgotten.json()["reason"]


def test_runs_have_names(tmp_path, app_client):
    settings = Settings(data_dir=tmp_path)
    with app_client(settings) as client:
        run_id = client.post("/api/runs", json={}).json()["id"]
        renamed = client.patch(f"/api/runs/{run_id}", json={"name": "my best run"})
        assert renamed.status_code == 200 and renamed.json()["name"] == "my best run"
        assert renamed.json()["rebuilt"] is None
        assert client.get("/api/runs").json()[0]["name"] == "my best run"
        both = client.patch(f"/api/runs/{run_id}", json={"name": "v2", "optimizer": {"lr": 0.2}}).json()
        assert both["name"] == "v2" and both["resolved"]["lr"] == 0.2
        too_long = client.patch(f"/api/runs/{run_id}", json={"name": "x" * 81})
        assert too_long.status_code == 422 and too_long.json()["field"] == "name"
        owner = dict(client.headers)
    with app_client(settings, token=False) as client:  # after a restart
        assert client.get("/api/runs", headers=owner).json()[0]["name"] == "v2"


def test_keep_training_is_set_over_rest(tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, unwatched_pause=0.3)) as client:
        run_id = client.post("/api/runs", json={}).json()["id"]
        kept = client.patch(f"/api/runs/{run_id}", json={"keep_training": True}).json()
        assert kept["keep_training"] is True
        client.post(f"/api/runs/{run_id}/play")
        time.sleep(1.5)
        assert client.get(f"/api/runs/{run_id}").json()["status"] == "running"
        assert (
            client.patch(f"/api/runs/{run_id}", json={"keep_training": False}).json()["keep_training"]
            is False
        )
        time.sleep(1.5)
        paused = client.get(f"/api/runs/{run_id}").json()
        assert paused["status"] == "paused"
        assert paused["message"] == UNWATCHED.format(seconds=0.3), "an API client is told why"
        bad = client.patch(f"/api/runs/{run_id}", json={"keep_training": "maybe"})
        assert bad.status_code == 422 and bad.json()["field"] == "keep_training"
        client.patch(f"/api/runs/{run_id}", json={"keep_training": True})
        owner = dict(client.headers)
    with app_client(Settings(data_dir=tmp_path), token=False) as client:  # after a restart
        assert client.get(f"/api/runs/{run_id}", headers=owner).json()["keep_training"] is True
