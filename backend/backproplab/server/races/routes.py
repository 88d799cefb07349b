"""Test surfaces and optimizer races under /api (the race WebSocket is races/live.py)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ...engine.surfaces import MAX_CONDITION, MAX_GRID_RESOLUTION, SURFACES, get_surface, value_grid
from ..errors import ERRORS
from ..identities.deps import CallerDep, Identities
from ..identities.schemas import AccessOut
from ..landscape.service import json_grid
from ..runs.routes import created
from .schemas import (
    FunctionName,
    RaceCreate,
    RaceCreated,
    RaceOut,
    RacePatch,
    RaceStepRequest,
    SurfaceGridOut,
    SurfaceOut,
)
from .service import RaceService

router = APIRouter(responses=ERRORS, tags=["races"])


def get_races(request: Request) -> RaceService:
    service: RaceService = request.app.state.races
    return service


Races = Annotated[RaceService, Depends(get_races)]


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


@router.post("/api/races", status_code=201, response_model=RaceCreated, response_model_exclude_unset=True)
async def create_race(
    races: Races, caller: CallerDep, identities: Identities, body: RaceCreate | None = None
) -> Any:
    """Start a race (paused): racers with their own optimizer and hyperparameters, one start point.
    Without a token, a new identity owns the race and its token is in this response only."""
    owner = await identities.or_new(caller)
    return created(await races.create(body or RaceCreate(), owner), owner)


@router.get("/api/races/{race_id}", response_model=RaceOut)
async def get_race(race_id: str, races: Races) -> Any:
    return await races.call(race_id, "describe")


@router.get("/api/races/{race_id}/access", response_model=AccessOut)
async def race_access(race_id: str, races: Races, caller: CallerDep) -> Any:
    """The caller's role on the race (owner, admin or watcher)."""
    role = await races.role(race_id, caller)
    return {"role": role, "may_change": role != "watcher"}


@router.delete("/api/races/{race_id}", status_code=204)
async def delete_race(race_id: str, races: Races, caller: CallerDep) -> Response:
    await races.require(race_id, caller)
    await races.delete(race_id)
    return Response(status_code=204)


@router.post("/api/races/{race_id}/step", response_model=RaceOut)
async def step_race(
    race_id: str, races: Races, caller: CallerDep, body: RaceStepRequest | None = None
) -> Any:
    """Advance every running racer by ``steps`` now (the race's owner or the admin)."""
    await races.require(race_id, caller)
    return await races.call(race_id, "step", steps=(body or RaceStepRequest()).steps)


@router.patch("/api/races/{race_id}", response_model=RaceOut)
async def patch_race(race_id: str, races: Races, body: RacePatch, caller: CallerDep) -> Any:
    """Move the start (every racer restarts there), change racers' hyperparameters live, or the speed."""
    await races.require(race_id, caller)
    return await races.call(race_id, "patch", patch=body.model_dump())
