"""WS /ws/runs/{id}: a ``state`` message, then frames at the client's rate; controls come back in.

The run's side of the live core (live/socket.py does the rest): what a client wants (its view and rate),
its ``state``, the ``run`` notice when the description changed, its frames, and its control messages.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, WebSocket
from pydantic import TypeAdapter

from ..identities.access import Caller, Role, require_change
from ..identities.service import IdentityService
from ..live.hub import Client, Hub, Session
from ..live.protocol import Publish, Wants
from ..live.socket import admit, authenticate, authenticate_handshake, serve
from ..settings import Settings
from .frames import DEFAULT_VIEW, RunMirror
from .news import RunNews
from .schemas import ClientMessage, ViewMessage
from .service import RunService

router = APIRouter()
_messages: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
# Messages that change the run: its owner's, its class teacher's or the admin's only.
CONTROLS = frozenset({"play", "pause", "reset", "step", "set", "set_weight", "set_bias"})


class RunCursor:
    """How far a client has been told: the step of its last frame and the description it has."""

    def __init__(self, step: int, described: int):
        self.step = step
        self.described = described


class RunLive:
    """The run kind of the live core."""

    name = "run"
    progress = frozenset({"step"})  # a long step's progress shows before its ack

    def __init__(self, service: RunService, settings: Settings, identities: IdentityService):
        self.service = service
        self.settings = settings
        self.identities = identities

    def role_of(self, run_id: str) -> Callable[[Caller], Awaitable[Role]]:
        return lambda caller: self.service.role(run_id, caller)

    def mirror(self) -> RunMirror:
        return RunMirror(
            capacity=2 * self.settings.frame_metrics_cap, frame_cap=self.settings.frame_metrics_cap
        )

    def apply(self, session: Session, publish: Publish) -> None:
        mirror: RunMirror = session.mirror
        if publish.generation != session.generation:
            mirror.reset()
        news: RunNews = publish.payload
        mirror.apply(news, news.described)

    def wants(self, client: Client) -> Wants:
        view: ViewMessage = client.view
        return Wants(
            fps=client.fps,
            params=view.params,
            grid=view.grid,
            neurons=view.neurons,
            resolution=view.resolution,
        )

    async def state(self, session: Session, client: Client) -> str:
        view: ViewMessage = client.view
        service = self.service
        state: tuple[str, int, int, int, int] = await session.shared(
            view.model_dump_json(),
            lambda: service.call(
                session.id,
                "state",
                view=view.model_dump(),
                subscriber=service.trainers.subscriber,  # subscribed in the same call (live/shard.py)
                wants=session.wants,
            ),
        )
        text, generation, version, step, described = state
        client.generation, client.version = generation, version
        client.cursor = RunCursor(step, described)
        return text

    def notices(self, session: Session, client: Client) -> list[str]:
        mirror: RunMirror = session.mirror
        cursor: RunCursor = client.cursor
        if mirror.run_json is None or mirror.described <= cursor.described:
            return []
        cursor.described = mirror.described
        return [f'{{"type":"run","run":{mirror.run_json}}}']

    def frame(self, session: Session, client: Client) -> str | None:
        mirror: RunMirror = session.mirror
        cursor: RunCursor = client.cursor
        news = mirror.news
        client.version = session.version
        if news is None or news.step < cursor.step:
            return None
        text = mirror.frame_for(cursor.step, client.view)
        cursor.step = news.step
        return text

    async def handle(self, message: Any, session: Session, client: Client, hub: Hub) -> dict[str, Any] | None:
        """Apply one control message (the caller turns errors into error messages)."""
        kind = message.type
        service = self.service
        ack: dict[str, Any] = {"type": "ack", "of": kind}
        if kind == "auth":
            return await authenticate(client, message.token, self.identities, self.role_of(session.id))
        if kind in CONTROLS:
            require_change(client.role, "run", session.id, fork=True)  # an error message; still streaming
        bound = client.role == "owner"  # a student in a class is held to its locked settings
        if kind == "play":
            await service.control(session.id, kind, durable=False, steps_per_second=message.steps_per_second)
        elif kind in ("pause", "reset"):
            await service.control(session.id, kind, durable=False)
        elif kind == "step":
            ack["steps"] = await service.step(session.id, message.steps, durable=False)
        elif kind == "set":
            patch = message.config.model_dump(mode="json")
            patched = await service.patch(session.id, patch, durable=False, bound=bound)
            ack["rebuilt"] = patched["rebuilt"]
        elif kind == "set_weight":
            await service.call(
                session.id,
                "set_weight",
                layer=message.layer,
                row=message.row,
                col=message.col,
                value=message.value,
                bound=bound,
            )
        elif kind == "set_bias":
            await service.call(
                session.id,
                "set_bias",
                layer=message.layer,
                index=message.index,
                value=message.value,
                bound=bound,
            )
        elif kind == "fps":
            client.fps = message.fps
            hub.refresh_wants(session)
        elif kind == "view":
            client.view = message
            await hub.rewatch(session)  # a new view gets its frame at once, even while the run is paused
        return ack


@router.websocket("/ws/runs/{run_id}")
async def stream(websocket: WebSocket, run_id: str) -> None:
    app = websocket.app
    settings: Settings = app.state.settings
    live: RunLive = app.state.run_live
    hub: Hub = app.state.hub
    if not await admit(websocket, settings, live.service.exists(run_id), "run_id"):
        return
    client = Client(settings.default_fps, DEFAULT_VIEW)
    await authenticate_handshake(websocket, client, live.identities, live.role_of(run_id))
    session = hub.join(live, run_id, client)

    async def handle(message: Any, session: Session, client: Client) -> dict[str, Any] | None:
        return await live.handle(message, session, client, hub)

    await serve(websocket, hub, session, client, _messages, handle, settings)
