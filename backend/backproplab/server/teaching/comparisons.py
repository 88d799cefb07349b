"""Optimizer comparisons: several managed runs from one base config, differing only in the optimizer.

Every racer is an ordinary run (runs/service.py) owned by the comparison's owner, so it streams over
/ws/runs/{id} and takes PATCH and WebSocket ``set`` messages (a live learning-rate change per racer). The
same seed gives every racer the same data, initial weights and batch order; creation checks the weights are
bit-identical. Comparisons live in the store, so every web replica finds them and they survive restarts.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np

from ...engine.config import RunConfig
from ..errors import ApiError, shown_id
from ..identities.access import Caller, require_change, role_of
from ..runs.service import RunService
from ..store import ComparisonRecord
from .schemas import ComparisonCreate

RACER_NAME = "Race · {}"  # a racer's run in the owner's list of runs


class ComparisonNotFoundError(ApiError):
    status = 404

    def __init__(self, comparison_id: str):
        super().__init__(f"no comparison with id {shown_id(comparison_id)}", "comparison_id")


class Comparisons:
    """The server's comparisons, by id."""

    def __init__(self, runs: RunService):
        self.runs = runs
        self.store = runs.store
        self.offload = runs.offload

    async def create(self, request: ComparisonCreate, owner: Caller) -> ComparisonRecord:
        """Create one run per racer for ``owner`` (all or none: 429 up front when they do not all fit), named
        after it, and check they start from identical weights."""
        base = request.base.model_dump()
        configs = [
            RunConfig.model_validate({**base, "optimizer": racer.optimizer.model_dump()})
            for racer in request.racers
        ]
        await self.runs.check_room(owner, needed=len(configs))
        run_ids: list[str] = []
        try:
            for racer, config in zip(request.racers, configs, strict=True):
                run_ids.append(
                    (await self.runs.create(config, owner, name=RACER_NAME.format(racer.label)))["id"]
                )
        except Exception:
            for run_id in run_ids:
                await self.runs.delete(run_id)
            raise
        comparison = ComparisonRecord(
            id=secrets.token_urlsafe(16),
            owner=owner.owner_id,
            labels=[racer.label for racer in request.racers],
            run_ids=run_ids,
            identical_start=await self._identical_weights(run_ids),
            created=time.time(),
        )
        await self.offload.io(self.store.insert_comparison, comparison)
        return comparison

    async def get(self, comparison_id: str) -> ComparisonRecord:
        comparison = await self.offload.io(self.store.comparison_record, comparison_id)
        if comparison is None:
            raise ComparisonNotFoundError(comparison_id)
        return comparison

    def require(self, comparison: ComparisonRecord, caller: Caller) -> None:
        """403 unless the caller owns the comparison (or is the admin)."""
        require_change(role_of(caller, comparison.owner), "comparison", comparison.id)

    async def delete(self, comparison: ComparisonRecord) -> None:
        """Delete the comparison and its racers' runs (those already deleted are skipped)."""
        for run_id in comparison.run_ids:
            try:
                await self.runs.delete(run_id)
            except ApiError as error:
                if error.status != 404:
                    raise
        await self.offload.io(self.store.delete_comparison, comparison.id)

    async def forget(self, before: float) -> int:
        return await self.offload.io(self.store.delete_comparisons, before)

    async def describe(self, comparison: ComparisonRecord) -> dict[str, Any]:
        racers = []
        for label, run_id in zip(comparison.labels, comparison.run_ids, strict=True):
            try:
                run = await self.runs.describe(run_id)
            except ApiError as error:
                if error.status != 404:
                    raise
                run = None
            racers.append({"label": label, "run_id": run_id, "run": run})
        return {"id": comparison.id, "identical_start": comparison.identical_start, "racers": racers}

    async def control(
        self,
        comparison: ComparisonRecord,
        action: str,
        steps: int = 1,
        steps_per_second: int | None = None,
        catch_up: int = 0,
    ) -> None:
        """play, pause, reset or step every racer that still exists, all at once. ``step`` gives each the same
        ``steps``; ``play`` first steps every racer behind the leader up to it (at most ``catch_up`` steps),
        then plays each at ``steps_per_second`` (None: flat out), so racers stay at one step."""
        if action == "play" and catch_up:
            steps_of = {racer["run_id"]: racer["run"]["step"] for racer in await self._racers(comparison)}
            leader = max(steps_of.values(), default=0)
            await self._each(
                [run_id for run_id, step in steps_of.items() if step < leader],
                lambda run_id: self.runs.step(run_id, min(leader - steps_of[run_id], catch_up)),
            )
        if action == "step":
            await self._each(comparison.run_ids, lambda run_id: self.runs.step(run_id, steps))
        elif action == "play":
            await self._each(
                comparison.run_ids,
                lambda run_id: self.runs.control(run_id, "play", steps_per_second=steps_per_second),
            )
        else:
            await self._each(comparison.run_ids, lambda run_id: self.runs.control(run_id, action))

    async def _racers(self, comparison: ComparisonRecord) -> list[dict[str, Any]]:
        """The racers whose runs still exist, described."""
        return [racer for racer in (await self.describe(comparison))["racers"] if racer["run"] is not None]

    @staticmethod
    async def _each(run_ids: list[str], act: Callable[[str], Awaitable[Any]]) -> None:
        """``act`` on every run at once (racers often live on different trainers); a deleted one is skipped."""

        async def one(run_id: str) -> None:
            try:
                await act(run_id)
            except ApiError as error:
                if error.status != 404:
                    raise

        await asyncio.gather(*map(one, run_ids))

    async def _identical_weights(self, run_ids: list[str]) -> bool:
        copies = [await self.runs.copy(run_id) for run_id in run_ids]
        first = copies[0].weights
        return all(
            all(
                np.array_equal(a, b)
                for pair_a, pair_b in zip(first, other.weights, strict=True)
                for a, b in zip(pair_a, pair_b, strict=True)
            )
            for other in copies[1:]
        )
