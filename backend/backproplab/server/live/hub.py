"""The web process's side of the live core: one :class:`Session` per watched item, fed by the trainers.

A session holds the item's watchers (this process's WebSocket clients), the union of what they want (sent
to the trainer as one subscription, so news travels from the trainer once per item whatever the number of
watchers) and a kind-specific mirror of the news. A publish updates the mirror and wakes every watcher's
sender; each sender then cuts its client's frame when that client's next frame is due.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from ..encoding import dumps
from ..errors import ApiError
from ..identities.access import Role
from .protocol import Publish, Wants, shard_of
from .trainers import Trainers

T = TypeVar("T")

log = logging.getLogger("backproplab.live")
MAX_REPLIES = 32
# A subscription the trainer could not take (503: it is restarting, or could not be reached for a moment)
# is sent again after this many seconds, doubling up to SUBSCRIBE_RETRY_MOST.
SUBSCRIBE_RETRY = 0.25
SUBSCRIBE_RETRY_MOST = 4.0
SUBSCRIBE_TIMEOUT = 15.0  # a `watch` unanswered this long is sent again (a call lost in a restart)
_client_ids = itertools.count(1)


class Client:
    """One WebSocket's rate, pending replies and how far it has been told (``cursor`` is the kind's)."""

    def __init__(self, fps: int, view: Any = None):
        self.id = next(_client_ids)
        self.fps = fps
        self.view = view
        self.identity: str | None = None
        self.role: Role = "watcher"  # its role on the item (identities/access.py), set by an `auth` message
        self.replies: deque[str] = deque(maxlen=MAX_REPLIES)
        self.dropped = 0  # replies pushed out of a full buffer since the client was last told
        self.wake = asyncio.Event()
        self.urgent = False
        self.busy = False
        self.generation = -1
        self.version = -1
        self.cursor: Any = None

    def reply(self, message: dict[str, Any], urgent: bool = False) -> None:
        if len(self.replies) == self.replies.maxlen:
            self.dropped += 1  # the oldest goes; the sender says so (live/socket.py)
        self.replies.append(dumps(message))
        self.urgent = self.urgent or urgent
        self.wake.set()

    def error(self, field: str | None, reason: str) -> None:
        self.reply({"type": "error", "message": f"{field}: {reason}" if field else reason, "field": field})


class LiveKind(Protocol):
    """What differs between runs and races on the web side (runs/live.py, races/live.py)."""

    name: str
    progress: frozenset[str]  # message types whose frames may come before their ack (progress)

    def mirror(self) -> Any: ...

    def apply(self, session: Session, publish: Publish) -> None: ...

    def wants(self, client: Client) -> Wants: ...

    async def state(self, session: Session, client: Client) -> str: ...

    def notices(self, session: Session, client: Client) -> list[str]: ...

    def frame(self, session: Session, client: Client) -> str | None: ...


@dataclass
class Session:
    """One watched item in this process (see the module docstring)."""

    id: str
    kind: LiveKind
    mirror: Any
    clients: dict[int, Client] = field(default_factory=dict)
    wants: Wants | None = None
    generation: int | None = None  # the trainer's, from the newest publish; None before the first
    version: int = -1
    gone: str | None = None  # "deleted" or "lost": the item no longer exists
    asking: dict[str, asyncio.Future[Any]] = field(default_factory=dict)  # trainer calls in flight, by key
    subscribing: asyncio.Task[None] | None = None  # sends ``wants`` to the trainer (Hub.refresh_wants)
    resend: bool = False  # ``wants`` changed (or the trainer restarted) while a subscription was on its way

    def wake_all(self) -> None:
        for client in self.clients.values():
            client.wake.set()

    async def shared(self, key: str, ask: Callable[[], Awaitable[T]]) -> T:
        """``ask()``'s answer; clients asking with the same ``key`` meanwhile share the one call. A class
        opening the teacher's run at once costs its trainer one ``state``, not three hundred."""
        future = self.asking.get(key)
        if future is None:
            future = self.asking[key] = asyncio.ensure_future(ask())
            future.add_done_callback(lambda done: self._answered(key, done))
        answer: T = await asyncio.shield(future)
        return answer

    def _answered(self, key: str, future: asyncio.Future[Any]) -> None:
        if self.asking.get(key) is future:
            del self.asking[key]
        if not future.cancelled():
            future.exception()  # retrieved here too: every client that asked may have gone meanwhile


class Hub:
    """Every session of this process, keyed by (kind, id)."""

    def __init__(self, trainers_of: Callable[[], Trainers]):
        self._trainers_of = trainers_of
        self.sessions: dict[tuple[str, str], Session] = {}

    @property
    def trainers(self) -> Trainers:
        return self._trainers_of()

    def join(self, kind: LiveKind, item_id: str, client: Client) -> Session:
        key = (kind.name, item_id)
        session = self.sessions.get(key)
        if session is None:
            session = self.sessions[key] = Session(item_id, kind, kind.mirror())
        session.clients[client.id] = client
        self.refresh_wants(session)
        return session

    def leave(self, session: Session, client: Client) -> None:
        session.clients.pop(client.id, None)
        if session.clients:
            self.refresh_wants(session)
            return
        self.sessions.pop((session.kind.name, session.id), None)
        if session.gone is None:
            self._unwatch(session)
            # A `state` still on its way subscribes this process again when it is answered (live/shard.py):
            # unwatch after it too, unless someone is watching the item again by then.
            for asking in session.asking.values():
                asking.add_done_callback(lambda _: self._unwatch(session))

    def _unwatch(self, session: Session) -> None:
        """Tell the trainer this process no longer watches ``session``'s item (unless it does again)."""
        if (session.kind.name, session.id) not in self.sessions:
            self.trainers.cast(
                session.id, "unwatch", kind=session.kind.name, subscriber=self.trainers.subscriber
            )

    def _union(self, session: Session) -> Wants:
        wanted = [session.kind.wants(client) for client in session.clients.values()]
        return Wants(
            fps=max(w.fps for w in wanted),
            params=any(w.params for w in wanted),
            grid=any(w.grid for w in wanted),
            neurons=any(w.grid and w.neurons for w in wanted),
            resolution=max(w.resolution for w in wanted),
        )

    def refresh_wants(self, session: Session, force: bool = False) -> None:
        """Tell the trainer the union of what this session's clients want, when it changed (or ``force``:
        the trainer restarted), without waiting: the session's ``subscribing`` task sends it."""
        union = self._union(session)
        if union != session.wants or force:
            session.wants = union
            if session.subscribing is None or session.subscribing.done():
                session.subscribing = asyncio.ensure_future(self._subscribe(session))
            else:
                session.resend = True

    async def _subscribe(self, session: Session) -> None:
        """Send the session's ``wants`` until the trainer took them. A subscription is a call, not a cast:
        one lost to a trainer that was restarting or could not be reached for a moment (503) is sent
        again, or its watchers would get a ``state`` and then no news for good."""
        delay = SUBSCRIBE_RETRY
        while self.sessions.get((session.kind.name, session.id)) is session and session.gone is None:
            session.resend = False
            try:
                await asyncio.wait_for(self._watch(session), SUBSCRIBE_TIMEOUT)
            except TimeoutError:
                log.warning(
                    "watch on %s got no answer in %g s; sending it again", session.id, SUBSCRIBE_TIMEOUT
                )
                continue
            except ApiError as error:
                if error.status != 503:  # the item is gone: its watchers' next `state` says so
                    log.info("watch on %s refused: %s", session.id, error)
                    return
                log.info("watch on %s failed (%s); sending it again in %g s", session.id, error, delay)
                await asyncio.sleep(delay)
                delay = min(2 * delay, SUBSCRIBE_RETRY_MOST)
                continue
            if not session.resend:
                return

    async def rewatch(self, session: Session) -> None:
        """Subscribe again with what the clients want now, and wait until the trainer has sent the news
        that match it (a client that changed its view gets its next frame cut from them)."""
        session.wants = self._union(session)
        await self._watch(session)

    def _watch(self, session: Session) -> Awaitable[Any]:
        """One `watch` call: this process subscribes to the session's item with its ``wants`` as they are
        now (taken when the call is made, not when it is first awaited)."""
        trainers = self.trainers
        return trainers.call(
            session.id, "watch", kind=session.kind.name, subscriber=trainers.subscriber, wants=session.wants
        )

    def publish(self, publish: Publish) -> None:
        """Apply a trainer's publish to its session (on the event loop)."""
        session = self.sessions.get((publish.kind, publish.target))
        if session is None:
            return
        if publish.gone is not None:
            session.gone = publish.gone
        else:
            session.kind.apply(session, publish)
            session.generation = publish.generation
            session.version = publish.version
        session.wake_all()

    def restarted(self, shard: int) -> None:
        """A trainer restarted: its items come back from the store (runs) or are lost (races)."""
        trainers = self.trainers
        sessions = [
            session for session in self.sessions.values() if shard_of(session.id, trainers.shards) == shard
        ]
        if sessions:
            log.info(
                "trainer %d restarted or forgot us: %d watched items subscribe again", shard, len(sessions)
            )
        for session in sessions:
            session.generation = None
            session.mirror = session.kind.mirror()
            for client in session.clients.values():
                client.generation = -1  # a fresh `state` (a run is reloaded; a lost race says so)
            self.refresh_wants(session, force=True)
            session.wake_all()

    async def forget(self, item_id: str, reason: str) -> None:
        """An item was deleted through this process: its watchers are told at once."""
        for kind in ("run", "race"):
            session = self.sessions.get((kind, item_id))
            if session is not None:
                session.gone = reason
                session.wake_all()
