"""POST /api/identities (a new bearer token) and GET /api/identities/me."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from ..errors import ERRORS
from .deps import CallerDep, Identities
from .schemas import IdentityOut, MeOut

router = APIRouter(prefix="/api", responses=ERRORS, tags=["identities"])


@router.post("/identities", status_code=201, response_model=IdentityOut)
async def create_identity(identities: Identities) -> Any:
    """A new identity: its token is in this response only (the server keeps just its SHA-256)."""
    caller = await identities.mint()
    return {"token": caller.token}


@router.get("/identities/me", response_model=MeOut)
async def me(caller: CallerDep, identities: Identities) -> Any:
    """Which identity the token names, and how many runs it owns of how many it may."""
    settings = identities.settings
    owned = 0
    if caller.owner_id is not None:
        owned = await identities.offload.io(identities.store.count_runs, caller.owner_id)
    return {
        "id": caller.identity,
        "admin": caller.admin,
        "runs": owned,
        "max_runs": None if caller.admin else settings.max_runs_per_identity,
    }
