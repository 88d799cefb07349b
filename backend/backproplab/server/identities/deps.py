"""FastAPI dependencies: the caller of a request, from its ``Authorization: Bearer`` header."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from .access import Caller
from .service import IdentityService

# Documents the scheme in OpenAPI ("Authorize" in /docs); the header is parsed by IdentityService.
_scheme = HTTPBearer(auto_error=False, description="a token from POST /api/identities (or a create response)")


def get_identities(request: Request) -> IdentityService:
    service: IdentityService = request.app.state.identities
    return service


async def get_caller(request: Request, _: Annotated[object, Depends(_scheme)] = None) -> Caller:
    """Who makes the request: anonymous without a token, 401 for a token this server does not know."""
    return await get_identities(request).from_header(request.headers.get("authorization"))


Identities = Annotated[IdentityService, Depends(get_identities)]
CallerDep = Annotated[Caller, Depends(get_caller)]
