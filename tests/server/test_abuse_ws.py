"""WebSocket floods and hostile messages: a rate limit per socket (one warning, then close 1008), every
parse error an error frame on a socket that stays open, and replies beyond the buffer never lost silently."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

import pytest
from test_ws_live import count_frames, new_run, receive, receive_type, ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backproplab.server.live.hub import MAX_REPLIES, Client, Session
from backproplab.server.live.socket import MessageRate, _send_loop
from backproplab.server.settings import Settings

FLOOD = 1_000  # messages, sent as fast as the client can
FLOODER = "127.0.0.7"  # its own loopback address: its penalty must not touch the other tests' clients


def test_a_flood_gets_one_warning_then_a_1008_close_and_others_keep_streaming(server):
    flooded, watched = new_run(server), new_run(server, play=True)
    limit = Settings().ws_message_burst

    async def flood() -> tuple[list[dict], int | None]:
        received: list[dict] = []
        async with ws_connect(server, flooded, local_addr=(FLOODER, 0)) as ws:
            await receive_type(ws, "state")
            for _ in range(FLOOD):
                try:
                    await ws.send("not json")
                except ConnectionClosed:
                    break
            try:
                while True:
                    received.append(await receive(ws, 30))
            except ConnectionClosed:
                pass
            return received, ws.close_code

    async def watch() -> list[dict]:
        async with ws_connect(server, watched) as ws:
            await receive_type(ws, "state")
            return await count_frames(ws, 3.0)

    async def scenario():
        return await asyncio.gather(flood(), watch())

    async def reconnect() -> None:
        async with ws_connect(server, flooded, local_addr=(FLOODER, 0)):
            pass

    (received, close_code), frames = asyncio.run(scenario())
    errors = [message["message"] for message in received if message["type"] == "error"]
    warnings = [message for message in errors if message.startswith("too many messages")]
    assert len(warnings) == 1, errors[-3:]
    assert close_code == 1008
    assert len(errors) <= limit + 3  # the messages within the burst, the warning and the closing reason
    assert frames, "another client's run kept streaming during the flood"
    with pytest.raises(InvalidStatus) as refused:  # the flooder waits a while before its next socket
        asyncio.run(reconnect())
    assert refused.value.response.status_code == 429
    assert int(refused.value.response.headers["retry-after"]) >= 1


def test_messages_within_the_rate_all_get_answers(server):
    run_id = new_run(server)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            for _ in range(30):
                await ws.send(json.dumps({"type": "fps", "fps": 10}))
                await asyncio.sleep(0.05)
            acks = 0
            while acks < 30:
                message = await receive(ws, 10)
                assert message["type"] != "error", message
                acks += message["type"] == "ack"

    asyncio.run(scenario())


HOSTILE = [
    '{"type": "step", "steps": ' + "9" * 5000 + "}",  # int() refuses 4,300+ digits: ValueError
    "[" * 2000 + "]" * 2000,  # RecursionError in the parser
    '{"type": "set", "config": ' + '{"a":' * 500 + "1" + "}" * 500 + "}",  # deep, below the parser's limit
    '{"type": "set", "config": {"seed": 1e999}}',
    "\x00",
]


def test_every_parse_error_is_an_error_frame_and_the_socket_stays_open(server):
    run_id = new_run(server)

    async def scenario():
        async with ws_connect(server, run_id) as ws:
            await receive_type(ws, "state")
            for text in HOSTILE:
                await ws.send(text)
                error = await receive_type(ws, "error", 10)
                assert error["message"], text[:40]
            await ws.send(json.dumps({"type": "step", "steps": 4}))
            assert (await receive_type(ws, "ack", 10))["steps"] == 4

    asyncio.run(scenario())


def test_replies_beyond_the_buffer_are_announced_not_lost_silently():
    """A client that does not read while it sends: the oldest replies go, and it is told how many."""

    async def scenario() -> list[dict]:
        release = asyncio.Event()
        sent: list[dict] = []

        async def send_text(text: str) -> None:
            await release.wait()  # the client is not reading
            sent.append(json.loads(text))

        client = Client(fps=30)
        client.generation = 0  # it has its state
        kind = SimpleNamespace(name="run", notices=lambda session, client: [], frame=lambda s, c: None)
        session = Session("r", kind, mirror=None)  # type: ignore[arg-type]
        socket = SimpleNamespace(send_text=send_text)
        sender = asyncio.create_task(_send_loop(socket, session, client, timeout=5.0))  # type: ignore[arg-type]
        for index in range(MAX_REPLIES + 10):
            client.reply({"type": "ack", "of": "fps", "n": index})
            await asyncio.sleep(0)
        release.set()
        while not any(message["type"] == "error" for message in sent):
            await asyncio.sleep(0.01)
        sender.cancel()
        return sent

    sent = asyncio.run(asyncio.wait_for(scenario(), 10))
    errors = [message for message in sent if message["type"] == "error"]
    assert len(errors) == 1 and "dropped" in errors[0]["message"]
    acks = [message["n"] for message in sent if message["type"] == "ack"]
    assert acks[-1] == MAX_REPLIES + 9 and len(acks) < MAX_REPLIES + 10


def test_the_rate_allows_bursts_then_its_average():
    now = [0.0]
    rate = MessageRate(rate=10.0, burst=5, clock=lambda: now[0])
    assert [rate.allow() for _ in range(6)] == [True] * 5 + [False]
    now[0] += 0.1
    assert rate.allow() and not rate.allow()
    now[0] += 1.0
    assert rate.rested
