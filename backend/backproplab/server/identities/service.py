"""Identities: minted on request, resolved from a bearer token, counted against per-identity limits."""

from __future__ import annotations

from ..offload import Offload
from ..settings import Settings
from ..store import Store
from .access import ANONYMOUS, Caller, UnauthorizedError
from .tokens import bearer, new_identity_id, new_token, same_secret, token_hash, well_formed

UNKNOWN_TOKEN = (
    "this token is not known to this server (it may have been forgotten after a long idle time); "
    "get a new one with POST /api/identities"
)


class IdentityService:
    """Tokens in, callers out. Only the SHA-256 of a token reaches the store; no token is ever logged."""

    def __init__(self, settings: Settings, store: Store, offload: Offload):
        self.settings = settings
        self.store = store
        self.offload = offload

    async def mint(self) -> Caller:
        """A new identity; the caller carries its token so the response can hand it over once."""
        token, identity = new_token(), new_identity_id()
        await self.offload.io(self.store.insert_identity, identity, token_hash(token))
        return Caller(identity=identity, token=token)

    async def resolve(self, token: str) -> Caller:
        """The caller a token names: the admin, an identity, or 401."""
        admin = self.settings.admin_token
        if not well_formed(token):
            raise UnauthorizedError("a token is printable ASCII without spaces, at most 200 characters")
        if admin and same_secret(token, admin):
            return Caller(admin=True)
        identity = await self.offload.io(self.store.identity_by_hash, token_hash(token))
        if identity is None:
            raise UnauthorizedError(UNKNOWN_TOKEN)
        return Caller(identity=identity)

    async def from_header(self, authorization: str | None) -> Caller:
        """The caller of a request from its Authorization header (none: anonymous)."""
        try:
            token = bearer(authorization)
        except ValueError as error:
            raise UnauthorizedError(str(error)) from None
        return ANONYMOUS if token is None else await self.resolve(token)

    async def or_new(self, caller: Caller) -> Caller:
        """The caller, or a new identity when anonymous (creating something makes its owner)."""
        return caller if caller.identity is not None or caller.admin else await self.mint()

    async def forget_idle(self, before: float) -> int:
        return await self.offload.io(self.store.delete_idle_identities, before)
