"""Test surfaces and optimizer races: REST through TestClient, WS /ws/races/{id} against a real server."""

from __future__ import annotations

import asyncio
import json
import math
import time

import httpx
import numpy as np
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from backproplab.engine.surfaces import SURFACES, value_grid
from backproplab.server.races.schemas import (
    RaceFrameMessage,
    RaceOut,
    RaceStateMessage,
    SurfaceGridOut,
    SurfaceOut,
)
from backproplab.server.settings import Settings

BOWL = {
    "function": "quadratic_bowl",
    "params": {"condition": 4},
    "start": [-1.5, 1.0],
    "racers": [
        {"label": "SGD", "optimizer": "sgd", "hyper": {"lr": 0.2}},
        {"optimizer": "momentum", "hyper": {"lr": 0.05}},
        {"optimizer": "adam", "hyper": {"lr": 0.05}},
    ],
}


def create(client, body=None) -> dict:
    response = client.post("/api/races", json=body if body is not None else BOWL)
    assert response.status_code == 201, response.text
    return RaceOut.model_validate(response.json()).model_dump()


def test_surfaces_are_listed_with_domains_and_minima(client):
    surfaces = [SurfaceOut.model_validate(item) for item in client.get("/api/surfaces").json()]
    assert {surface.name for surface in surfaces} == set(SURFACES) and len(surfaces) == 11
    himmelblau = next(surface for surface in surfaces if surface.name == "himmelblau")
    assert len(himmelblau.minima) == 4 and himmelblau.min_value == 0.0 and himmelblau.log_scale


def test_surface_grid_is_the_engines_row_major_grid(client):
    body = SurfaceGridOut.model_validate(client.get("/api/surfaces/beale/grid?resolution=31").json())
    _, _, expected = value_grid(SURFACES["beale"], 31)
    assert np.array(body.values) == pytest.approx(expected, rel=1e-15)
    assert body.value_range == [expected.min(), expected.max()] and body.log_scale
    bowl = client.get("/api/surfaces/quadratic_bowl/grid?resolution=3&condition=100").json()
    assert bowl["values"][0][1] == pytest.approx(0.5 * 100 * 4)  # f(0, −2) = ½κy²


def test_default_race_and_steps(client):
    race = create(client, {})
    assert race["function"] == "rosenbrock" and race["start"] == [-1.2, 1.0] and not race["playing"]
    assert [racer["name"] for racer in race["racers"]] == ["sgd", "momentum", "adam"]
    stepped = client.post(f"/api/races/{race['id']}/step", json={"steps": 50}).json()
    assert all(racer["steps"] == 50 and len(racer["path"]) == 51 for racer in stepped["racers"])
    assert client.get(f"/api/races/{race['id']}").json() == stepped


def test_well_tuned_racers_reach_the_bowls_minimum(client):
    race = create(client)
    done = client.post(f"/api/races/{race['id']}/step", json={"steps": 2000}).json()
    for racer in done["racers"]:
        assert racer["nearest_minimum"] == [0.0, 0.0] and racer["distance_to_minimum"] < 1e-3, racer["name"]
        assert racer["value"] < 1e-6
    assert done["racers"][2]["velocity_kind"] == "exp_avg" and done["racers"][0]["velocity"] is None


def test_patch_moves_the_start_and_changes_hyperparameters_live(client):
    race_id = create(client)["id"]
    client.post(f"/api/races/{race_id}/step", json={"steps": 10})
    live = client.patch(
        f"/api/races/{race_id}", json={"racers": [{"index": 0, "hyper": {"lr": 0.01}}]}
    ).json()
    assert live["racers"][0]["hyper"]["lr"] == 0.01 and live["racers"][0]["steps"] == 10
    moved = client.patch(f"/api/races/{race_id}", json={"start": [1.0, -1.0], "speed": 500}).json()
    assert moved["start"] == [1.0, -1.0] and moved["speed"] == 500
    assert all(racer["steps"] == 0 and racer["position"] == [1.0, -1.0] for racer in moved["racers"])
    assert moved["racers"][0]["hyper"]["lr"] == 0.01  # the live change survives the restart


def test_a_rejected_patch_changes_nothing(client):
    race_id = create(client)["id"]
    before = client.get(f"/api/races/{race_id}").json()
    response = client.patch(
        f"/api/races/{race_id}",
        json={
            "start": [0.5, 0.5],
            "racers": [{"index": 0, "hyper": {"lr": 0.3}}, {"index": 1, "hyper": {"lr": -1}}],
        },
    )
    assert response.status_code == 422 and response.json()["field"] == "racers.1.hyper.lr"
    assert client.get(f"/api/races/{race_id}").json() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"function": "sphere"}, "function"),
        ({"racers": []}, "racers"),
        ({"racers": [{"optimizer": "sgd"}] * 9}, "racers"),
        ({"racers": [{"optimizer": "lbfgs"}]}, "racers.0.optimizer"),
        ({"racers": [{"optimizer": "adam", "hyper": {"lr": -1}}]}, "racers.0.hyper.lr"),
        ({"racers": [{"optimizer": "adam", "hyper": {"lr": "nan"}}]}, "racers.0.hyper.lr"),
        ({"params": {"condition": 5}}, "params.condition"),
        ({"function": "quadratic_bowl", "params": {"condition": 0.5}}, "params.condition"),
        ({"start": [0.0, "nan"]}, "start.1"),
        ({"start": [1e9, 0.0]}, "start"),
        ({"speed": 0}, "speed"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_race_bodies_are_422_naming_the_field(client, body, field):
    response = client.post("/api/races", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["field"] == field


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "step", {"steps": 0}, "steps"),
        ("post", "step", {"steps": 10_001}, "steps"),
        ("patch", "", {"racers": [{"index": 5, "hyper": {"lr": 0.1}}]}, "racers.5"),
        ("patch", "", {"racers": [{"index": 0, "hyper": {"warp": 9}}]}, "racers.0.hyper.warp"),
        # named by the racer's index, as the race names racers, not by the change's place in the list
        ("patch", "", {"racers": [{"index": 2, "hyper": {"lr": "NaN"}}]}, "racers.2.hyper.lr"),
        (
            "patch",
            "",
            {"racers": [{"index": 1, "hyper": {}}, {"index": 2, "hyper": {"lr": -1}}]},
            "racers.2.hyper.lr",
        ),
        ("patch", "", {"racers": [{"index": "x", "hyper": {"lr": 1}}]}, "racers.0.index"),
        ("patch", "", {"start": ["inf", 0]}, "start.0"),
    ],
)
def test_bad_race_changes_are_422(client, method, path, body, field):
    race_id = create(client)["id"]
    response = getattr(client, method)(f"/api/races/{race_id}/{path}".rstrip("/"), json=body)
    assert response.status_code == 422 and response.json()["field"] == field


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/surfaces/sphere/grid", "name"),
        ("/api/surfaces/rosenbrock/grid?resolution=0", "resolution"),
        ("/api/surfaces/rosenbrock/grid?resolution=10000", "resolution"),
        ("/api/surfaces/rosenbrock/grid?condition=5", "condition"),
        ("/api/surfaces/quadratic_bowl/grid?condition=nan", "condition"),
    ],
)
def test_bad_grid_requests_are_422(client, path, field):
    response = client.get(path)
    assert response.status_code == 422 and response.json()["field"] == field


def test_delete_and_unknown_races(client):
    race_id = create(client)["id"]
    assert client.delete(f"/api/races/{race_id}").status_code == 204
    for response in (
        client.get(f"/api/races/{race_id}"),
        client.post(f"/api/races/{race_id}/step", json={"steps": 1}),
        client.delete(f"/api/races/{race_id}"),
    ):
        assert response.status_code == 404 and response.json()["field"] == "race_id"


def test_the_number_of_races_is_bounded(tmp_path, app_client):
    with app_client(Settings(data_dir=tmp_path, max_races=2)) as client:
        create(client), create(client)
        response = client.post("/api/races", json=BOWL)
        assert response.status_code == 429


def test_races_are_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/races", "/api/races/{race_id}", "/api/races/{race_id}/step", "/api/surfaces"} <= set(
        schema["paths"]
    )
    assert schema["components"]["schemas"]["RaceCreate"]["examples"]


# ---------------------------------------------------------------- WebSocket against a real server


def ws_connect(server, race_id: str, **kwargs):
    """A socket that presents the server's test identity in its handshake (as a script may)."""
    return connect(
        f"{server.ws_url}/ws/races/{race_id}",
        proxy=None,
        max_size=None,
        additional_headers=server.auth,
        **kwargs,
    )


async def receive(ws, timeout: float = 30.0) -> dict:
    # A generous bound: it only ends a test that would otherwise hang (the machine may be loaded).
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def receive_type(ws, kind: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(ws, max(0.01, deadline - time.monotonic()))
        if message["type"] == kind:
            return message


def new_race(server, body=None) -> str:
    return httpx.post(server.url + "/api/races", json=body or BOWL, headers=server.auth).json()["id"]


def test_paths_stream_live_and_add_up_to_the_race(server):
    race_id = new_race(server, {**BOWL, "speed": 600})

    async def scenario():
        async with ws_connect(server, race_id) as ws:
            state = RaceStateMessage.model_validate(await receive(ws))
            paths = [racer.path for racer in state.race.racers]
            await ws.send(json.dumps({"type": "fps", "fps": 20}))
            await ws.send(json.dumps({"type": "play"}))
            frames, deadline = [], time.monotonic() + 1.0
            while time.monotonic() < deadline:
                message = await receive(ws)
                if message["type"] == "frame":
                    frames.append(RaceFrameMessage.model_validate(message).model_dump())
                    for path, racer in zip(paths, message["racers"], strict=True):
                        path[:] = racer["path"] if "path" in racer else path + racer["path_append"]
            await ws.send(json.dumps({"type": "pause"}))
            await receive_type(ws, "ack")
            await asyncio.sleep(0.2)
            return frames, paths

    frames, paths = asyncio.run(scenario())
    assert 8 <= len(frames) <= 26  # about 20 a second, not one per pacer tick
    steps = [frame["racers"][0]["steps"] for frame in frames]
    assert steps == sorted(steps) and steps[-1] > steps[0]
    positions = {tuple(frame["racers"][2]["position"]) for frame in frames}
    assert len(positions) > 5  # the racers move
    race = httpx.get(f"{server.url}/api/races/{race_id}").json()
    assert not race["playing"]
    for path, racer in zip(paths, race["racers"], strict=True):
        recorded = racer["path"][: len(path)]
        assert path[: len(recorded)] == recorded and len(path) >= len(recorded) - 1


def test_controls_and_bad_messages_over_the_socket(server):
    race_id = new_race(server)

    async def scenario():
        async with ws_connect(server, race_id) as ws:
            await receive_type(ws, "state")
            errors = []
            for text in (
                "not json",
                '{"type": "fly"}',
                '{"type": "step", "steps": 0}',
                '{"type": "set", "start": [1, "x"]}',
            ):
                await ws.send(text)
                errors.append(await receive_type(ws, "error"))
            await ws.send(json.dumps({"type": "set", "racers": [{"index": 5, "hyper": {"lr": 1}}]}))
            errors.append(await receive_type(ws, "error"))
            await ws.send(json.dumps({"type": "step", "steps": 25}))
            ack = await receive_type(ws, "ack")
            frame = await receive_type(ws, "frame")
            await ws.send(json.dumps({"type": "set", "start": [0.5, 0.25]}))
            restarted = await receive_type(ws, "state")
            return errors, ack, frame, restarted

    errors, ack, frame, restarted = asyncio.run(scenario())
    assert [error["field"] for error in errors] == [None, "type", "steps", "start.1", "racers.5"]
    assert ack == {"type": "ack", "of": "step"}
    assert all(racer["steps"] == 25 and len(racer["path_append"]) == 25 for racer in frame["racers"])
    assert restarted["race"]["start"] == [0.5, 0.25]
    assert all(racer["steps"] == 0 for racer in restarted["race"]["racers"])


def test_socket_refuses_foreign_origins_and_unknown_races(server):
    race_id = new_race(server)

    async def attempt(race, origin=None):
        async with ws_connect(server, race, origin=origin) as ws:
            return (await receive(ws))["type"]

    for race, origin, status in ((race_id, "http://evil.example", 403), ("no-such-race", None, 404)):
        with pytest.raises(InvalidStatus) as refused:
            asyncio.run(attempt(race, origin))
        assert refused.value.response.status_code == status
    assert asyncio.run(attempt(race_id, f"http://127.0.0.1:{server.port}")) == "state"


def test_a_race_nobody_watches_stops_and_deletion_is_announced(server):
    race_id = new_race(server)

    async def watch_then_leave():
        async with ws_connect(server, race_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "play"}))
            await receive_type(ws, "frame")

    asyncio.run(watch_then_leave())
    deadline = time.monotonic() + 2
    while httpx.get(f"{server.url}/api/races/{race_id}").json()["playing"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not httpx.get(f"{server.url}/api/races/{race_id}").json()["playing"]

    async def deleted():
        async with ws_connect(server, race_id) as ws:
            await receive_type(ws, "state")
            httpx.delete(f"{server.url}/api/races/{race_id}", headers=server.auth)
            return await receive_type(ws, "error")

    assert asyncio.run(deleted())["message"] == "the race was deleted"


def test_diverging_racer_never_puts_nan_on_the_wire(client):
    race = create(client, {**BOWL, "racers": [{"optimizer": "sgd", "hyper": {"lr": 5.0}}]})
    done = client.post(f"/api/races/{race['id']}/step", json={"steps": 500})
    assert done.status_code == 200 and "NaN" not in done.text and "Infinity" not in done.text
    racer = done.json()["racers"][0]
    assert racer["status"] == "diverged" and all(math.isfinite(v) for v in racer["position"])
