"""Runs survive restarts (graceful and kill -9) exactly, and a corrupt database never stops the server."""

from __future__ import annotations

import time

import httpx

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.runs import encode
from backproplab.server.runs.item import STOPPED
from backproplab.server.store.sqlite import DB_NAME

CONFIG = {"seed": 7, "dataset": {"kind": "spiral", "classes": 3}, "optimizer": {"name": "adam", "lr": 0.01}}


def reference_params(*step_counts: int) -> dict:
    """Params of an uninterrupted in-process run stepped by each count in turn."""
    run = Run(RunConfig.model_validate(CONFIG))
    for count in step_counts:
        run.step(count)
    return encode.params(run)


def test_graceful_restart_restores_runs_exactly(make_server, tmp_path):
    first = make_server()
    run_id = httpx.post(first.url + "/api/runs", json=CONFIG, headers=first.auth).json()["id"]
    httpx.post(f"{first.url}/api/runs/{run_id}/step", json={"steps": 37}, headers=first.auth)
    httpx.post(f"{first.url}/api/runs/{run_id}/play", headers=first.auth)
    time.sleep(0.3)
    stepped = httpx.post(f"{first.url}/api/runs/{run_id}/pause", headers=first.auth).json()["step"]
    params = httpx.get(f"{first.url}/api/runs/{run_id}/params").json()
    history = httpx.get(f"{first.url}/api/runs/{run_id}/history").json()
    first.stop()

    second = make_server(tmp_path)
    restored = httpx.get(f"{second.url}/api/runs/{run_id}").json()
    assert restored["status"] == "paused" and restored["step"] == stepped
    assert httpx.get(f"{second.url}/api/runs/{run_id}/params").json() == params
    assert httpx.get(f"{second.url}/api/runs/{run_id}/history").json() == history
    assert params == reference_params(stepped)
    httpx.post(f"{second.url}/api/runs/{run_id}/step", json={"steps": 50}, headers=first.auth)
    assert httpx.get(f"{second.url}/api/runs/{run_id}/params").json() == reference_params(stepped, 50)


def test_a_run_playing_when_the_server_stopped_says_so_when_it_is_back(make_server, tmp_path):
    """A run playing at a graceful stop comes back paused with a notice saying why and where (until the next
    change); a run that was paused comes back as it was, with nothing to say."""
    first = make_server()
    playing, paused = (
        httpx.post(first.url + "/api/runs", json=CONFIG, headers=first.auth).json()["id"] for _ in range(2)
    )
    httpx.post(f"{first.url}/api/runs/{playing}/play", headers=first.auth)
    httpx.post(f"{first.url}/api/runs/{paused}/step", json={"steps": 5}, headers=first.auth)
    time.sleep(0.3)
    first.stop()

    second = make_server(tmp_path)
    back = httpx.get(f"{second.url}/api/runs/{playing}").json()
    assert back["status"] == "paused" and back["step"] > 0
    assert back["message"] == STOPPED.format(step=back["step"])
    assert httpx.get(f"{second.url}/api/runs/{paused}").json()["message"] is None
    httpx.post(f"{second.url}/api/runs/{playing}/play", headers=first.auth)
    assert httpx.post(f"{second.url}/api/runs/{playing}/pause", headers=first.auth).json()["message"] is None


def test_running_runs_come_back_paused_after_kill_9(make_server, tmp_path):
    first = make_server(env={"BACKPROPLAB_CHECKPOINT_INTERVAL": "0.5"})
    stepped_id = httpx.post(first.url + "/api/runs", json=CONFIG, headers=first.auth).json()["id"]
    httpx.post(f"{first.url}/api/runs/{stepped_id}/step", json={"steps": 40}, headers=first.auth)
    running_id = httpx.post(first.url + "/api/runs", json=CONFIG, headers=first.auth).json()["id"]
    httpx.post(f"{first.url}/api/runs/{running_id}/play", headers=first.auth)
    time.sleep(1.5)
    first.kill()

    second = make_server(tmp_path)
    runs = {run["id"]: run for run in httpx.get(second.url + "/api/runs", headers=first.auth).json()}
    assert set(runs) == {stepped_id, running_id}
    assert {run["status"] for run in runs.values()} == {"paused"}
    assert runs[stepped_id]["step"] == 40
    assert httpx.get(f"{second.url}/api/runs/{stepped_id}/params").json() == reference_params(40)
    checkpointed = runs[running_id]["step"]
    assert checkpointed > 0, "a running run checkpoints every few seconds"
    httpx.post(f"{second.url}/api/runs/{running_id}/step", json={"steps": 10}, headers=first.auth)
    assert httpx.get(f"{second.url}/api/runs/{running_id}/params").json() == reference_params(
        checkpointed, 10
    )


def test_corrupt_database_is_moved_aside(make_server, tmp_path):
    (tmp_path / DB_NAME).write_bytes(b"this is not a database" * 100)
    server = make_server(tmp_path)
    assert httpx.get(server.url + "/api/runs").json() == []
    assert httpx.post(server.url + "/api/runs", json={}).status_code == 201
    aside = list(tmp_path.glob(f"{DB_NAME}.corrupt-*"))
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not a database")
    assert "moved it to" in server.log.read_text()
