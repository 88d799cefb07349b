"""WS /ws/races/{id}: the race's ``state``, then frames at the client's rate with only new path points.

The race's side of the live core (live/socket.py does the rest). :class:`RaceMirror` keeps each racer's
recorded path as the trainer's news arrive; a client's frame carries each racer's numbers and the points
recorded since its previous frame (or the whole path, when it was thinned since).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from fastapi import APIRouter, WebSocket
from pydantic import TypeAdapter

from ..encoding import dumps
from ..identities.access import Caller, Role, require_change
from ..identities.service import IdentityService
from ..live.hub import Client, Hub, Session
from ..live.protocol import Publish, Wants
from ..live.socket import admit, authenticate, authenticate_handshake, serve
from ..settings import Settings
from .item import RaceNews
from .schemas import RaceClientMessage, RacePatch
from .service import RaceService

router = APIRouter()
_messages: TypeAdapter[RaceClientMessage] = TypeAdapter(RaceClientMessage)
CONTROLS = frozenset({"play", "pause", "reset", "step", "set"})  # the race's owner's or the admin's only


@dataclass
class RaceMirror:
    """The newest numbers of each racer and its whole recorded path, as the news arrive."""

    news: RaceNews | None = None
    paths: list[np.ndarray] = field(default_factory=list)
    strides: list[int] = field(default_factory=list)

    def apply(self, news: RaceNews) -> None:
        paths, strides = [], []
        for index, racer in enumerate(news.racers):
            known = self.paths[index] if index < len(self.paths) else np.empty((0, 2))
            continues = (
                index < len(self.strides)
                and self.strides[index] == racer.stride
                and racer.start <= len(known)
            )
            base = known[: racer.start] if continues else np.empty((0, 2))
            paths.append(np.vstack([base, racer.points]) if len(racer.points) else base)
            strides.append(racer.stride)
        self.news, self.paths, self.strides = news, paths, strides


class RaceLive:
    """The race kind of the live core."""

    name = "race"
    progress: frozenset[str] = frozenset()  # a race's step is done at once: its frame follows the ack

    def __init__(self, service: RaceService, identities: IdentityService):
        self.service = service
        self.identities = identities

    def role_of(self, race_id: str) -> Callable[[Caller], Awaitable[Role]]:
        return lambda caller: self.service.role(race_id, caller)

    def mirror(self) -> RaceMirror:
        return RaceMirror()

    def apply(self, session: Session, publish: Publish) -> None:
        mirror: RaceMirror = session.mirror
        if publish.generation != session.generation:
            session.mirror = mirror = RaceMirror()
        mirror.apply(publish.payload)

    def wants(self, client: Client) -> Wants:
        return Wants(fps=client.fps)

    async def state(self, session: Session, client: Client) -> str:
        service = self.service
        body, generation, version, known = await session.shared(
            "",  # subscribed in the same call (live/shard.py)
            lambda: service.call(
                session.id, "state", subscriber=service.trainers.subscriber, wants=session.wants
            ),
        )
        client.generation, client.version, client.cursor = generation, version, known
        return dumps({"type": "state", "race": body})

    def notices(self, session: Session, client: Client) -> list[str]:
        return []

    def frame(self, session: Session, client: Client) -> str | None:
        """Each racer's numbers and its path points this client has not seen."""
        mirror: RaceMirror = session.mirror
        client.version = session.version
        if mirror.news is None:
            return None
        known: list[tuple[int, int]] = client.cursor or []
        racers = []
        for index, (racer, path, stride) in enumerate(
            zip(mirror.news.racers, mirror.paths, mirror.strides, strict=True)
        ):
            known_stride, known_count = known[index] if index < len(known) else (0, 0)
            if stride == known_stride and known_count <= len(path):
                racers.append({**racer.summary, "path_append": path[known_count:].tolist()})
            else:
                racers.append({**racer.summary, "path": path.tolist(), "path_stride": stride})
        client.cursor = [
            (stride, len(path)) for stride, path in zip(mirror.strides, mirror.paths, strict=True)
        ]
        news = mirror.news
        return dumps({"type": "frame", "playing": news.playing, "speed": news.speed, "racers": racers})

    async def handle(self, message: Any, session: Session, client: Client, hub: Hub) -> dict[str, Any] | None:
        kind = message.type
        if kind == "auth":
            return await authenticate(client, message.token, self.identities, self.role_of(session.id))
        if kind in CONTROLS:
            require_change(client.role, "race", session.id)  # an error message; the socket keeps streaming
        if kind in ("play", "pause", "reset"):
            await self.service.call(session.id, kind)
        elif kind == "step":
            await self.service.call(session.id, "step", steps=message.steps)
        elif kind == "set":
            patch = RacePatch.model_validate(message.model_dump(exclude={"type"}))
            await self.service.call(session.id, "patch", patch=patch.model_dump())
        elif kind == "fps":
            client.fps = message.fps
            hub.refresh_wants(session)
        return {"type": "ack", "of": kind}


@router.websocket("/ws/races/{race_id}")
async def race_stream(websocket: WebSocket, race_id: str) -> None:
    app = websocket.app
    settings: Settings = app.state.settings
    live: RaceLive = app.state.race_live
    hub: Hub = app.state.hub
    if not await admit(websocket, settings, live.service.exists(race_id), "race_id"):
        return
    client = Client(settings.default_fps)
    await authenticate_handshake(websocket, client, live.identities, live.role_of(race_id))
    session = hub.join(live, race_id, client)

    async def handle(message: Any, session: Session, client: Client) -> dict[str, Any] | None:
        return await live.handle(message, session, client, hub)

    await serve(websocket, hub, session, client, _messages, handle, settings)
