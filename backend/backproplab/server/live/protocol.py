"""The messages between the web process and its trainers (worker processes today, Ray actors at scale).

The web process sends :class:`Call` s; a trainer answers each with a :class:`Reply` (errors travel as
:class:`Failure`, re-raised on the web side as the same API error) and, for every live item a subscriber
watches, sends :class:`Publish` messages at the subscriber's frame rate: the item's news since the previous
publish to that subscriber, never a queue of old states ("latest value wins"); and a :class:`Status`
whenever its health changes. Everything here pickles.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ..errors import ApiError
from ..store import StoreHealth

SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Wants:
    """What a subscriber's watchers want from one item: the union of their views (live/views.py)."""

    fps: int = 30
    params: bool = False
    grid: bool = False
    neurons: bool = False
    resolution: int = 40


@dataclass(frozen=True)
class Call:
    """Ask the trainer that owns ``target`` to do ``op``. ``id`` 0 wants no reply."""

    id: int
    op: str
    target: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """An error raised by a trainer, as data: the web side raises it again as an :class:`ApiError`."""

    status: int
    errors: tuple[tuple[str | None, str], ...]  # (field, reason), the first one first

    def error(self) -> ApiError:
        field, reason = self.errors[0]
        return ApiError(reason, field, status=self.status, errors=self.errors)


@dataclass(frozen=True)
class Reply:
    id: int
    value: Any = None
    failure: Failure | None = None


@dataclass(frozen=True)
class Publish:
    """An item's news for one subscriber. ``gone`` says the item no longer exists ("deleted", "lost")."""

    target: str
    kind: str
    subscriber: str
    generation: int
    version: int
    payload: Any = None
    gone: str | None = None


@dataclass(frozen=True)
class Status:
    """A trainer's report on itself, sent when it changes: can it write checkpoints (and runs it found it
    could not restore). The web process's /api/health says what its trainers report."""

    shard: int
    store: StoreHealth


@dataclass(frozen=True)
class Taken:
    """From a relay in front of a trainer (a Ray actor, live/ray_actor.py) to the trainer: these publishes,
    by (target, subscriber), reached their subscriber, so the next news for them may go (until then it waits
    in the shard: "latest value wins" holds across the relay too)."""

    keys: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Goodbye:
    """A trainer's last message when it stops on its own accord (SIGTERM): do not restart it."""

    reason: str


def shard_of(item_id: str, shards: int) -> int:
    """The trainer shard that owns an item: a stable hash of its id, the same on every web replica."""
    digest = hashlib.blake2b(item_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % shards
