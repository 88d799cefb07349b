"""Who may do what: a caller (an identity, the admin, or nobody) and their role on a thing.

Reading or watching needs only the thing's id. Changing it needs a role other than ``watcher``: its
``owner``, the ``teacher`` of the class a run belongs to, or the server's ``admin``. A class's student is
the owner of their run, bound by the class's locked settings; a teacher or the admin is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import ApiError

Role = Literal["owner", "teacher", "admin", "watcher"]
ADMIN = "admin"  # the owner id of what the admin token creates (identity ids are 16 random characters)


@dataclass(frozen=True)
class Caller:
    """Who makes a request. ``token`` is set only when this request minted the identity (to return it)."""

    identity: str | None = None
    admin: bool = False
    token: str | None = None

    @property
    def owner_id(self) -> str | None:
        """What the owner column of something this caller creates holds."""
        return ADMIN if self.admin else self.identity


ANONYMOUS = Caller()


class ForbiddenError(ApiError):
    status = 403

    def __init__(self, reason: str, field: str | None = "token"):
        super().__init__(reason, field)


class UnauthorizedError(ApiError):
    status = 401

    def __init__(self, reason: str):
        super().__init__(reason, "token")


def role_of(caller: Caller, owner: str | None, teacher: str | None = None) -> Role:
    """The caller's role on something owned by ``owner`` (in a class taught by ``teacher``)."""
    if caller.admin:
        return "admin"
    if caller.identity is None:
        return "watcher"
    if caller.identity == owner:
        return "owner"
    if teacher is not None and caller.identity == teacher:
        return "teacher"
    return "watcher"


def require_change(role: Role, noun: str, item_id: str, fork: bool = False) -> None:
    """403 unless ``role`` may change the thing, saying who may and what to do instead."""
    if role != "watcher":
        return
    who = (
        "its owner, the teacher of its class, or this server's admin"
        if noun == "run"
        else ("its owner or this server's admin")
    )
    instead = f"; fork it (POST /api/runs/{item_id}/fork) to get a copy of your own" if fork else ""
    raise ForbiddenError(
        f"only {who} may change this {noun}: send their token as 'Authorization: Bearer <token>' "
        f'(on a WebSocket: {{"type": "auth", "token": ..}}){instead}'
    )
