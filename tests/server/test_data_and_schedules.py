"""Data that keeps its meaning (CSV names and word labels, points added on top of a generated set) and
the schedule's side of the protocol (a typed lr in force, the lr preview, the schedule's fields), through
the REST API, the WebSocket and a server restart."""

from __future__ import annotations

import asyncio
import json

import httpx
from websockets.asyncio.client import connect

from backproplab.server.runs.schemas import FrameMessage, Points, RunOut, StateMessage
from backproplab.server.settings import Settings

ANIMALS = "height;weight;species\n" + "".join(
    f"{1 + (i % 7) * 0.1 + k:.2f};{2 - (i % 5) * 0.1 + 2 * k:.2f};{name}\n"
    for i in range(20)
    for k, name in enumerate(["fox", "cat", "dog"])
)
THREE_INPUTS = "a\tb\tc\tlabel\n" + "".join(f"{i}\t{i % 3}\t{i % 5}\t{i % 2}\n" for i in range(30))
EXTRA = {"X": [[1.0, 1.5], [-4.0, 2.0]], "y": [1, 0]}


def create(client, config=None) -> dict:
    response = client.post("/api/runs", json=config or {})
    assert response.status_code == 201, response.text
    return RunOut.model_validate(response.json()).model_dump()


def upload(client, text: str, path: str = "/api/runs", method: str = "POST", **data):
    return client.request(method, path, files={"file": ("data.csv", text, "text/csv")}, data=data)


# ------------------------------------------------------------------------------------------------ CSV


def test_a_csv_upload_keeps_its_names_and_word_labels(client):
    response = upload(client, ANIMALS)
    assert response.status_code == 201, response.text
    resolved = response.json()["resolved"]
    assert resolved["raw_names"] == ["height", "weight"] and resolved["target_name"] == "species"
    assert resolved["class_names"] == ["cat", "dog", "fox"] and resolved["num_classes"] == 3
    assert resolved["task"] == "classification" and resolved["extent"] is not None
    assert resolved["input_names"] == ["x1", "x2"]  # 2-D data: the network's inputs are its features
    dataset = response.json()["config"]["dataset"]
    assert dataset["columns"] == ["height", "weight"] and dataset["X"] is None


def test_data_of_three_columns_names_the_network_inputs_and_has_no_plane(client):
    resolved = upload(client, THREE_INPUTS).json()["resolved"]
    assert resolved["input_names"] == resolved["raw_names"] == ["a", "b", "c"]
    assert resolved["extent"] is None and resolved["target_name"] == "label"


def test_patch_uploads_a_csv_into_a_run_and_the_names_survive_a_restart(tmp_path, app_client):
    settings = Settings(data_dir=tmp_path)
    with app_client(settings) as client:
        token = client.headers["Authorization"]
        run_id = create(client, {"dataset": {"kind": "spiral"}})["id"]
        response = upload(
            client, ANIMALS, f"/api/runs/{run_id}", "PATCH", config=json.dumps({"batch_size": 7})
        )
        assert response.status_code == 200, response.text
        run = response.json()
        assert run["rebuilt"] is True and run["config"]["batch_size"] == 7
        assert run["config"]["dataset"]["kind"] == "custom"
        renamed = client.patch(
            f"/api/runs/{run_id}", json={"dataset": {"class_names": ["Cat", "Dog", "Fox"]}}
        )
        assert renamed.json()["resolved"]["class_names"] == ["Cat", "Dog", "Fox"]
    with app_client(settings, token=False) as client:
        client.headers["Authorization"] = token
        resolved = client.get(f"/api/runs/{run_id}").json()["resolved"]
        assert resolved["class_names"] == ["Cat", "Dog", "Fox"] and resolved["raw_names"] == [
            "height",
            "weight",
        ]


def test_names_that_do_not_fit_are_422_and_change_nothing(client):
    run = upload(client, ANIMALS).json()
    for patch, field in (
        ({"dataset": {"class_names": ["a", "b"]}}, "dataset.class_names"),
        ({"dataset": {"columns": ["a", "b", "c"]}}, "dataset.columns"),
        ({"dataset": {"columns": ["a", "a"]}}, "dataset.columns"),
    ):
        response = client.patch(f"/api/runs/{run['id']}", json=patch)
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert client.get(f"/api/runs/{run['id']}").json()["config"] == run["config"]


def test_a_bad_csv_patch_names_the_row_and_changes_nothing(client):
    run = create(client)
    response = upload(client, "a,b,y\n1,2,0\n3,x,1\n", f"/api/runs/{run['id']}", "PATCH")
    assert response.status_code == 422 and response.json()["field"] == "dataset.csv"
    assert "row 3" in response.json()["reason"]
    assert client.get(f"/api/runs/{run['id']}").json()["config"] == run["config"]


def test_garbage_patch_bodies_are_4xx(client):
    run_id = create(client)["id"]
    for body, content_type in (
        (b"[]", "application/json"),
        (b"{", "application/json"),
        (b"--x\r\n", "multipart/form-data; boundary=x"),
    ):
        response = client.patch(f"/api/runs/{run_id}", content=body, headers={"content-type": content_type})
        assert 400 <= response.status_code < 500, response.text


# ------------------------------------------------------------------------------------------------ added points


def points(client, run_id: str) -> dict:
    return Points.model_validate(client.get(f"/api/runs/{run_id}/points").json()).model_dump()


def test_added_points_keep_the_generated_dataset_and_its_settings(client):
    run_id = create(client, {"dataset": {"kind": "spiral", "samples": 100, "noise": 0.1}})["id"]
    plain = points(client, run_id)
    run = client.patch(f"/api/runs/{run_id}", json={"dataset": {"extra": EXTRA}}).json()
    assert run["config"]["dataset"]["kind"] == "spiral" and run["config"]["dataset"]["extra"]["y"] == [1, 0]
    added = points(client, run_id)
    assert added["added"] == 2 and added["train"]["X"][-2:] == EXTRA["X"]
    assert added["train"]["X"][:-2] == plain["train"]["X"] and added["test"] == plain["test"]
    kept = client.patch(f"/api/runs/{run_id}", json={"dataset": {"noise": 0.3}, "seed": 4}).json()
    assert kept["config"]["dataset"]["extra"] is not None and points(client, run_id)["added"] == 2
    cleared = client.patch(f"/api/runs/{run_id}", json={"dataset": {"extra": None}}).json()
    assert cleared["config"]["dataset"]["extra"] is None and points(client, run_id)["added"] == 0
    assert cleared["config"]["dataset"]["kind"] == "spiral"


def test_bad_added_points_are_422_naming_the_point(client):
    run_id = create(client)["id"]
    for extra, field in (
        ({"X": [[1.0, 1.0]], "y": [3]}, "dataset.extra.y.0"),
        ({"X": [[1.0, 1.0], [9.0, 0.0]], "y": [0, 1]}, "dataset.extra.X.1"),
        ({"X": [[1.0, 1.0]], "y": [0, 1]}, "dataset.extra"),
        ({"X": [[1.0, "a"]], "y": [0]}, "dataset.extra.X.0.1"),
    ):
        response = client.patch(f"/api/runs/{run_id}", json={"dataset": {"extra": extra}})
        assert response.status_code == 422 and response.json()["field"] == field, response.text
    assert points(client, run_id)["added"] == 0


def test_the_websocket_state_marks_the_added_points(server):
    config = {"dataset": {"kind": "moons", "samples": 60, "extra": EXTRA}}
    run_id = httpx.post(server.url + "/api/runs", json=config, headers=server.auth).json()["id"]

    async def state() -> StateMessage:
        async with connect(f"{server.ws_url}/ws/runs/{run_id}", proxy=None, max_size=None) as ws:
            return StateMessage.model_validate(json.loads(await asyncio.wait_for(ws.recv(), 30)))

    message = asyncio.run(state())
    assert message.points is not None and message.points.added == 2
    assert message.points.train.X[-2:] == EXTRA["X"]


# ------------------------------------------------------------------------------------------------ schedules


def test_a_typed_lr_equal_to_the_configs_is_put_back_in_force(client):
    config = {"optimizer": {"lr": 0.4}, "schedule": {"kind": "exponential", "gamma": 0.5}}
    run_id = create(client, config)["id"]
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 2}).json()["resolved"]["lr"] == 0.1
    other = client.patch(f"/api/runs/{run_id}", json={"batch_size": 5}).json()
    assert other["resolved"]["lr"] == 0.1  # a patch that does not name the lr leaves the schedule's
    retyped = client.patch(f"/api/runs/{run_id}", json={"optimizer": {"lr": 0.4}}).json()
    assert retyped["resolved"]["lr"] == 0.4


def test_the_description_previews_the_schedule(client):
    config = {"optimizer": {"lr": 0.8}, "schedule": {"kind": "step", "step_size": 50, "gamma": 0.5}}
    run_id = create(client, config)["id"]
    resolved = client.post(f"/api/runs/{run_id}/step", json={"steps": 5}).json()["resolved"]
    assert resolved["lr_next"] == [
        {"step": 15, "lr": 0.8},
        {"step": 105, "lr": 0.2},  # halved after steps 50 and 100
        {"step": 1005, "lr": 0.8 * 0.5**20},
    ]
    assert create(client)["resolved"]["lr_next"] == []


def test_frames_carry_the_schedule_preview(server):
    config = {"optimizer": {"lr": 0.1}, "schedule": {"kind": "exponential", "gamma": 0.99}}
    run_id = httpx.post(server.url + "/api/runs", json=config, headers=server.auth).json()["id"]

    async def frame() -> FrameMessage:
        url = f"{server.ws_url}/ws/runs/{run_id}"
        async with connect(url, proxy=None, max_size=None, additional_headers=server.auth) as ws:
            await asyncio.wait_for(ws.recv(), 30)
            await ws.send(json.dumps({"type": "step", "steps": 3}))
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 30))
                if message["type"] == "frame" and message["step"] == 3:
                    return FrameMessage.model_validate(message)

    preview = asyncio.run(frame()).lr_next
    assert [ahead.step for ahead in preview] == [13, 103, 1003]
    assert abs(preview[0].lr - 0.1 * 0.99**12) < 1e-15


def test_choices_list_every_schedule_field_with_cycle_momentum_as_a_switch(client):
    schedules = client.get("/api/choices").json()["schedules"]
    cyclic = {field["name"]: field for field in schedules["cyclic"]}
    assert {"cycle_momentum", "base_momentum", "max_momentum"} <= set(cyclic)
    assert cyclic["cycle_momentum"]["boolean"] is True and cyclic["cycle_momentum"]["default"] is True
    assert cyclic["max_momentum"]["default"] == 0.9 and cyclic["step_size_up"]["integer"] is True
