"""A trainer worker process: one :class:`Shard` driven by one thread, talking over a pipe to the web process
(local workers, live/trainers.py) or to the Ray actor it trains for (live/ray_actor.py).

Three threads: the main one trains and handles calls between slices; a reader receives calls into a
queue (so a large call never waits for a slice to end); a sender writes replies and publishes in order, in
batches the main thread pickled between slices (so training never waits for the pipe). Publishes to a subscriber are not queued behind one another: while one
is on its way, the next waits in the shard (its news accumulate), so a slow web process gets fewer, fuller
publishes and memory stays bounded. Behind a relay (a Ray actor), a publish is on its way until the relay
says its subscriber took it (:class:`Taken`), not merely until it is in the pipe.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import queue
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import replace
from multiprocessing.connection import Connection
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

from ..races.item import RaceKind
from ..runs.kind import RunKind
from ..store import StoreHealth, connect
from ..store.lock import hold_for_trainer
from .protocol import SHUTDOWN, Call, Failure, Goodbye, Publish, Reply, Status, Taken
from .shard import Shard, ShardSettings

log = logging.getLogger("backproplab.trainer")
RESTARTED = "The trainer holding this run restarted; it was restored from its last checkpoint (step {step})."
MAINTAIN_EVERY = 0.1  # seconds between upkeep passes (unwatched pauses, checkpoints)
IDLE_WAIT = 0.05  # longest sleep when nothing plays: publishes and upkeep still run this often


class Outbox:
    """Messages to the web process, in order, and how many publishes per (item, subscriber) are unsent.

    The trainer's thread collects messages (``put``) and hands them over as one pickled batch (``flush``,
    between training slices); the sender thread writes the bytes. So the two threads meet once per batch
    rather than once per message (30 watched runs are ~900 publishes a second), and the pipe's write, the
    one part that can block, never holds up training.
    """

    def __init__(self, connection: Connection, relayed: bool = False):
        self.connection = connection
        self.relayed = relayed  # publishes stay in flight until acknowledged (see the module docstring)
        self.pending: list[Reply | Publish | Goodbye | Status] = []
        self.batches: queue.SimpleQueue[tuple[bytes, list[tuple[str, str]]] | None] = queue.SimpleQueue()
        self.unsent: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    def put(self, message: Reply | Publish | Goodbye | Status) -> None:
        if isinstance(message, Publish):
            with self.lock:
                self.unsent[(message.target, message.subscriber)] += 1
        self.pending.append(message)

    def in_flight(self, target: str, subscriber: str) -> bool:
        with self.lock:
            return self.unsent[(target, subscriber)] > 0

    def flush(self) -> None:
        """Hand what was put since the last flush to the sender, pickled as one list."""
        if not self.pending:
            return
        messages, self.pending = self.pending, []
        keys = [(message.target, message.subscriber) for message in messages if isinstance(message, Publish)]
        try:
            data = bytes(ForkingPickler.dumps(messages))
        except Exception:  # one message that does not pickle must not take the others (or the trainer) down
            data = bytes(ForkingPickler.dumps([_sendable(message) for message in messages]))
        self.batches.put((data, keys))

    def close(self) -> None:
        """Flush, then let the sender finish."""
        self.flush()
        self.batches.put(None)

    def run(self) -> None:
        """The sender thread: write each batch, in order (the web process reads a list of messages)."""
        while (batch := self.batches.get()) is not None:
            data, keys = batch
            try:
                self.connection.send_bytes(data)
            except (OSError, EOFError):
                return  # the web process is gone; the main loop notices too
            if not self.relayed:
                self.acknowledge(keys)

    def acknowledge(self, keys: Iterable[tuple[str, str]]) -> None:
        """These publishes reached their subscribers: the next may go."""
        with self.lock:
            for key in keys:
                self.unsent[key] -= 1
                if self.unsent[key] <= 0:
                    del self.unsent[key]


def _sendable(message: Reply | Publish | Goodbye | Status) -> Reply | Publish | Goodbye | Status | None:
    """``message`` if it pickles; else a failure in place of a reply (its caller must not wait forever),
    None in place of anything else (the web process skips it)."""
    try:
        ForkingPickler.dumps(message)
    except Exception:
        log.exception("a message cannot be sent: %r", message)
        if isinstance(message, Reply):
            return Reply(message.id, None, Failure(500, ((None, "the trainer could not send its answer"),)))
        return None
    return message


def _read(connection: Connection, inbox: queue.SimpleQueue[Call | None], outbox: Outbox) -> None:
    try:
        while True:
            message = connection.recv()
            if isinstance(message, Taken):
                outbox.acknowledge(message.keys)
            else:
                inbox.put(message)
    except (OSError, EOFError):
        inbox.put(None)


def settings_for(settings: ShardSettings, restarted: bool) -> ShardSettings:
    """A worker's settings: after a restart, the runs it loads say so (:data:`RESTARTED`)."""
    return replace(settings, restored_message=RESTARTED if restarted else None)


def die_with_parent(signum: int) -> None:
    """Get ``signum`` when the parent dies, however it dies (Linux prctl PR_SET_PDEATHSIG; elsewhere a
    no-op). Note that Linux sends it when the *thread* that started this process ends."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signum)


def main(
    index: int, location: str, settings: ShardSettings, connection: Connection, relay: int | None = None
) -> None:
    """The worker's entry point: the web process starts it (live/trainers.py), or a Ray actor (``relay``,
    its pid: the worker dies with it at once, as the shard would have inside it)."""
    if relay is not None:
        die_with_parent(signal.SIGKILL)
        if os.getppid() != relay:  # the actor died before we could ask to die with it
            os._exit(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches the whole group: the web process decides
    terminated = threading.Event()  # SIGTERM (e.g. to the whole group): checkpoint everything, exit 0
    signal.signal(signal.SIGTERM, lambda signum, frame: terminated.set())
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s %(levelname)s trainer-{index}: %(message)s")
    if os.path.isdir(location):
        hold_for_trainer(Path(location))  # held until this process exits (store/lock.py)
    outbox = Outbox(connection, relayed=relay is not None)
    inbox: queue.SimpleQueue[Call | None] = queue.SimpleQueue()
    shard = Shard(
        index=index,
        store=connect(location),
        settings=settings,
        kinds={"run": RunKind(), "race": RaceKind()},
        send=outbox.put,
        in_flight=outbox.in_flight,
    )
    threading.Thread(target=_read, args=(connection, inbox, outbox), name="reader", daemon=True).start()
    sender = threading.Thread(target=outbox.run, name="sender", daemon=True)
    sender.start()
    log.info("started (pid %d)", os.getpid())
    final = serve(shard, inbox, outbox.put, terminated, outbox.flush)
    shard.save_all()
    if final is not None:
        outbox.put(Reply(final.id, None))
    elif terminated.is_set():
        log.info("terminated: checkpointed every run")
        outbox.put(Goodbye("terminated"))
    outbox.close()
    sender.join(timeout=5)
    shard.store.close()


def serve(
    shard: Shard,
    inbox: queue.SimpleQueue[Call | None],
    send: Callable[[Status], None],
    terminated: threading.Event,
    flush: Callable[[], None],
) -> Call | None:
    """The trainer loop: train, answer calls and keep up until told to shut down (returns that call),
    ``terminated``, or the inbox closes (None). ``send`` takes the shard's :class:`Status` whenever its
    health changes; ``flush`` sends what the shard sent meanwhile, after each round of training and before
    waiting for calls."""
    maintained = 0.0
    reported: StoreHealth | None = None
    while not terminated.is_set():
        wait = shard.work()
        flush()
        timeout = 0.0 if wait <= 0.0 else min(wait, IDLE_WAIT)
        call: Any = _next(inbox, timeout)
        while call is not False:
            if call is None:
                return None
            if call.op == SHUTDOWN:
                shutdown: Call = call
                return shutdown
            shard.handle(call)
            call = _next(inbox, 0.0)
        shard.publish_due()
        flush()  # before upkeep: a checkpoint can take a while
        now = time.monotonic()
        if now - maintained >= MAINTAIN_EVERY:
            maintained = now
            reported = _upkeep(shard, send, reported)
            flush()
    return None


def _upkeep(shard: Shard, send: Callable[[Status], None], reported: StoreHealth | None) -> StoreHealth | None:
    """Maintain the shard (surviving any error) and report its health to the web process when it changed;
    the health last reported."""
    try:
        shard.maintain()
    except Exception:  # upkeep must go on: the next pass tries again
        log.exception("upkeep failed")
    health = shard.health()
    if health != reported:
        send(Status(shard.index, health))
    return health


def _next(inbox: queue.SimpleQueue[Call | None], timeout: float) -> Call | bool | None:
    """The next call, None if the pipe closed, False if none came within ``timeout``."""
    try:
        return inbox.get(timeout=timeout) if timeout > 0 else inbox.get_nowait()
    except queue.Empty:
        return False
