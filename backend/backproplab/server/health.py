"""GET /api/health: what a container's healthcheck and an operator ask.

``ok`` when the store and every trainer work; ``degraded`` (still 200: reads are served) with the reason
when they do not: a full or read-only disk (checkpoints wait and resume by themselves), a trainer that is
restarting, or runs that could not be salvaged from a damaged database. The web process knows its own
store writes; each trainer reports its own (live/protocol.py ``Status``).
"""

from __future__ import annotations

import time
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from .store import Store, StoreHealth

router = APIRouter(prefix="/api", tags=["health"])
PROBE_EVERY = 2.0  # seconds between probes of a failing store from this route


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")
    where: str = Field(description='"store" (the web process) or "trainer <n>"')
    kind: Literal["full", "read_only", "damaged", "unavailable", "restarting"]
    reason: str
    since: float | None = Field(None, description="Unix time the problem began")


class Health(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["ok", "degraded"] = "ok"
    reason: str | None = Field(None, description="why the server is degraded, in words")
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
        problems.append(
            Problem(
                where="store", kind=store.kind or "unavailable", reason=store.reason or "", since=store.since
            )
        )
    for trainer in trainers:
        where = f"trainer {trainer['index']}"
        if not trainer["alive"]:
            problems.append(Problem(where=where, kind="restarting", reason=f"{where} is restarting"))
            continue
        reported: StoreHealth = trainer["store"]
        lost.update(reported.lost)
        if not reported.ok:
            problems.append(
                Problem(
                    where=where,
                    kind=reported.kind or "unavailable",
                    reason=f"checkpoints cannot be written: {reported.reason}",
                    since=reported.since,
                )
            )
    reasons = [problem.reason for problem in _distinct(problems)]
    if lost:
        reasons.append(
            f"{len(lost)} run(s) could not be restored from the database: {', '.join(sorted(lost))}"
        )
    if not reasons:
        return Health(status="ok")  # exactly {"status": "ok"}: the route leaves out what is unset
    return Health(status="degraded", reason="; ".join(reasons), problems=problems, lost_runs=sorted(lost))


def _distinct(problems: list[Problem]) -> list[Problem]:
    """One problem per reason (every trainer says the same about one full disk)."""
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(problem.reason, problem)
    return list(seen.values())


@router.get("/health", response_model=Health, response_model_exclude_unset=True)
async def health(request: Request) -> Health:
    state = request.app.state
    store = await state.offload.io(state.store_watch.health)
    return assess(store, state.trainers.status())
