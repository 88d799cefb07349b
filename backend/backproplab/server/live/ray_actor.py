"""A trainer on Ray: one named, restartable actor in front of one trainer process (``--trainers ray``).

The actor starts the same worker process the local trainers run (live/worker.py: a :class:`Shard` driven
by one thread) and relays between it and the web replicas: its event loop takes ``call``s from any replica
(a call's reply resolves when the shard answers it) and ``poll``s. Training runs in its own process rather
than in a thread of the actor because Ray's threads in the actor's process take the GIL thousands of times
a second: a shard trained there got ~70% of a core and ~0.6x the steps per CPU-second of a local worker.

Each replica subscribes under its own name and keeps one long ``poll`` per actor that returns the publishes
accumulated for it, so a run's news travels to each replica once, whatever its number of watchers. A
publish stays "in flight" until a poll took it (the actor tells the worker, :class:`Taken`): while a replica
has not collected its previous news, the next waits in the shard ("latest value wins"), exactly as a busy
pipe makes it wait for a local worker. A replica that stops polling for ``SUBSCRIBER_TTL`` seconds is
forgotten (its runs become unwatched, so they pause as unwatched runs do). The shard's latest
:class:`Status` (can it write checkpoints, runs it could not restore) goes with every poll.

The worker dies with the actor (SIGKILL), and the actor with the worker (Ray then restarts it). Restarted,
the actor's worker loads its runs lazily from the store, paused, with the restored notice
(ShardSettings.restored_message); its new ``incarnation`` tells the replicas to subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import multiprocessing
import os
import pickle
import queue
import secrets
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

import ray

from . import worker
from .protocol import Call, Goodbye, Publish, Reply, Status, Taken
from .shard import ShardSettings

log = logging.getLogger("backproplab.trainer")
SUBSCRIBER_TTL = 30.0  # seconds without a poll after which a replica's subscriptions are dropped
EXPIRY_EVERY = 5.0
GATHER = 0.005  # after the first news, a poll waits this long for more: fewer, fuller replies
# A replica's polls return at most this often (40 a second, above the frame rates a watcher asks for): news
# accumulate meanwhile, so 60 watched runs cost ~40 actor calls a second rather than one per publish; each
# call costs the actor's event loop and the gateway ~1 ms of Ray's machinery (measured: 100 polls a second
# took 19% of a core in the gateway, 40 take 12%).
POLL_EVERY = 0.025


@dataclass(frozen=True)
class Polled:
    """What one ``poll`` returns: who answered, and the news for the polling replica, pickled here once
    (a list of :class:`Publish`), so the gateway passes it on untouched."""

    incarnation: str
    fresh: bool  # the actor did not know this subscriber (new, or forgotten): subscribe again
    publishes: bytes | None = None
    status: Status | None = None  # the shard's latest report on itself (None before its first)


class Mailboxes:
    """Publishes waiting for each subscriber's next poll. Filled by the reader of the worker's pipe, emptied
    by polls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.boxes: dict[str, list[Publish]] = {}
        self.seen: dict[str, float] = {}
        self.taken: dict[str, float] = {}  # when each subscriber's box was last emptied
        self.events: dict[str, asyncio.Event] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    def put(self, publish: Publish) -> None:
        with self.lock:
            box = self.boxes.setdefault(publish.subscriber, [])
            box.append(publish)
            event = self.events.get(publish.subscriber) if len(box) == 1 else None
        # NOTE: wake the poll once per batch, not per publish.
        if event is not None and self.loop is not None:
            self.loop.call_soon_threadsafe(event.set)

    def waiting(self, subscriber: str) -> bool:
        with self.lock:
            return bool(self.boxes.get(subscriber))

    def take(self, subscriber: str) -> list[Publish]:
        with self.lock:
            self.taken[subscriber] = time.monotonic()
            return self.boxes.pop(subscriber, [])

    def touch(self, subscriber: str) -> bool:
        """Note that ``subscriber`` is alive; True if it was not known."""
        with self.lock:
            fresh = subscriber not in self.seen
            self.seen[subscriber] = time.monotonic()
            return fresh

    def expire(self, ttl: float) -> list[str]:
        """Forget subscribers unseen for ``ttl`` seconds; their names."""
        now = time.monotonic()
        with self.lock:
            gone = [name for name, seen in self.seen.items() if now - seen > ttl]
        for name in gone:
            self.drop(name)
        return gone

    def drop(self, subscriber: str) -> list[Publish]:
        """Forget ``subscriber``; the publishes it will never take."""
        with self.lock:
            self.seen.pop(subscriber, None)
            self.taken.pop(subscriber, None)
            self.events.pop(subscriber, None)
            return self.boxes.pop(subscriber, [])


@ray.remote
class TrainerActor:
    """Shard ``index`` of ``shards`` (see the module docstring). Created by live/ray_gateway.py."""

    def __init__(self, index: int, shards: int, location: str, settings: ShardSettings):
        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        # NOTE: Ray starts workers at nice 15 (RAY_worker_niceness): a trainer then yields its core to
        # anything else on the machine (measured: 0.55-0.8x a local worker's steps on a loaded machine).
        # Trainer nodes should run `ray start` with RAY_worker_niceness=0 (docker-compose.cluster.yml does);
        # where we may, we also undo it here.
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 0)
        logging.basicConfig(
            level=logging.INFO, format=f"%(asctime)s %(levelname)s trainer-{index}: %(message)s"
        )
        self.index, self.shards = index, shards
        self.incarnation = secrets.token_hex(8)
        self.restarted = restarted
        self.mailboxes = Mailboxes()
        self.waiting: dict[int, asyncio.Future[Reply]] = {}
        self.ids = itertools.count(1)
        self.outgoing: queue.SimpleQueue[Call | Taken] = queue.SimpleQueue()
        self.expiry: asyncio.Task[None] | None = None
        self.status: Status | None = None
        settings = worker.settings_for(settings, restarted)
        # NOTE: started from a thread that lives as long as the actor: the worker dies with that thread.
        started = threading.Event()
        threading.Thread(
            target=self._relay, args=(index, location, settings, started), name="relay", daemon=True
        ).start()
        started.wait()
        log.info(
            "trainer actor %d of %d started (pid %d%s)", index, shards, os.getpid(), ", restarted" * restarted
        )

    # ------------------------------------------------------------------ the event loop's side

    def _loop(self) -> asyncio.AbstractEventLoop:
        loop = self.mailboxes.loop
        if loop is None:
            loop = self.mailboxes.loop = asyncio.get_running_loop()
            self.expiry = loop.create_task(self._expire())
        return loop

    async def hello(self) -> dict[str, Any]:
        """Who this actor is: the replicas learn the shard count from actor 0."""
        self._loop()
        return {
            "index": self.index,
            "shards": self.shards,
            "pid": os.getpid(),
            "node": ray.util.get_node_ip_address(),  # type: ignore[no-untyped-call]  # untyped in Ray
            "incarnation": self.incarnation,
            "restarted": self.restarted,
        }

    async def call(self, call: Call) -> Reply | None:
        """Hand ``call`` to the shard; its reply (under the caller's id), or None for a cast (id 0)."""
        loop = self._loop()
        subscriber = call.args.get("subscriber")
        if call.op == "watch" and isinstance(subscriber, str):
            self.mailboxes.touch(subscriber)
        if not call.id:
            self.outgoing.put(call)
            return None
        # NOTE: ids are per replica; the shard needs ids unique across every replica that calls it.
        local = next(self.ids)
        future: asyncio.Future[Reply] = loop.create_future()
        self.waiting[local] = future
        self.outgoing.put(Call(local, call.op, call.target, call.args))
        try:
            reply = await future
        finally:
            self.waiting.pop(local, None)
        return Reply(call.id, reply.value, reply.failure)

    async def poll(self, subscriber: str, timeout: float) -> Polled:
        """The news for ``subscriber`` since its last poll, waiting up to ``timeout`` seconds for some."""
        self._loop()
        fresh = self.mailboxes.touch(subscriber)
        event = self.mailboxes.events.setdefault(subscriber, asyncio.Event())
        event.clear()
        if not fresh:
            pause = self.mailboxes.taken.get(subscriber, 0.0) + POLL_EVERY - time.monotonic()
            if pause > 0.0:
                await asyncio.sleep(pause)
            if not self.mailboxes.waiting(subscriber):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), timeout)
                    await asyncio.sleep(GATHER)
        publishes = self.mailboxes.take(subscriber)
        self._acknowledge(subscriber, publishes)
        pickled = pickle.dumps(publishes, pickle.HIGHEST_PROTOCOL) if publishes else None
        return Polled(self.incarnation, fresh, pickled, self.status)

    async def forget(self, subscriber: str) -> None:
        """A replica stops: drop its subscriptions now rather than after SUBSCRIBER_TTL."""
        self._unwatch_all(subscriber)

    async def _expire(self) -> None:
        while True:
            await asyncio.sleep(EXPIRY_EVERY)
            for subscriber in self.mailboxes.expire(SUBSCRIBER_TTL):
                log.info("replica %s stopped polling; dropping its subscriptions", subscriber)
                self._unwatch_all(subscriber)

    def _unwatch_all(self, subscriber: str) -> None:
        """``subscriber`` is gone: the shard stops publishing to it, and what it never took is no longer
        in flight."""
        self.outgoing.put(Call(0, "unwatch_all", "", {"subscriber": subscriber}))
        self._acknowledge(subscriber, self.mailboxes.drop(subscriber))

    def _acknowledge(self, subscriber: str, publishes: list[Publish]) -> None:
        """Tell the worker these publishes to ``subscriber`` are no longer in flight."""
        if publishes:
            self.outgoing.put(Taken(tuple((publish.target, subscriber) for publish in publishes)))

    # ------------------------------------------------------------------ the worker's side

    def _relay(self, index: int, location: str, settings: ShardSettings, started: threading.Event) -> None:
        """Start the worker process, then write our messages to it (the writer thread) and hand on its own
        (here) until it ends; then end the actor, for Ray to restart it."""
        context = multiprocessing.get_context("spawn")
        connection, child = context.Pipe(duplex=True)
        process = context.Process(
            target=worker.main,
            args=(index, location, settings, child, os.getpid()),
            name=f"backproplab-trainer-{index}",
        )
        process.start()
        child.close()
        threading.Thread(target=self._write, args=(connection,), name="writer", daemon=True).start()
        started.set()
        with contextlib.suppress(OSError, EOFError):
            while True:
                for message in connection.recv():  # a list: what the worker sent between two slices
                    self._dispatch(message)
        process.join(timeout=1)
        log.error("trainer %d's worker process ended (exit code %s); restarting", index, process.exitcode)
        os._exit(1)

    def _write(self, connection: Connection) -> None:
        while True:
            message = self.outgoing.get()
            try:
                connection.send(message)
            except (OSError, EOFError):
                return  # the worker is gone: the reader ends the actor

    def _dispatch(self, message: Reply | Publish | Status | Goodbye | None) -> None:
        if isinstance(message, Publish):
            self.mailboxes.put(message)
        elif isinstance(message, Reply):
            loop = self.mailboxes.loop
            if loop is not None:
                loop.call_soon_threadsafe(self._resolve, message)
        elif isinstance(message, Status):
            self.status = message  # read by the next poll (one reference swap: no lock needed)
        elif isinstance(message, Goodbye):
            log.info("trainer %d's worker stopped: %s", self.index, message.reason)

    def _resolve(self, reply: Reply) -> None:
        future = self.waiting.get(reply.id)
        if future is not None and not future.done():
            future.set_result(reply)
