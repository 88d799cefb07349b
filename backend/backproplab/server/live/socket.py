"""The WebSocket half of the live core, shared by /ws/runs/{id} and /ws/races/{id}.

Each connection has two tasks. The receiver parses client messages (a bad one gets an error message and
the socket stays open) and applies them through the kind's handler; the sender wakes at the client's frame
rate, or at once after the client's own message, and sends pending replies, a fresh ``state`` when the item
restarted (reset, rebuild, trainer restart), the kind's notices, and a frame cut from the session's newest
news. A client that does not read blocks only its own sender: it holds at most one message in flight and
MAX_REPLIES replies (it is told when older ones were dropped), skips news, and is dropped after
``send_timeout``. A client that sends more than ``ws_message_rate`` messages a second (in bursts of
``ws_message_burst``) has the excess dropped unparsed, is told once, and is closed with 1008 if it goes on;
no message, however malformed, ends the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect
from pydantic import TypeAdapter, ValidationError
from starlette.responses import JSONResponse

from ...engine.errors import ConfigError
from ..callers import caller_key
from ..encoding import dumps, loads
from ..errors import ApiError, dotted, error_body, field_errors
from ..hosts import origin_allowed
from ..identities.access import ANONYMOUS, Caller, Role
from ..identities.service import IdentityService
from ..identities.tokens import bearer
from ..settings import Settings
from .hub import MAX_REPLIES, Client, Hub, Session

log = logging.getLogger("backproplab.ws")
Handler = Callable[[Any, Session, Client], Awaitable[dict[str, Any] | None]]
RoleOf = Callable[[Caller], Awaitable[Role]]


class Penalties:
    """Callers whose socket was closed for flooding may not open another for ``seconds`` (a reconnecting
    flood costs a handshake and a ``state`` each time; refusing one costs almost nothing)."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.clock = seconds, clock
        self.until: dict[str, float] = {}

    def add(self, caller: str) -> None:
        now = self.clock()
        self.until = {key: end for key, end in self.until.items() if end > now}
        self.until[caller] = now + self.seconds

    def left(self, caller: str) -> float:
        return max(0.0, self.until.get(caller, 0.0) - self.clock())


async def admit(websocket: WebSocket, settings: Settings, exists: Awaitable[bool], field: str) -> bool:
    """Accept the WebSocket, or refuse it: a foreign Origin before accept (the handshake answers 403), a
    caller closed for flooding a moment ago with 429 and Retry-After, an unknown id with a 404 whose body
    names ``field`` ("run_id" -> "no such run"), as a REST call would."""
    refusal: JSONResponse | None = None
    if not origin_allowed(websocket.headers.get("origin"), websocket.headers.get("host"), settings):
        log.warning("refused WebSocket from origin %s", websocket.headers.get("origin"))
    elif left := penalties_of(websocket).left(caller_key(websocket)):
        reason = f"this client flooded a WebSocket a moment ago; wait {math.ceil(left)} s"
        body = error_body([{"field": None, "reason": reason}])
        refusal = JSONResponse(body, 429, headers={"Retry-After": str(math.ceil(left))})
    else:
        if await exists:
            await websocket.accept()
            return True
        reason = f"no such {field.removesuffix('_id')}"
        refusal = JSONResponse(error_body([{"field": field, "reason": reason}]), 404)
    if isinstance(exists, Coroutine):
        exists.close()  # not awaited when refused before it was needed (a no-op once awaited)
    if refusal is None:
        await websocket.close(code=1008)
    else:
        await websocket.send_denial_response(refusal)
    return False


def penalties_of(websocket: WebSocket) -> Penalties:
    """The app's penalties (one per app, made on first use from its settings)."""
    state = websocket.app.state
    if not hasattr(state, "ws_penalties"):
        state.ws_penalties = Penalties(state.settings.ws_flood_penalty)
    penalties: Penalties = state.ws_penalties
    return penalties


class MessageRate:
    """A token bucket: ``rate`` messages a second on average, in bursts of up to ``burst``."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens, self.at = float(burst), clock()

    def allow(self) -> bool:
        """Take a token for one message; False when there is none."""
        self._refill()
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True

    @property
    def rested(self) -> bool:
        """The bucket is full again: the client kept to the rate for a whole burst's worth of time."""
        self._refill()
        return self.tokens >= self.burst - 1

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now


class TooManyMessagesError(Exception):
    """The client kept sending over its rate after it was told: close with 1008 (policy violation)."""


async def authenticate(
    client: Client, token: str | None, identities: IdentityService, role: RoleOf
) -> dict[str, Any]:
    """Give the client the role ``token`` has on its item (no token: watcher); the ``auth`` ack.
    A token this server does not know raises 401 (an error message: the client stays a watcher)."""
    caller = ANONYMOUS if token is None else await identities.resolve(token)
    client.role = await role(caller) if caller is not ANONYMOUS else "watcher"
    client.identity = caller.identity
    return {"type": "ack", "of": "auth", "role": client.role}


async def authenticate_handshake(
    websocket: WebSocket, client: Client, identities: IdentityService, role: RoleOf
) -> None:
    """A non-browser client may authenticate with the handshake's ``Authorization: Bearer`` header
    (browsers cannot set it: they send an ``auth`` message first)."""
    try:
        token = bearer(websocket.headers.get("authorization"))
        if token is not None:
            await authenticate(client, token, identities, role)
    except ValueError as error:
        client.error("token", str(error))
    except ApiError as error:
        client.error(error.field, error.reason)


async def serve(
    websocket: WebSocket,
    hub: Hub,
    session: Session,
    client: Client,
    messages: TypeAdapter[Any],
    handle: Handler,
    settings: Settings,
) -> None:
    """Run the connection's receiver and sender until either ends; then the client leaves the session."""
    rate = MessageRate(settings.ws_message_rate, settings.ws_message_burst)
    receiver = asyncio.create_task(_receive(websocket, session, client, messages, handle, rate))
    sender = asyncio.create_task(_send_loop(websocket, session, client, settings.send_timeout))
    tasks = {receiver, sender}
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, TimeoutError):
                log.info(
                    "dropped a WebSocket client of %s %s: it stopped reading", session.kind.name, session.id
                )
            elif isinstance(error, TooManyMessagesError):
                log.info("closed a WebSocket of %s %s: %s", session.kind.name, session.id, error)
                penalties = penalties_of(websocket)
                penalties.add(caller_key(websocket))  # what the next handshake is known by
                if client.identity:
                    penalties.add(client.identity)
                await _close(sender, websocket, str(error))
            elif error is not None and not isinstance(error, WebSocketDisconnect | OSError):
                log.warning("WebSocket of %s %s ended: %r", session.kind.name, session.id, error)
    finally:
        for task in tasks:
            task.cancel()
        hub.leave(session, client)


async def _close(sender: asyncio.Task[None], websocket: WebSocket, reason: str) -> None:
    """Stop the sender, then say why and close with 1008 (the one writer at a time on the socket)."""
    sender.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await sender
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.send_text(dumps({"type": "error", "message": reason, "field": None}))
        await websocket.close(code=1008, reason="too many messages")


async def _receive(
    websocket: WebSocket,
    session: Session,
    client: Client,
    messages: TypeAdapter[Any],
    handle: Handler,
    rate: MessageRate,
) -> None:
    """Parse and apply each text message until the client disconnects; problems become error messages.
    Messages over the rate are dropped unread: the first one gets an error saying so, and a client that
    goes on for another burst is closed (TooManyMessagesError)."""
    dropped: int | None = None  # messages dropped since the client was told; None: not told
    while True:
        received = await websocket.receive()
        if received["type"] == "websocket.disconnect":
            return
        if not rate.allow():
            if dropped is None:
                dropped = 0
                client.error(
                    None,
                    f"too many messages: at most {rate.rate:g} a second (bursts of {rate.burst}); messages "
                    "are dropped until you slow down, and the connection closes if you go on",
                )
            dropped += 1
            if dropped > rate.burst:
                raise TooManyMessagesError(f"closed: over {rate.rate:g} messages a second after a warning")
            continue
        if dropped is not None and rate.rested:
            dropped = None
        text = received.get("text")
        if text is None:
            client.error(None, "messages must be JSON text")
            continue
        message = _parse(text, messages, client)
        if message is None:
            continue
        # Frames wait for the ack, except the progress of operations that show it (a run's long step).
        client.busy = message.type not in session.kind.progress
        try:
            ack = await handle(message, session, client)
        except (ConfigError, ValidationError, ApiError) as error:
            problem = field_errors(error)[0]
            client.error(problem["field"], str(problem["reason"]))
            continue
        finally:
            client.busy = False
        client.reply(ack or {"type": "ack", "of": message.type}, urgent=True)


def _parse(text: str, messages: TypeAdapter[Any], client: Client) -> Any:
    """The message, or None after telling the client what is wrong with it (never an exception)."""
    try:
        return messages.validate_python(loads(text))
    except ApiError as error:
        client.error(None, error.reason)
    except ValidationError as error:
        item = error.errors()[0]
        loc = item["loc"][1:]  # after the message type's tag
        if loc[:1] == ("config",) and len(loc) > 1:
            loc = loc[1:]  # a ``set`` message's config is a RunConfig part: fields are named as in one
        untagged = item["type"] in ("union_tag_invalid", "union_tag_not_found")
        field = "type" if untagged else dotted(loc) if loc else None
        client.error(field, item["msg"])
    return None


async def _send_loop(websocket: WebSocket, session: Session, client: Client, timeout: float) -> None:
    """Replies at once; a ``state`` when needed; a frame when one is due and the item has newer news."""
    loop = asyncio.get_running_loop()
    due = loop.time()
    kind = session.kind

    async def send(text: str) -> None:
        async with asyncio.timeout(timeout):  # a client that stopped reading is dropped
            await websocket.send_text(text)

    while True:
        early = (
            0.5 / client.fps
        )  # a frame is due from half a period early: news comes on the trainer's rhythm
        fresh = session.version > client.version
        needs_state = client.generation == -1 or (
            session.generation is not None and session.generation != client.generation
        )
        if not client.replies and not (needs_state and not client.busy) and session.gone is None:
            if client.busy or not fresh:
                await client.wake.wait()
            elif not client.urgent and loop.time() < due - early:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(due - early - loop.time()):
                        await client.wake.wait()
        client.wake.clear()
        while client.replies:
            await send(client.replies.popleft())
        if client.dropped:
            lost, client.dropped = client.dropped, 0
            reason = (
                f"{lost} earlier replies were dropped: at most {MAX_REPLIES} wait to be sent; read replies "
                "faster or send fewer messages"
            )
            await send(dumps({"type": "error", "message": reason, "field": None}))
        if session.gone is not None:
            noun = kind.name
            reason = f"the {noun} was deleted" if session.gone == "deleted" else f"the {noun} was lost"
            await send(dumps({"type": "error", "message": reason, "field": None}))
            await websocket.close(code=1000)
            return
        if client.busy:
            continue
        now = loop.time()
        if needs_state:
            try:
                await send(await kind.state(session, client))
            except ApiError as error:
                if error.status != 404:
                    raise
                session.gone = "lost"
                continue
            due = now + 1.0 / client.fps
            continue
        for notice in kind.notices(session, client):
            await send(notice)
        if session.version <= client.version:
            client.urgent = False
            continue
        if not (client.urgent or now >= due - early):
            continue
        client.urgent = False
        text = kind.frame(session, client)
        if text is not None:
            await send(text)
        due = max(due + 1.0 / client.fps, now)
