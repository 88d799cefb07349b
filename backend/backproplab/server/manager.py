"""The run manager: creates, finds and persists runs, and trains the playing ones in the background.

One training thread round-robins the playing runs in short time slices (``settings.time_slice``, shorter
when many runs play so a round stays near ``settings.round_target``), holding each run's lock only for its
slice: control operations (from REST and WebSocket handlers, run in a small worker pool, never on the event
loop) get in between two slices, and the trainer skips a run whose lock someone is waiting for. A
maintenance thread checkpoints changed runs and pauses idle ones.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from ..engine.config import RunConfig, merge_config
from ..engine.gradcheck import gradient_check
from ..engine.run import Run
from .errors import LimitError, RunNotFoundError, TooManyRunsError
from .frames import dumps
from .schemas import ViewMessage
from .settings import Settings
from .slot import Slot
from .store import Store

log = logging.getLogger("backproplab.manager")
T = TypeVar("T")
MAX_CHUNK = 10_000  # steps per engine call at most


class Manager:
    """Every run of this server, its training thread and its persistence."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.slots: dict[str, Slot] = {}
        self.store: Store | None = None
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="runs")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the store, load every saved run (paused) and start the trainer and maintenance threads.

        ``loop`` is the server's event loop: snapshots published from other threads wake watchers there.
        Also sets the process's GIL switch interval (``settings.switch_interval``).
        """
        self._loop = loop
        sys.setswitchinterval(self.settings.switch_interval)
        self.store = Store(self.settings.data_dir)
        for run_id, blob in self.store.load_all():
            try:
                run = Run.from_bytes(blob)
            except Exception as error:  # a blob this version cannot read must not stop the server
                log.error("could not restore run %s (%s); left it in the database, not loaded", run_id, error)
                continue
            slot = self._new_slot(run_id, run)
            slot.saved_version = slot.version
            self.slots[run_id] = slot
        log.info("loaded %d runs from %s", len(self.slots), self.store.path)
        for target, name in ((self._train_loop, "trainer"), (self._maintenance_loop, "maintenance")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Stop training, checkpoint every run (as paused) and close the store."""
        self._stop.set()
        self._wake.set()
        for thread in self._threads:
            thread.join(timeout=10)
        for slot in list(self.slots.values()):
            slot.playing = False
            self._save(slot)
        self._pool.shutdown(wait=True)
        if self.store is not None:
            self.store.close()

    async def call(self, function: Callable[..., T], *args: Any) -> T:
        """Run ``function(*args)`` in the worker pool (it may wait for a run's lock)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(function, *args))

    def _new_slot(self, run_id: str, run: Run) -> Slot:
        slot = Slot(run_id, run, metrics_capacity=2 * self.settings.frame_metrics_cap)
        slot.on_publish = self._publish
        return slot

    def _publish(self, slot: Slot) -> None:
        """Wake every watcher of ``slot`` (called from any thread after a new snapshot)."""
        events = list(slot.wakers.values())
        if events and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(_set_all, events)

    # ------------------------------------------------------------------ runs

    def get(self, run_id: str) -> Slot:
        slot = self.slots.get(run_id)
        if slot is None:
            raise RunNotFoundError(run_id)
        return slot

    def create(self, config: RunConfig) -> Slot:
        if len(self.slots) >= self.settings.max_runs:
            raise TooManyRunsError(
                f"this server holds at most {self.settings.max_runs} runs; delete one first"
            )
        self._check_size(config)
        run_id = secrets.token_urlsafe(16)
        slot = self._new_slot(run_id, Run(config))
        self.slots[run_id] = slot
        self._save(slot)
        return slot

    def delete(self, slot: Slot) -> None:
        with slot.locked():
            slot.playing = False
            slot.deleted = True
            slot.changed()
            slot.refresh(force=True)  # wakes the watchers, who tell their clients
        self.slots.pop(slot.id, None)
        self.store.delete(slot.id)

    def describe(self, slot: Slot, rebuilt: bool | None = None) -> dict[str, Any]:
        """The protocol's Run object."""
        with slot.locked() as run:
            return self._describe(slot, run, rebuilt)

    def describe_all(self) -> list[dict[str, Any]]:
        return [self.describe(slot) for slot in list(self.slots.values())]

    @staticmethod
    def _describe(slot: Slot, run: Run, rebuilt: bool | None = None) -> dict[str, Any]:
        config = run.config.model_dump(mode="json")
        if config["dataset"]["kind"] == "custom":
            config["dataset"]["X"] = config["dataset"]["y"] = None
        return {
            "id": slot.id,
            "status": slot.status,
            "message": run.message,
            "step": run.step_count,
            "epoch": run.epoch,
            "config": config,
            "resolved": run.resolved(),
            "latest": run.latest(),
            "rebuilt": rebuilt,
        }

    # ------------------------------------------------------------------ control (worker threads)

    def _control(self, slot: Slot, action: Callable[[Run], T], save: bool) -> T:
        with slot.locked() as run:
            result = action(run)
            slot.touch()
            slot.refresh(force=True)
        if save:
            self._save(slot)
        return result

    def play(self, slot: Slot, save: bool = True) -> None:
        def action(run: Run) -> None:
            slot.playing = not run.diverged
            slot.changed()

        self._control(slot, action, save)
        self._wake.set()

    def pause(self, slot: Slot, save: bool = True) -> None:
        def action(run: Run) -> None:
            slot.playing = False
            slot.changed()

        self._control(slot, action, save)

    def reset(self, slot: Slot, save: bool = True) -> None:
        def action(run: Run) -> None:
            run.reset()
            slot.changed(rebuilt=True)

        self._control(slot, action, save)

    def patch(self, slot: Slot, patch: dict[str, Any], save: bool = True) -> bool:
        """Merge any part of a RunConfig between two steps; True when the network was rebuilt."""

        def action(run: Run) -> bool:
            if isinstance(patch, dict) and patch.keys() & {"model", "dataset", "features"}:
                self._check_size(merge_config(run.config, patch))
            rebuilt = run.apply_config(patch)
            slot.changed(rebuilt)
            return rebuilt

        return self._control(slot, action, save)

    def step(self, slot: Slot, steps: int, save: bool = True) -> int:
        """Do ``steps`` optimizer steps now, in chunks so watchers and the trainer get turns."""
        if not 1 <= steps <= self.settings.max_steps_per_request:
            raise LimitError(f"must be between 1 and {self.settings.max_steps_per_request}", "steps")
        done = 0
        while done < steps:
            with slot.locked() as run:
                chunk = max(1, min(steps - done, int(self.settings.time_slice / slot.step_cost)))
                count = run.step(chunk)
                done += count
                slot.changed()
                slot.touch()
                if run.diverged:
                    slot.playing = False
                slot.refresh(force=count < chunk or done >= steps)
            if count < chunk:
                break
        if save:
            self._save(slot)
        return done

    def set_weight(self, slot: Slot, layer: int, row: int, col: int, value: float) -> None:
        def action(run: Run) -> None:
            run.set_weight(layer, row, col, value)
            slot.changed()

        self._control(slot, action, save=False)

    def set_bias(self, slot: Slot, layer: int, index: int, value: float) -> None:
        def action(run: Run) -> None:
            run.set_bias(layer, index, value)
            slot.changed()

        self._control(slot, action, save=False)

    def _check_size(self, config: RunConfig) -> None:
        count = parameter_estimate(config)
        if count > self.settings.max_parameters:
            raise LimitError(
                f"the network would have about {count:,} parameters; the limit is {self.settings.max_parameters:,}",
                "model.hidden",
            )

    # ------------------------------------------------------------------ views (worker threads)

    def params(self, slot: Slot) -> dict[str, Any]:
        with slot.locked() as run:
            return run.params()

    def history(self, slot: Slot, max_points: int | None) -> dict[str, Any]:
        with slot.locked() as run:
            return run.history(max_points=max_points)

    def history_csv(self, slot: Slot, max_points: int | None) -> str:
        with slot.locked() as run:
            return run.history_csv(max_points=max_points)

    def points(self, slot: Slot) -> dict[str, Any]:
        with slot.locked() as run:
            return run.points()

    def gradcheck(self, slot: Slot, samples: int, h: float) -> dict[str, Any]:
        """Backprop's gradients against central differences on the first ``samples`` training rows."""
        with slot.locked() as run:
            count = run.network.parameter_count()
            if count > self.settings.max_gradcheck_parameters:
                raise LimitError(
                    f"gradient check is limited to {self.settings.max_gradcheck_parameters:,} parameters; "
                    f"this network has {count:,}",
                    "model.hidden",
                )
            reg = run.config.regularization
            return gradient_check(
                run.network,
                run.loss,
                run.X_train[:samples],
                run.target_train[:samples],
                h=h,
                regularization=(reg.kind, reg.rate),
            )

    def state_text(self, slot: Slot, view: ViewMessage) -> tuple[str, int, int, int]:
        """The WebSocket ``state`` message as JSON, with the generation, version and step it shows."""
        with slot.locked() as run:
            grid = run.grid(view.resolution, view.neurons) if view.grid else None
            raw_2d = run.resolved().get("raw_input_size") == 2
            message = {
                "type": "state",
                "run": self._describe(slot, run),
                "history": run.history(max_points=self.settings.state_history_points),
                "params": run.params(),
                "grid": grid,
                "points": run.points() if raw_2d else None,
            }
            slot.refresh(force=True)
            return dumps(message), slot.generation, slot.version, run.step_count

    def watch(self, slot: Slot, client_id: int, view: ViewMessage, fps: int, wake: asyncio.Event) -> None:
        """Register (or update) what a client wants; refresh the snapshot so it has it."""
        slot.set_watcher(client_id, view, fps, wake)
        with slot.locked():
            # A new version, so a client whose view changed gets a frame even while the run is paused.
            slot.changed()
            slot.refresh(force=True)

    # ------------------------------------------------------------------ background threads

    def _train_loop(self) -> None:
        """Round-robin the playing runs, one time slice each, until stopped."""
        while not self._stop.is_set():
            playing = [slot for slot in list(self.slots.values()) if slot.playing]
            if not playing:
                self._wake.wait(0.1)
                self._wake.clear()
                continue
            budget = min(self.settings.time_slice, self.settings.round_target / len(playing))
            trained = 0
            for slot in playing:
                if slot.waiting:
                    continue  # a control operation is queued for this run: let it in first
                with slot.locked():
                    if slot.playing:
                        self._train_slice(slot, budget)
                        trained += 1
            if not trained:
                time.sleep(0.0005)

    def _train_slice(self, slot: Slot, budget: float) -> None:
        """Step one run for about ``budget`` seconds (lock held), then publish a snapshot if watched."""
        run = slot.run
        clock = time.perf_counter
        deadline = clock() + budget
        while True:
            now = clock()
            chunk = max(1, min(MAX_CHUNK, int((deadline - now) / slot.step_cost)))
            done = run.step(chunk)
            elapsed = clock() - now
            if done:
                slot.step_cost = 0.8 * slot.step_cost + 0.2 * max(elapsed / done, 1e-7)
            slot.changed()
            if run.diverged or done < chunk:
                slot.playing = False
                slot.refresh(force=True)
                return
            if clock() >= deadline or slot.waiting:
                break
        slot.refresh()

    def _maintenance_loop(self) -> None:
        """Pause idle runs and checkpoint changed ones: paused ones at once, running ones every few seconds.

        At most one checkpoint per tick (10 per second), the most overdue first, so twenty running runs
        do not all serialise at the same moment and stall everything else for a while.
        """
        while not self._stop.wait(0.1):
            now = time.monotonic()
            due: list[tuple[float, Slot]] = []
            for slot in list(self.slots.values()):
                if slot.playing and not slot.watchers and now - slot.touched > self.settings.idle_timeout:
                    log.info("pausing run %s: idle for %.0f s", slot.id, now - slot.touched)
                    self.pause(slot, save=False)
                if slot.version == slot.saved_version or slot.deleted:
                    continue
                # NOTE: a checkpoint holds the run's lock; a run whose blob is slow to write (a large
                # custom dataset) is checkpointed less often, so saving never takes over 10% of its time.
                interval = (
                    0.0 if not slot.playing else max(self.settings.checkpoint_interval, 10 * slot.save_cost)
                )
                overdue = now - slot.saved_at - interval
                if overdue >= 0:
                    due.append((overdue, slot))
            if due:
                self._save(max(due, key=lambda item: item[0])[1])

    def _save(self, slot: Slot) -> None:
        """Checkpoint a run: the blob is taken under its lock and written outside it."""
        started = time.perf_counter()
        with slot.locked() as run:
            if slot.deleted:
                return
            blob = run.to_bytes()
            version = slot.version
        self.store.save(slot.id, blob)
        slot.save_cost = time.perf_counter() - started
        if slot.deleted:  # deleted while the blob was being written: do not bring it back
            self.store.delete(slot.id)
        slot.saved_version = version
        slot.saved_at = time.monotonic()


def _set_all(events: list[asyncio.Event]) -> None:
    for event in events:
        event.set()


def parameter_estimate(config: RunConfig) -> int:
    """The parameter count a config's network will have (exact for built-in data, an upper bound otherwise)."""
    dataset = config.dataset
    if dataset.kind == "custom":
        inputs = len(dataset.X[0]) if dataset.X else 1
        distinct = len(set(dataset.y or []))
        outputs = distinct if distinct <= 64 else 1
    else:
        inputs = len(config.features)
        outputs = dataset.classes if dataset.kind in ("gauss", "spiral") else 1
    sizes = [inputs, *config.model.hidden, outputs]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in itertools.pairwise(sizes))
