"""GET /api/health: what a container's healthcheck and an operator ask — is the server up, how are its
trainers, and can it keep what it is given.

``ok`` when the store and every trainer work; ``degraded`` (still 200: reads are served) with the reason
when they do not: a full or read-only disk (checkpoints wait and resume by themselves), a trainer that is
not running, or runs that could not be salvaged or restored from a damaged database. The web process
knows its own store writes; each trainer reports its own (live/protocol.py ``Status``).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from .store import Store, StoreHealth

router = APIRouter(prefix="/api", tags=["health"])
PROBE_EVERY = 2.0  # seconds between probes of a failing store from this route


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainerHealth(_Model):
    index: int = Field(description="the shard this trainer owns")
    alive: bool
    restarts: int = Field(description="times it was started again after it stopped")


class Problem(_Model):
    where: str = Field(description='"store" (the web process) or "trainer <n>"')
    kind: Literal["full", "read_only", "damaged", "unavailable", "stopped"]
    reason: str
    since: float | None = Field(None, description="Unix time the problem began")


class Health(_Model):
    status: Literal["ok", "degraded"] = "ok"
    reason: str | None = Field(None, description="why the server is degraded, in words")
    trainers: list[TrainerHealth] = Field(default_factory=list)
    problems: list[Problem] = Field(default_factory=list)
    lost_runs: list[str] = Field(
        default_factory=list, description="runs that could not be salvaged or restored from the database"
    )


class StoreWatch:
    """The web process's store health, probed (at most every PROBE_EVERY seconds) while it fails."""

    def __init__(self, store: Store):
        self.store = store
        self.probed = 0.0

    def health(self) -> StoreHealth:
        health = self.store.health()
        now = time.monotonic()
        if not health.ok and now - self.probed >= PROBE_EVERY:
            self.probed = now
            health = self.store.probe()
        return health


def assess(store: StoreHealth, trainers: list[dict[str, Any]]) -> Health:
    """The health the route answers, from the web process's store and its trainers' reports."""
    problems: list[Problem] = []
    lost = set(store.lost)
    if not store.ok:
        kind = store.kind or "unavailable"
        problems.append(Problem(where="store", kind=kind, reason=store.reason or kind, since=store.since))
    for trainer in trainers:
        where = f"trainer {trainer['index']}"
        if not trainer["alive"]:
            problems.append(Problem(where=where, kind="stopped", reason=f"{where} is not running"))
            continue
        reported: StoreHealth = trainer["store"]
        lost.update(reported.lost)
        if not reported.ok:
            kind = reported.kind or "unavailable"
            reason = f"checkpoints cannot be written: {reported.reason or kind}"
            problems.append(Problem(where=where, kind=kind, reason=reason, since=reported.since))
    reasons = list(dict.fromkeys(problem.reason for problem in problems))  # one per reason, in order
    if lost:
        reasons.append(
            f"{len(lost)} run(s) could not be restored from the database: {', '.join(sorted(lost))}"
        )
    listed = [TrainerHealth(index=t["index"], alive=t["alive"], restarts=t["restarts"]) for t in trainers]
    if not reasons:
        return Health(trainers=listed)
    return Health(
        status="degraded",
        reason="; ".join(reasons),
        trainers=listed,
        problems=problems,
        lost_runs=sorted(lost),
    )


@router.get("/health", response_model=Health)
async def health(request: Request) -> Health:
    state = request.app.state
    store = await state.offload.io(state.store_watch.health)
    return assess(store, state.trainers.status())
