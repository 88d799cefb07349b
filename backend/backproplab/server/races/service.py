"""Races as the routes see them: created, described and changed through the trainer that holds each."""

from __future__ import annotations

import secrets
from typing import Any

from ..errors import ApiError, TooManyRunsError
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

    async def create(self, body: RaceCreate, owner: str | None = None) -> dict[str, Any]:
        if sum(await self.trainers.broadcast("count", kind=KIND)) >= self.settings.max_races:
            raise TooManyRunsError(
                f"this server holds at most {self.settings.max_races} races; delete one first"
            )
        race_id = secrets.token_urlsafe(16)
        return await self.trainers.call(race_id, "create", kind=KIND, body=body.model_dump(), owner=owner)

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
