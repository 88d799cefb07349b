"""An optimizer race on a 2-D test function as a trainer holds it (the live core's item for races).

A playing race is paced, not trained flat out: every running racer takes ``speed`` steps per second,
stepped at most ``TICK_HZ`` times a second (live/pace.py). Races live in memory only (a trainer restart loses them).
Subscribers get each racer's numbers and only the path points recorded since their previous news.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...engine.errors import ConfigError
from ...engine.optimizers import make_optimizer
from ...engine.race import MAX_STEPS_PER_CALL, RUNNING, Race
from ...engine.surfaces import Surface, get_surface
from ..errors import LimitError
from ..live.pace import Pace
from ..live.shard import Shard, Subscription

CATCH_UP = 1.0  # seconds of steps a late tick makes up at most
IDLE_SECONDS = 3600.0  # a race nobody watched or changed for this long is forgotten


@dataclass(frozen=True)
class RacerNews:
    summary: dict[str, Any]
    stride: int
    start: int  # index in the recorded path of the first point in ``points``
    points: np.ndarray  # (k, 2) recorded points from ``start`` on


@dataclass(frozen=True)
class RaceNews:
    playing: bool
    speed: int
    racers: tuple[RacerNews, ...]


class RaceItem:
    """One race in a trainer (see the module docstring)."""

    kind = "race"

    def __init__(self, race_id: str, race: Race, speed: int, owner: str | None):
        self.id = race_id
        self.race = race
        self.pace = Pace(speed, CATCH_UP)
        self.owner = owner
        self.playing = False
        self.version = 0
        self.generation = 0
        self.subscriptions: dict[str, Subscription] = {}
        self.touched = time.monotonic()

    def changed(self, restarted: bool = False) -> None:
        self.version += 1
        self.generation += restarted
        self.touched = time.monotonic()

    # ------------------------------------------------------------------ pacing

    @property
    def speed(self) -> int:
        """Steps per second while playing."""
        return int(self.pace.rate)

    def wait(self) -> float:
        """Seconds until this race needs its next tick (0: now)."""
        return self.pace.wait() if self.playing else float("inf")

    def advance(self, budget: float) -> None:
        steps = self.pace.take(MAX_STEPS_PER_CALL)
        if steps is None:
            return
        if steps:
            self.race.step(steps)
        self.playing = any(racer.status == RUNNING for racer in self.race.racers)
        self.changed()

    # ------------------------------------------------------------------ calls

    def handle(self, op: str, args: dict[str, Any], shard: Shard) -> Any:
        if op == "describe":
            return self.describe()
        if op == "owner":
            return self.owner
        if op in ("play", "pause"):
            self.playing = op == "play"
            self.pace = Pace(self.speed, CATCH_UP)
        elif op == "reset":
            self.race.reset()
        elif op == "step":
            steps = args["steps"]
            if not 1 <= steps <= MAX_STEPS_PER_CALL:
                raise LimitError(f"must be between 1 and {MAX_STEPS_PER_CALL}", "steps")
            self.race.step(steps)
        elif op == "patch":
            self._patch(args["patch"])
        elif op == "state":
            return self.describe(), self.generation, self.version, self._known()
        elif op != "delete":
            raise ValueError(f"races have no operation {op!r}")
        restarted = op == "reset" or (op == "patch" and args["patch"].get("start") is not None)
        self.changed(restarted=restarted)
        return self.describe()

    def _patch(self, patch: dict[str, Any]) -> None:
        """Apply a RacePatch; all of it is checked before any of it changes the race."""
        changes = patch.get("racers") or ()
        for change in changes:
            _check_hyper(self.race, change["index"], change["hyper"])
        if patch.get("start") is not None:
            self.race.set_start(*patch["start"])  # restarts every racer with its current hyperparameters
        for change in changes:
            self.race.set_racer_hyper(change["index"], **change["hyper"])
        if patch.get("speed") is not None:
            self.pace.rate = patch["speed"]

    def describe(self) -> dict[str, Any]:
        """The RaceOut body."""
        return {
            "id": self.id,
            **self.race.to_dict(),
            "playing": self.playing,
            "speed": self.speed,
            "surface": self.race.surface.to_dict(),
        }

    def _known(self) -> list[tuple[int, int]]:
        return [(racer.stride, len(racer.path)) for racer in self.race.racers]

    # ------------------------------------------------------------------ news

    def payload(self, subscription: Subscription, now: float) -> RaceNews:
        known = subscription.cursor if isinstance(subscription.cursor, list) else []
        racers = []
        for index, racer in enumerate(self.race.racers):
            stride, count = known[index] if index < len(known) else (0, 0)
            start = count if stride == racer.stride and count <= len(racer.path) else 0
            racers.append(
                RacerNews(
                    summary=racer.to_dict(path=False),
                    stride=racer.stride,
                    start=start,
                    points=np.array(racer.path[start:]).reshape(-1, 2),
                )
            )
        subscription.cursor = self._known()
        return RaceNews(playing=self.playing, speed=self.speed, racers=tuple(racers))

    # ------------------------------------------------------------------ upkeep

    def unwatched(self, idle: float, shard: Shard) -> None:
        """A race nobody watches stops playing (only a WebSocket can play it), and is forgotten after
        ``IDLE_SECONDS`` without a watcher or a change."""
        if self.subscriptions:
            self.touched = time.monotonic()
        elif self.playing:
            self.playing = False
            self.changed()
        elif time.monotonic() - self.touched > IDLE_SECONDS:
            shard.drop(self, "deleted")

    def save_due(self, now: float, interval: float) -> float | None:
        return None  # races live in memory only

    def stop(self) -> None:
        self.playing = False  # races are not kept: nobody opens this one again

    def save(self, store: Any) -> None:
        return None

    def close(self) -> None:
        return None


class RaceKind:
    """Makes races from a RaceCreate body (as a dict)."""

    def create(self, race_id: str, args: dict[str, Any], shard: Shard) -> RaceItem:
        body = args["body"]
        params = body.get("params") or {}
        surface = _surface(body["function"], params.get("condition"))
        specs = [
            {
                "name": racer.get("label") or racer["optimizer"],
                "optimizer": racer["optimizer"],
                "hyper": racer["hyper"],
            }
            for racer in body["racers"]
        ]
        try:
            race = Race(surface, body.get("start"), specs)
        except ConfigError as error:  # the engine says racers.<i>.optimizer.<key>; the body calls it hyper
            raise ConfigError(error.field.replace(".optimizer.", ".hyper."), error.reason) from None
        item = RaceItem(race_id, race, body["speed"], args.get("owner"))
        item.changed()
        return item

    def load(self, race_id: str, shard: Shard) -> RaceItem | None:
        return None


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
