"""GET /api/health: what a container's healthcheck and an operator ask.

``degraded`` (still 200: the server answers, reads work) names each problem, e.g. a trainer that is
restarting or a Ray cluster that cannot be reached, where changes to runs answer 503 until it is back.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict

router = APIRouter(prefix="/api", tags=["health"])


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok", "degraded"] = "ok"
    problems: list[str] | None = None  # only when degraded


@router.get("/health", response_model=Health, response_model_exclude_none=True)
async def health(request: Request) -> Health:
    trainers = getattr(request.app.state, "trainers", None)
    problems = [
        f"trainer {entry['index']} is unavailable" + (f": {entry['reason']}" if entry.get("reason") else "")
        for entry in (trainers.status() if trainers is not None else [])
        if not entry["alive"]
    ]
    return Health(status="degraded", problems=problems) if problems else Health()
