"""Pydantic models of identities and access (REST bodies and responses)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from .access import Role


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IdentityOut(_Model):
    """A new identity. Keep the token secret: it is shown once and is the only key to what it owns."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "bpl_3q2Jx…"}]})
    token: str = Field(description="send as 'Authorization: Bearer <token>'; never put it in a URL")


class MeOut(_Model):
    """The caller as this server sees it."""

    id: str | None = Field(description="the identity's public id (null: no token sent)")
    admin: bool
    runs: int = Field(description="runs this identity owns")
    max_runs: int | None = Field(description="how many it may own (null: no limit, the admin)")


class AccessOut(_Model):
    """The caller's role on a run or race: anything but ``watcher`` may change it."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"role": "owner", "may_change": True}]})
    role: Role
    may_change: bool
