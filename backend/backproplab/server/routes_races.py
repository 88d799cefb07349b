"""Test surfaces and optimizer races: REST under /api, and WS /ws/races/{id} streaming a race like a run.

The socket sends ``state`` (the whole race) first and again whenever the racers restart, then ``frame``
messages at the client's rate with each racer's numbers and only the path points it has not seen. In:
``play``, ``pause``, ``reset``, ``step``, ``set`` (a RacePatch) and ``fps``; a bad message gets an
``error`` message and the socket stays open. Locks are only ever taken in worker threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections import deque
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, FastAPI, Query, Request, WebSocket
from fastapi.responses import Response
from pydantic import TypeAdapter, ValidationError

from ..engine.errors import ConfigError
from ..engine.surfaces import MAX_CONDITION, MAX_GRID_RESOLUTION, SURFACES, get_surface, value_grid
from .errors import ApiError, dotted, field_errors
from .frames import dumps
from .landscapes import json_grid
from .races import RaceRegistry, RaceSlot, RaceSnapshot
from .routes_runs import ERRORS
from .routes_ws import admit, receive_texts
from .schemas_landscape import (
    FunctionName,
    RaceClientMessage,
    RaceCreate,
    RaceOut,
    RacePatch,
    RaceStepRequest,
    SurfaceGridOut,
    SurfaceOut,
)

router = APIRouter(responses=ERRORS, tags=["races"])
_messages: TypeAdapter[RaceClientMessage] = TypeAdapter(RaceClientMessage)
_client_ids = itertools.count(1)
MAX_REPLIES = 32


def registry_of(app: FastAPI) -> RaceRegistry:
    """The app's race registry, made on first use."""
    registry = getattr(app.state, "races", None)
    if registry is None:
        registry = app.state.races = RaceRegistry()
    return registry


def get_registry(request: Request) -> RaceRegistry:
    return registry_of(request.app)


RegistryDep = Annotated[RaceRegistry, Depends(get_registry)]


def get_race(race_id: str, registry: RegistryDep) -> RaceSlot:
    return registry.get(race_id)


RaceDep = Annotated[RaceSlot, Depends(get_race)]


@router.get("/api/surfaces", response_model=list[SurfaceOut])
async def list_surfaces() -> list[dict[str, Any]]:
    """Every test function with its domain, known minima, suggested start and colour scale."""
    return [surface.to_dict() for surface in SURFACES.values()]


@router.get("/api/surfaces/{name}/grid", response_model=SurfaceGridOut)
async def surface_grid(
    name: FunctionName,
    resolution: Annotated[int, Query(ge=2, le=MAX_GRID_RESOLUTION, description="points per axis")] = 101,
    condition: Annotated[
        float | None,
        Query(ge=1, le=MAX_CONDITION, allow_inf_nan=False, description="quadratic bowl only: κ"),
    ] = None,
) -> Any:
    """f over the surface's domain on a resolution × resolution grid, for contour plots."""
    surface = get_surface(name, condition)
    _, _, values = await asyncio.to_thread(value_grid, surface, resolution)
    finite = values[np.isfinite(values)]
    return {
        "name": name,
        "resolution": resolution,
        "x_range": list(surface.x_range),
        "y_range": list(surface.y_range),
        "values": json_grid(values),
        "value_range": [float(finite.min()), float(finite.max())],
        "log_scale": surface.log_scale,
    }


@router.post("/api/races", status_code=201, response_model=RaceOut)
async def create_race(registry: RegistryDep, body: RaceCreate | None = None) -> Any:
    """Start a race (paused): racers with their own optimizer and hyperparameters, one start point."""
    return await asyncio.to_thread(registry.create, body or RaceCreate())


@router.get("/api/races/{race_id}", response_model=RaceOut)
async def get_race_route(slot: RaceDep, registry: RegistryDep) -> Any:
    return await asyncio.to_thread(registry.describe, slot)


@router.delete("/api/races/{race_id}", status_code=204)
async def delete_race(slot: RaceDep, registry: RegistryDep) -> Response:
    await asyncio.to_thread(registry.delete, slot)
    return Response(status_code=204)


@router.post("/api/races/{race_id}/step", response_model=RaceOut)
async def step_race(slot: RaceDep, registry: RegistryDep, body: RaceStepRequest) -> Any:
    """Advance every running racer by ``steps`` now."""
    return await asyncio.to_thread(registry.step, slot, body.steps)


@router.patch("/api/races/{race_id}", response_model=RaceOut)
async def patch_race(slot: RaceDep, registry: RegistryDep, body: RacePatch) -> Any:
    """Move the start (every racer restarts there), change racers' hyperparameters live, or the speed."""
    return await asyncio.to_thread(registry.patch, slot, body)


# ---------------------------------------------------------------- WebSocket


class RaceClient:
    """One connection's rate, replies and what it has already been sent."""

    def __init__(self, fps: int):
        self.id = next(_client_ids)
        self.fps = fps
        self.replies: deque[str] = deque(maxlen=MAX_REPLIES)
        self.wake = asyncio.Event()
        self.urgent = False
        self.generation = -1
        self.version = -1
        self.known: list[tuple[int, int]] = []  # per racer: (path stride, recorded points sent)

    def reply(self, message: dict, urgent: bool = False) -> None:
        self.replies.append(dumps(message))
        self.urgent = self.urgent or urgent
        self.wake.set()

    def error(self, field: str | None, reason: str) -> None:
        self.reply({"type": "error", "message": f"{field}: {reason}" if field else reason, "field": field})


@router.websocket("/ws/races/{race_id}")
async def race_stream(websocket: WebSocket, race_id: str) -> None:
    settings = websocket.app.state.settings
    registry = registry_of(websocket.app)
    slot = await admit(websocket, settings, registry.slots, race_id, "race_id")
    if slot is None:
        return
    client = RaceClient(settings.default_fps)
    registry.watch(slot, client.id, asyncio.get_running_loop(), client.wake)
    tasks = {
        asyncio.create_task(
            receive_texts(websocket, client.reply, lambda text: _handle(text, registry, slot, client))
        ),
        asyncio.create_task(_send_loop(websocket, registry, slot, client, settings.send_timeout)),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.to_thread(registry.unwatch, slot, client.id)


async def _handle(text: str, registry: RaceRegistry, slot: RaceSlot, client: RaceClient) -> None:
    """Apply one client message; any problem becomes an error message and the socket stays open."""
    try:
        message = _messages.validate_python(json.loads(text))
    except json.JSONDecodeError as error:
        client.error(None, f"invalid JSON: {error}")
        return
    except ValidationError as error:
        item = error.errors()[0]
        tagged = item["type"] not in ("union_tag_invalid", "union_tag_not_found", "model_type")
        field = dotted(item["loc"][1:]) if tagged else "type" if item["type"] != "model_type" else None
        client.error(field, item["msg"])
        return
    kind = message.type
    try:
        if kind in ("play", "pause"):
            await asyncio.to_thread(registry.play, slot, kind == "play")
        elif kind == "reset":
            await asyncio.to_thread(registry.reset, slot)
        elif kind == "step":
            await asyncio.to_thread(registry.step, slot, message.steps)
        elif kind == "set":
            patch = RacePatch.model_validate(message.model_dump(exclude={"type"}))
            await asyncio.to_thread(registry.patch, slot, patch)
        elif kind == "fps":
            client.fps = message.fps
    except (ConfigError, ValidationError, ApiError) as error:
        problem = field_errors(error)[0]
        client.error(problem["field"], str(problem["reason"]))
        return
    client.reply({"type": "ack", "of": kind}, urgent=True)


async def _send_loop(
    websocket: WebSocket, registry: RaceRegistry, slot: RaceSlot, client: RaceClient, timeout: float
) -> None:
    """Replies at once; a frame when one is due and the race has a newer snapshot (never queued)."""
    loop = asyncio.get_running_loop()
    due = loop.time()

    async def send(text: str) -> None:
        async with asyncio.timeout(timeout):  # a client that stopped reading is dropped
            await websocket.send_text(text)

    while True:
        snapshot = slot.snapshot
        fresh = snapshot.version > client.version
        if not client.replies and not slot.deleted and snapshot.generation == client.generation:
            if fresh and not client.urgent and loop.time() < due:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(due - loop.time()):
                        await client.wake.wait()
            elif not fresh:
                await client.wake.wait()
        client.wake.clear()
        while client.replies:
            await send(client.replies.popleft())
        if slot.deleted:
            await send(dumps({"type": "error", "message": "the race was deleted", "field": None}))
            await websocket.close(code=1000)
            return
        now = loop.time()
        if client.generation != slot.snapshot.generation:
            body, snapshot = await asyncio.to_thread(registry.state, slot)
            await send(dumps({"type": "state", "race": body}))
            client.generation, client.version = snapshot.generation, snapshot.version
            client.known = [
                (stride, len(path)) for stride, path in zip(snapshot.strides, snapshot.paths, strict=True)
            ]
            due = now + 1.0 / client.fps
            continue
        snapshot = slot.snapshot
        if snapshot.version <= client.version or not (client.urgent or now >= due):
            continue
        client.urgent = False
        await send(_frame(snapshot, client))
        period = 1.0 / client.fps
        due = max(due + period, now + period / 2)


def _frame(snapshot: RaceSnapshot, client: RaceClient) -> str:
    """A frame with each racer's new path points (or its whole path after it was thinned)."""
    racers = []
    for index, (summary, path, stride) in enumerate(
        zip(snapshot.racers, snapshot.paths, snapshot.strides, strict=True)
    ):
        known_stride, known_count = client.known[index] if index < len(client.known) else (0, 0)
        if stride == known_stride and known_count <= len(path):
            racers.append({**summary, "path_append": _points(path[known_count:])})
        else:
            racers.append({**summary, "path": _points(path), "path_stride": stride})
    client.known = [
        (stride, len(path)) for stride, path in zip(snapshot.strides, snapshot.paths, strict=True)
    ]
    client.version = snapshot.version
    return dumps({"type": "frame", "playing": snapshot.playing, "speed": snapshot.speed, "racers": racers})


def _points(points: tuple[np.ndarray, ...]) -> list[list[float]]:
    return np.array(points).reshape(-1, 2).tolist()
