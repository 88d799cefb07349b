"""Optimizer races on 2-D test functions, held by the server: creation, control, pacing and snapshots.

Each race lives in a :class:`RaceSlot` with its own lock. Playing races are stepped by one lightweight
pacing thread (started on demand, gone when nothing plays) at ``speed`` steps per second; after every
change the slot publishes an immutable :class:`RaceSnapshot` and wakes its WebSocket watchers, who send it
at their own frame rate (latest value wins). Everything that takes a lock runs off the event loop.
The registry is bounded: at most ``MAX_RACES`` races, and races nobody touched for ``IDLE_SECONDS`` are
dropped when room is needed.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..engine.errors import ConfigError
from ..engine.optimizers import make_optimizer
from ..engine.race import RUNNING, Race
from ..engine.surfaces import Surface, get_surface
from .errors import ApiError, TooManyRunsError
from .schemas_landscape import RaceCreate, RacePatch

MAX_RACES = 50
IDLE_SECONDS = 3600.0
TICK_HZ = 30


@dataclass(frozen=True)
class RaceSnapshot:
    """A race at one moment: per-racer summaries (no paths) and each racer's recorded path and stride."""

    version: int
    generation: int
    playing: bool
    speed: int
    racers: tuple[dict[str, Any], ...]
    paths: tuple[tuple[np.ndarray, ...], ...]
    strides: tuple[int, ...]


class RaceSlot:
    """One race, its lock, play state and watchers. ``generation`` bumps when the racers restart."""

    def __init__(self, race_id: str, race: Race, speed: int):
        self.id = race_id
        self.race = race
        self.speed = speed
        self.playing = False
        self.deleted = False
        self.version = 0
        self.generation = 0
        self.credit = 0.0  # fractional steps owed by the pacer
        self.touched = time.monotonic()
        self.watchers: dict[int, tuple[asyncio.AbstractEventLoop, asyncio.Event]] = {}
        self.snapshot: RaceSnapshot | None = None
        self._lock = threading.Lock()

    @contextmanager
    def locked(self) -> Iterator[Race]:
        with self._lock:
            yield self.race

    def publish(self, restarted: bool = False) -> None:
        """Take a new snapshot (lock held) and wake every watcher."""
        self.version += 1
        self.generation += restarted
        self.touched = time.monotonic()
        racers = self.race.racers
        self.snapshot = RaceSnapshot(
            version=self.version,
            generation=self.generation,
            playing=self.playing,
            speed=self.speed,
            racers=tuple(racer.to_dict(path=False) for racer in racers),
            paths=tuple(tuple(racer.path) for racer in racers),
            strides=tuple(racer.stride for racer in racers),
        )
        for loop, event in list(self.watchers.values()):
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    def describe(self) -> dict[str, Any]:
        """The RaceOut body (lock held)."""
        return {
            "id": self.id,
            **self.race.to_dict(),
            "playing": self.playing,
            "speed": self.speed,
            "surface": self.race.surface.to_dict(),
        }


class RaceRegistry:
    """Every race of this server and the thread that paces the playing ones."""

    def __init__(self) -> None:
        self.slots: dict[str, RaceSlot] = {}
        self._guard = threading.Lock()
        self._pacer: threading.Thread | None = None

    def get(self, race_id: str) -> RaceSlot:
        slot = self.slots.get(race_id)
        if slot is None:
            raise ApiError(f"no race with id {race_id!r}", "race_id", status=404)
        return slot

    def create(self, body: RaceCreate) -> dict[str, Any]:
        surface = _surface(body.function, body.params.condition if body.params else None)
        try:
            race = Race(surface, body.start, [_spec(racer) for racer in body.racers])
        except ConfigError as error:  # the engine says racers.<i>.optimizer.<key>; the body calls it hyper
            raise ConfigError(error.field.replace(".optimizer.", ".hyper."), error.reason) from None
        with self._guard:
            self._drop_idle()
            if len(self.slots) >= MAX_RACES:
                raise TooManyRunsError(f"this server holds at most {MAX_RACES} races; delete one first")
            slot = RaceSlot(secrets.token_urlsafe(12), race, body.speed)
            self.slots[slot.id] = slot
        with slot.locked():
            slot.publish()
            return slot.describe()

    def _drop_idle(self) -> None:
        cutoff = time.monotonic() - IDLE_SECONDS
        for race_id, slot in list(self.slots.items()):
            if not slot.watchers and slot.touched < cutoff:
                self._remove(race_id)

    def delete(self, slot: RaceSlot) -> None:
        with self._guard:
            self._remove(slot.id)

    def _remove(self, race_id: str) -> None:
        slot = self.slots.pop(race_id, None)
        if slot is None:  # deleted by a concurrent request
            return
        with slot.locked():
            slot.playing = False
            slot.deleted = True
            slot.publish()

    def describe(self, slot: RaceSlot) -> dict[str, Any]:
        with slot.locked():
            return slot.describe()

    def step(self, slot: RaceSlot, steps: int) -> dict[str, Any]:
        with slot.locked() as race:
            race.step(steps)
            slot.publish()
            return slot.describe()

    def patch(self, slot: RaceSlot, patch: RacePatch) -> dict[str, Any]:
        """Apply a RacePatch between two steps; all of it is checked before any of it changes the race."""
        changes = patch.racers or ()
        with slot.locked() as race:
            for change in changes:
                _check_hyper(race, change.index, change.hyper)
            if patch.start is not None:
                race.set_start(*patch.start)  # restarts every racer with its current hyperparameters
            for change in changes:
                race.set_racer_hyper(change.index, **change.hyper)
            if patch.speed is not None:
                slot.speed = patch.speed
            slot.publish(restarted=patch.start is not None)
            return slot.describe()

    def reset(self, slot: RaceSlot) -> None:
        with slot.locked() as race:
            race.reset()
            slot.publish(restarted=True)

    def play(self, slot: RaceSlot, playing: bool) -> None:
        with slot.locked():
            slot.playing = playing
            slot.credit = 0.0
            slot.publish()
        if playing:
            with self._guard:
                if self._pacer is None:
                    self._pacer = threading.Thread(target=self._pace, name="races", daemon=True)
                    self._pacer.start()

    def watch(
        self, slot: RaceSlot, client_id: int, loop: asyncio.AbstractEventLoop, wake: asyncio.Event
    ) -> None:
        slot.watchers[client_id] = (loop, wake)

    def unwatch(self, slot: RaceSlot, client_id: int) -> None:
        """Forget a watcher; a race nobody watches stops playing (only a WebSocket can play it)."""
        slot.watchers.pop(client_id, None)
        if not slot.watchers and slot.playing and not slot.deleted:
            self.play(slot, False)

    def state(self, slot: RaceSlot) -> tuple[dict[str, Any], RaceSnapshot]:
        """The RaceOut body and the snapshot it matches (so frames continue exactly where it ends)."""
        with slot.locked():
            return slot.describe(), slot.snapshot

    def _pace(self) -> None:
        """Step every playing race ``speed / TICK_HZ`` steps per tick; exit when nothing plays."""
        try:
            self._pace_until_idle()
        finally:  # also after an unexpected error, so the next play starts a new pacer
            with self._guard:
                if self._pacer is threading.current_thread():
                    self._pacer = None

    def _pace_until_idle(self) -> None:
        period = 1.0 / TICK_HZ
        while True:
            started = time.monotonic()
            with self._guard:
                playing = [slot for slot in self.slots.values() if slot.playing]
                if not playing:
                    return
            for slot in playing:
                with slot.locked() as race:
                    if not slot.playing:
                        continue
                    slot.credit += slot.speed / TICK_HZ
                    steps = int(slot.credit)
                    slot.credit -= steps
                    if steps:
                        race.step(steps)
                    slot.playing = any(racer.status == RUNNING for racer in race.racers)
                    slot.publish()
            time.sleep(max(0.0, period - (time.monotonic() - started)))


def _surface(function: str, condition: float | None) -> Surface:
    try:
        return get_surface(function, condition)
    except ConfigError as error:
        raise ConfigError(f"params.{error.field}", error.reason) from None


def _check_hyper(race: Race, index: int, hyper: dict[str, Any]) -> None:
    """Raise (naming racers.<index>.hyper) unless racer ``index`` would accept ``hyper``; changes nothing."""
    field = f"racers.{index}"
    if index >= len(race.racers):
        raise ConfigError(field, f"the race has racers 0 to {len(race.racers) - 1}")
    optimizer = race.racers[index].optimizer
    try:
        make_optimizer(optimizer.name, {"xy": np.zeros(2)}, **{**optimizer.hyper, **hyper})
    except ConfigError as error:
        raise ConfigError(f"{field}.hyper.{error.field.rpartition('.')[2]}", error.reason) from None


def _spec(racer: Any) -> dict[str, Any]:
    return {"name": racer.label or racer.optimizer, "optimizer": racer.optimizer, "hyper": racer.hyper}
