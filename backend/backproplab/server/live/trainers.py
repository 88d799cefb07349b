"""The trainers as the web process sees them: a call to the shard that owns an item, and its publishes.

:class:`Trainers` is the interface the routes and the hub use; :class:`LocalTrainers` implements it with
one worker process per shard on this machine (live/worker.py), started through a fork server that has the
engine imported already. A worker that dies is started again with the same shard; its runs come back from
their last checkpoint (paused, with a notice) the next time anything names them, and the hub re-subscribes
its watchers (``on_restart``). Calls in flight to a dead worker fail with 503.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import os
import queue
import socket
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any, Protocol

from ..errors import ApiError
from ..store import StoreHealth
from . import worker
from .protocol import SHUTDOWN, Call, Goodbye, Publish, Reply, Status, shard_of
from .shard import ShardSettings

log = logging.getLogger("backproplab.trainers")
STOP_SECONDS = 8.0  # a graceful stop waits this long for the workers' last checkpoints (and kills)
KILL_SECONDS = 1.0  # of which this long is kept for killing the workers that did not stop
RESTART_BACKOFF = (0.1, 0.5, 2.0, 5.0)


class TrainerUnavailableError(ApiError):
    status = 503

    def __init__(self, reason: str):
        super().__init__(reason, None)


class Trainers(Protocol):
    """Where items live. ``subscriber`` names this web process in every watch."""

    subscriber: str
    shards: int

    async def start(self) -> None: ...

    async def stop(self, seconds: float = ...) -> None:
        """Checkpoint every item and stop within ``seconds``."""
        ...

    async def call(self, target: str, op: str, **args: Any) -> Any: ...

    def cast(self, target: str, op: str, **args: Any) -> None: ...

    async def broadcast(self, op: str, **args: Any) -> list[Any]:
        """Do ``op`` on every shard (ops about the shard, not one item); the answers in shard order."""
        ...

    def status(self) -> list[dict[str, Any]]:
        """One dict per shard: ``index``, ``alive``, ``restarts``, ``store`` (the StoreHealth the trainer
        last reported in a :class:`Status`) and, optionally, ``reason``: why it is not alive."""
        ...


def subscriber_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class WorkerHandle:
    """One worker process, its pipe, and the calls waiting for its replies."""

    def __init__(self, index: int):
        self.index = index
        self.process: Any = None
        self.connection: Connection | None = None
        self.outgoing: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
        self.waiting: dict[int, asyncio.Future[Any]] = {}
        self.started_at = 0.0
        self.restarts = 0
        self.failures = 0  # restarts in a row that followed a short life
        self.leaving = False  # it said goodbye: stopped on request, not to be restarted
        self.alive = False
        self.store = StoreHealth()  # as the worker last reported it

    def send(self, call: Call) -> None:
        self.outgoing.put(call)


class LocalTrainers:
    """Worker processes on this machine, one per shard (see the module docstring)."""

    def __init__(
        self,
        count: int,
        location: str,
        settings: ShardSettings,
        on_publish: Callable[[Publish], None],
        on_restart: Callable[[int], None],
    ):
        self.shards = count
        self.subscriber = subscriber_name()
        self.location = location
        self.settings = settings
        self.on_publish = on_publish
        self.on_restart = on_restart
        self.workers = [WorkerHandle(index) for index in range(count)]
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["backproplab.server.live.worker"])

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        # NOTE: one BLAS thread per worker: the workers already keep every core busy, and a multi-threaded
        # BLAS oversubscribes them (measured: a 784-wide network ran 25x slower under load).
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(variable, "1")
        for handle in self.workers:
            self._spawn(handle, restarted=False)

    def _process(
        self, handle: WorkerHandle, restarted: bool, connection: Connection
    ) -> tuple[Callable[..., None], tuple[Any, ...], str]:
        """What a handle's process runs: its entry point, arguments and name (RayTrainers runs another)."""
        args = (handle.index, self.location, worker.settings_for(self.settings, restarted), connection)
        return worker.main, args, f"backproplab-trainer-{handle.index}"

    def _spawn(self, handle: WorkerHandle, restarted: bool) -> None:
        parent, child = self._context.Pipe(duplex=True)
        target, args, name = self._process(handle, restarted, child)
        process = self._context.Process(target=target, args=args, name=name, daemon=True)
        process.start()
        child.close()
        handle.process, handle.connection, handle.alive, handle.leaving = process, parent, True, False
        handle.store = StoreHealth()
        handle.started_at = time.monotonic()
        handle.outgoing = queue.SimpleQueue()
        threading.Thread(target=self._write, args=(handle, parent), daemon=True).start()
        threading.Thread(target=self._read, args=(handle, parent, process), daemon=True).start()

    def _write(self, handle: WorkerHandle, connection: Connection) -> None:
        outgoing = handle.outgoing
        while (call := outgoing.get()) is not None:
            try:
                connection.send(call)
            except (OSError, EOFError):
                return
            except Exception as error:  # the call does not pickle (nested too deeply): fail it, not the pipe
                assert self._loop is not None
                self._loop.call_soon_threadsafe(self._unsendable, handle, call, error)

    def _unsendable(self, handle: WorkerHandle, call: Call, error: Exception) -> None:
        future = handle.waiting.pop(call.id, None)
        if future is not None and not future.done():
            reason = "nests too deeply" if isinstance(error, RecursionError) else f"cannot be sent ({error})"
            future.set_exception(ApiError(f"the request {reason}", "body", status=422))

    def _read(self, handle: WorkerHandle, connection: Connection, process: Any) -> None:
        loop = self._loop
        assert loop is not None
        try:
            while True:
                messages = connection.recv()  # a list: a trainer writes what queued meanwhile at once
                loop.call_soon_threadsafe(self._dispatch_all, handle, messages)
        except (OSError, EOFError):
            pass
        if not loop.is_closed():
            loop.call_soon_threadsafe(self._died, handle, process)

    def _dispatch_all(self, handle: WorkerHandle, messages: list[Any]) -> None:
        for message in messages:
            if message is not None:  # None: a message the trainer could not send (it logged why)
                self._dispatch(handle, message)

    def _dispatch(self, handle: WorkerHandle, message: Reply | Publish | Goodbye | Status) -> None:
        if isinstance(message, Publish):
            self.on_publish(message)
            return
        if isinstance(message, Status):
            handle.store = message.store
            return
        if isinstance(message, Goodbye):
            handle.leaving = True
            return
        future = handle.waiting.pop(message.id, None)
        if future is None or future.done():
            return
        if message.failure is not None:
            future.set_exception(message.failure.error())
        else:
            future.set_result(message.value)

    def _died(self, handle: WorkerHandle, process: Any) -> None:
        if handle.process is not process or self._stopping:
            return
        handle.alive = False
        handle.outgoing.put(None)
        process.join(timeout=1)
        # NOTE: a trainer that said Goodbye stopped on request (SIGTERM, usually to the whole process group:
        # the server is stopping). Its exit code cannot be trusted then: the fork server that started it got
        # the SIGTERM too, and without it the exit code reads 255.
        leaving = handle.leaving or process.exitcode == 0
        reason = "the server is stopping" if leaving else "the trainer holding this run restarted; try again"
        for future in handle.waiting.values():
            if not future.done():
                future.set_exception(TrainerUnavailableError(reason))
        handle.waiting.clear()
        if leaving:
            log.info("trainer %d stopped on request", handle.index)
            return
        log.error(
            "trainer %d (pid %s) stopped with exit code %s; restarting it",
            handle.index,
            process.pid,
            process.exitcode,
        )
        # Back off when a trainer keeps dying (a bug, memory): quickly at first, then every few seconds.
        quick = time.monotonic() - handle.started_at > 60
        delay = RESTART_BACKOFF[0 if quick else min(handle.failures, len(RESTART_BACKOFF) - 1)]
        handle.failures = 0 if quick else handle.failures + 1
        handle.restarts += 1
        assert self._loop is not None
        self._loop.call_later(delay, self._restart, handle)

    def _restart(self, handle: WorkerHandle) -> None:
        if self._stopping:
            return
        self._spawn(handle, restarted=True)
        self.on_restart(handle.index)

    def handle_of(self, target: str) -> WorkerHandle:
        return self.workers[shard_of(target, self.shards)]

    async def call(self, target: str, op: str, **args: Any) -> Any:
        return await self._call(self.handle_of(target), target, op, args)

    async def _call(self, handle: WorkerHandle, target: str, op: str, args: dict[str, Any]) -> Any:
        if not handle.alive:
            if handle.leaving:
                raise TrainerUnavailableError("the server is stopping")
            raise TrainerUnavailableError("the trainer holding this run is restarting; try again in a moment")
        assert self._loop is not None
        call = Call(next(self._ids), op, target, args)
        future: asyncio.Future[Any] = self._loop.create_future()
        handle.waiting[call.id] = future
        handle.send(call)
        try:
            return await future
        except asyncio.CancelledError:
            # The caller went away (its client disconnected, or the server is stopping): the trainer drops
            # the call's remaining work (the steps of a `step`) instead of doing it for nobody.
            if handle.alive:
                handle.send(Call(0, "cancel", target, {"call": call.id}))
            raise
        finally:
            handle.waiting.pop(call.id, None)

    async def broadcast(self, op: str, **args: Any) -> list[Any]:
        return list(await asyncio.gather(*(self._call(handle, "", op, args) for handle in self.workers)))

    def cast(self, target: str, op: str, **args: Any) -> None:
        """Send a call whose answer nobody waits for (unwatch)."""
        handle = self.handle_of(target)
        if handle.alive:
            handle.send(Call(0, op, target, args))

    async def stop(self, seconds: float = STOP_SECONDS) -> None:
        """Ask every worker to checkpoint and exit; kill those that have not within ``seconds``."""
        self._stopping = True
        assert self._loop is not None
        deadline = self._loop.time() + seconds
        futures = []
        for handle in self.workers:
            if handle.alive:
                future: asyncio.Future[Any] = self._loop.create_future()
                call = Call(next(self._ids), SHUTDOWN, "")
                handle.waiting[call.id] = future
                handle.send(call)
                futures.append(future)
        if futures:
            await asyncio.wait(futures, timeout=max(0.0, deadline - KILL_SECONDS - self._loop.time()))
        for handle in self.workers:
            handle.outgoing.put(None)
            process = handle.process
            if process is None:
                continue
            await asyncio.to_thread(process.join, max(0.0, deadline - KILL_SECONDS - self._loop.time()))
            if process.is_alive():
                log.warning("trainer %d did not stop in time; killing it", handle.index)
                process.kill()
                await asyncio.to_thread(process.join, KILL_SECONDS / self.shards)
            handle.alive = False

    def status(self) -> list[dict[str, Any]]:
        return [
            {"index": h.index, "alive": h.alive, "restarts": h.restarts, "store": h.store}
            for h in self.workers
        ]
