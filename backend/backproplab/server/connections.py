"""HTTP connections before any request reaches the app: fair turns for request starts, and half-sent heads.

- Turns: every request costs the web process about a millisecond before any route runs, so a client can
  flood it with cheap requests (aborted uploads, reconnecting WebSockets, 404s). Requests start at most
  ``rate`` a second server-wide (in bursts of ``burst``); when they must wait, they wait per client
  address, with their connection's reading paused, and are let in round robin over the addresses: an
  address flooding the server gets one turn per round, so everyone else waits one turn at most. Waiting
  requests are queued, not refused (a class behind one NAT loading the page at once is only slowed
  down); past ``queue`` waiting from one address, its further requests are closed unread.
- Half-sent heads: a connection whose request head (request line and headers) has not fully arrived
  ``timeout`` seconds after it opened, or after the first byte of its next request, gets 408 and is
  closed. Bodies are timed by the ClientWatch middleware; idle keep-alive connections by uvicorn itself.
  Without this a client that opens connections and sends a few bytes now and then (slowloris) holds
  them, and their memory, for ever: uvicorn times out neither a head in progress nor a silent connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any, Protocol

from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger("backproplab.server")
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class Waiter(Protocol):
    def take_turn(self) -> None: ...

    def gone(self) -> bool: ...


@dataclass
class Turns:
    """A token bucket of request starts, and the requests waiting for a token, by client address."""

    rate: float
    burst: int
    queue: int
    tokens: float = -1.0  # starts full (see _refill)
    at: float = 0.0
    waiting: OrderedDict[str, deque[Waiter]] = field(default_factory=OrderedDict)
    timer: asyncio.TimerHandle | None = None

    def crowded(self, address: str) -> bool:
        """Its waiting line is full: a new connection from it is closed before any work is spent on it."""
        line = self.waiting.get(address)
        return line is not None and len(line) >= self.queue

    def take(self, address: str, waiter: Waiter, loop: asyncio.AbstractEventLoop) -> bool | None:
        """True: go on now. False: wait; ``waiter.take_turn()`` is called when its turn comes. None: too
        many of this address's requests wait already: drop this one."""
        self._refill(loop.time())
        if not self.waiting and self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        line = self.waiting.setdefault(address, deque())
        while line and line[0].gone():
            line.popleft()
        if len(line) >= self.queue:
            return None
        line.append(waiter)
        self._schedule(loop)
        return False

    def _next(self, loop: asyncio.AbstractEventLoop) -> None:
        """Let waiting requests in while there are tokens: one per address per round."""
        self.timer = None
        self._refill(loop.time())
        while self.waiting and self.tokens >= 1.0:
            address, line = self.waiting.popitem(last=False)
            waiter = line.popleft()
            if line:
                self.waiting[address] = line  # to the back of the round
            if not waiter.gone():
                self.tokens -= 1.0
                waiter.take_turn()
        self._schedule(loop)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.waiting and self.timer is None:
            self.timer = loop.call_later(max(0.0, 1.0 - self.tokens) / self.rate, self._next, loop)

    def _refill(self, now: float) -> None:
        if self.tokens < 0.0:
            self.tokens, self.at = float(self.burst), now
        self.tokens = min(float(self.burst), self.tokens + (now - self.at) * self.rate)
        self.at = now


def guarded_protocol(
    timeout: float, rate: float, burst: int, queue: int, base: type[Any] = AutoHTTPProtocol
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (h11 or httptools, whichever it picks) with the turns and the head timeout
    above; one set of turns for every connection of the server."""
    turns = Turns(rate, burst, queue)
    sentinel = object()

    class Guarded(base):  # type: ignore[misc, valid-type]
        _head_timer: asyncio.TimerHandle | None = None
        _held: bytes | None = None  # the start of a request that waits for its turn
        _counted: Any = sentinel  # the cycle in force when this connection's current request was counted

        _made = False

        def connection_made(self, transport: asyncio.Transport) -> None:
            peer = transport.get_extra_info("peername")
            if peer and turns.crowded(peer[0]):
                transport.abort()  # the cheapest answer to a flood: no parser, no timer, no log
                return
            self._made = True
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._held is not None:
                self._held += data
                return
            if self._between_requests() and self.cycle is not self._counted:  # a request starts
                self._counted = self.cycle
                address = self.client[0] if self.client else "?"
                verdict = turns.take(address, self, self.loop)
                if verdict is None:
                    self.transport.abort()
                    return
                if not verdict:
                    self._held = data
                    self.transport.pause_reading()
                    self._disarm()  # the wait is the server's, not the client's
                    self._unset_keepalive_if_required()  # nor is uvicorn's keep-alive limit
                    return
            self._received(data)

        def take_turn(self) -> None:
            data, self._held = self._held or b"", None
            if self.gone():
                return
            self.transport.resume_reading()
            self._arm()
            self._received(data)

        def gone(self) -> bool:
            return self.transport.is_closing()

        def _received(self, data: bytes) -> None:
            if self._head_timer is None and self._between_requests():
                self._arm()  # the first byte of the next request
            super().data_received(data)
            if not self._between_requests() or self.transport.get_protocol() is not self:
                self._disarm()  # the head is complete (or the connection became a WebSocket)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._made:
                super().connection_lost(exc)

        def _between_requests(self) -> bool:
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            self._disarm()
            self._head_timer = self.loop.call_later(timeout, self._expired)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

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
