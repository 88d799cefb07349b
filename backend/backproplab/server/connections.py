"""HTTP connections before any request reaches the app: request turns per address, and half-sent heads.

- Turns: every request costs the web process about a millisecond before any route runs, so one client
  can flood it with cheap requests (aborted uploads, reconnecting WebSockets, 404s) and take the CPU the
  trainers and everyone's frames need. Each client address may start ``rate`` requests a second on
  average, in bursts of ``burst``; past that, its requests wait their turn with their connection's
  reading paused (queued, not refused), and so do its requests past ``active`` in progress at once (so
  one address cannot fill the event loop's queue); past ``queue`` waiting, its new connections are closed
  before any work is spent on them. A class behind one NAT shares an address: its page loads are slowed,
  not broken (raise the rate for such a deployment).
- Half-sent heads: a connection whose request head (request line and headers) has not fully arrived
  ``timeout`` seconds after it opened, or after the first byte of its next request, gets 408 and is
  closed. Bodies are timed by the ClientWatch middleware; idle keep-alive connections by uvicorn itself.
  Without this a client that opens connections and sends a few bytes now and then (slowloris) holds
  them, and their memory, for ever: uvicorn times out neither a head in progress nor a silent connection.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from .errors import error_body
from .proxies import TrustedProxies

log = logging.getLogger("backproplab.server")


def closing_error(status: str, reason: str) -> bytes:
    """A whole HTTP response in the API's error shape (errors.py) that closes the connection: for what is
    answered before any request reaches the app."""
    body = json.dumps(error_body([{"field": None, "reason": reason}])).encode()
    head = f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
    return head.encode() + b"connection: close\r\n\r\n" + body


REQUEST_TIMEOUT = closing_error("408 Request Timeout", "the request's head did not arrive in time")
MAX_ADDRESSES = 10_000  # buckets kept; full, idle ones are forgotten past this


class Waiter(Protocol):
    def take_turn(self) -> None: ...

    def gone(self) -> bool: ...


@dataclass
class Bucket:
    tokens: float
    at: float
    active: int = 0  # requests started and not yet answered
    waiting: deque[Waiter] = field(default_factory=deque)
    timer: asyncio.TimerHandle | None = None


@dataclass
class Turns:
    """Per client address: a token bucket of request starts, the requests in progress (at most
    ``active``), and the requests waiting for their turn."""

    rate: float
    burst: int
    queue: int
    active: int
    buckets: dict[str, Bucket] = field(default_factory=dict)

    def crowded(self, address: str) -> bool:
        """Its waiting line is full: a new connection from it is closed before any work is spent on it."""
        bucket = self.buckets.get(address)
        return bucket is not None and len(bucket.waiting) >= self.queue

    def take(self, address: str, waiter: Waiter, loop: asyncio.AbstractEventLoop) -> bool | None:
        """True: go on now. False: wait; ``waiter.take_turn()`` is called when its turn comes. None: too
        many of this address's requests wait already: drop this one."""
        bucket = self._bucket(address, loop.time())
        if not bucket.waiting and bucket.tokens >= 1.0 and bucket.active < self.active:
            bucket.tokens -= 1.0
            bucket.active += 1
            return True
        while bucket.waiting and bucket.waiting[0].gone():
            bucket.waiting.popleft()
        if len(bucket.waiting) >= self.queue:
            return None
        bucket.waiting.append(waiter)
        self._schedule(address, bucket, loop)
        return False

    def done(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        """A request of ``address`` was answered (or its connection ended): its place goes to the next."""
        bucket = self.buckets.get(address)
        if bucket is not None:
            bucket.active = max(0, bucket.active - 1)
            self._schedule(address, bucket, loop)

    def _next(self, address: str, loop: asyncio.AbstractEventLoop) -> None:
        bucket = self._bucket(address, loop.time())
        bucket.timer = None
        while bucket.waiting and bucket.tokens >= 1.0 and bucket.active < self.active:
            waiter = bucket.waiting.popleft()
            if not waiter.gone():
                bucket.tokens -= 1.0
                bucket.active += 1
                waiter.take_turn()
        self._schedule(address, bucket, loop)

    def _schedule(self, address: str, bucket: Bucket, loop: asyncio.AbstractEventLoop) -> None:
        """Wake the line when a token is due, unless its requests in progress hold every place (then the
        next answer wakes it)."""
        if bucket.waiting and bucket.timer is None and bucket.active < self.active:
            delay = max(0.0, 1.0 - bucket.tokens) / self.rate
            bucket.timer = loop.call_later(delay, self._next, address, loop)

    def _bucket(self, address: str, now: float) -> Bucket:
        bucket = self.buckets.get(address)
        if bucket is None:
            if len(self.buckets) >= MAX_ADDRESSES:
                self._forget_idle(now)
            bucket = self.buckets[address] = Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        return bucket

    def _forget_idle(self, now: float) -> None:
        for address, bucket in list(self.buckets.items()):
            idle = not bucket.waiting and not bucket.active
            if idle and bucket.tokens + (now - bucket.at) * self.rate >= self.burst:
                del self.buckets[address]


def guarded_protocol(
    timeout: float,
    rate: float,
    burst: int,
    queue: int,
    active: int,
    proxies: TrustedProxies | None = None,
    base: type[Any] = AutoHTTPProtocol,
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (h11 or httptools, whichever it picks) with the turns and the head timeout
    above; one set of turns for every connection of the server. A connection from one of ``proxies`` takes
    no turns (proxies.py): its requests are many clients'."""
    turns = Turns(rate, burst, queue, active)
    trusted = proxies or TrustedProxies(())
    sentinel = object()

    class Guarded(base):  # type: ignore[misc]
        _head_timer: asyncio.TimerHandle | None = None
        _held: bytes | None = None  # the start of a request that waits for its turn
        _counted: Any = sentinel  # the cycle in force when this connection's current request was counted
        _admitted = False  # its current request holds one of its address's places

        _made = False
        _proxied = False  # from a trusted proxy: no turns

        def connection_made(self, transport: asyncio.Transport) -> None:
            peer = transport.get_extra_info("peername")
            self._proxied = bool(peer) and peer[0] in trusted
            if peer and not self._proxied and turns.crowded(peer[0]):
                transport.abort()  # the cheapest answer to a flood: no parser, no timer, no log
                return
            self._made = True
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._held is not None:
                self._held += data
                return
            if self._proxied:
                self._received(data)
                return
            if self._between_requests() and self.cycle is not self._counted:  # a request starts
                self._counted = self.cycle
                verdict = turns.take(self._address(), self, self.loop)
                if verdict is None:
                    self.transport.abort()
                    return
                self._admitted = bool(verdict)
                if not verdict:
                    self._held = data
                    self.transport.pause_reading()
                    self._disarm()  # the wait is the server's, not the client's
                    self._unset_keepalive_if_required()  # nor is uvicorn's keep-alive limit
                    return
            self._received(data)

        def take_turn(self) -> None:
            data, self._held = self._held or b"", None
            self._admitted = True
            if self.gone():
                self._finished()
                return
            self.transport.resume_reading()
            self._arm()
            self._received(data)

        def gone(self) -> bool:
            return bool(self.transport.is_closing())

        def _received(self, data: bytes) -> None:
            if self._head_timer is None and self._between_requests():
                self._arm()  # the first byte of the next request
            super().data_received(data)
            if self.transport.get_protocol() is not self:  # it became a WebSocket (its messages are
                self._disarm()  # rate-limited per socket): no head to time, no place to hold
                self._finished()
            elif not self._between_requests():
                self._disarm()  # the head is complete

        def on_response_complete(self) -> None:
            self._finished()
            super().on_response_complete()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._finished()
            if self._made:
                super().connection_lost(exc)

        def _finished(self) -> None:
            if self._admitted:
                self._admitted = False
                turns.done(self._address(), self.loop)

        def _address(self) -> str:
            return self.client[0] if self.client else "?"

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(timeout, self._expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def send_400_response(self, msg: str) -> None:
            """uvicorn's answer to a request it cannot parse (a bad request line, a Content-Length that is
            not a number), in the API's JSON error shape rather than uvicorn's plain text."""
            reason = f"the request is not valid HTTP/1.1 ({msg.rstrip('.')})"
            self.transport.write(closing_error("400 Bad Request", reason))
            self.transport.close()

        def _expired(self) -> None:
            self._head_timer = None
            transport = self.transport
            if transport.is_closing() or transport.get_protocol() is not self or not self._between_requests():
                return
            if self._held is not None:
                return  # waiting for its turn
            log.info("closed a connection from %s: no complete request within %g s", self.client, timeout)
            transport.write(REQUEST_TIMEOUT)
            transport.close()

    return Guarded
