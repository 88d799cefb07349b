"""ASGI middleware: the Host and cross-site checks, the request size limit, and response headers."""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .docs import DOCS_CSP
from .errors import ApiError, error_body
from .hosts import host_allowed, origin_allowed
from .settings import Settings

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


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
        if not length.isdigit() or int(length) > self.limit:
            await _reject(send, 413 if length.isdigit() else 400, self.limit)
            return
        seen = 0

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise ApiError(f"the request body is over {self.limit:,} bytes", status=413)
            return message

        await self.app(scope, limited_receive, send)


async def _reject(send: Send, status: int, limit: int) -> None:
    reason = f"the request body is over {limit:,} bytes" if status == 413 else "bad Content-Length"
    body = f'{{"detail":"{reason}","field":null,"reason":"{reason}","errors":[]}}'.encode()
    await _respond(send, status, body)


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
            await _respond(
                send, status, json.dumps(error_body([{"field": field, "reason": reason}])).encode()
            )

    def _problem(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str, str | None] | None:
        settings = self.settings
        host = headers.get("host")
        if not host_allowed(host, settings):
            return (
                400,
                f"this server does not answer to the host name {host!r}; an operator can allow it with "
                "BACKPROPLAB_ALLOWED_HOSTS",
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
