"""Runs as the routes see them: created, described, changed and read through the trainer that owns each.

Metadata (who owns a run, its name) lives in the store and is written here; everything about training
is the trainer's. Changes made through REST are checkpointed before the answer (``durable``), so a reply
means the change survives a crash; WebSocket controls are checkpointed by the trainer shortly after.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from typing import Any

from ...engine.config import RunConfig
from ..errors import ApiError, RunNotFoundError, TooManyRunsError
from ..live.hub import Hub
from ..live.trainers import Trainers
from ..offload import Offload
from ..settings import Settings
from ..store import Store, StoreError
from . import datasets
from .copy import RunCopy
from .memory import check_budget, memory_cost

KIND = "run"


class RunService:
    """Every run of this server, wherever its trainer is."""

    def __init__(self, settings: Settings, store: Store, trainers: Trainers, hub: Hub, offload: Offload):
        self.settings = settings
        self.store = store
        self.trainers = trainers
        self.hub = hub
        self.offload = offload
        self._creating = asyncio.Lock()  # a creation's budget checks and its row, one creation at a time

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
        """A new run from ``config`` (or a fork's ``blob``): its row first, then its trainer builds it.

        Checked first: the run limit and the memory budgets of the server and of ``owner`` (runs/memory.py);
        custom rows are stored once by content hash (or named by it) and travel to the trainer by it."""
        config, data = await self.offload.io(datasets.detach, config)
        dataset = None
        if data is not None:
            dataset = await self.offload.io(datasets.stored, data)
        elif config.dataset.kind == "custom" and config.dataset.content_hash is not None:
            data, dataset = await self.offload.io(datasets.by_hash, self.store, config.dataset.content_hash)
        digest = dataset.digest if dataset is not None else None
        cost = memory_cost(config, data)
        run_id = secrets.token_urlsafe(16)
        settings = self.settings
        async with self._creating:
            usage = await self.offload.io(self.store.usage)
            if usage.runs >= settings.max_runs:
                raise TooManyRunsError(
                    f"this server holds at most {settings.max_runs} runs; delete one first"
                )
            check_budget(cost, digest, usage, settings.memory_budget, "this server's runs")
            if owner is not None:
                owned = await self.offload.io(self.store.usage, owner)
                check_budget(cost, digest, owned, settings.memory_budget_per_identity, "your runs")
            await self.offload.io(self.store.insert_run, run_id, owner, class_id, name, dataset, cost.run)
        args: dict[str, Any] = {"max_parameters": settings.max_parameters, "dataset": digest}
        if blob is not None:
            args["blob"] = blob
        else:
            args["config"] = config
        try:
            return await self.trainers.call(run_id, "create", kind=KIND, **args)
        except BaseException:
            # A row the store cannot delete now (full disk) is removed at the next start (no checkpoint).
            with contextlib.suppress(StoreError):
                await self.offload.io(self.store.delete_run, run_id)
            raise

    async def exists(self, run_id: str) -> bool:
        return await self.offload.io(self.store.run_record, run_id) is not None

    async def describe(self, run_id: str, rebuilt: bool | None = None) -> dict[str, Any]:
        return await self.call(run_id, "describe", rebuilt=rebuilt)

    async def list(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Every run (of ``owner``): described by its trainer when it holds the run, else as the run was at
        its last checkpoint, so listing never loads a run (nor its data) into memory. Runs that could not
        be restored are left out (/api/health names them)."""
        records = await self.offload.io(self.store.run_records, owner)
        live: dict[str, dict[str, Any]] = {}
        try:
            for loaded in await self.trainers.broadcast("describe_loaded", kind=KIND):
                live.update(loaded)
        except ApiError:  # a trainer is restarting: its runs are listed as last saved
            pass
        lost = {run_id for trainer in self.trainers.status() for run_id in trainer["store"].lost}
        return [
            live.get(record.id) or record.summary
            for record in records
            if (record.id in live or record.summary is not None) and record.id not in lost
        ]

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
