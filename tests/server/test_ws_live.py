"""The WebSocket stream against a real server (uvicorn on a free port) with the ``websockets`` client."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from backproplab.server.runs.schemas import AckMessage, ErrorMessage, FrameMessage, StateMessage


def ws_connect(server, run_id: str, **kwargs):
    """A socket that presents the server's test identity in its handshake (as a script may)."""
    return connect(
        f"{server.ws_url}/ws/runs/{run_id}",
        proxy=None,
        max_size=None,
        compression=None,
        additional_headers=server.auth,
        **kwargs,
    )


def new_run(server, config=None, play=False) -> str:
    run_id = httpx.post(server.url + "/api/runs", json=config or {}, headers=server.auth).json()["id"]
    if play:
        httpx.post(f"{server.url}/api/runs/{run_id}/play", headers=server.auth)
    return run_id


async def receive(ws, timeout: float = 30.0) -> dict:
    # A generous bound: it only ends a test that would otherwise hang (the machine may be loaded).
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def receive_type(ws, kind: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = await receive(ws, max(0.01, deadline - time.monotonic()))
        if message["type"] == kind:
            return message


async def count_frames(ws, seconds: float) -> list[dict]:
    """The frames received within ``seconds``."""
    frames = []
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            message = await receive(ws, left)
        except TimeoutError:
            break
        if message["type"] == "frame":
            frames.append(message)
    return frames


def test_state_first_then_frames_with_every_step_once(server):
    run_id = new_run(server, play=True)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            state = StateMessage.model_validate(await receive(ws))
            assert state.run.id == run_id and state.grid is not None and state.points is not None
            await receive_type(ws, "frame")
            await ws.send(json.dumps({"type": "fps", "fps": 10}))
            await receive_type(ws, "ack")
            frames = await count_frames(ws, 2.0)
            for frame in frames:
                FrameMessage.model_validate(frame)
            return frames

    frames = asyncio.run(scenario())
    # Never faster than asked (10 per second over 2 s), whatever the machine's load.
    assert 2 <= len(frames) <= 10 * 2.0 + 2, len(frames)
    previous = frames[0]["metrics"]["step"][-1]
    for frame in frames[1:]:
        steps = frame["metrics"]["step"]
        if frame["metrics"]["stride"] == 1:  # a frame over 2,000 steps behind carries a downsample
            assert steps == list(range(previous + 1, previous + 1 + len(steps))), "every step, exactly once"
        assert steps[0] > previous and steps[-1] == frame["step"]
        previous = steps[-1]
    httpx.post(f"{server.url}/api/runs/{run_id}/pause", headers=server.auth)


def test_lr_change_shows_in_the_next_frame(server):
    run_id = new_run(server, play=True)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "set", "config": {"optimizer": {"lr": 0.123}}}))
            ack = AckMessage.model_validate(await receive_type(ws, "ack"))
            assert ack.of == "set" and ack.rebuilt is False
            frame = await receive_type(ws, "frame")
            assert frame["lr"] == 0.123
            later = await receive_type(ws, "frame")
            assert set(later["metrics"]["lr"]) == {0.123}

    asyncio.run(scenario())
    httpx.post(f"{server.url}/api/runs/{run_id}/pause", headers=server.auth)


def test_rebuild_sends_a_fresh_state(server):
    run_id = new_run(server)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            await ws.send(json.dumps({"type": "set", "config": {"model": {"hidden": [5]}}}))
            assert (await receive_type(ws, "ack"))["rebuilt"] is True
            state = await receive_type(ws, "state")
            assert state["run"]["resolved"]["sizes"] == [2, 5, 1]

    asyncio.run(scenario())


GARBAGE = [
    ("not json", None),
    ("[1, 2]", None),
    ('{"type": "fly"}', "type"),
    ('{"steps": 3}', None),
    ('{"type": "fps", "fps": 1000}', "fps"),
    ('{"type": "step", "steps": 20000}', "steps"),
    ('{"type": "set", "config": {"optimizer": {"lr": -1}}}', "optimizer.lr"),
    ('{"type": "set", "config": 5}', "config"),
    ('{"type": "set_weight", "layer": 99, "row": 0, "col": 0, "value": 1}', "layer"),
    ('{"type": "set_weight", "layer": 0, "row": 0, "col": 99, "value": 1}', "col"),
    ('{"type": "set_bias", "layer": 0, "index": 0, "value": "x"}', "value"),
]


def test_garbage_gets_error_frames_and_the_socket_stays_open(server):
    run_id = new_run(server)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            for text, field in GARBAGE:
                await ws.send(text)
                error = ErrorMessage.model_validate(await receive_type(ws, "error"))
                assert error.message
                if field is not None:
                    assert error.field == field, (text, error)
            await ws.send(b"\x00\x01")
            assert (await receive_type(ws, "error"))["message"]
            await ws.send(json.dumps({"type": "step", "steps": 7}))
            ack = await receive_type(ws, "ack")
            assert ack["steps"] == 7

    asyncio.run(scenario())


def test_view_controls_heavy_parts(server):
    run_id = new_run(server, play=True)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            frame = await receive_type(ws, "frame")
            assert "params" in frame and "neurons" not in frame["grid"]
            view = {"type": "view", "grid": True, "neurons": True, "params": False, "resolution": 20}
            await ws.send(json.dumps(view))
            await receive_type(ws, "ack")
            frame = await receive_type(ws, "frame")
            assert "params" not in frame and frame["grid"]["resolution"] == 20
            assert [len(layer) for layer in frame["grid"]["neurons"]] == [4, 2, 1]

    asyncio.run(scenario())
    httpx.post(f"{server.url}/api/runs/{run_id}/pause", headers=server.auth)


def test_a_paused_run_answers_a_view_change_with_a_frame(server):
    run_id = new_run(server)  # never played: no step will publish anything new

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            view = {"type": "view", "grid": True, "neurons": True, "params": False, "resolution": 12}
            await ws.send(json.dumps(view))
            frame = await receive_type(ws, "frame")
            assert [len(layer) for layer in frame["grid"]["neurons"]] == [4, 2, 1]

    asyncio.run(scenario())


def test_stalled_client_does_not_slow_another(server):
    """A client that never reads holds only its own sender: the other keeps getting frames, the run keeps
    training and the server keeps answering (measured as "the other advanced", never as a rate)."""
    run_id = new_run(server, play=True)
    heavy = {"type": "view", "grid": True, "neurons": True, "params": True, "resolution": 100}

    async def scenario():
        async with ws_connect(server, run_id) as reader:
            await receive_type(reader, "state")
            stalled = await connect(
                f"{server.ws_url}/ws/runs/{run_id}", proxy=None, max_size=None, compression=None, max_queue=1
            )
            await stalled.send(json.dumps(heavy))
            await stalled.send(json.dumps({"type": "fps", "fps": 60}))
            await asyncio.sleep(1.0)  # the stalled client never reads: its buffers fill up
            step_before = (await receive_type(reader, "frame"))["step"]
            together = await count_frames(reader, 2.0)
            async with httpx.AsyncClient(timeout=30) as http:
                health = (await http.get(server.url + "/api/health")).status_code
            stalled.transport.abort()
            return step_before, together, health

    step_before, together, health = asyncio.run(scenario())
    assert len(together) >= 2 and together[-1]["step"] > step_before and health == 200
    httpx.post(f"{server.url}/api/runs/{run_id}/pause", headers=server.auth)


def test_origin_check(server):
    run_id = new_run(server)

    async def attempt(origin):
        async with ws_connect(server, run_id, origin=origin) as ws:
            return (await receive(ws))["type"]

    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(attempt("http://evil.example"))
    assert refused.value.response.status_code == 403
    with pytest.raises(InvalidStatus):
        asyncio.run(attempt(f"http://localhost:{server.port}"))  # another host name is another origin
    assert asyncio.run(attempt(f"http://127.0.0.1:{server.port}")) == "state"
    assert asyncio.run(attempt(None)) == "state"


def test_unknown_run_is_refused_with_404(server):
    async def attempt():
        async with ws_connect(server, "no-such-run"):
            pass

    with pytest.raises(InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 404


def test_deleting_a_watched_run_tells_the_client(server):
    run_id = new_run(server)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            async with httpx.AsyncClient(headers=server.auth) as http:
                assert (await http.delete(f"{server.url}/api/runs/{run_id}")).status_code == 204
            error = await receive_type(ws, "error")
            assert "deleted" in error["message"]

    asyncio.run(scenario())
