"""One managed run: the engine Run, the lock that serialises access to it, and what the server tracks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ..engine.run import Run
from .frames import MetricsBuffer, Snapshot, Wants, dumps
from .schemas import ViewMessage

# Publish a little earlier than the fastest watcher's frame period: the trainer only looks between slices.
SNAPSHOT_EARLY = 0.9


class Slot:
    """A run plus its lock, play state, change counters, watchers and latest snapshot.

    ``version`` bumps on every change (clients send a frame only when it moved); ``generation`` bumps
    on reset and rebuild (clients then need a fresh ``state``). Fields other than the watcher table are
    written only while holding the lock.
    """

    def __init__(self, run_id: str, run: Run, metrics_capacity: int):
        self.id = run_id
        self.run = run
        self.playing = False
        self.deleted = False
        self.version = 0
        self.generation = 0
        self.saved_version = 0
        self.saved_at = time.monotonic()
        self.save_cost = 0.0  # seconds the last checkpoint took
        self.touched = time.monotonic()
        self.step_cost = 1e-4  # seconds per step, a running average used to size time slices
        self.watchers: dict[int, tuple[ViewMessage, int]] = {}  # client id -> (view, fps)
        self.wakers: dict[int, asyncio.Event] = {}  # client id -> its sender's wake-up event
        self.wants = Wants()
        self.snapshot: Snapshot | None = None
        self.snapshot_at = 0.0
        self.metrics = MetricsBuffer(metrics_capacity)
        self.frame_metrics_cap = metrics_capacity // 2
        self.on_publish: Callable[[Slot], None] | None = None  # wakes the watchers' tasks (thread-safe)
        self._lock = threading.Lock()
        self.waiting = 0  # threads queued for the lock; the trainer steps aside for them
        self._waiting_lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator[Run]:
        """Hold the run's lock (the engine Run is not thread-safe)."""
        with self._waiting_lock:  # NOTE: `+=` on an attribute is not atomic across threads
            self.waiting += 1
        try:
            self._lock.acquire()
        finally:
            with self._waiting_lock:
                self.waiting -= 1
        try:
            yield self.run
        finally:
            self._lock.release()

    @property
    def status(self) -> str:
        if self.run.diverged:
            return "diverged"
        return "running" if self.playing else "paused"

    def touch(self) -> None:
        self.touched = time.monotonic()

    def changed(self, rebuilt: bool = False) -> None:
        """Record a change (call with the lock held); a rebuild or reset also starts a new generation."""
        self.version += 1
        if rebuilt:
            self.generation += 1
            self.metrics.clear(self.run.step_count)

    def set_watcher(self, client_id: int, view: ViewMessage, fps: int, wake: asyncio.Event) -> None:
        self.watchers[client_id] = (view, fps)
        self.wakers[client_id] = wake
        self.wants = Wants.of(list(self.watchers.values()))

    def drop_watcher(self, client_id: int) -> None:
        self.watchers.pop(client_id, None)
        self.wakers.pop(client_id, None)
        self.wants = Wants.of(list(self.watchers.values()))

    def refresh(self, force: bool = False) -> None:
        """Publish a new snapshot if someone watches and one is due (call with the lock held)."""
        wants = self.wants
        if not self.watchers:
            return
        now = time.perf_counter()
        if not force and now - self.snapshot_at < SNAPSHOT_EARLY / wants.fps:
            return
        run = self.run
        metrics = self.metrics
        stale = run.step_count != metrics.last_step or metrics.latest is None
        if stale and not metrics.add(run.history_rows(since_step=metrics.last_step)):
            metrics.latest = run.latest()  # a gap or a first look: ask the engine
        grid = run.grid(wants.resolution, wants.neurons) if wants.grid else None
        neurons = grid.pop("neurons", None) if grid else None
        previous = self.snapshot
        self.snapshot = Snapshot(
            version=self.version,
            step=run.step_count,
            epoch=run.epoch,
            status=self.status,
            message=run.message,
            lr=run.resolved()["lr"],
            latest_json=dumps(metrics.latest),
            params_json=dumps(run.params()) if wants.params else None,
            grid_json=dumps(grid) if grid is not None else None,
            neurons_json=dumps(neurons) if neurons is not None else None,
            metrics=tuple(metrics.blocks),
            n_layers=len(run.network.layers),
        )
        self.snapshot_at = now
        if previous is not None:
            # NOTE: encode the frame most watchers need (everything since the previous snapshot) here, in
            # the trainer's thread. Built on the event loop, its numpy calls each hand the GIL back and
            # forth with the trainer, which measured a 28% training slowdown for one 30 fps client.
            for view, _fps in list(self.watchers.values()):
                self.snapshot.frame_for(previous.step, view, self.frame_metrics_cap)
        if self.on_publish is not None:
            self.on_publish(self)
