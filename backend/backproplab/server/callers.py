"""Who is calling: the one key every per-identity limit counts by (heavy reads, fair share, rates).

An authenticated caller is its identity (``request.state.identity``, set from the bearer token; a
WebSocket's ``Client.identity``, set by its ``auth`` message); anyone else is their address,
``"ip:<host>"``. A class behind one NAT shares an address, which is why identities come first.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request


def caller_key(connection: HTTPConnection, identity: str | None = None) -> str:
    """``identity`` when given (a WebSocket client's), else the request's identity, else ``ip:<host>``."""
    if identity:
        return identity
    known = getattr(connection.state, "identity", None)
    if known:
        return str(known)
    client = connection.client
    return f"ip:{client.host if client else 'unknown'}"


async def request_caller_key(request: Request) -> str:
    """``caller_key`` of a REST request, its bearer token resolved to its identity (401 for a token this
    server does not know, as the routes that need a caller answer)."""
    caller = await request.app.state.identities.from_header(request.headers.get("authorization"))
    return caller_key(request, caller.owner_id)
