"""Runs as the routes see them: created, described, changed and read through the trainer that owns each.

Metadata (who owns a run, its name) lives in the store and is written here; everything about training
is the trainer's. Changes made through REST are checkpointed before the answer (``durable``), so a reply
means the change survives a crash; WebSocket controls are checkpointed by the trainer shortly after.
"""

from __future__ import annotations

import secrets
from typing import Any

from ...engine.config import RunConfig
from ..errors import RunNotFoundError, TooManyRunsError
from ..live.hub import Hub
from ..live.trainers import Trainers
from ..offload import Offload
from ..settings import Settings
from ..store import Store
from .copy import RunCopy

KIND = "run"


class RunService:
    """Every run of this server, wherever its trainer is."""

    def __init__(self, settings: Settings, store: Store, trainers: Trainers, hub: Hub, offload: Offload):
        self.settings = settings
        self.store = store
        self.trainers = trainers
        self.hub = hub
        self.offload = offload

    async def call(self, run_id: str, op: str, **args: Any) -> Any:
        """Do ``op`` on the run in its trainer (404 if there is no such run)."""
        return await self.trainers.call(run_id, op, kind=KIND, **args)

    async def create(
        self,
        config: RunConfig,
        owner: str | None = None,
        class_id: str | None = None,
        name: str | None = None,
        blob: bytes | None = None,
    ) -> dict[str, Any]:
        """A new run from ``config`` (or a fork's ``blob``): its row first, then its trainer builds it."""
        if await self.offload.io(self.store.count_runs) >= self.settings.max_runs:
            raise TooManyRunsError(
                f"this server holds at most {self.settings.max_runs} runs; delete one first"
            )
        run_id = secrets.token_urlsafe(16)
        await self.offload.io(self.store.insert_run, run_id, owner, class_id, name)
        args: dict[str, Any] = {"max_parameters": self.settings.max_parameters}
        if blob is not None:
            args["blob"] = blob
        else:
            args["config"] = config
        try:
            return await self.trainers.call(run_id, "create", kind=KIND, **args)
        except BaseException:
            await self.offload.io(self.store.delete_run, run_id)
            raise

    async def exists(self, run_id: str) -> bool:
        return await self.offload.io(self.store.run_record, run_id) is not None

    async def describe(self, run_id: str, rebuilt: bool | None = None) -> dict[str, Any]:
        return await self.call(run_id, "describe", rebuilt=rebuilt)

    async def list(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every run (of ``owner``), described live by its trainer."""
        records = await self.offload.io(self.store.run_records, owner)
        described = []
        for record in records:
            try:
                described.append(await self.describe(record.id))
            except Exception:  # deleted meanwhile, or its trainer restarting: leave it out of this answer
                continue
        return described

    async def patch(self, run_id: str, patch: dict[str, Any], durable: bool = True) -> dict[str, Any]:
        return await self.call(
            run_id, "patch", patch=patch, max_parameters=self.settings.max_parameters, durable=durable
        )

    async def control(self, run_id: str, op: str, durable: bool = True) -> dict[str, Any]:
        """play, pause, reset or keep_training."""
        return await self.call(run_id, op, durable=durable)

    async def step(self, run_id: str, steps: int, durable: bool = True) -> int:
        done: int = await self.call(run_id, "step", steps=steps, durable=durable)
        return done

    async def delete(self, run_id: str) -> None:
        """Delete the run's row first: if the store cannot (a full or read-only disk: 507) nothing changed,
        and once it is gone no checkpoint can bring it back (trainers only update rows). Then its trainer
        stops it, and its watchers are told."""
        if not await self.offload.io(self.store.delete_run, run_id):
            raise RunNotFoundError(run_id)
        await self.call(run_id, "delete", if_loaded=True)
        await self.hub.forget(run_id, "deleted")

    async def read(self, run_id: str, op: str, **args: Any) -> Any:
        """params, history, history_csv or points, encoded by the trainer."""
        return await self.call(run_id, op, **args)

    async def copy(self, run_id: str, **parts: Any) -> RunCopy:
        copied: RunCopy = await self.call(run_id, "copy", **parts)
        return copied
