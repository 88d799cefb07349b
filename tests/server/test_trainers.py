"""Trainer worker processes: runs are spread over them, a killed one is restarted and its runs come back
from their checkpoints (paused, with a notice) while the server and the other trainers keep serving."""

from __future__ import annotations

import os
import signal
import time

import httpx
import pytest
from server_harness import children, wait_for

from backproplab.server.live.protocol import shard_of


def trainer_pids(server) -> list[int]:
    """The server's trainer processes: forked by its fork server, the one child that forks others."""
    return [pid for forkserver in children(server.process.pid) for pid in children(forkserver)]


@pytest.fixture
def two_trainers(make_server):
    return make_server(env={"BACKPROPLAB_TRAINERS": "2"})


def test_runs_are_spread_over_the_trainers_and_a_killed_one_comes_back(two_trainers):
    server = two_trainers
    http = httpx.Client(base_url=server.url, timeout=30, headers=server.auth)
    run_ids = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(12)]
    shards = {run_id: shard_of(run_id, 2) for run_id in run_ids}
    assert set(shards.values()) == {0, 1}, "twelve runs land on both trainers"
    for run_id in run_ids:
        http.post(f"/api/runs/{run_id}/step", json={"steps": 25})  # checkpointed before the answer
        http.post(f"/api/runs/{run_id}/play")
    time.sleep(0.5)

    pids = trainer_pids(server)
    assert len(pids) == 2, pids
    os.kill(pids[0], signal.SIGKILL)

    def restarted_shard() -> tuple[int] | None:
        trainers = http.get("/api/health").json()["trainers"]
        return next(((t["index"],) for t in trainers if t["restarts"] >= 1 and t["alive"]), None)

    (victim_shard,) = wait_for(restarted_shard)
    victims = [run_id for run_id in run_ids if shards[run_id] == victim_shard]
    survivors = [run_id for run_id in run_ids if shards[run_id] != victim_shard]

    # The server kept answering, and the other trainer's runs keep training.
    before = {run_id: http.get(f"/api/runs/{run_id}").json()["step"] for run_id in survivors}
    time.sleep(0.5)
    after = {run_id: http.get(f"/api/runs/{run_id}").json()["step"] for run_id in survivors}
    assert all(after[run_id] > before[run_id] for run_id in survivors)

    for run_id in victims:
        run = wait_for(lambda run_id=run_id: _describe(http, run_id))
        assert run["status"] == "paused" and run["step"] >= 25, run
        assert "restarted" in run["message"], run
        # It trains again when asked.
        assert http.post(f"/api/runs/{run_id}/step", json={"steps": 3}).json()["step"] == run["step"] + 3
    assert {run["id"] for run in http.get("/api/runs").json()} == set(run_ids)
    for run_id in run_ids:
        http.post(f"/api/runs/{run_id}/pause")


def _describe(http: httpx.Client, run_id: str) -> dict | None:
    response = http.get(f"/api/runs/{run_id}")
    return response.json() if response.status_code == 200 else None
