"""A training run as a trainer holds it: the engine Run plus play state, pending work, subscribers and
checkpoints (the live core's :class:`~..live.shard.Item` for runs).

Runs load lazily: a trainer restores a run from the store the first time a call names it, paused. Every
call is handled between two training slices of the trainer's thread, so nothing here takes a lock.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.config import RunConfig, merge_config
from ...engine.run import Run
from ..costs import CostBasis, check_work, mean_step_work
from ..encoding import dumps
from ..errors import LimitError
from ..live.protocol import Wants
from ..live.shard import Pending, Shard, Subscription
from ..store import Checkpoint, Store
from . import encode
from .copy import copy_of
from .limits import check_size, grid_resolution

log = logging.getLogger("backproplab.trainer")
MAX_CHUNK = 10_000  # steps per engine call at most
CALL_OPTIONS = ("kind", "durable", "if_loaded")  # about the call, not arguments of the operation


@dataclass(frozen=True)
class RunNews:
    """What a subscriber of a run gets: the run now, the metric rows since its previous news, and the
    heavy parts (pre-encoded JSON) its watchers asked for."""

    step: int
    epoch: int
    status: str
    message: str | None
    lr: float | None
    learning: dict[str, Any] | None
    latest_json: str
    rows: np.ndarray
    since_step: int
    n_layers: int
    params_json: str | None = None
    grid_json: str | None = None
    neurons_json: str | None = None
    run_json: str | None = None  # the description, when it changed (config, status) since the last news
    described: int = 0  # the version of that description


@dataclass
class StepWork:
    """A ``step`` call being done in the run's training turns."""

    reply: Pending
    wanted: int
    done: int = 0


@dataclass
class Cursor:
    """How far a subscriber has been told: the step of its last rows, and the description version."""

    step: int = 0
    generation: int = -1
    described: int = -1
    grid_at: float = -math.inf
    grid_key: tuple[int, bool, int] | None = None  # (resolution, neurons, version) of the grid below
    grid_json: str | None = None
    neurons_json: str | None = None


class RunItem:
    """One run in a trainer (see the module docstring)."""

    kind = "run"

    def __init__(self, run_id: str, run: Run, settings: Any):
        self.id = run_id
        self.run = run
        self.settings = settings
        self.playing = False
        self.keep_training = False
        self.notice: str | None = None  # said until the next change (e.g. "restored after a trainer restart")
        self.version = 0
        self.generation = 0
        self.described = 0  # bumps when the description changes without a new generation
        self.pending_steps = 0
        self.pending: list[StepWork] = []
        self.subscriptions: dict[str, Subscription] = {}
        self.step_cost = 1e-4  # seconds per step, a running average that sizes chunks
        self.saved_version = 0
        self.saved_at = time.monotonic()
        self.save_cost = 0.0
        self.unwatched_since = time.monotonic()

    def wait(self) -> float:
        return 0.0 if self.playing or self.pending_steps else float("inf")

    @property
    def status(self) -> str:
        if self.run.diverged:
            return "diverged"
        return "running" if self.playing else "paused"

    def changed(self, rebuilt: bool = False, described: bool = False) -> None:
        if described or rebuilt:
            self.notice = None
        self.version += 1
        if rebuilt:
            self.generation += 1
        if described:
            self.described += 1

    # ------------------------------------------------------------------ training

    def advance(self, budget: float) -> None:
        """Train for about ``budget`` seconds: a call's pending steps first, else play."""
        clock = time.perf_counter
        deadline = clock() + budget
        if any(work.reply.cancelled for work in self.pending):
            self._drop_cancelled()
        while self.playing or self.pending_steps:
            now = clock()
            chunk = max(1, min(MAX_CHUNK, int((deadline - now) / self.step_cost)))
            if self.pending_steps:
                chunk = min(chunk, self.pending_steps)
            done = self.run.step(chunk)
            if done:
                self.step_cost = 0.8 * self.step_cost + 0.2 * max((clock() - now) / done, 1e-7)
                self.changed()
            if self.pending_steps:
                self._credit(done, stop=done < chunk)
            if done < chunk:  # diverged
                self.playing = False
                self.changed(described=True)
                return
            if not self.playing and not self.pending_steps:
                self.run.evaluate_now()  # a step call is done: show its test metrics at once
                return
            if clock() >= deadline:
                return

    def _drop_cancelled(self) -> None:
        """Forget ``step`` calls whose callers went away (a client that disconnected mid-way)."""
        self.pending = [work for work in self.pending if not work.reply.cancelled]
        self.pending_steps = sum(work.wanted - work.done for work in self.pending)

    def _credit(self, done: int, stop: bool) -> None:
        """Count steps done towards the oldest pending ``step`` calls; answer those that are complete (all
        of them when training stopped: a diverged run answers with the steps it managed)."""
        self.pending_steps -= done
        while self.pending and (done or stop):
            work = self.pending[0]
            take = min(done, work.wanted - work.done)
            work.done += take
            done -= take
            if work.done < work.wanted and not stop:
                break
            self.pending.pop(0)
            work.reply.resolve(work.done)
        if stop:
            self.pending_steps = 0

    # ------------------------------------------------------------------ calls

    def handle(self, op: str, args: dict[str, Any], shard: Shard) -> Any:
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise ValueError(f"runs have no operation {op!r}")
        result = handler(shard=shard, **{k: v for k, v in args.items() if k not in CALL_OPTIONS})
        if args.get("durable"):
            shard.save(self)
        return result

    def _op_describe(self, shard: Shard, rebuilt: bool | None = None) -> dict[str, Any]:
        return self.describe(rebuilt)

    def describe(self, rebuilt: bool | None = None) -> dict[str, Any]:
        """The protocol's Run object."""
        run = self.run
        return {
            "id": self.id,
            "status": self.status,
            "message": run.message or self.notice,
            "step": run.step_count,
            "epoch": run.epoch,
            "config": encode.config(run),
            "resolved": encode.resolved(run),
            "latest": encode.latest(run),
            "learning": encode.learning(run),
            "keep_training": self.keep_training,
            "rebuilt": rebuilt,
        }

    def _op_play(self, shard: Shard) -> dict[str, Any]:
        self.playing = not self.run.diverged
        self.changed(described=True)
        return self.describe()

    def _op_pause(self, shard: Shard) -> dict[str, Any]:
        self.playing = False
        self.run.evaluate_now()
        self.changed(described=True)
        return self.describe()

    def _op_reset(self, shard: Shard) -> dict[str, Any]:
        self._cancel_pending()
        self.run.reset()
        self.changed(rebuilt=True)
        return self.describe()

    def _op_patch(self, shard: Shard, patch: dict[str, Any], max_parameters: int) -> dict:
        merged = merge_config(self.run.config, patch)
        if isinstance(patch, dict) and patch.keys() & {"model", "dataset", "features", "batch_size"}:
            check_size(merged, max_parameters, shard.settings.max_step_work, data=self.run.custom_data)
        rebuilt = self.run.apply_config(merged)
        if rebuilt:
            self._cancel_pending()
        self.changed(rebuilt=rebuilt, described=True)
        return self.describe(rebuilt)

    def _op_step(self, shard: Shard, steps: int) -> Pending:
        limit = shard.settings.max_steps_per_request
        if not 1 <= steps <= limit:
            raise LimitError(f"must be between 1 and {limit}", "steps")
        check_work(steps * self.step_work(), shard.settings.max_request_work, "steps", f"{steps:,} steps")
        reply = Pending()
        if self.run.diverged:
            reply.resolve(0)
            return reply
        self.pending.append(StepWork(reply, steps))
        self.pending_steps += steps
        return reply

    def step_work(self) -> float:
        """Multiply-adds of one training step of this run, on average (costs.py)."""
        run = self.run
        return mean_step_work(
            run.network.sizes,
            run.config.batch_size,
            len(run.X_train),
            len(run.X_test),
            run.eval_every(),
        )

    def _cancel_pending(self) -> None:
        for work in self.pending:
            work.reply.resolve(work.done)
        self.pending.clear()
        self.pending_steps = 0

    def _op_set_weight(self, shard: Shard, layer: int, row: int, col: int, value: float) -> None:
        self.run.set_weight(layer, row, col, value)
        self.changed()

    def _op_set_bias(self, shard: Shard, layer: int, index: int, value: float) -> None:
        self.run.set_bias(layer, index, value)
        self.changed()

    def _op_keep_training(self, shard: Shard, keep: bool) -> dict[str, Any]:
        self.keep_training = keep
        self.changed(described=True)
        return self.describe()

    def _op_delete(self, shard: Shard) -> None:
        self._cancel_pending()
        self.playing = False

    def _op_params(self, shard: Shard) -> str:
        return dumps(encode.params(self.run))

    def _op_history(self, shard: Shard, max_points: int | None = None) -> str:
        return dumps(encode.history(self.run, max_points))

    def _op_history_csv(self, shard: Shard, max_points: int | None = None) -> str:
        return encode.history_csv(self.run, max_points)

    def _op_points(self, shard: Shard) -> str:
        return dumps(encode.points(self.run))

    def _op_cost_basis(self, shard: Shard) -> CostBasis:
        """What this run's heavy reads would cost (costs.py), without copying anything."""
        run = self.run
        points = run.trajectory.count
        return CostBasis(tuple(run.network.sizes), len(run.X_train), len(run.X_test), points)

    def _op_copy(self, shard: Shard, **parts: Any) -> Any:
        return copy_of(self.run, self.id, **parts)

    def _op_export(self, shard: Shard) -> bytes:
        return self.run.to_bytes()

    def _op_state(self, shard: Shard, view: dict[str, Any]) -> tuple[str, int, int, int, int]:
        """The WebSocket ``state`` message as JSON, with the generation, version, step and description
        version it shows (the client's frames continue from there)."""
        run = self.run
        raw_2d = run.dataset.X_train.shape[1] == 2
        message = {
            "type": "state",
            "run": self.describe(),
            "history": encode.history(run, shard.settings.state_history_points),
            "params": encode.params(run),
            "grid": self._grid(view["resolution"], view["neurons"]) if view["grid"] else None,
            "points": encode.points(run) if raw_2d else None,
        }
        return dumps(message), self.generation, self.version, run.step_count, self.described

    # ------------------------------------------------------------------ news for subscribers

    def payload(self, subscription: Subscription, now: float) -> RunNews:
        cursor = subscription.cursor
        if not isinstance(cursor, Cursor) or cursor.generation != self.generation:
            cursor = subscription.cursor = Cursor(step=self.run.step_count, generation=self.generation)
        run = self.run
        wants: Wants = subscription.wants
        since = cursor.step
        rows = encode.history_rows(run, since) if run.step_count != since else _NO_ROWS
        cursor.step = run.step_count
        if wants.grid and self._grid_due(cursor, wants, now):
            cursor.grid_key = (wants.resolution, wants.neurons, self.version)
            grid = self._grid(wants.resolution, wants.neurons)
            neurons = grid.pop("neurons", None) if grid else None
            cursor.grid_json = dumps(grid) if grid is not None else None
            cursor.neurons_json = dumps(neurons) if neurons is not None else None
            cursor.grid_at = now
        run_json = None
        if cursor.described != self.described:
            run_json = dumps(self.describe())
            cursor.described = self.described
        return RunNews(
            step=run.step_count,
            epoch=run.epoch,
            status=self.status,
            message=run.message or self.notice,
            lr=encode.lr_in_force(run),
            learning=encode.learning(run),
            latest_json=dumps(encode.latest(run)),
            rows=rows,
            since_step=since,
            n_layers=len(run.network.layers),
            params_json=dumps(encode.params(run)) if wants.params else None,
            grid_json=cursor.grid_json if wants.grid else None,
            neurons_json=cursor.neurons_json if wants.grid and wants.neurons else None,
            run_json=run_json,
            described=self.described,
        )

    def _grid(self, resolution: int, neurons: bool) -> dict[str, Any] | None:
        """The decision-boundary grid at the asked resolution, or the finest one whose cost stays within
        ``max_step_work`` (its ``resolution`` says which)."""
        fitted = grid_resolution(self.run.network.sizes, resolution, self.settings.max_step_work, neurons)
        return encode.grid(self.run, fitted, neurons)

    def _grid_due(self, cursor: Cursor, wants: Wants, now: float) -> bool:
        """A new grid when the view asks for a different one at once; after training, at most
        ``grid_fps`` times a second (a pure function of the weights: nothing new while paused)."""
        if cursor.grid_key is None or cursor.grid_key[:2] != (wants.resolution, wants.neurons):
            return True
        return cursor.grid_key[2] != self.version and now - cursor.grid_at >= 1.0 / self.settings.grid_fps

    # ------------------------------------------------------------------ upkeep

    def unwatched(self, idle: float, shard: Shard) -> None:
        """Pause a playing run nobody has watched for ``idle`` seconds, unless its owner keeps it training."""
        now = time.monotonic()
        if self.subscriptions:
            self.unwatched_since = now
        elif self.playing and not self.keep_training and now - self.unwatched_since > idle:
            log.info("pausing run %s: nobody watched it for %.0f s", self.id, now - self.unwatched_since)
            self.playing = False
            self.changed(described=True)

    def save_due(self, now: float, interval: float) -> float | None:
        """How overdue this run's checkpoint is (None: nothing to save). Paused runs are saved at once;
        playing ones every ``interval`` seconds, less often when saving is slow (at most 10% of the time)."""
        if self.version == self.saved_version:
            return None
        wait = max(interval, 10 * self.save_cost) if self.playing else 0.0
        overdue = now - self.saved_at - wait
        return overdue if overdue >= 0 else None

    def save(self, store: Store) -> None:
        started = time.perf_counter()
        version = self.version
        description = self.describe()
        description["status"] = "diverged" if self.run.diverged else "paused"
        store.save(self.id, Checkpoint(core=self.run.to_bytes(), summary=description))
        self.saved_version = version
        self.saved_at = time.monotonic()
        self.save_cost = time.perf_counter() - started

    def close(self) -> None:
        self._cancel_pending()


_NO_ROWS = np.empty((0, 0))


class RunKind:
    """Makes RunItems: new ones from a config, restored ones from the store."""

    def create(self, run_id: str, args: dict[str, Any], shard: Shard) -> RunItem:
        if "blob" in args:  # a fork: the source run's whole state
            run = Run.from_bytes(args["blob"])
        else:
            config = RunConfig.model_validate(args["config"])
            check_size(config, args["max_parameters"], shard.settings.max_step_work)
            run = Run(config)
        item = RunItem(run_id, run, shard.settings)
        item.changed()
        shard.save(item)
        return item

    def load(self, run_id: str, shard: Shard) -> RunItem | None:
        saved = shard.store.load(run_id)
        if saved is None:
            return None
        try:
            run = Run.from_bytes(saved.core)
        except Exception as error:  # a blob this version cannot read must not stop the trainer
            log.error("could not restore run %s (%s)", run_id, error)
            return None
        item = RunItem(run_id, run, shard.settings)
        if shard.settings.restored_message:
            item.notice = shard.settings.restored_message.format(step=run.step_count)
        return item
