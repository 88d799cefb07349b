"""Half-sent requests time out: a connection whose request head (request line and headers) has not fully
arrived ``timeout`` seconds after it opened, or after the first byte of its next request, gets 408 and is
closed. Bodies are timed by the ClientWatch middleware; idle keep-alive connections by uvicorn itself.

Without this a client that opens connections and sends a few bytes now and then (slowloris) holds them,
and their memory, for ever: uvicorn times out neither a head in progress nor a connection that never
speaks.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

log = logging.getLogger("backproplab.server")
REQUEST_TIMEOUT = b"HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


def head_timeout_protocol(timeout: float, base: type[Any] = AutoHTTPProtocol) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol (h11 or httptools, whichever it picks) with the head timeout above."""

    class HeadInTime(base):  # type: ignore[misc, valid-type]
        _head_timer: asyncio.TimerHandle | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._head_timer is None and self._between_requests():
                self._arm()  # the first byte of the next request
            super().data_received(data)
            if not self._between_requests() or self.transport.get_protocol() is not self:
                self._disarm()  # the head is complete (or the connection became a WebSocket)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
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
            log.info("closed a connection from %s: no complete request within %g s", self.client, timeout)
            transport.write(REQUEST_TIMEOUT)
            transport.close()

    return HeadInTime
