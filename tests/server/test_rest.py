"""REST routes through TestClient: the public table (docs/api.md), history, params, CSV upload, gradcheck —
each with one trainer and with several (runs spread over three shards)."""

from __future__ import annotations

import json
import time

import pytest

from backproplab.server.runs.schemas import History, Params, RunOut
from backproplab.server.settings import Settings


@pytest.fixture(params=["1", "3"], ids=["one-trainer", "three-trainers"])
def client(request, tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, trainers=request.param)) as test_client:
        yield test_client


def create(client, config=None) -> dict:
    response = client.post("/api/runs", json=config or {})
    assert response.status_code == 201, response.text
    return RunOut.model_validate(response.json()).model_dump()


def test_health(client):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and all(trainer["alive"] for trainer in health["trainers"])


def test_create_get_list_delete(client):
    run = create(client, {"dataset": {"kind": "xor"}, "optimizer": {"name": "adam", "lr": 0.01}})
    assert run["status"] == "paused" and run["step"] == 0
    assert len(run["id"]) >= 20
    assert run["resolved"]["optimizer"]["name"] == "adam"
    assert client.get(f"/api/runs/{run['id']}").json()["id"] == run["id"]
    assert [item["id"] for item in client.get("/api/runs").json()] == [run["id"]]
    assert client.delete(f"/api/runs/{run['id']}").status_code == 204
    assert client.get(f"/api/runs/{run['id']}").status_code == 404


def test_empty_body_is_the_default_run(client):
    response = client.post("/api/runs")
    assert response.status_code == 201
    assert response.json()["config"]["dataset"]["kind"] == "circle"


def test_step_play_pause_reset(client):
    run_id = create(client)["id"]
    stepped = client.post(f"/api/runs/{run_id}/step", json={"steps": 25}).json()
    assert stepped["step"] == 25 and stepped["latest"]["train_loss"] is not None
    assert client.post(f"/api/runs/{run_id}/play").json()["status"] == "running"
    paused = client.post(f"/api/runs/{run_id}/pause").json()
    assert paused["status"] == "paused" and paused["step"] >= 25
    assert client.post(f"/api/runs/{run_id}/reset").json()["step"] == 0


def test_step_accepts_ten_thousand(client):
    run_id = create(client)["id"]
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 10_000}).json()["step"] == 10_000


def test_patch_lr_keeps_weights_and_model_rebuilds(client):
    run_id = create(client)["id"]
    client.post(f"/api/runs/{run_id}/step", json={"steps": 10})
    before = client.get(f"/api/runs/{run_id}/params").json()
    patched = client.patch(f"/api/runs/{run_id}", json={"optimizer": {"lr": 0.5}}).json()
    assert patched["rebuilt"] is False and patched["step"] == 10
    assert patched["resolved"]["lr"] == 0.5 and patched["config"]["optimizer"]["name"] == "sgd"
    assert client.get(f"/api/runs/{run_id}/params").json() == before
    rebuilt = client.patch(f"/api/runs/{run_id}", json={"model": {"hidden": [3]}}).json()
    assert rebuilt["rebuilt"] is True and rebuilt["step"] == 0
    assert rebuilt["resolved"]["sizes"] == [2, 3, 1]


def test_params_and_history(client):
    run_id = create(client)["id"]
    client.post(f"/api/runs/{run_id}/step", json={"steps": 120})
    params = Params.model_validate(client.get(f"/api/runs/{run_id}/params").json())
    assert [len(layer.W) for layer in params.layers] == [2, 4, 2]
    history = History.model_validate(client.get(f"/api/runs/{run_id}/history").json())
    assert history.step == list(range(1, 121)) and history.total_steps == 120
    small = client.get(f"/api/runs/{run_id}/history", params={"max_points": 10}).json()
    assert len(small["step"]) == 10 and small["step"][0] == 1 and small["step"][-1] == 120
    csv = client.get(f"/api/runs/{run_id}/history", params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.headers["content-disposition"] == f'attachment; filename="run-{run_id}-history.csv"'
    lines = csv.text.strip().splitlines()
    assert lines[0].startswith("step,epoch,lr,train_loss") and len(lines) == 121


def test_a_run_played_at_a_pace_runs_for_everyone_and_never_outpaces_it(client):
    """play with steps_per_second: the run is `running` at that pace for every reader, and never takes more
    steps than the pace allows (its first at once, then one per 1/pace s, at most 0.1 s of them at once).
    Only an upper bound is asserted: a busy machine makes it slower, never faster."""
    run_id = create(client)["id"]
    assert client.post(f"/api/runs/{run_id}/play", json={"steps_per_second": 0}).json()["field"] == (
        "steps_per_second"
    )
    started = time.monotonic()
    played = client.post(f"/api/runs/{run_id}/play", json={"steps_per_second": 20}).json()
    assert played["status"] == "running" and played["steps_per_second"] == 20
    step = 0
    while step < 5 and time.monotonic() - started < 60:
        time.sleep(0.1)
        step = client.get(f"/api/runs/{run_id}").json()["step"]
    described = client.get(f"/api/runs/{run_id}").json()
    elapsed = time.monotonic() - started
    assert described["status"] == "running" and described["steps_per_second"] == 20
    assert 5 <= described["step"] <= 1 + 20 * elapsed + 2, (described["step"], elapsed)
    paused = client.post(f"/api/runs/{run_id}/pause").json()
    assert paused["status"] == "paused" and paused["steps_per_second"] is None
    flat_out = client.post(f"/api/runs/{run_id}/play").json()  # no body: as fast as it can
    assert flat_out["status"] == "running" and flat_out["steps_per_second"] is None
    client.post(f"/api/runs/{run_id}/pause")


def test_custom_dataset_is_not_echoed_but_points_are_served(client):
    X = [[float(i), float(i % 3)] for i in range(20)]
    y = [float(i % 2) for i in range(20)]
    run = create(client, {"dataset": {"kind": "custom", "X": X, "y": y, "train_fraction": 1.0}})
    assert run["config"]["dataset"]["X"] is None
    points = client.get(f"/api/runs/{run['id']}/points").json()
    assert points["train"]["X"] == X


def test_csv_upload(client):
    text = "a,b,label\n" + "".join(f"{i},{i % 5},{i % 2}\n" for i in range(40))
    response = client.post(
        "/api/runs",
        files={"file": ("data.csv", text, "text/csv")},
        data={"target": "label", "config": json.dumps({"dataset": {"train_fraction": 1.0}, "batch_size": 4})},
    )
    assert response.status_code == 201, response.text
    run = response.json()
    assert run["resolved"]["train_size"] == 40 and run["config"]["batch_size"] == 4
    assert run["resolved"]["task"] == "classification"


@pytest.mark.parametrize(
    ("text", "field"),
    [("a,b\n1,x\n", "dataset.csv"), ("", "dataset.csv"), ("a,b\n1,2\n", "dataset.target")],
)
def test_csv_upload_errors_name_the_field(client, text, field):
    data = {"target": "nope"} if field == "dataset.target" else {}
    response = client.post("/api/runs", files={"file": ("d.csv", text)}, data=data)
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_large_custom_dataset_fits(client):
    rows = 2000
    text = ",".join(f"p{j}" for j in range(784)) + ",label\n"
    row = ",".join("0.5" for _ in range(784))
    text += "".join(f"{row},{i % 10}\n" for i in range(rows))
    response = client.post(
        "/api/runs",
        files={"file": ("mnist.csv", text)},
        data={"config": json.dumps({"model": {"hidden": [16]}, "loss": "cross_entropy"})},
    )
    assert response.status_code == 201, response.text
    assert response.json()["resolved"]["input_size"] == 784


def test_large_custom_dataset_fits_inline(client):
    X = [[float((row * 7 + column) % 11) for column in range(784)] for row in range(2000)]
    y = [float(row % 10) for row in range(2000)]
    config = {"dataset": {"kind": "custom", "X": X, "y": y}, "model": {"hidden": [8]}}
    response = client.post("/api/runs", json=config)
    assert response.status_code == 201, response.text[:500]
    assert response.json()["resolved"]["num_classes"] == 10


def test_gradcheck(client):
    run_id = create(client, {"model": {"hidden": [3]}})["id"]
    result = client.get(f"/api/runs/{run_id}/gradcheck", params={"samples": 4}).json()
    assert result["overall"]["verdict"] == "ok"
    assert len(result["layers"]) == 2


def test_security_headers_and_no_store(client):
    response = client.get("/api/health")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"


def test_frontend_or_a_page_saying_it_is_missing(client):
    response = client.get("/")
    assert response.status_code in (200, 404)
    assert "text/html" in response.headers["content-type"]
    if response.status_code == 404:
        assert "not found" in response.text
