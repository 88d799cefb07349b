"""The trainers on a Ray cluster (``--trainers ray``), as a web replica sees them.

The trainers are named Ray actors, one per shard (live/ray_actor.py), shared by every web replica: a run
lives in actor ``shard_of(id, shards)`` whichever replica asks. This process does not talk to Ray itself:
a gateway process does (live/ray_gateway.py), because a Ray driver exits when it loses its cluster, and a
web replica must outlive its cluster. The gateway is a child process like a local worker and speaks the
same pipe protocol (Call in; Reply, Publish and each actor's Status out), plus :class:`GatewayEvent` s
about the actors, so :class:`RayTrainers` is :class:`LocalTrainers` with one process that reaches every
shard.

While a shard's actor cannot be reached (it is restarting, or the cluster is gone), changes to its runs
answer 503 with the reason and reads are answered from the store (:class:`OfflineReads`): the run as last
checkpointed, with a message saying training is unavailable. Nothing here imports Ray.
"""

from __future__ import annotations

import asyncio
import logging
import pickle
import shutil
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from typing import Any

from ..errors import ApiError
from ..runs.kind import RunKind
from ..settings import Settings
from ..store import StoreHealth, connect
from .protocol import Call, Publish, Reply, Status, shard_of
from .shard import Shard, ShardSettings
from .trainers import STOP_SECONDS, LocalTrainers, TrainerUnavailableError, WorkerHandle

log = logging.getLogger("backproplab.trainers")
READY_SECONDS = 60.0  # start() waits this long for every actor before serving reads only
# Calls a replica can answer from the store while training is unavailable.
READS = frozenset({"describe", "params", "history", "history_csv", "points", "copy", "export", "state"})
UNAVAILABLE = (
    "Training is unavailable (the Ray cluster cannot be reached): this is the run as last saved, at step "
    "{step}; it can be read but not changed until the cluster is back."
)


@dataclass(frozen=True)
class GatewayConfig:
    """What the gateway process needs (pickled to it)."""

    address: str
    namespace: str
    trainers: str
    location: str
    settings: ShardSettings
    subscriber: str
    node_dir: str  # Ray's files for the node a gateway may start (live/ray_gateway.py LocalNode)


@dataclass(frozen=True)
class ToShard:
    """A call for one shard by number (``broadcast``), not routed by the id of an item."""

    shard: int
    call: Call


@dataclass(frozen=True)
class Publishes:
    """A batch of publishes as one actor pickled it (a list of Publish): unpickled once, by the web process."""

    pickled: bytes


@dataclass(frozen=True)
class GatewayEvent:
    """News about the cluster from the gateway.

    ``ready`` (detail: the shard count, from actor 0), ``up`` (an actor answers again; detail: its pid,
    node and incarnation), ``restarted`` (an actor came back or forgot us: subscribe again), ``down``
    (detail: why it cannot be reached), ``failed`` (the gateway cannot reach the cluster; it exits).
    """

    kind: str
    shard: int = -1
    detail: Any = None


def gateway_main(config: GatewayConfig, connection: Connection) -> None:
    """The gateway process's entry point: Ray is imported there, never in the web process."""
    from .ray_gateway import main

    main(config, connection)


class OfflineReads:
    """Reads answered from the store while no trainer can: a read-only shard that never trains or saves."""

    CACHED = 128  # runs kept loaded between reads

    def __init__(self, location: str, settings: ShardSettings):
        self.location = location
        self.settings = replace(settings, restored_message=UNAVAILABLE)
        self.shard: Shard | None = None
        self.replies: list[Reply | Publish] = []
        self.lock = threading.Lock()
        self.stale = False

    def read(self, target: str, op: str, args: dict[str, Any]) -> Any:
        """Blocking: call it off the event loop."""
        with self.lock:
            if self.stale:
                self._close()
            if self.shard is None:
                self.shard = Shard(
                    -1, connect(self.location), self.settings, {"run": RunKind()}, self.replies.append
                )
            self.replies.clear()
            self.shard.handle(Call(1, op, target, args))
            reply = next(message for message in self.replies if isinstance(message, Reply))
            items = self.shard.items
            while len(items) > self.CACHED:
                items.pop(next(iter(items))).close()
        if reply.failure is not None:
            raise reply.failure.error()
        return reply.value

    def clear(self) -> None:
        """Training is back: the loaded runs are dropped before the next outage's first read (from the event
        loop: no waiting for a read in progress)."""
        self.stale = True

    def close(self) -> None:
        with self.lock:
            self._close()

    def _close(self) -> None:
        if self.shard is not None:
            self.shard.store.close()
            self.shard = None
        self.stale = False


class RayTrainers(LocalTrainers):
    """Trainer actors on Ray behind one gateway process (see the module docstring)."""

    def __init__(
        self,
        settings: Settings,
        location: str,
        shard_settings: ShardSettings,
        on_publish: Callable[[Publish], None],
        on_restart: Callable[[int], None],
        run_blocking: Callable[..., Awaitable[Any]],
    ):
        super().__init__(1, location, shard_settings, on_publish, on_restart)
        self.shards = int(settings.ray_trainers) if settings.ray_trainers.isdigit() else 1
        self.where = settings.ray_address or "a private Ray on this machine"
        self.server_settings = settings
        self.node_dir: str | None = None
        self.config: GatewayConfig | None = None
        self.offline = OfflineReads(location, shard_settings)
        self.run_blocking = run_blocking
        self.ready = False
        self.up: list[bool] = [False] * self.shards
        self.actors: list[dict[str, Any]] = [{} for _ in range(self.shards)]
        self.down: list[str | None] = [None] * self.shards  # why each actor cannot be reached
        self.restarts: list[int] = [0] * self.shards  # times each actor came back as a new incarnation
        self.stores: list[StoreHealth] = [StoreHealth()] * self.shards  # as each actor last reported
        self.problem: str | None = f"connecting to {self.where}"  # why the cluster cannot be reached
        self.all_up: asyncio.Event | None = None

    # ------------------------------------------------------------------ the gateway process

    def _process(
        self, handle: WorkerHandle, restarted: bool, connection: Connection
    ) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        if self.config is None:
            # NOTE: short, as Ray puts Unix sockets under it (at most ~100 bytes); one for this process's life.
            self.node_dir = tempfile.mkdtemp(prefix="ray-bpl-")
            cluster = self.server_settings
            self.config = GatewayConfig(
                cluster.ray_address,
                cluster.ray_namespace,
                cluster.ray_trainers,
                self.location,
                self.settings,
                self.subscriber,
                self.node_dir,
            )
        return gateway_main, (self.config, connection), "backproplab-ray-gateway"

    async def start(self) -> None:
        self.all_up = asyncio.Event()
        await super().start()
        try:
            await asyncio.wait_for(self.all_up.wait(), READY_SECONDS)
        except TimeoutError:
            log.warning(
                "%s is not ready after %.0f s (%s): serving reads until it is",
                self.where,
                READY_SECONDS,
                self.problem,
            )

    async def stop(self, seconds: float = STOP_SECONDS) -> None:
        await super().stop(seconds)
        await self.run_blocking(self.offline.close)
        if self.node_dir is not None:
            shutil.rmtree(self.node_dir, ignore_errors=True)

    def _dispatch(self, handle: WorkerHandle, message: Any) -> None:
        if isinstance(message, Publishes):
            for publish in pickle.loads(message.pickled):
                self.on_publish(publish)
        elif isinstance(message, GatewayEvent):
            self._event(message)
        elif isinstance(message, Status):
            if 0 <= message.shard < len(self.stores):
                self.stores[message.shard] = message.store
        else:
            super()._dispatch(handle, message)

    def _event(self, event: GatewayEvent) -> None:
        if event.kind == "ready":
            shards = int(event.detail)
            if shards != self.shards:
                log.info("the cluster has %d trainer actors (this replica asked for %d)", shards, self.shards)
            self.shards, self.ready = shards, True
            if shards != len(self.actors):
                self.actors, self.restarts = [{} for _ in range(shards)], [0] * shards
                self.stores = [StoreHealth()] * shards
            self.up, self.down = [False] * shards, [None] * shards
        elif event.kind == "up":
            known = self.actors[event.shard].get("incarnation")
            if known is not None and known != event.detail["incarnation"]:
                self.restarts[event.shard] += 1
                self.stores[event.shard] = StoreHealth()  # the new incarnation reports its own
            self.up[event.shard], self.actors[event.shard] = True, dict(event.detail)
            self.down[event.shard] = None
            log.info("trainer actor %d is up: %s", event.shard, event.detail)
            self.on_restart(event.shard)  # subscribe again: it may have restarted or forgotten us
            if all(self.up):
                self.problem = None
                self.offline.clear()
                if self.all_up is not None:
                    self.all_up.set()
        elif event.kind == "restarted":
            self.on_restart(event.shard)
        elif event.kind == "down":
            self.up[event.shard] = False
            self.down[event.shard] = f"its actor cannot be reached ({event.detail})"
            log.warning("trainer actor %d cannot be reached: %s", event.shard, event.detail)
        elif event.kind == "failed":
            self.problem = f"{self.where} cannot be reached: {event.detail}"
            log.warning("%s", self.problem)

    def _died(self, handle: WorkerHandle, process: Any) -> None:
        if not self._stopping:
            self.ready, self.up = False, [False] * self.shards
            self.problem = self.problem or f"{self.where} cannot be reached"
        super()._died(handle, process)

    def _restart(self, handle: WorkerHandle) -> None:
        if not self._stopping:
            self._spawn(handle, restarted=True)  # every shard re-subscribes when its actor is "up"

    # ------------------------------------------------------------------ calls

    def available(self, shard: int) -> bool:
        return self.ready and self.workers[0].alive and self.up[shard]

    def unavailable(self) -> TrainerUnavailableError:
        cause = (
            "the trainer holding this run is restarting"
            if self.ready
            else "the Ray cluster cannot be reached"
        )
        return TrainerUnavailableError(
            f"training is unavailable: {cause}; runs can be read but not changed until it is back, "
            "try again in a moment"
        )

    def handle_of(self, target: str) -> WorkerHandle:
        return self.workers[0]

    async def call(self, target: str, op: str, **args: Any) -> Any:
        readable = op in READS and args.get("kind") == "run"
        if self.available(shard_of(target, self.shards)):
            try:
                return await super().call(target, op, **args)
            except ApiError as error:
                if error.status != 503 or not readable:
                    raise
        elif not readable:
            raise self.unavailable()
        log.info("%s on %s answered from the store: its trainer is unavailable", op, target)
        return await self.run_blocking(self.offline.read, target, op, args)

    def cast(self, target: str, op: str, **args: Any) -> None:
        if self.available(shard_of(target, self.shards)):
            super().cast(target, op, **args)  # else dropped: "up" re-subscribes every session

    async def broadcast(self, op: str, **args: Any) -> list[Any]:
        if not all(self.available(shard) for shard in range(self.shards)):
            raise self.unavailable()
        return list(
            await asyncio.gather(*(self._call_shard(shard, op, args) for shard in range(self.shards)))
        )

    async def _call_shard(self, shard: int, op: str, args: dict[str, Any]) -> Any:
        handle = self.workers[0]
        assert self._loop is not None
        call = Call(next(self._ids), op, "", args)
        future: asyncio.Future[Any] = self._loop.create_future()
        handle.waiting[call.id] = future
        handle.outgoing.put(ToShard(shard, call))  # type: ignore[arg-type]  # the gateway routes it
        try:
            return await future
        finally:
            handle.waiting.pop(call.id, None)

    def status(self) -> list[dict[str, Any]]:
        """As LocalTrainers.status (GET /api/health), with why an actor is unavailable."""
        return [
            {
                "index": shard,
                "alive": self.available(shard),
                "restarts": self.restarts[shard],
                "store": self.stores[shard],
                "reason": None if self.available(shard) else self.problem or self.down[shard] or "restarting",
            }
            for shard in range(self.shards)
        ]
