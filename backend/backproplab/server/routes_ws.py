"""WebSocket /ws/runs/{id}: a ``state`` message, then frames at the client's rate; controls come back in.

Each connection has two tasks. The receiver parses control messages and applies them through the manager;
the sender wakes at the client's frame rate (or at once after the client's own control message), sends
pending replies, a fresh ``state`` after a reset or rebuild, and a frame cut from the run's newest
snapshot. A client that does not read blocks only its own sender: it gets fewer frames, holds at most one
frame in flight and a few replies, and is dropped after ``settings.send_timeout``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.responses import JSONResponse

from ..engine.errors import ConfigError
from .errors import ApiError, dotted, error_body, field_errors
from .frames import DEFAULT_VIEW, dumps
from .manager import Manager
from .schemas import ClientMessage, ViewMessage
from .settings import Settings
from .slot import Slot

log = logging.getLogger("backproplab.ws")
router = APIRouter()
_messages: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_client_ids = itertools.count(1)
MAX_REPLIES = 32
T = TypeVar("T")


def origin_allowed(websocket: WebSocket, settings: Settings) -> bool:
    """Same origin (Origin's host:port equals the Host header), a listed origin, or no Origin (not a browser)."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    allowed = settings.allowed_origins
    if "*" in allowed or origin.rstrip("/") in {item.rstrip("/") for item in allowed}:
        return True
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    default_port = 443 if parts.scheme == "https" else 80
    origin_host = f"{parts.hostname}:{parts.port or default_port}"
    host = websocket.headers.get("host", "")
    host_parts = urlsplit(f"//{host}")
    host_port = host_parts.port or (443 if websocket.url.scheme == "wss" else 80)
    return bool(host_parts.hostname) and origin_host.lower() == f"{host_parts.hostname}:{host_port}".lower()


async def admit(
    websocket: WebSocket, settings: Settings, slots: Mapping[str, T], slot_id: str, field: str
) -> T | None:
    """Accept a WebSocket to ``slots[slot_id]`` and return that slot, or refuse it and return None.

    A foreign Origin is refused before accept (the handshake answers 403); an unknown id gets a 404 whose
    body names ``field`` ("run_id" -> "no such run"), as a REST call would.
    """
    if not origin_allowed(websocket, settings):
        log.warning("refused WebSocket from origin %s", websocket.headers.get("origin"))
        await websocket.close(code=1008)  # before accept: the handshake answers 403
        return None
    slot = slots.get(slot_id)
    if slot is None:
        reason = f"no such {field.removesuffix('_id')}"
        await websocket.send_denial_response(
            JSONResponse(error_body([{"field": field, "reason": reason}]), 404)
        )
        return None
    await websocket.accept()
    return slot


class Client:
    """One connection's view, rate, counters and pending replies."""

    def __init__(self, settings: Settings):
        self.id = next(_client_ids)
        self.view: ViewMessage = DEFAULT_VIEW
        self.fps = settings.default_fps
        self.replies: deque[str] = deque(maxlen=MAX_REPLIES)
        self.wake = asyncio.Event()
        self.urgent = False
        self.busy = False
        self.generation = -1
        self.version = -1
        self.step = 0

    def reply(self, message: dict, urgent: bool = False) -> None:
        self.replies.append(dumps(message))
        self.urgent = self.urgent or urgent
        self.wake.set()


@router.websocket("/ws/runs/{run_id}")
async def stream(websocket: WebSocket, run_id: str) -> None:
    manager: Manager = websocket.app.state.manager
    settings = manager.settings
    slot = await admit(websocket, settings, manager.slots, run_id, "run_id")
    if slot is None:
        return
    client = Client(settings)
    await manager.call(manager.watch, slot, client.id, client.view, client.fps, client.wake)
    tasks = {
        asyncio.create_task(
            receive_texts(websocket, client.reply, lambda text: _handle(text, manager, slot, client))
        ),
        asyncio.create_task(_send_loop(websocket, manager, slot, client)),
    }
    try:
        done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        for task in done:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, TimeoutError):
                log.info("dropped a WebSocket client of run %s: it stopped reading", slot.id)
            elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                log.warning("WebSocket of run %s ended: %r", slot.id, error)
    finally:
        for task in tasks:
            task.cancel()
        slot.drop_watcher(client.id)
        slot.touch()


async def receive_texts(
    websocket: WebSocket, reply: Callable[[dict], None], handle: Callable[[str], Awaitable[None]]
) -> None:
    """await handle(text) for each text message until the client disconnects; other messages get an error reply."""
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            reply({"type": "error", "message": "messages must be JSON text", "field": None})
            continue
        await handle(text)


async def _handle(text: str, manager: Manager, slot: Slot, client: Client) -> None:
    """Apply one client message; any problem becomes an error message and the socket stays open."""
    try:
        message = _messages.validate_python(json.loads(text))
    except json.JSONDecodeError as error:
        client.reply({"type": "error", "message": f"invalid JSON: {error}", "field": None})
        return
    except ValidationError as error:
        item = error.errors()[0]
        tagged = item["type"] not in ("union_tag_invalid", "union_tag_not_found", "model_type")
        field = dotted(item["loc"][1:]) if tagged else "type" if item["type"] != "model_type" else None
        client.reply(
            {"type": "error", "message": f"{field}: {item['msg']}" if field else item["msg"], "field": field}
        )
        return
    kind = message.type
    ack: dict = {"type": "ack", "of": kind}
    # The sender holds back frames and states until this message's ack is queued (ack first), except
    # during a long `step`, whose progress the client should watch.
    client.busy = kind != "step"
    try:
        if kind in ("play", "pause", "reset"):
            await manager.call(getattr(manager, kind), slot, False)
        elif kind == "step":
            ack["steps"] = await manager.call(manager.step, slot, message.steps, False)
        elif kind == "set":
            ack["rebuilt"] = await manager.call(manager.patch, slot, message.config, False)
        elif kind == "set_weight":
            await manager.call(
                manager.set_weight, slot, message.layer, message.row, message.col, message.value
            )
        elif kind == "set_bias":
            await manager.call(manager.set_bias, slot, message.layer, message.index, message.value)
        elif kind == "fps":
            client.fps = message.fps
            await manager.call(manager.watch, slot, client.id, client.view, client.fps, client.wake)
        elif kind == "view":
            client.view = message
            await manager.call(manager.watch, slot, client.id, client.view, client.fps, client.wake)
    except (ConfigError, ValidationError, ApiError) as error:
        problem = field_errors(error)[0]
        field = problem["field"]
        reason = problem["reason"]
        client.reply({"type": "error", "message": f"{field}: {reason}" if field else reason, "field": field})
        return
    finally:
        client.busy = False
    slot.touch()
    client.reply(ack, urgent=True)


async def _send_loop(websocket: WebSocket, manager: Manager, slot: Slot, client: Client) -> None:
    """Send replies at once, and a frame when one is due and the run has a newer snapshot.

    The task sleeps until its next frame time, then until the run publishes something new (or a reply
    is pending): frames are never queued, a slow client simply skips snapshots.
    """
    loop = asyncio.get_running_loop()
    due = loop.time()
    cap = manager.settings.frame_metrics_cap
    while True:
        # A frame is due from half a period early: snapshots arrive on the trainer's rhythm, not ours.
        early = 0.5 / client.fps
        snapshot = slot.snapshot
        fresh = snapshot is not None and snapshot.version > client.version
        held = client.busy
        new_generation = slot.generation != client.generation and not held
        if not client.replies and not new_generation and not slot.deleted:
            if held or not fresh:
                await client.wake.wait()
            elif not client.urgent and loop.time() < due - early:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(due - early - loop.time()):
                        await client.wake.wait()
        client.wake.clear()
        while client.replies:
            await _send(websocket, manager, client.replies.popleft())
        if slot.deleted:
            await _send(
                websocket, manager, dumps({"type": "error", "message": "the run was deleted", "field": None})
            )
            await websocket.close(code=1000)
            return
        if client.busy:
            continue
        now = loop.time()
        if client.generation != slot.generation:
            text, client.generation, client.version, client.step = await manager.call(
                manager.state_text, slot, client.view
            )
            await _send(websocket, manager, text)
            due = now + 1.0 / client.fps
            continue
        snapshot = slot.snapshot
        if snapshot is None or snapshot.version <= client.version:
            client.urgent = False
            continue
        if not (client.urgent or now >= due - early):
            continue
        client.urgent = False
        if snapshot.step >= client.step:
            await _send(websocket, manager, snapshot.frame_for(client.step, client.view, cap))
            client.step = snapshot.step
        client.version = snapshot.version
        due = max(due + 1.0 / client.fps, now)


async def _send(websocket: WebSocket, manager: Manager, text: str) -> None:
    """Send one message; a client that has not taken it within ``send_timeout`` is disconnected."""
    async with asyncio.timeout(manager.settings.send_timeout):
        await websocket.send_text(text)
