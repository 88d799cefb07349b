"""Runs as the routes see them: created, described, changed and read through the trainer that owns each.

Metadata (who owns a run, its name, its class) lives in the store and is written here; everything about
training is the trainer's. Changes made through REST are checkpointed before the answer (``durable``), so a
reply means the change survives a crash; WebSocket controls are checkpointed by the trainer shortly after.
Who may change a run is decided here (:meth:`RunService.role`); a student's class locks are checked by
the trainer against the class badge it holds (runs/item.py), atomically with the change.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import logging
import secrets
import time
from typing import Any

from ...engine.config import RunConfig
from ...engine.custom_data import CustomData
from ..errors import ApiError, RunNotFoundError, TooManyRunsError
from ..identities.access import Caller, Role, require_change, role_of
from ..live.hub import Hub
from ..live.trainers import Trainers
from ..offload import Offload
from ..settings import Settings
from ..store import RunRecord, Store, StoredDataset, StoreError
from . import datasets
from .copy import RunCopy
from .memory import check_budget, memory_cost

KIND = "run"
EXPIRE_BATCH = 200  # runs deleted per expiry pass at most
log = logging.getLogger("backproplab.server")


class RunService:
    """Every run of this server, wherever its trainer is."""

    def __init__(self, settings: Settings, store: Store, trainers: Trainers, hub: Hub, offload: Offload):
        self.settings = settings
        self.store = store
        self.trainers = trainers
        self.hub = hub
        self.offload = offload
        self._creating = asyncio.Lock()  # a creation's room and budget checks and its row, one at a time

    async def call(self, run_id: str, op: str, **args: Any) -> Any:
        """Do ``op`` on the run in its trainer (404 if there is no such run)."""
        return await self.trainers.call(run_id, op, kind=KIND, **args)

    async def _described(self, run_id: str, op: str, **args: Any) -> dict[str, Any]:
        """Do ``op``, whose answer is the run's description (RunOut's fields)."""
        described: dict[str, Any] = await self.call(run_id, op, **args)
        return described

    async def create(
        self,
        config: RunConfig | None,
        owner: Caller,
        class_id: str | None = None,
        name: str | None = None,
        blob: bytes | None = None,
        badge: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A new run of ``owner`` from ``config`` (or a fork's ``blob``, whose ``config`` is the source's):
        its row first, then its trainer builds it. Refused (429, saying what to do) over the server's or the
        owner's run limit, and over their memory budgets (runs/memory.py; 422 for a run too big alone).
        Custom rows are stored once by content hash (or named by it) and travel to the trainer by it."""
        resolved: tuple[RunConfig, CustomData | None, StoredDataset | None] = await self.offload.io(
            datasets.resolve, self.store, config if config is not None else RunConfig()
        )
        config, data, dataset = resolved
        digest = dataset.digest if dataset is not None else None
        cost = memory_cost(config, data)
        run_id = secrets.token_urlsafe(16)
        async with self._creating:
            await self.check_room(owner)
            check_budget(
                cost,
                digest,
                await self.offload.io(self.store.usage),
                self.settings.memory_budget,
                "this server's runs",
            )
            if not owner.admin and owner.identity is not None:
                owned = await self.offload.io(self.store.usage, owner.identity)
                check_budget(cost, digest, owned, self.settings.memory_budget_per_identity, "your runs")
            await self.offload.io(
                self.store.insert_run, run_id, owner.owner_id, class_id, name, dataset, cost.run
            )
        args: dict[str, Any] = {
            "max_parameters": self.settings.max_parameters,
            "name": name,
            "badge": badge,
            "dataset": digest,
            "owner": owner.owner_id,  # whose fair share its training counts against (live/shard.py)
        }
        if blob is not None:
            args["blob"] = blob
        else:
            args["config"] = config
        try:
            described: dict[str, Any] = await self.trainers.call(run_id, "create", kind=KIND, **args)
            return described
        except BaseException:
            # A row the store cannot delete now (full disk) is removed at the next start (no checkpoint).
            with contextlib.suppress(StoreError):
                await self.offload.io(self.store.delete_run, run_id)
            raise

    async def check_room(self, owner: Caller, needed: int = 1) -> None:
        """429, saying what to do, unless the server and ``owner`` have room for ``needed`` more runs."""
        settings = self.settings
        if await self.offload.io(self.store.count_runs) + needed > settings.max_runs:
            raise TooManyRunsError(
                f"this server holds at most {settings.max_runs} runs and is full; delete runs you no longer "
                "need (DELETE /api/runs/{id}), or ask its operator to raise BACKPROPLAB_MAX_RUNS"
            )
        if owner.admin or owner.identity is None:
            return
        limit = settings.max_runs_per_identity
        have = await self.offload.io(self.store.count_runs, owner.identity)
        if have + needed > limit:
            wanted = f"; this needs {needed} more" if needed > 1 else ""
            raise TooManyRunsError(
                f"you have {have} runs, and one identity may keep at most {limit}{wanted}; delete runs you no "
                "longer need (in the dashboard: Runs, then My runs; over the API: DELETE /api/runs/{id})"
            )

    async def exists(self, run_id: str) -> bool:
        return await self.offload.io(self.store.run_record, run_id) is not None

    async def role(self, run_id: str, caller: Caller) -> Role:
        """The caller's role on the run: owner, teacher (of its class), admin or watcher; 404 if none."""
        record = await self.offload.io(self.store.run_record, run_id)
        if record is None:
            raise RunNotFoundError(run_id)
        teacher = None
        if record.class_id is not None and caller.identity is not None:
            group = await self.offload.io(self.store.class_record, record.class_id)
            teacher = group.teacher if group is not None else None
        return role_of(caller, record.owner, teacher)

    async def require(self, run_id: str, caller: Caller) -> Role:
        """The caller's role, or 403 unless they may change the run."""
        role = await self.role(run_id, caller)
        require_change(role, "run", run_id, fork=True)
        return role

    async def describe(self, run_id: str, rebuilt: bool | None = None) -> dict[str, Any]:
        return await self._described(run_id, "describe", rebuilt=rebuilt)

    async def describe_all(self, run_ids: list[str]) -> list[dict[str, Any]]:
        """Each run described live by its trainer, in parallel; runs gone meanwhile are left out."""
        described = await asyncio.gather(
            *(self.describe(run_id) for run_id in run_ids), return_exceptions=True
        )
        return [item for item in described if isinstance(item, dict)]

    async def list(self, caller: Caller) -> list[dict[str, Any]]:
        """The caller's runs, oldest first (the admin: every run; nobody: none): described by their trainer
        when it holds them, else as they were at their last checkpoint, so listing never loads a run (nor
        its data) into memory. Runs that could not be restored are left out (/api/health names them)."""
        if caller.owner_id is None:
            return []
        owner = None if caller.admin else caller.owner_id
        records = await self.offload.io(self.store.run_records, owner)
        return await self.summaries(records)

    async def summaries(self, records: builtins.list[RunRecord]) -> builtins.list[dict[str, Any]]:
        """Each run described live if its trainer holds it, else as last saved (see :meth:`list`)."""
        live: dict[str, dict[str, Any]] = {}
        try:
            for loaded in await self.trainers.broadcast("describe_loaded", kind=KIND):
                live.update(loaded)
        except ApiError:  # a trainer is restarting: its runs are listed as last saved
            pass
        lost = {run_id for trainer in self.trainers.status() for run_id in trainer["store"].lost}
        described = (live.get(record.id) or record.summary for record in records if record.id not in lost)
        return [summary for summary in described if summary is not None]

    async def patch(
        self, run_id: str, patch: dict[str, Any], durable: bool = True, bound: bool = False
    ) -> dict[str, Any]:
        """Merge a config patch; ``bound`` holds the caller to the class's locks (a student)."""
        return await self._described(
            run_id,
            "patch",
            patch=patch,
            max_parameters=self.settings.max_parameters,
            durable=durable,
            bound=bound,
        )

    async def rename(self, run_id: str, name: str | None) -> dict[str, Any]:
        await self.offload.io(self.store.rename_run, run_id, name)
        return await self._described(run_id, "rename", name=name, durable=True)

    async def rename_and_patch(
        self, run_id: str, name: str | None, patch: dict[str, Any], bound: bool = False
    ) -> dict[str, Any]:
        """Rename and merge a config patch, both or neither: the name first (another run of the class may
        have it: 409 with nothing changed), then the patch; a refused patch puts the old name back."""
        record = await self.offload.io(self.store.run_record, run_id)
        if record is None:
            raise RunNotFoundError(run_id)
        await self.rename(run_id, name)
        try:
            return await self.patch(run_id, patch, bound=bound)
        except Exception:
            await self.rename(run_id, record.name)
            raise

    async def control(self, run_id: str, op: str, durable: bool = True, **args: Any) -> dict[str, Any]:
        """play (``steps_per_second``: at a pace), pause or reset."""
        return await self._described(run_id, op, durable=durable, **args)

    async def keep_training(self, run_id: str, keep: bool) -> dict[str, Any]:
        """Whether the run keeps playing when nobody watches it (else it pauses after a short grace)."""
        return await self._described(run_id, "keep_training", keep=keep, durable=True)

    async def step(self, run_id: str, steps: int, durable: bool = True) -> int:
        """Do ``steps`` steps now; the number done (fewer if the run diverged)."""
        done: int = await self.call(run_id, "step", steps=steps, durable=durable)
        return done

    async def step_and_describe(self, run_id: str, steps: int) -> dict[str, Any]:
        """Do ``steps`` steps now, durably, and answer with the run as they left it (one round trip)."""
        run: dict[str, Any] = await self.call(run_id, "step", steps=steps, durable=True, describe=True)
        return run

    async def fork(self, run_id: str, owner: Caller) -> dict[str, Any]:
        """A new run of ``owner``, bit for bit the source now (config, weights, optimizer state, step,
        history, generators); it trains on its own from there."""
        blob: bytes = await self.call(run_id, "export")
        source = await self.offload.io(self.store.run_record, run_id)
        config = None
        if source is not None and source.summary is not None:  # the source's config names its rows
            config = RunConfig.model_validate(source.summary["config"])
        return await self.create(config, owner, name=source.name if source else None, blob=blob)

    async def delete(self, run_id: str) -> None:
        """Delete the run's row first: if the store cannot (a full or read-only disk: 507) nothing changed,
        and once it is gone no checkpoint can bring it back (trainers only update rows). Then its trainer
        stops it, and its watchers are told."""
        if not await self.offload.io(self.store.delete_run, run_id):
            raise RunNotFoundError(run_id)
        await self.call(run_id, "delete", if_loaded=True)
        await self.hub.forget(run_id, "deleted")

    async def expire(self, now: float | None = None) -> int:
        """Delete runs untouched for ``run_ttl`` seconds, the oldest first; how many were deleted."""
        ttl = self.settings.run_ttl
        if ttl <= 0:
            return 0
        before = (time.time() if now is None else now) - ttl
        deleted = 0
        for run_id in await self.offload.io(self.store.expired_runs, before, EXPIRE_BATCH):
            try:
                await self.delete(run_id)
            except ApiError as error:  # gone meanwhile, or its trainer restarting: the next pass retries
                log.info("could not expire run %s: %s", run_id, error.reason)
                continue
            deleted += 1
        if deleted:
            log.info("deleted %d runs untouched for %.0f s", deleted, ttl)
        return deleted

    async def read(self, run_id: str, op: str, **args: Any) -> Any:
        """params, history, history_csv or points, encoded by the trainer."""
        return await self.call(run_id, op, **args)

    async def copy(self, run_id: str, **parts: Any) -> RunCopy:
        copied: RunCopy = await self.call(run_id, "copy", **parts)
        return copied
