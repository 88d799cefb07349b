"""REST routes under /api/runs: runs, their controls, params, history and data."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from ...engine.config import RunConfig
from ...engine.csv_data import parse_csv
from ..encoding import csv_download, loads
from ..errors import ERRORS, NOT_AN_OBJECT, ApiError, RunNotFoundError
from ..identities.access import Caller
from ..identities.deps import CallerDep, Identities
from ..identities.schemas import AccessOut
from ..offload import Offload
from .schemas import History, Params, PlayRequest, Points, RunCreated, RunMeta, RunOut, StepRequest
from .service import RunService

router = APIRouter(prefix="/api", responses=ERRORS, tags=["runs"])

UPLOAD_FORM = {
    "multipart/form-data": {
        "schema": {
            "type": "object",
            "required": ["file"],
            "properties": {
                "file": {
                    "type": "string",
                    "format": "binary",
                    "description": "CSV with a header row; comma, semicolon or tab; class labels may be words",
                },
                "target": {"type": "string", "description": "target column name (default: the last)"},
                "config": {"type": "string", "description": "RunConfig JSON for everything but the data"},
            },
        }
    }
}
CREATE_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RunConfig"}}, **UPLOAD_FORM},
}
PATCH_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"$ref": "#/components/schemas/RunPatch"},
            "examples": {
                "lr": {"value": {"optimizer": {"lr": 0.1}}},
                "meta": {"value": {"name": "my best run", "keep_training": True}},
            },
        },
        **UPLOAD_FORM,
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


def created(body: dict[str, Any], owner: Caller) -> dict[str, Any]:
    """A create response, with the owner's ``token`` only when this request minted the identity (the
    routes answer with ``response_model_exclude_unset``: no ``token`` key otherwise)."""
    return {**body, "token": owner.token} if owner.token else body


@router.post(
    "/runs",
    status_code=201,
    response_model=RunCreated,
    response_model_exclude_unset=True,
    openapi_extra={"requestBody": CREATE_BODY},
)
async def create_run(
    request: Request, runs: Runs, offload: OffloadDep, caller: CallerDep, identities: Identities
) -> Any:
    """Create a run from a RunConfig (every field optional), or from an uploaded CSV (multipart).

    Without a token, a new identity owns the run and its token is in this response (``token``) only."""
    if _is_upload(request):
        config = await offload.io(RunConfig.model_validate, await _config_from_upload(request, runs, offload))
    else:
        body = await request.body()
        config = await offload.io(RunConfig.model_validate, _json_object(body) if body.strip() else {})
    owner = await identities.or_new(caller)
    return created(await runs.create(config, owner), owner)


def _is_upload(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("multipart/form-data")


async def _config_from_upload(request: Request, runs: RunService, offload: Offload) -> dict[str, Any]:
    """The form's ``config`` (any part of a RunConfig) with the CSV file as its custom dataset: the rows,
    the column, target and class names, and the task when the labels were words."""
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
    table = await offload.io(parse_csv, text, str(target) if target else None)
    given = base.get("dataset")
    return {**base, "dataset": {**(given if isinstance(given, dict) else {}), **table.dataset()}}


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
        raise ApiError(NOT_AN_OBJECT, field, status=422)
    return value


@router.get("/runs", response_model=list[RunOut])
async def list_runs(runs: Runs, caller: CallerDep) -> Any:
    """The caller's runs, oldest first (the admin token: every run; no token: none)."""
    return await runs.list(caller)


@router.get("/runs/{run_id}", response_model=RunOut)
async def get_run(run_id: str, runs: Runs) -> Any:
    return await runs.describe(run_id)


@router.patch("/runs/{run_id}", response_model=RunOut, openapi_extra={"requestBody": PATCH_BODY})
async def patch_run(run_id: str, request: Request, runs: Runs, offload: OffloadDep, caller: CallerDep) -> Any:
    """Merge any part of a RunConfig in between two steps; ``rebuilt`` says if the network was rebuilt.
    ``name`` renames the run; ``keep_training`` keeps it playing when nobody watches. Owner, teacher or
    admin only (403); a class's student may change only the settings the teacher left open (403).

    A CSV upload (multipart, as for POST /api/runs) makes the file the run's custom dataset, with its
    column, target and class names; the form's ``config`` is merged in the same change."""
    role = await runs.require(run_id, caller)
    if _is_upload(request):
        patch = await _config_from_upload(request, runs, offload)
    else:
        patch = await offload.io(_json_object, await request.body())
    meta = RunMeta.model_validate({key: patch.pop(key) for key in ("name", "keep_training") if key in patch})
    described = None
    renaming, bound = "name" in meta.model_fields_set, role == "owner"
    if renaming and patch:
        described = await runs.rename_and_patch(run_id, meta.name, patch, bound=bound)
    elif renaming:
        described = await runs.rename(run_id, meta.name)
    elif patch or not meta.model_fields_set:
        described = await runs.patch(run_id, patch, bound=bound)
    if meta.keep_training is not None:
        described = await runs.keep_training(run_id, meta.keep_training)
    return described


@router.delete("/runs/{run_id}", status_code=204)
async def delete_run(run_id: str, runs: Runs, caller: CallerDep) -> Response:
    await runs.require(run_id, caller)
    await runs.delete(run_id)
    return Response(status_code=204)


@router.post("/runs/{run_id}/step", response_model=RunOut)
async def step_run(run_id: str, runs: Runs, caller: CallerDep, body: StepRequest | None = None) -> Any:
    """Do ``steps`` optimizer steps now (and checkpoint the run); no body: one step."""
    await runs.require(run_id, caller)
    return await runs.step_and_describe(run_id, (body or StepRequest()).steps)


@router.post("/runs/{run_id}/play", response_model=RunOut)
async def play_run(run_id: str, runs: Runs, caller: CallerDep, body: PlayRequest | None = None) -> Any:
    """Train continuously (until paused, diverged, or unwatched for a while unless keep_training): flat
    out, or at most ``steps_per_second`` (no body: flat out)."""
    await runs.require(run_id, caller)
    return await runs.control(run_id, "play", steps_per_second=(body or PlayRequest()).steps_per_second)


@router.post("/runs/{run_id}/pause", response_model=RunOut)
async def pause_run(run_id: str, runs: Runs, caller: CallerDep) -> Any:
    await runs.require(run_id, caller)
    return await runs.control(run_id, "pause")


@router.post("/runs/{run_id}/reset", response_model=RunOut)
async def reset_run(run_id: str, runs: Runs, caller: CallerDep) -> Any:
    """Back to step 0: the same data, initial weights and batch order."""
    await runs.require(run_id, caller)
    return await runs.control(run_id, "reset")


@router.post(
    "/runs/{run_id}/fork", status_code=201, response_model=RunCreated, response_model_exclude_unset=True
)
async def fork_run(run_id: str, runs: Runs, caller: CallerDep, identities: Identities) -> Any:
    """A new run of the caller's, identical to this one now (config, weights, optimizer state, step count,
    history), which then trains on its own. Anyone with the run's id may fork it; without a token, a new
    identity owns the fork and its token is in this response only."""
    if not await runs.exists(run_id):
        raise RunNotFoundError(run_id)
    owner = await identities.or_new(caller)
    return created(await runs.fork(run_id, owner), owner)


@router.get("/runs/{run_id}/access", response_model=AccessOut)
async def run_access(run_id: str, runs: Runs, caller: CallerDep) -> Any:
    """The caller's role on the run: a dashboard shows its controls, or watches read-only."""
    role = await runs.role(run_id, caller)
    return {"role": role, "may_change": role != "watcher"}


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
        text = await runs.read(run_id, "history_csv", max_points=max_points)
        return csv_download(text, f"run-{run_id}-history.csv")
    return json_text(await runs.read(run_id, "history", max_points=max_points))


@router.get("/runs/{run_id}/points", response_model=Points)
async def get_points(run_id: str, runs: Runs) -> Response:
    """The run's training and test data (raw inputs and targets)."""
    return json_text(await runs.read(run_id, "points"))
