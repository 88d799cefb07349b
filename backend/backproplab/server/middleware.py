"""ASGI middleware: the Host and cross-site checks, the request size limit, work cancelled when its client
leaves, half-sent bodies timed out, and response headers (security and caching)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .docs import DOCS_CSP
from .encoding import dumps
from .errors import ApiError, error_body, shown_id
from .hosts import host_allowed, origin_allowed
from .settings import Settings

log = logging.getLogger("backproplab.server")
MAX_ADDRESSES = 10_000  # byte buckets kept; full ones are forgotten past this

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class HeadAsGet:
    """HEAD is answered wherever GET is (a monitor probing /api/health, /docs): the app sees a GET, and
    uvicorn, which knows the request was a HEAD, sends the answer's head without its body."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "HEAD":
            scope = {**scope, "method": "GET"}
        await self.app(scope, receive, send)


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, by Content-Length or while streaming."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"0")
        if not length.isdigit():
            await _reject(send, 400, "content-length", "must be a number of bytes")
            return
        if int(length) > self.limit:
            await _reject(send, 413, "body", self._reason())
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ApiError(self._reason(), "body", status=413)
            return message

        await self.app(scope, limited_receive, send)

    def _reason(self) -> str:
        return f"the request body is over {self.limit:,} bytes"


async def _reject(send: Send, status: int, field: str | None, reason: str) -> None:
    """Answer at once, in the API's error shape, without reading the body."""
    await _respond(send, status, dumps(error_body([{"field": field, "reason": reason}])).encode())


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ByteRates:
    """Token buckets of body bytes per client address: ``rate`` bytes a second, in bursts of one second's
    worth. Spending more than there is returns how long to wait before reading on."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.clock = rate, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, at)

    def spend(self, address: str, count: int) -> float:
        now = self.clock()
        tokens, at = self.buckets.get(address, (self.rate, now))
        tokens = min(self.rate, tokens + (now - at) * self.rate) - count
        if len(self.buckets) >= MAX_ADDRESSES:  # forget the full ones
            self.buckets = {key: value for key, value in self.buckets.items() if value[0] < self.rate}
        self.buckets[address] = (tokens, now)
        return -tokens / self.rate if tokens < 0 else 0.0


class ClientWatch:
    """Watch each HTTP request's client while the app works on it.

    - A client that disconnects before its response is complete cancels the request's task: the
      awaited trainer call tells its trainer to drop the work (a `step`'s steps), a heavy read's job leaves
      the queue or has its compute process killed (offload.py). Nothing computes for nobody.
    - A body whose next part does not arrive within ``body_timeout`` seconds ends the request with 408.
    - Bodies are read at most ``body_rate`` bytes a second per client address: parsing an upload costs
      the web process, and a client sending uploads back to back (cut off or not) would take all of it.

    The watcher reads the client's messages and hands the body to the app one message at a time (so flow
    control still holds a fast uploader back); after the body it waits for the disconnect.
    """

    def __init__(self, app: ASGIApp, body_timeout: float, body_rate: float):
        self.app = app
        self.body_timeout = body_timeout
        self.rates = ByteRates(body_rate)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        inbox: asyncio.Queue[Message] = asyncio.Queue(maxsize=1)
        address = scope["client"][0] if scope.get("client") else "?"
        gone = asyncio.Event()
        started = complete = body_done = left = False  # left: the client went away before its answer
        received = 0

        async def app_receive() -> Message:
            if gone.is_set() and inbox.empty():
                return {"type": "http.disconnect"}
            return await inbox.get()

        async def app_send(message: Message) -> None:
            nonlocal started, complete
            started = started or message["type"] == "http.response.start"
            complete = complete or (message["type"] == "http.response.body" and not message.get("more_body"))
            await send(message)

        async def watch() -> str:
            """How the client ended: "gone" (disconnected) or "timeout" (its body stalled)."""
            nonlocal body_done, received, left
            while True:
                try:
                    async with asyncio.timeout(None if body_done else self.body_timeout):
                        message = await receive()
                except TimeoutError:
                    return "timeout"
                if message["type"] == "http.disconnect":
                    # NOTE: once a response is complete, uvicorn answers every receive() with a disconnect
                    # (a 405 sent before this task first ran, a body the app never read): the client left
                    # only if the disconnect came before that.
                    left = not complete
                    gone.set()
                    with contextlib.suppress(asyncio.QueueFull):
                        inbox.put_nowait(message)
                    return "gone"
                body_done = not message.get("more_body", False)
                size = len(message.get("body", b""))
                received += size
                await inbox.put(message)
                if size and not body_done and (wait := self.rates.spend(address, size)):
                    await asyncio.sleep(wait)  # the client's data waits in its socket meanwhile

        def where() -> tuple[str, str, int]:
            return scope["method"], scope["path"], received

        async def serve() -> None:
            await self.app(scope, app_receive, app_send)

        work = asyncio.create_task(serve())
        watcher = asyncio.create_task(watch())
        try:
            try:
                await asyncio.wait({work, watcher}, return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:
                # NOTE: only uvicorn cancels a request's task: its graceful shutdown ran out of time. Stop the
                # work and say so (503), instead of a traceback and a 500.
                work.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await work
                if not started:
                    with contextlib.suppress(Exception):
                        await _reject(send, 503, None, "the server is stopping; try again in a moment")
                return
            if work.done() or complete:
                await work
                return
            outcome = watcher.result()
            work.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await work
            if outcome == "timeout":
                log.info("%s %s: the body stalled after %d bytes; answered 408", *where())
                if not started:
                    reason = f"the request body did not arrive within {self.body_timeout:g} s"
                    await _reject(send, 408, "body", reason)
        finally:
            if left and not body_done and scope["method"] not in SAFE_METHODS:  # an aborted upload
                log.info("%s %s: the client went away after %d bytes of its body", *where())
            watcher.cancel()
            if not work.done():
                work.cancel()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BODY_TYPES = ("application/json", "multipart/form-data")


class CrossSite:
    """Refuse what a web page elsewhere could make a browser send:

    - a Host that is not one of this server's names (DNS rebinding), HTTP and WebSocket alike: 400
      (a WebSocket handshake is refused);
    - a state-changing request (not GET, HEAD, OPTIONS) whose Origin is another site: 403. Requests
      without an Origin (curl, scripts, tests) are not from a browser page and pass;
    - a state-changing request with a body that is not JSON (a form or text/plain, which a page may
      send cross-site without asking): 415. multipart/form-data (the CSV upload) passes, under the
      Origin check like everything else.
    """

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {
            name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]
        }
        problem = self._problem(scope, headers)
        if problem is None:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":
            await receive()  # websocket.connect; closing before accepting refuses the handshake (403)
            await send({"type": "websocket.close", "code": 1008, "reason": problem[1][:120]})
        else:
            status, reason, field = problem
            await _reject(send, status, field, reason)

    def _problem(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str | None] | None:
        settings = self.settings
        host = headers.get("host")
        if host is not None and not host_allowed(host, settings):
            return (
                400,
                f"this server does not answer to the host name {shown_id(host)}; an operator can allow it "
                "with BACKPROPLAB_ALLOWED_HOSTS",
                "host",
            )
        if scope["type"] == "websocket" or scope["method"] in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if not origin_allowed(origin, host, settings):
            return (
                403,
                f"cross-site request refused: a page from {origin} may not change anything here (this "
                "server's own pages may; an operator can allow that origin with BACKPROPLAB_ALLOWED_ORIGINS)",
                "origin",
            )
        length = headers.get("content-length", "0")
        has_body = "transfer-encoding" in headers or (length.isdigit() and int(length) > 0)
        content_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if has_body and content_type not in BODY_TYPES:
            return (
                415,
                f"request bodies must be JSON (Content-Type: application/json), not {content_type or 'untyped'}; "
                "multipart/form-data only for a CSV upload",
                "content-type",
            )
        return None


class Headers:
    """Basic security headers everywhere; a CSP for the dashboard; no caching for the API."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if path.startswith("/api") or path == "/openapi.json":
                    extra.append((b"cache-control", b"no-store"))
                elif path.startswith(DOCS_PATHS):
                    extra.append((b"content-security-policy", DOCS_CSP.encode()))
                else:
                    extra.append((b"content-security-policy", CSP.encode()))
                    cache = b"public, max-age=86400" if path.startswith("/vendor/") else b"no-cache"
                    extra.append((b"cache-control", cache))
                headers += [(name, value) for name, value in extra if name not in names]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
