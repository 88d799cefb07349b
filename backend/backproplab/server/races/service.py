"""Races as the routes see them: created, described and changed through the trainer that holds each."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import ApiError, TooManyRunsError
from ..identities.access import Caller, Role, require_change, role_of
from ..live.hub import Hub
from ..live.trainers import Trainers
from ..settings import Settings
from .schemas import RaceCreate

KIND = "race"


class RaceService:
    def __init__(self, settings: Settings, trainers: Trainers, hub: Hub):
        self.settings = settings
        self.trainers = trainers
        self.hub = hub

    async def call(self, race_id: str, op: str, **args: Any) -> Any:
        return await self.trainers.call(race_id, op, kind=KIND, **args)

    async def create(self, body: RaceCreate, owner: Caller) -> dict[str, Any]:
        """A new race of ``owner``; refused (429, saying what to do) over the server's or the owner's limit."""
        settings = self.settings
        if sum(await self.trainers.broadcast("count", kind=KIND)) >= settings.max_races:
            raise TooManyRunsError(
                f"this server holds at most {settings.max_races} races and is full; delete races you no "
                "longer need (DELETE /api/races/{id}); unwatched races are forgotten after an hour"
            )
        if not owner.admin:
            mine = sum(await self.trainers.broadcast("count", kind=KIND, owner=owner.owner_id))
            if mine >= settings.max_races_per_identity:
                raise TooManyRunsError(
                    f"you have {settings.max_races_per_identity} races, the most one identity may keep; "
                    "delete one you no longer need (DELETE /api/races/{id})"
                )
        race_id = secrets.token_urlsafe(16)
        described: dict[str, Any] = await self.trainers.call(
            race_id, "create", kind=KIND, body=body.model_dump(), owner=owner.owner_id
        )
        return described

    async def role(self, race_id: str, caller: Caller) -> Role:
        """The caller's role on the race (owner, admin or watcher); 404 if there is none."""
        return role_of(caller, await self.call(race_id, "owner"))

    async def require(self, race_id: str, caller: Caller) -> None:
        require_change(await self.role(race_id, caller), "race", race_id)

    async def exists(self, race_id: str) -> bool:
        try:
            await self.call(race_id, "describe")
        except ApiError as error:
            if error.status == 404:
                return False
            raise
        return True

    async def delete(self, race_id: str) -> None:
        await self.call(race_id, "delete")
        await self.hub.forget(race_id, "deleted")
