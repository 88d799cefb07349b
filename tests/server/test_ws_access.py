"""Who may control a run or race over its WebSocket: a socket starts as a watcher; an ``auth`` message (or
a script's handshake header) makes it the owner, the class teacher or the admin. A refused control gets an
error message, and the socket stays open and keeps streaming."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect

from backproplab.server.runs.schemas import AckMessage, ErrorMessage

CONTROLS = [
    {"type": "play"},
    {"type": "pause"},
    {"type": "reset"},
    {"type": "step", "steps": 3},
    {"type": "set", "config": {"optimizer": {"lr": 0.5}}},
    {"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": 1.5},
    {"type": "set_bias", "layer": 0, "index": 0, "value": 0.5},
]


def socket(server, kind: str, item_id: str, headers=None):
    return connect(
        f"{server.ws_url}/ws/{kind}/{item_id}", proxy=None, max_size=None, additional_headers=headers or {}
    )


async def receive_type(ws, kind: str, timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = json.loads(await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic())))
        if message["type"] == kind:
            return message


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def new_identity(server) -> dict[str, str]:
    return server.identity()


def playing_run(server, owner) -> str:
    run_id = httpx.post(server.url + "/api/runs", json={}, headers=owner).json()["id"]
    httpx.post(f"{server.url}/api/runs/{run_id}/play", headers=owner)
    return run_id


def test_a_watcher_is_refused_every_control_and_keeps_streaming(admin_server):
    owner = new_identity(admin_server)
    run_id = playing_run(admin_server, owner)

    async def scenario():
        async with socket(admin_server, "runs", run_id) as ws:
            await receive_type(ws, "state")
            for message in CONTROLS:
                await ws.send(json.dumps(message))
                error = ErrorMessage.model_validate(await receive_type(ws, "error"))
                assert error.field == "token" and "owner" in error.message, message
            first = await receive_type(ws, "frame")
            later = await receive_type(ws, "frame")
            assert later["step"] > first["step"]  # still streaming, still training, never reset
            url = f"{admin_server.url}/api/runs/{run_id}/params"
            params = (await asyncio.to_thread(httpx.get, url)).json()
            assert params["layers"][0]["W"][0][0] != 1.5 and params["layers"][0]["b"][0] != 0.5

    asyncio.run(scenario())
    run = httpx.get(f"{admin_server.url}/api/runs/{run_id}").json()
    assert run["status"] == "running" and run["config"]["optimizer"]["lr"] == 0.03
    httpx.post(f"{admin_server.url}/api/runs/{run_id}/pause", headers=owner)


@pytest.mark.parametrize("who", ["owner", "teacher", "admin"])
def test_auth_makes_a_socket_able_to_control(admin_server, who):
    server = admin_server
    teacher, student = new_identity(server), new_identity(server)
    code = httpx.post(server.url + "/api/classes", json={}, headers=teacher).json()["code"]
    run_id = httpx.post(f"{server.url}/api/classes/{code}/join", headers=student).json()["id"]
    token = token_of({"owner": student, "teacher": teacher, "admin": server.admin}[who])

    async def scenario():
        async with socket(server, "runs", run_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "auth", "token": token}))
            ack = AckMessage.model_validate(await receive_type(ws, "ack"))
            assert ack.of == "auth" and ack.role == who
            for message in CONTROLS:
                await ws.send(json.dumps(message))
                assert (await receive_type(ws, "ack"))["of"] == message["type"]

    asyncio.run(scenario())
    run = httpx.get(f"{server.url}/api/runs/{run_id}").json()
    assert run["config"]["optimizer"]["lr"] == 0.5


def test_auth_with_another_identity_or_an_unknown_token_leaves_a_watcher(admin_server):
    owner, other = new_identity(admin_server), new_identity(admin_server)
    run_id = playing_run(admin_server, owner)

    async def scenario():
        async with socket(admin_server, "runs", run_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "auth", "token": token_of(other)}))
            assert (await receive_type(ws, "ack"))["role"] == "watcher"
            await ws.send(json.dumps({"type": "auth", "token": "bpl_unknown"}))
            error = await receive_type(ws, "error")
            assert error["field"] == "token" and "POST /api/identities" in error["message"]
            await ws.send(json.dumps({"type": "pause"}))
            assert (await receive_type(ws, "error"))["field"] == "token"
            await receive_type(ws, "frame")  # still open and streaming

    asyncio.run(scenario())
    assert httpx.get(f"{admin_server.url}/api/runs/{run_id}").json()["status"] == "running"
    httpx.post(f"{admin_server.url}/api/runs/{run_id}/pause", headers=owner)


def test_a_script_may_authenticate_in_the_handshake(admin_server):
    owner = new_identity(admin_server)
    run_id = httpx.post(admin_server.url + "/api/runs", json={}, headers=owner).json()["id"]

    async def scenario(headers):
        async with socket(admin_server, "runs", run_id, headers) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "step", "steps": 4}))
            return await receive_type(ws, "ack" if headers is owner else "error")

    assert asyncio.run(scenario(owner))["steps"] == 4
    refused = asyncio.run(scenario({"Authorization": "Bearer bpl_nope"}))
    assert refused["field"] == "token"


def test_race_sockets_follow_the_same_rule(admin_server):
    owner, other = new_identity(admin_server), new_identity(admin_server)
    race_id = httpx.post(admin_server.url + "/api/races", json={"function": "booth"}, headers=owner).json()[
        "id"
    ]

    async def scenario():
        async with socket(admin_server, "races", race_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "step", "steps": 5}))
            assert "owner" in (await receive_type(ws, "error"))["message"]
            await ws.send(json.dumps({"type": "auth", "token": token_of(other)}))
            assert (await receive_type(ws, "ack"))["role"] == "watcher"
            await ws.send(json.dumps({"type": "set", "speed": 5}))
            assert (await receive_type(ws, "error"))["field"] == "token"
            await ws.send(json.dumps({"type": "auth", "token": token_of(owner)}))
            assert (await receive_type(ws, "ack"))["role"] == "owner"
            await ws.send(json.dumps({"type": "step", "steps": 5}))
            assert (await receive_type(ws, "ack"))["of"] == "step"

    asyncio.run(scenario())
    race = httpx.get(f"{admin_server.url}/api/races/{race_id}").json()
    assert {racer["steps"] for racer in race["racers"]} == {5} and race["speed"] == 60


def test_watchers_see_a_rename_and_new_class_locks_live(admin_server):
    server = admin_server
    teacher = new_identity(server)
    group = httpx.post(
        server.url + "/api/classes", json={"allowed": ["optimizer.lr"]}, headers=teacher
    ).json()
    joined = httpx.post(f"{server.url}/api/classes/{group['code']}/join").json()
    student = {"Authorization": f"Bearer {joined['token']}"}

    async def scenario():
        async with socket(server, "runs", joined["id"]) as ws:
            state = await receive_type(ws, "state")
            assert state["run"]["class"]["allowed"] == ["optimizer.lr"]
            patch = {"allowed": ["optimizer"]}
            await asyncio.to_thread(
                httpx.patch, f"{server.url}/api/classes/{group['id']}", json=patch, headers=teacher
            )
            assert (await receive_type(ws, "run"))["run"]["class"]["allowed"] == ["optimizer"]
            await asyncio.to_thread(
                httpx.patch, f"{server.url}/api/runs/{joined['id']}", json={"name": "Ada"}, headers=student
            )
            assert (await receive_type(ws, "run"))["run"]["name"] == "Ada"

    asyncio.run(scenario())
