"""REST routes under /api: runs, their controls, params, history, data and gradient check."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from starlette.datastructures import UploadFile

from ..engine.config import RunConfig
from ..engine.csv_data import parse_csv
from .errors import ApiError
from .manager import Manager
from .schemas import ErrorResponse, Health, History, Params, Points, RunOut, StepRequest
from .slot import Slot

ERRORS = {status: {"model": ErrorResponse} for status in (404, 413, 422, 429)}
router = APIRouter(prefix="/api", responses=ERRORS)

CREATE_BODY = {
    "required": False,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/RunConfig"}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {"type": "string", "format": "binary", "description": "CSV with a header row"},
                    "target": {"type": "string", "description": "target column name (default: the last)"},
                    "config": {"type": "string", "description": "RunConfig JSON for everything but the data"},
                },
            }
        },
    },
}


def get_manager(request: Request) -> Manager:
    return request.app.state.manager


def get_slot(run_id: str, manager: Annotated[Manager, Depends(get_manager)]) -> Slot:
    return manager.get(run_id)


ManagerDep = Annotated[Manager, Depends(get_manager)]
SlotDep = Annotated[Slot, Depends(get_slot)]


@router.get("/health", response_model=Health, tags=["health"])
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.post("/runs", status_code=201, response_model=RunOut, openapi_extra={"requestBody": CREATE_BODY})
async def create_run(request: Request, manager: ManagerDep) -> dict[str, Any]:
    """Create a run from a RunConfig (every field optional), or from an uploaded CSV (multipart)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        config = await _config_from_upload(request, manager)
    else:
        body = await request.body()
        config = RunConfig.model_validate(_json_object(body) if body.strip() else {})
    slot = await manager.call(manager.create, config)
    return await manager.call(manager.describe, slot)


async def _config_from_upload(request: Request, manager: Manager) -> RunConfig:
    form = await request.form(max_files=1, max_fields=10, max_part_size=manager.settings.max_body_bytes)
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError("a CSV file is required as the multipart field 'file'", "file", status=422)
    text = await upload.read()
    base = _json_object(str(form.get("config") or "{}").encode(), "config")
    target = form.get("target")
    X, y, _names = await manager.call(parse_csv, text, str(target) if target else None)
    dataset = {**(base.get("dataset") or {}), "kind": "custom", "X": X.tolist(), "y": y.tolist()}
    return await manager.call(RunConfig.model_validate, {**base, "dataset": dataset})


def _json_object(raw: bytes, field: str | None = None) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(f"not valid JSON ({error})", field, status=422) from None
    if not isinstance(value, dict):
        raise ApiError("must be a JSON object", field, status=422)
    return value


@router.get("/runs", response_model=list[RunOut])
async def list_runs(manager: ManagerDep) -> list[dict[str, Any]]:
    return await manager.call(manager.describe_all)


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(slot: SlotDep, manager: ManagerDep) -> dict[str, Any]:
    return await manager.call(manager.describe, slot)


@router.patch("/runs/{run_id}", response_model=RunOut)
async def patch_run(
    slot: SlotDep,
    manager: ManagerDep,
    patch: Annotated[
        dict[str, Any],
        Body(description="any part of a RunConfig", examples=[{"optimizer": {"lr": 0.1}}]),
    ],
) -> dict[str, Any]:
    """Merge any part of a RunConfig in between two steps; ``rebuilt`` says if the network was rebuilt."""
    rebuilt = await manager.call(manager.patch, slot, patch)
    return await manager.call(manager.describe, slot, rebuilt)


@router.delete("/runs/{run_id}", status_code=204)
async def delete_run(slot: SlotDep, manager: ManagerDep) -> Response:
    await manager.call(manager.delete, slot)
    return Response(status_code=204)


@router.post("/runs/{run_id}/step", response_model=RunOut)
async def step_run(slot: SlotDep, manager: ManagerDep, body: StepRequest) -> dict[str, Any]:
    """Do ``steps`` optimizer steps now (and checkpoint the run)."""
    await manager.call(manager.step, slot, body.steps)
    return await manager.call(manager.describe, slot)


@router.post("/runs/{run_id}/play", response_model=RunOut)
async def play_run(slot: SlotDep, manager: ManagerDep) -> dict[str, Any]:
    await manager.call(manager.play, slot)
    return await manager.call(manager.describe, slot)


@router.post("/runs/{run_id}/pause", response_model=RunOut)
async def pause_run(slot: SlotDep, manager: ManagerDep) -> dict[str, Any]:
    await manager.call(manager.pause, slot)
    return await manager.call(manager.describe, slot)


@router.post("/runs/{run_id}/reset", response_model=RunOut)
async def reset_run(slot: SlotDep, manager: ManagerDep) -> dict[str, Any]:
    await manager.call(manager.reset, slot)
    return await manager.call(manager.describe, slot)


@router.get("/runs/{run_id}/params", response_model=Params)
async def get_params(slot: SlotDep, manager: ManagerDep) -> JSONResponse:
    """Weights, biases and the last step's gradients, per layer from the input side."""
    return JSONResponse(await manager.call(manager.params, slot))


@router.get(
    "/runs/{run_id}/history",
    response_model=History,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def get_history(
    slot: SlotDep,
    manager: ManagerDep,
    format: Literal["json", "csv"] = "json",
    max_points: Annotated[
        int | None, Query(ge=2, le=1_000_000, description="downsample to at most this")
    ] = None,
) -> Response:
    """Every recorded step's metrics (a faithful downsample with ``max_points``), as JSON columns or CSV."""
    if format == "csv":
        text = await manager.call(manager.history_csv, slot, max_points)
        return PlainTextResponse(text, media_type="text/csv")
    return JSONResponse(await manager.call(manager.history, slot, max_points))


@router.get("/runs/{run_id}/points", response_model=Points)
async def get_points(slot: SlotDep, manager: ManagerDep) -> JSONResponse:
    """The run's training and test data (raw inputs and targets)."""
    return JSONResponse(await manager.call(manager.points, slot))


@router.get("/runs/{run_id}/gradcheck", response_model=dict[str, Any])
async def gradcheck(
    slot: SlotDep,
    manager: ManagerDep,
    samples: Annotated[int, Query(ge=1, le=100, description="training rows to check on")] = 8,
    h: Annotated[float, Query(gt=0, le=0.1, description="central-difference step")] = 1e-5,
) -> JSONResponse:
    """Backprop's gradient of every weight and input next to the central difference (L(θ+h) − L(θ−h)) / 2h."""
    return JSONResponse(await manager.call(manager.gradcheck, slot, samples, h))
