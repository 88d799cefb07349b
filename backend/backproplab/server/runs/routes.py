"""REST routes under /api/runs: runs, their controls, params, history and data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...engine.config import RunConfig
from ...engine.csv_data import parse_csv
from ..encoding import loads
from ..errors import ERRORS, ApiError
from ..offload import Offload
from .schemas import History, Params, Points, RunOut, StepRequest
from .service import RunService

router = APIRouter(prefix="/api", responses=ERRORS, tags=["runs"])

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


def get_runs(request: Request) -> RunService:
    service: RunService = request.app.state.runs
    return service


def get_offload(request: Request) -> Offload:
    offload: Offload = request.app.state.offload
    return offload


Runs = Annotated[RunService, Depends(get_runs)]
OffloadDep = Annotated[Offload, Depends(get_offload)]


def json_text(text: str) -> Response:
    """A JSON body the trainer already encoded."""
    return Response(text, media_type="application/json")


@router.post("/runs", status_code=201, response_model=RunOut, openapi_extra={"requestBody": CREATE_BODY})
async def create_run(request: Request, runs: Runs, offload: OffloadDep) -> Any:
    """Create a run from a RunConfig (every field optional), or from an uploaded CSV (multipart)."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        config = await _config_from_upload(request, runs, offload)
    else:
        body = await request.body()
        config = await offload.io(RunConfig.model_validate, _json_object(body) if body.strip() else {})
    return await runs.create(config)


async def _config_from_upload(request: Request, runs: RunService, offload: Offload) -> RunConfig:
    try:
        form = await request.form(max_files=1, max_fields=10, max_part_size=runs.settings.max_body_bytes)
    except StarletteHTTPException as error:  # the multipart parser's limits (Starlette answers 400)
        raise upload_error(str(error.detail)) from None
    upload = form.get("file")
    if not isinstance(upload, UploadFile):
        raise ApiError("a CSV file is required as the multipart field 'file'", "file", status=422)
    text = await upload.read()
    base = _json_object(str(form.get("config") or "{}").encode(), "config")
    target = form.get("target")
    X, y, _names = await offload.io(parse_csv, text, str(target) if target else None)
    dataset = {**(base.get("dataset") or {}), "kind": "custom", "X": X.tolist(), "y": y.tolist()}
    return await offload.io(RunConfig.model_validate, {**base, "dataset": dataset})


def upload_error(detail: str) -> ApiError:
    """A multipart limit Starlette enforced, as the API's error naming the part at fault."""
    if "files" in detail:
        return ApiError(f"{detail} (one CSV file per upload)", "file", status=422)
    if "fields" in detail:
        return ApiError(f"{detail} (file, target and config only)", "form", status=422)
    if "size" in detail:
        return ApiError(detail, "file", status=413)
    return ApiError(detail, "form", status=422)


def _json_object(raw: bytes, field: str = "body") -> dict[str, Any]:
    value = loads(raw, field)
    if not isinstance(value, dict):
        raise ApiError("must be a JSON object", field, status=422)
    return value


@router.get("/runs", response_model=list[RunOut])
async def list_runs(runs: Runs) -> Any:
    return await runs.list()


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: str, runs: Runs) -> Any:
    return await runs.describe(run_id)


@router.patch("/runs/{run_id}", response_model=RunOut)
async def patch_run(
    run_id: str,
    runs: Runs,
    patch: Annotated[
        dict[str, Any],
        Body(description="any part of a RunConfig", examples=[{"optimizer": {"lr": 0.1}}]),
    ],
) -> Any:
    """Merge any part of a RunConfig in between two steps; ``rebuilt`` says if the network was rebuilt."""
    return await runs.patch(run_id, patch)


@router.delete("/runs/{run_id}", status_code=204)
async def delete_run(run_id: str, runs: Runs) -> Response:
    await runs.delete(run_id)
    return Response(status_code=204)


@router.post("/runs/{run_id}/step", response_model=RunOut)
async def step_run(run_id: str, runs: Runs, body: StepRequest) -> Any:
    """Do ``steps`` optimizer steps now (and checkpoint the run)."""
    await runs.step(run_id, body.steps)
    return await runs.describe(run_id)


@router.post("/runs/{run_id}/play", response_model=RunOut)
async def play_run(run_id: str, runs: Runs) -> Any:
    """Train continuously (until paused, diverged, or unwatched for a while unless keep_training)."""
    return await runs.control(run_id, "play")


@router.post("/runs/{run_id}/pause", response_model=RunOut)
async def pause_run(run_id: str, runs: Runs) -> Any:
    return await runs.control(run_id, "pause")


@router.post("/runs/{run_id}/reset", response_model=RunOut)
async def reset_run(run_id: str, runs: Runs) -> Any:
    """Back to step 0: the same data, initial weights and batch order."""
    return await runs.control(run_id, "reset")


@router.get("/runs/{run_id}/params", response_model=Params)
async def get_params(run_id: str, runs: Runs) -> Response:
    """Weights, biases and the last step's gradients, per layer from the input side."""
    return json_text(await runs.read(run_id, "params"))


@router.get(
    "/runs/{run_id}/history",
    response_model=History,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def get_history(
    run_id: str,
    runs: Runs,
    format: Literal["json", "csv"] = "json",
    max_points: Annotated[
        int | None, Query(ge=2, le=1_000_000, description="downsample to at most this")
    ] = None,
) -> Response:
    """Every recorded step's metrics (a faithful downsample with ``max_points``), as JSON columns or CSV."""
    if format == "csv":
        return PlainTextResponse(
            await runs.read(run_id, "history_csv", max_points=max_points), media_type="text/csv"
        )
    return json_text(await runs.read(run_id, "history", max_points=max_points))


@router.get("/runs/{run_id}/points", response_model=Points)
async def get_points(run_id: str, runs: Runs) -> Response:
    """The run's training and test data (raw inputs and targets)."""
    return json_text(await runs.read(run_id, "points"))
