"""REST routes under /api/classes: create a class, join it with its code, and the teacher's view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse

from ..encoding import csv_download
from ..errors import ERRORS
from ..identities.deps import CallerDep, Identities
from ..identities.tokens import bearer
from ..runs.routes import created
from ..runs.schemas import RunCreated
from ..store import ClassRecord
from .export import class_csv
from .schemas import ClassCreate, ClassCreated, ClassInfo, ClassOut, ClassPatch, JoinRequest
from .service import ClassService

router = APIRouter(prefix="/api", responses=ERRORS, tags=["classes"])


def get_classes(request: Request) -> ClassService:
    service: ClassService = request.app.state.classes
    return service


Classes = Annotated[ClassService, Depends(get_classes)]


async def get_class(class_id: str, classes: Classes, caller: CallerDep) -> ClassRecord:
    """The class, for its teacher or the admin (403 for anyone else)."""
    return await classes.get(class_id, caller)


TaughtClass = Annotated[ClassRecord, Depends(get_class)]


def info(group: ClassRecord) -> dict[str, Any]:
    """The ClassInfo body; a custom dataset's rows are left out, as in a Run (they can be large)."""
    dataset = {**group.config.get("dataset", {}), "X": None, "y": None}
    return {
        "id": group.id,
        "code": group.code,
        "name": group.name,
        "created": group.created,
        "config": {**group.config, "dataset": dataset},
        "allowed": group.allowed,
    }


@router.post("/classes", status_code=201, response_model=ClassCreated)
async def create_class(
    request: Request, body: ClassCreate, classes: Classes, caller: CallerDep, identities: Identities
) -> Any:
    """A new class taught by the caller (without a token: a new identity, whose token this returns)."""
    teacher = await identities.or_new(caller)
    group = await classes.create(body, teacher)
    token = teacher.token or bearer(request.headers.get("authorization"))
    return {**info(group), "teacher_token": token}


@router.get("/classes", response_model=list[ClassInfo])
async def list_classes(classes: Classes, caller: CallerDep) -> Any:
    """The classes the caller teaches, oldest first (the admin: every class)."""
    return [info(group) for group in await classes.taught(caller)]


@router.get("/classes/{class_id}", response_model=ClassOut)
async def get_class_route(group: TaughtClass, classes: Classes) -> Any:
    """The class and every student's run, live (teacher or admin)."""
    return {**info(group), "students": await classes.students(group)}


@router.patch("/classes/{class_id}", response_model=ClassOut)
async def patch_class(group: TaughtClass, body: ClassPatch, classes: Classes) -> Any:
    """Rename, change what students may change (``allowed``), or push part of a setup (``config``) to
    every student's run now (teacher or admin); ``pushed`` says how many runs took it."""
    updated, pushed = await classes.update(group, body)
    return {**info(updated), "students": await classes.students(updated), "pushed": pushed}


@router.delete("/classes/{class_id}", status_code=204)
async def delete_class(group: TaughtClass, classes: Classes) -> Response:
    """End the class; students keep their runs (teacher or admin)."""
    await classes.delete(group)
    return Response(status_code=204)


@router.get(
    "/classes/{class_id}/export",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def export_class(group: TaughtClass, classes: Classes) -> Response:
    """Every student's final metrics and config, one row per run (teacher or admin)."""
    return csv_download(class_csv(await classes.students(group)), f"class-{group.code}.csv")


@router.post(
    "/classes/{code}/join",
    status_code=201,
    response_model=RunCreated,
    response_model_exclude_unset=True,
    responses={200: {"model": RunCreated, "description": "the caller had joined already: their run"}},
)
async def join_class(
    code: str,
    response: Response,
    classes: Classes,
    caller: CallerDep,
    body: JoinRequest | None = None,
) -> Any:
    """Join with the class's code: a run of the caller's own from the class's setup (201), or the run they
    already have in it (200; renamed when ``name`` is a new one). Without a token, a new identity joins, and
    its token is in this response. Names are unique in a class, compared without case: 409 for one that
    another student has."""
    run, new, student = await classes.join(code, caller, body.name if body else None)
    if not new:
        response.status_code = 200
    return created(run, student)
