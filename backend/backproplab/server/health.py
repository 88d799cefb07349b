"""GET /api/health: what a container's healthcheck and an operator ask — is the server up, and how are
its trainers."""

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


class Health(_Model):
    status: Literal["ok"] = "ok"
    trainers: list[TrainerHealth] = Field(default_factory=list)


def get_trainers(request: Request) -> Trainers:
    trainers: Trainers = request.app.state.trainers
    return trainers


@router.get("/health", response_model=Health)
async def health(trainers: Annotated[Trainers, Depends(get_trainers)]) -> Health:
    return Health(trainers=[TrainerHealth(**worker) for worker in trainers.status()])
