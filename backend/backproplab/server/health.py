"""GET /api/health: what a container's healthcheck and an operator ask — is the server up, and how are
its trainers. ``degraded`` (still 200: the server answers and reads work) names each problem, such as a
trainer that is restarting or a Ray cluster that cannot be reached (changes to runs answer 503 meanwhile).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from .live.trainers import Trainers

router = APIRouter(prefix="/api", tags=["health"])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainerHealth(_Model):
    index: int = Field(description="the shard this trainer owns")
    alive: bool
    restarts: int = Field(description="times it was started again after it stopped")
    reason: str | None = Field(default=None, description="why it is unavailable, when it is")


class Health(_Model):
    status: Literal["ok", "degraded"] = "ok"
    problems: list[str] = Field(default_factory=list, description="what is wrong, when degraded")
    trainers: list[TrainerHealth] = Field(default_factory=list)


def get_trainers(request: Request) -> Trainers:
    trainers: Trainers = request.app.state.trainers
    return trainers


@router.get("/health", response_model=Health)
async def health(trainers: Annotated[Trainers, Depends(get_trainers)]) -> Health:
    workers = [TrainerHealth(**worker) for worker in trainers.status()]
    problems = [
        f"trainer {worker.index} is unavailable" + (f": {worker.reason}" if worker.reason else "")
        for worker in workers
        if not worker.alive
    ]
    return Health(status="degraded" if problems else "ok", problems=problems, trainers=workers)
