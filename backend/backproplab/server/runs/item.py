"""A training run as a trainer holds it: the engine Run plus play state, pending work, subscribers and
checkpoints (the live core's :class:`~..live.shard.Item` for runs).

Runs load lazily: a trainer restores a run from the store the first time a call names it, paused. Every
call is handled between two training slices of the trainer's thread, so nothing here takes a lock.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.config import merge_config
from ...engine.run import Run
from ..classes.locks import check_change, check_weights
from ..costs import CostBasis, check_work, mean_step_work
from ..encoding import dumps
from ..errors import ApiError, LimitError
from ..live.pace import Pace
from ..live.protocol import Wants
from ..live.shard import NOT_MADE, UNSAVED, Pending, Shard, Subscription
from ..store import Checkpoint, Store, StoreError
from . import datasets, encode, persist
from .copy import copy_of
from .limits import check_size, grid_resolution
from .news import Cursor, RunNews

log = logging.getLogger("backproplab.trainer")
MAX_CHUNK = 10_000  # steps per engine call at most
LR_PREVIEW_EVERY = 0.5  # seconds between two schedule previews (encode.lr_next) in the news of a training run
CALL_OPTIONS = ("kind", "durable", "if_loaded")  # about the call, not arguments of the operation
UNDOABLE = ("play", "pause", "keep_training")  # a durable op that cannot be saved is undone
STOPPED = (
    "The server stopped while this run was training; it is back from its checkpoint at step {step}, paused: "
    "play it to go on."
)
UNWATCHED = (
    "Paused: nobody watched this run for {seconds:.0f} s. Play it again, or set keep_training to keep it "
    "training unwatched."
)
CATCH_UP = 0.1  # seconds of a pace's steps a run makes up at most after a late turn (live/pace.py)


@dataclass
class StepWork:
    """A ``step`` call being done in the run's training turns."""

    reply: Pending
    wanted: int
    describe: bool = False  # answer with the run's description rather than the count of steps done
    done: int = 0


class RunItem:
    """One run in a trainer (see the module docstring)."""

    kind = "run"

    def __init__(
        self,
        run_id: str,
        run: Run,
        settings: Any,
        name: str | None = None,
        badge: dict[str, Any] | None = None,
    ):
        self.id = run_id
        self.run = run
        self.settings = settings
        self.name = name
        self.badge = badge  # the class it belongs to: {"code", "name", "allowed"} (classes/service.py)
        self.owner: str | None = None  # its owner's id: whose fair share it trains in (live/shard.py)
        self.playing = False
        self.keep_training = False
        self.pace: Pace | None = None  # playing at steps_per_second (None: flat out)
        self.notice: str | None = None  # said until the next change (e.g. "restored after a trainer restart")
        self.version = 0
        self.generation = 0
        self.described = 0  # bumps when the description changes without a new generation
        self.pending_steps = 0
        self.pending: list[StepWork] = []
        self.subscriptions: dict[str, Subscription] = {}
        self.step_cost = 1e-4  # seconds per step, a running average that sizes chunks
        self.saved_version = 0
        self.mark: Any = None  # the engine's mark of the last saved checkpoint (runs/persist.py)
        self.saved_dataset: str | None = None  # the content hash of the custom data the run's row names
        self.saved_at = time.monotonic()
        self.save_cost = 0.0
        self.unwatched_since = time.monotonic()
        # (generation, description version, step, time, value) of the last schedule preview
        self._lr_preview: tuple[int, int, int, float, list[dict[str, Any]]] | None = None

    def wait(self) -> float:
        if self.pending_steps or (self.playing and self.pace is None):
            return 0.0
        return self.pace.wait() if self.playing and self.pace is not None else float("inf")

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
            elif self.pace is not None:
                due = self.pace.take(chunk)  # what it could not take now stays owed
                if not due:
                    return  # no step due before the pace's next tick (wait() says when)
                chunk = due
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
            self._answer(work)
        if stop:
            self.pending_steps = 0

    # ------------------------------------------------------------------ calls

    def handle(self, op: str, args: dict[str, Any], shard: Shard) -> Any:
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise ValueError(f"runs have no operation {op!r}")
        before = (self.playing, self.keep_training)
        result = handler(shard=shard, **{k: v for k, v in args.items() if k not in CALL_OPTIONS})
        if args.get("durable") and not isinstance(result, Pending):  # a Pending is saved when done
            try:
                shard.checkpoint(self)
            except StoreError as error:
                if op not in UNDOABLE:
                    unsaved = UNSAVED.format(what="change was made", reason=error.reason)
                    raise ApiError(unsaved, None, status=error.status) from None
                self.playing, self.keep_training = before
                self.changed(described=True)
                raise ApiError(NOT_MADE.format(reason=error.reason), None, status=error.status) from None
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
            "steps_per_second": int(self.pace.rate) if self.playing and self.pace is not None else None,
            "name": self.name,
            "class": self.badge,
            "rebuilt": rebuilt,
        }

    def _op_play(self, shard: Shard, steps_per_second: int | None = None) -> dict[str, Any]:
        """Train continuously: flat out, or at most ``steps_per_second`` (its first step at once)."""
        self.playing = not self.run.diverged
        self.pace = Pace(steps_per_second, CATCH_UP, owed=1.0, now=True) if steps_per_second else None
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

    def _op_patch(
        self, shard: Shard, patch: dict[str, Any], max_parameters: int, bound: bool = False
    ) -> dict[str, Any]:
        """Merge a config patch; ``bound``: the caller is a student, held to the class's locked settings."""
        merged = merge_config(self.run.config, patch)
        if bound and self.badge is not None:
            check_change(self.run.config, merged, patch, self.badge["allowed"])
        if isinstance(patch, dict) and patch.keys() & {"model", "dataset", "features", "batch_size"}:
            max_step_work = shard.settings.max_step_work
            check_size(merged, max_parameters, max_step_work=max_step_work, data=self.run.custom_data)
        # A typed lr is the lr in force, even one equal to the config's (a schedule may have moved it).
        optimizer = patch.get("optimizer") if isinstance(patch, dict) else None
        typed_lr = isinstance(optimizer, dict) and "lr" in optimizer
        rebuilt = self.run.apply_config(merged, set_lr=typed_lr)
        if rebuilt:
            self._cancel_pending()
        self.changed(rebuilt=rebuilt, described=True)
        return self.describe(rebuilt)

    def _op_step(self, shard: Shard, steps: int, describe: bool = False) -> Pending:
        """``steps`` steps in the run's coming turns; the answer (steps done, or the description when
        ``describe``) waits until they are done or the run diverged."""
        limit = shard.settings.max_steps_per_request
        if not 1 <= steps <= limit:
            raise LimitError(f"must be between 1 and {limit}", "steps")
        check_work(steps * self.step_work(), shard.settings.max_request_work, "steps", f"{steps:,} steps")
        work = StepWork(Pending(), steps, describe)
        if self.run.diverged:
            self._answer(work)
            return work.reply
        self.pending.append(work)
        self.pending_steps += steps
        return work.reply

    def _answer(self, work: StepWork) -> None:
        work.reply.resolve(self.describe() if work.describe else work.done)

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
            self._answer(work)
        self.pending.clear()
        self.pending_steps = 0

    def _op_set_weight(
        self, shard: Shard, layer: int, row: int, col: int, value: float, bound: bool = False
    ) -> None:
        if bound and self.badge is not None:
            check_weights(self.badge["allowed"])
        self.run.set_weight(layer, row, col, value)
        self.changed()

    def _op_set_bias(self, shard: Shard, layer: int, index: int, value: float, bound: bool = False) -> None:
        if bound and self.badge is not None:
            check_weights(self.badge["allowed"])
        self.run.set_bias(layer, index, value)
        self.changed()

    def _op_rename(self, shard: Shard, name: str | None) -> dict[str, Any]:
        self.name = name
        self.changed(described=True)
        return self.describe()

    def _op_set_class(self, shard: Shard, badge: dict[str, Any] | None) -> None:
        """The class this run is in changed (its name, what students may change) or ended (None)."""
        self.badge = badge
        self.changed(described=True)

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
            lr_next=self._lr_next(now),
        )

    def _grid(self, resolution: int, neurons: bool) -> dict[str, Any] | None:
        """The decision-boundary grid at the asked resolution, or the finest one whose cost stays within
        ``max_step_work`` (its ``resolution`` says which)."""
        fitted = grid_resolution(self.run.network.sizes, resolution, self.settings.max_step_work, neurons)
        return encode.grid(self.run, fitted, neurons)

    def _lr_next(self, now: float) -> list[dict[str, Any]]:
        """The schedule's preview for news: anew after a change or steps, but at most every
        LR_PREVIEW_EVERY seconds while playing (its steps are absolute, so a slightly older one stays true)."""
        cached = self._lr_preview
        step = self.run.step_count
        if (
            cached is None
            or cached[:2] != (self.generation, self.described)
            or (cached[2] != step and (not self.playing or now - cached[3] >= LR_PREVIEW_EVERY))
        ):
            cached = self._lr_preview = (self.generation, self.described, step, now, encode.lr_next(self.run))
        return cached[4]

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
            self.notice = UNWATCHED.format(seconds=idle)

    def save_due(self, now: float, interval: float) -> float | None:
        """How overdue this run's checkpoint is (None: nothing to save). Paused runs are saved at once;
        training ones (playing, or doing a call's steps) every ``interval`` seconds, less often when saving
        is slow (at most 10% of the time). A REST ``step`` is saved when its steps are done (durable), so
        saving it halfway as well would only double its checkpoints."""
        if self.version == self.saved_version:
            return None
        wait = max(interval, 10 * self.save_cost) if self.wait() <= 0.0 else 0.0
        overdue = now - self.saved_at - wait
        return overdue if overdue >= 0 else None

    def stop(self) -> None:
        """Pause a playing run, and leave a notice with its checkpoint (said when it is loaded again)."""
        if self.playing:
            self.playing = False
            self.changed(described=True)
            self.notice = STOPPED.format(step=self.run.step_count)

    def save(self, store: Store) -> bool:
        """Checkpoint what changed since the last saved checkpoint; False if the run's row is gone."""
        started = time.perf_counter()
        version = self.version
        description = self.describe()
        description["status"] = "diverged" if self.run.diverged else "paused"
        taken = persist.snapshot(self.run, self.mark)
        data = self.run.custom_data
        dataset = None
        if data is not None and data.content_hash != self.saved_dataset:  # rebuilt on new rows
            dataset = datasets.stored(data)
        checkpoint = Checkpoint(taken.core, description, taken.logs, taken.replace, dataset)
        if not store.save(self.id, checkpoint):
            return False
        self.mark = taken.mark
        if dataset is not None:
            self.saved_dataset = dataset.digest
        self.saved_version = version
        self.saved_at = time.monotonic()
        self.save_cost = time.perf_counter() - started
        return True

    def close(self) -> None:
        self._cancel_pending()


_NO_ROWS = np.empty((0, 0))
