"""A trainer's shard: the live items (runs, races) it owns, trained round-robin, and what it publishes.

Transport-free: a worker process (live/worker.py) or a Ray actor feeds it :class:`Call` s and sends what it
returns. One thread drives it, so items need no locks: a call is handled between two training slices.
Each playing item trains for up to ``time_slice`` seconds per turn (less when many play, so a round stays
near ``round_target``); a call that asks for many steps is done in the same turns, and its reply waits
until they are done. A watched item publishes to each subscriber when its news is due at that
subscriber's frame rate, or at once after a call changed it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from ...engine.errors import ConfigError
from ..errors import ApiError, field_errors, shown_id
from ..store import Store, StoreError, StoreHealth
from .protocol import Call, Failure, Publish, Reply, Wants

log = logging.getLogger("backproplab.trainer")

# Publish a little earlier than a subscriber's frame period: the trainer only looks between slices.
PUBLISH_EARLY = 0.9
# After a failed checkpoint the next attempt waits this long, doubling per failure up to the maximum.
RETRY_FIRST, RETRY_MAX = 0.5, 30.0
NOT_MADE = "the change was not made: {reason}"
UNSAVED = "the {what} but could not be saved: {reason}; it is saved when storage works again"


class Pending:
    """A reply that waits for work the item does in its training turns (a ``step`` of many steps).
    ``cancelled``: its caller went away; the item drops the work at its next turn."""

    def __init__(self) -> None:
        self.value: Any = None
        self.done = False
        self.cancelled = False

    def resolve(self, value: Any) -> None:
        self.value, self.done = value, True


@dataclass
class Subscription:
    """One subscriber's view of an item: what it wants, when its next publish is due, and what it has."""

    wants: Wants
    due: float = 0.0
    version: int = -1
    cursor: Any = None


class Item(Protocol):
    """A live thing a shard owns (runs/item.py, races/item.py)."""

    id: str
    kind: str
    playing: bool
    version: int  # bumps on every change
    generation: int  # bumps when watchers need a fresh `state` (reset, rebuild)
    subscriptions: dict[str, Subscription]

    def wait(self) -> float:
        """Seconds until the item needs its next turn: 0 while it trains flat out, inf when idle."""
        ...

    def advance(self, budget: float) -> None: ...

    def handle(self, op: str, args: dict[str, Any], shard: Shard) -> Any: ...

    def payload(self, subscription: Subscription, now: float) -> Any: ...

    def unwatched(self, idle: float, shard: Shard) -> None: ...

    def save_due(self, now: float, interval: float) -> float | None: ...

    def stop(self) -> None:
        """The trainer is stopping: stop playing (a kept item says so to whoever opens it next)."""
        ...

    def save(self, store: Store) -> bool | None:
        """Checkpoint the item; False if the store no longer has it (deleted), None if it is not kept."""
        ...

    def close(self) -> None: ...


class Kind(Protocol):
    """How a shard makes items of one kind: from a call, or from the store."""

    def create(self, item_id: str, args: dict[str, Any], shard: Shard) -> Item: ...

    def load(self, item_id: str, shard: Shard) -> Item | None: ...


def owner_of(item: Item) -> str:
    """Whose share an item's training counts against: its owner's identity when it has one, else its own."""
    owner = getattr(item, "owner", None)
    return f"owner:{owner}" if owner else f"{item.kind}:{item.id}"


@dataclass
class ShardSettings:
    """The part of the server settings a shard uses (pickled to worker processes)."""

    time_slice: float = 0.008
    round_target: float = 0.01
    unwatched_pause: float = 30.0
    checkpoint_interval: float = 5.0
    grid_fps: int = 10
    state_history_points: int = 5_000
    max_steps_per_request: int = 10_000
    max_step_work: float = 2e8
    max_request_work: float = 5e9
    restored_message: str | None = None  # said by runs loaded after this trainer restarted


@dataclass
class Waiting:
    call: Call
    pending: Pending
    item: Item


@dataclass
class Shard:
    """Items by id, the playing ones trained in turns; see the module docstring."""

    index: int
    store: Store
    settings: ShardSettings
    kinds: dict[str, Kind]
    send: Callable[[Reply | Publish], None]
    items: dict[str, Item] = field(default_factory=dict)
    waiting: list[Waiting] = field(default_factory=list)
    clock: Callable[[], float] = time.monotonic
    # True while an earlier publish to (item, subscriber) is still on its way: news waits rather than queue.
    in_flight: Callable[[str, str], bool] = lambda target, subscriber: False
    # Seconds of its fair share each owner has left this round; negative: it overdrew (a long step) and
    # sits out rounds until the debt is paid back (see work()).
    balances: dict[str, float] = field(default_factory=dict)
    # Checkpointing: the failure in force (None while saves work), when to try again, and how often it
    # failed in a row; runs that could not be restored from the store.
    failing: StoreError | None = None
    failing_since: float | None = None
    retry_at: float = 0.0
    failures: int = 0
    lost: set[str] = field(default_factory=set)

    # ------------------------------------------------------------------ calls

    def handle(self, call: Call) -> None:
        """Do one call; reply at once, or when its work is done (a :class:`Pending` result). The time it
        takes counts against its item's owner's fair share."""
        item: Item | None = None
        started = time.perf_counter()
        try:
            if call.args.get("durable") and (problem := self.storage_problem()) is not None:
                raise ApiError(NOT_MADE.format(reason=problem.reason), None, status=problem.status)
            value, item = self._dispatch(call)
            if item is not None:
                self._charge(item, time.perf_counter() - started)
        except (ApiError, ConfigError, ValidationError) as error:
            status = error.status if isinstance(error, ApiError) else 422
            problems = tuple((problem["field"], str(problem["reason"])) for problem in field_errors(error))
            self._reply(call, failure=Failure(status, problems))
            return
        except StoreError as error:
            self._reply(call, failure=Failure(error.status, ((None, f"the store failed: {error.reason}"),)))
            return
        except Exception:  # a bug must not take the trainer down with every run it holds
            log.exception("trainer %d: %s on %s failed", self.index, call.op, call.target)
            self._reply(call, failure=Failure(500, ((None, "internal error"),)))
            return
        if item is not None:
            self.publish(item, urgent=True)
        if isinstance(value, Pending) and not value.done:
            assert item is not None
            self.waiting.append(Waiting(call, value, item))
            return
        if isinstance(value, Pending):
            assert item is not None
            self._finish(Waiting(call, value, item))
            return
        self._reply(call, value)

    def _dispatch(self, call: Call) -> tuple[Any, Item | None]:
        op, target, args = call.op, call.target, call.args
        if op == "create":
            if target in self.items:
                raise ApiError(f"{target!r} exists already", "id", status=409)
            item = self.kinds[args["kind"]].create(target, args, self)
            self.items[target] = item
            return item.handle("describe", {}, self), item
        if op == "watch":
            item = self.item(target, args.get("kind"))
            self._subscribe(item, args["subscriber"], args["wants"])
            item.version += 1  # a new view gets its news even while the item is paused
            return None, item
        if op == "state" and "subscriber" in args:
            # Whoever is given a state is subscribed from it on, in the same call: a watcher can never
            # hold a state from a trainer that does not know it (a `watch` lost while a trainer restarted
            # left the cluster story's watcher with a state and no news after it).
            item = self.item(target, args.get("kind"))
            self._subscribe(item, args["subscriber"], args["wants"])
            state = {key: value for key, value in args.items() if key not in ("subscriber", "wants")}
            return item.handle(op, state, self), item
        if op == "cancel":
            self._cancel(args["call"])
            return None, None
        if op == "count":  # of one kind (and one owner, if given)
            owner = args.get("owner")
            return sum(
                1
                for item in self.items.values()
                if item.kind == args["kind"] and (owner is None or getattr(item, "owner", None) == owner)
            ), None
        if op == "describe_loaded":  # what this trainer holds, without loading anything
            kind = args["kind"]
            loaded = [item for item in self.items.values() if item.kind == kind]
            return {item.id: item.handle("describe", {}, self) for item in loaded}, None
        if op == "delete" and args.get("if_loaded") and target not in self.items:
            return None, None  # not loaded here: nothing to stop (the web process deletes its row)
        if op == "unwatch_all":  # a subscriber (a web replica) is gone
            for each in self.items.values():
                each.subscriptions.pop(args["subscriber"], None)
            return None, None
        if op == "unwatch":
            item_or_none = self.items.get(target)
            if item_or_none is not None:
                item_or_none.subscriptions.pop(args["subscriber"], None)
            return None, None
        item = self.item(target, args.get("kind"))
        value = item.handle(op, args, self)
        if op == "delete":
            self.drop(item, "deleted")
            return value, None
        return value, item

    @staticmethod
    def _subscribe(item: Item, subscriber: str, wants: Wants) -> None:
        """``subscriber`` gets ``item``'s news with ``wants`` from now on (a new one from its next publish)."""
        subscription = item.subscriptions.get(subscriber)
        if subscription is None:
            item.subscriptions[subscriber] = Subscription(wants)
        else:
            subscription.wants = wants

    def item(self, item_id: str, kind: str | None = None) -> Item:
        """The item, loaded from the store if this trainer does not hold it yet; 404 if there is none."""
        item = self.items.get(item_id)
        if item is None and kind is not None and kind in self.kinds:
            item = self.kinds[kind].load(item_id, self)
            if item is not None:
                self.items[item_id] = item
        if item is None or (kind is not None and item.kind != kind):
            noun = kind or "item"
            raise ApiError(f"no {noun} with id {shown_id(item_id)}", f"{noun}_id", status=404)
        return item

    def drop(self, item: Item, reason: str) -> None:
        """Forget an item and tell its subscribers it is gone."""
        self.items.pop(item.id, None)
        for subscriber in item.subscriptions:
            self.send(Publish(item.id, item.kind, subscriber, item.generation, item.version + 1, gone=reason))
        item.close()

    def _cancel(self, call_id: int) -> None:
        """The caller of a waiting call went away (its client disconnected): drop the call and its work."""
        for waiting in self.waiting:
            if waiting.call.id == call_id:
                waiting.pending.cancelled = True
                self.waiting.remove(waiting)
                return

    def _reply(self, call: Call, value: Any = None, failure: Failure | None = None) -> None:
        if call.id:
            self.send(Reply(call.id, value, failure))
        elif failure is not None:  # a cast: nobody waits for its answer, so its failure is said here
            log.warning("trainer %d: %s on %s failed: %s", self.index, call.op, call.target, failure.errors)

    # ------------------------------------------------------------------ training and publishing

    def work(self) -> float:
        """One round: give every item that is due its turn; the seconds until one is due again (0: now).

        Fair share by owner, then by item (deficit round robin): each owner with due items gets an equal
        share of the round (``time_slice`` at most, less when many play so a round stays near
        ``round_target``), split evenly between its due items. An item's step cannot be cut short, so an
        owner can use more than its share; the excess is a debt it pays back by sitting out rounds, so one
        owner's heavy steps (or many runs) cost the others latency of at most one step, not throughput.
        An owner with nothing left to train has no rounds to sit out: its debt is forgiven, or the news of
        its last turn (a run that diverged, a call's steps done) would wait for ever (publish_due).
        """
        due = [item for item in self.items.values() if item.wait() <= 0.0]
        owners: dict[str, list[Item]] = {}
        for item in due:
            owners.setdefault(owner_of(item), []).append(item)
        self.balances = {owner: left for owner, left in self.balances.items() if owner in owners}
        if due:
            share = min(self.settings.time_slice, self.settings.round_target / len(owners))
            for owner, items in owners.items():
                balance = min(self.balances.get(owner, 0.0) + share, share)
                self.balances[owner] = balance
                if balance <= 0.0:
                    continue
                for item in items:
                    started = time.perf_counter()
                    item.advance(balance / len(items))
                    self.publish(item)
                    self.balances[owner] -= time.perf_counter() - started
            self.balances = {owner: left for owner, left in self.balances.items() if left < 0.0}
            self._finish_waiting()
        return min((item.wait() for item in self.items.values()), default=float("inf"))

    def _charge(self, item: Item, seconds: float) -> None:
        owner = owner_of(item)
        self.balances[owner] = self.balances.get(owner, 0.0) - seconds

    def _finish_waiting(self) -> None:
        still = []
        for waiting in self.waiting:
            if waiting.pending.done:
                self.publish(waiting.item, urgent=True)
                self._finish(waiting)
            else:
                still.append(waiting)
        self.waiting = still

    def _finish(self, waiting: Waiting) -> None:
        """Answer a call whose work is done, checkpointing first when it asked to be durable."""
        if waiting.call.args.get("durable") and waiting.item.id in self.items:
            try:
                self.checkpoint(waiting.item)
            except StoreError as error:
                reason = UNSAVED.format(what="work was done", reason=error.reason)
                self._reply(waiting.call, failure=Failure(error.status, ((None, reason),)))
                return
        self._reply(waiting.call, waiting.pending.value)

    def publish(self, item: Item, urgent: bool = False) -> bool:
        """Send each subscriber of ``item`` its news, if it has any and it is due (or ``urgent``); True if
        anything was sent."""
        sent = False
        if not item.subscriptions:
            return sent
        now = self.clock()
        for subscriber, subscription in item.subscriptions.items():
            if subscription.version == item.version or not (urgent or now >= subscription.due):
                continue
            if not urgent and self.in_flight(item.id, subscriber):
                continue
            payload = item.payload(subscription, now)
            subscription.version = item.version
            subscription.due = now + PUBLISH_EARLY / subscription.wants.fps
            self.send(Publish(item.id, item.kind, subscriber, item.generation, item.version, payload))
            sent = True
        return sent

    def publish_due(self) -> None:
        """Publish every item whose news is due (the time, e.g. a grid's, counts against its owner; an
        owner that overdrew its share waits for its news too, or costly grids would escape fair share)."""
        for item in list(self.items.values()):
            if self.balances.get(owner_of(item), 0.0) < 0.0:
                continue
            started = time.perf_counter()
            if self.publish(item):
                self._charge(item, time.perf_counter() - started)

    def maintain(self, saving: bool = True) -> None:
        """Pause items nobody watches, and checkpoint the most overdue changed item (one per call). After
        a failed checkpoint, wait (doubling the wait per failure) before the next attempt; with nothing to
        save, probe the store instead, so a store that works again is noticed."""
        now = self.clock()
        most_overdue: tuple[float, Item] | None = None
        for item in list(self.items.values()):
            item.unwatched(self.settings.unwatched_pause, self)
            if not saving:
                continue
            overdue = item.save_due(now, self.settings.checkpoint_interval)
            if overdue is not None and (most_overdue is None or overdue > most_overdue[0]):
                most_overdue = (overdue, item)
        if not saving or now < self.retry_at:
            return
        if most_overdue is not None:
            self.save(most_overdue[1])
        elif self.storage_problem() is not None:
            self._probe()

    def storage_problem(self) -> StoreError | None:
        """Why checkpoints cannot be written now (None: they can, as far as this trainer knows)."""
        if self.failing is not None:
            return self.failing
        health = self.store.health()
        if not health.ok and health.kind is not None:
            return StoreError(health.reason or "the store failed", health.kind)
        return None

    def health(self) -> StoreHealth:
        """This trainer's view of the store, as reported to the web process."""
        problem = self.storage_problem()
        lost = tuple(sorted(self.lost))
        if problem is None:
            return StoreHealth(lost=lost)
        return StoreHealth(False, problem.kind, problem.reason, self.failing_since, lost)

    def checkpoint(self, item: Item) -> None:
        """Checkpoint ``item`` now; raises StoreError (any failure becomes one) and drops an item whose
        row is gone (the web process deleted it)."""
        try:
            saved = item.save(self.store)
        except StoreError as error:
            self._failed(error)
            raise
        except Exception as error:  # a bug in saving one item must not stop the trainer or its upkeep
            log.exception("trainer %d: checkpointing %s failed", self.index, item.id)
            failure = StoreError(f"checkpointing failed ({type(error).__name__}: {error})")
            self._failed(failure)
            raise failure from error
        self._worked()
        if saved is False:
            self.drop(item, "deleted")

    def save(self, item: Item) -> bool:
        """Checkpoint ``item``, logging a failure instead of raising it; True if it was saved."""
        try:
            self.checkpoint(item)
        except StoreError:
            return False
        return True

    def _failed(self, error: StoreError) -> None:
        now = self.clock()
        if self.failing is None:
            self.failing_since = time.time()
            cause = f" ({error.__cause__})" if error.__cause__ else ""
            log.warning(
                "trainer %d: checkpoints fail: %s%s; retrying with backoff", self.index, error.reason, cause
            )
        self.failing = error
        self.failures += 1
        self.retry_at = now + min(RETRY_MAX, RETRY_FIRST * 2 ** (self.failures - 1))

    def _worked(self) -> None:
        if self.failing is not None:
            log.warning("trainer %d: checkpoints work again", self.index)
        self.failing, self.failing_since, self.failures, self.retry_at = None, None, 0, 0.0

    def _probe(self) -> None:
        health = self.store.probe()
        if health.ok:
            self._worked()
        else:
            self._failed(StoreError(health.reason or "the store failed", health.kind or "unavailable"))

    def save_all(self) -> None:
        """Checkpoint every changed item (at shutdown), each tried once."""
        for item in list(self.items.values()):
            item.stop()
            if item.save_due(float("inf"), 0.0) is not None:
                self.save(item)
