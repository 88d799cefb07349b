"""ASGI middleware: request size limit and response headers (security and caching)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .docs import DOCS_CSP
from .errors import ApiError

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
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
