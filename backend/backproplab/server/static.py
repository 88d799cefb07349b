"""Serve the static dashboard at / from the installed package (wheel) or the repository (editable install).

A class opening the dashboard at once is 300 browsers each asking for ~65 files (the modules load
unbundled). Starlette's StaticFiles read each file in worker threads (a stat and reads, each a thread
hop) and sent it uncompressed: ~150 ms of the web process and 496 KB per page load, measured.
:class:`Frontend` keeps each file in memory once read, with its gzip form and a content hash as ETag
(the same on every web replica): ~110 ms and 172 KB per page load to a browser that accepts gzip, and a
revalidation (the pages are ``no-cache``) is a 304. What is left per file is routing and the middleware.
A file changed on disk (an editable install being worked on) is read again.
"""

from __future__ import annotations

import gzip
import hashlib
import mimetypes
import os
from dataclasses import dataclass
from email.utils import formatdate
from importlib import resources
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from starlette.exceptions import HTTPException
from starlette.types import Receive, Scope, Send

REPO_FRONTEND = Path(__file__).resolve().parents[3] / "frontend"
GZIP_AT_LEAST = 1024  # bytes: smaller files are sent as they are
COMPRESSIBLE = ("text/", "application/javascript", "application/json", "image/svg+xml")


def frontend_dir() -> Path | None:
    """``backproplab/frontend`` inside the installed package, else the repository's ``frontend/``."""
    packaged = Path(str(resources.files("backproplab") / "frontend"))
    for candidate in (packaged, REPO_FRONTEND):
        if (candidate / "index.html").is_file():
            return candidate
    return None


@dataclass(frozen=True)
class Asset:
    """One file as served: its bytes, gzipped when that pays, and the stat it was read at."""

    stamp: tuple[int, int]  # (mtime_ns, size): a file whose stamp changed is read again
    headers: list[tuple[bytes, bytes]]  # content-type, etag, last-modified, and vary when gzipped
    etag: bytes
    body: bytes
    gzipped: bytes | None

    @classmethod
    def read(cls, file: Path, stat: os.stat_result) -> Asset:
        body = file.read_bytes()
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if media_type.startswith("text/"):
            media_type += "; charset=utf-8"
        etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'.encode()
        headers = [
            (b"content-type", media_type.encode()),
            (b"etag", etag),
            (b"last-modified", formatdate(stat.st_mtime, usegmt=True).encode()),
        ]
        gzipped = None
        if len(body) >= GZIP_AT_LEAST and media_type.startswith(COMPRESSIBLE):
            packed = gzip.compress(body, compresslevel=6, mtime=0)
            if len(packed) < len(body):
                gzipped = packed
                headers.append((b"vary", b"accept-encoding"))
        return cls((stat.st_mtime_ns, stat.st_size), headers, etag, body, gzipped)


class Frontend:
    """ASGI app: GET and HEAD of the files under ``directory`` (a directory's path serves its index.html);
    404 for anything else, raised as StaticFiles does so the app's error handlers answer."""

    def __init__(self, directory: Path):
        self.root = directory.resolve()
        self.assets: dict[str, tuple[Path, Asset]] = {}  # by URL path; only files that exist get in

    def _file(self, path: str) -> Path | None:
        """The file under the root that ``path`` names (None outside the root or when there is none)."""
        candidate = (self.root / path.lstrip("/")).resolve()
        if not candidate.is_relative_to(self.root):
            return None
        if candidate.is_dir():
            candidate /= "index.html"
        return candidate if candidate.is_file() else None

    def asset(self, path: str) -> Asset | None:
        known = self.assets.get(path)
        file = known[0] if known else self._file(path)
        if file is None:
            return None
        try:
            stat = file.stat()
        except OSError:
            self.assets.pop(path, None)
            return None
        if known is not None and known[1].stamp == (stat.st_mtime_ns, stat.st_size):
            return known[1]
        asset = Asset.read(file, stat)
        self.assets[path] = (file, asset)
        return asset

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            raise HTTPException(405, headers={"Allow": "GET, HEAD"})
        asset = self.asset(scope["path"])
        if asset is None:
            raise HTTPException(404)
        request = dict(scope["headers"])
        headers = list(asset.headers)
        if asset.etag in (tag.strip() for tag in request.get(b"if-none-match", b"").split(b",")):
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        body = asset.body
        if asset.gzipped is not None and b"gzip" in request.get(b"accept-encoding", b""):
            body = asset.gzipped
            headers.append((b"content-encoding", b"gzip"))
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})


def mount_frontend(app: FastAPI) -> None:
    """Mount the dashboard at / (after every API route), or a page saying it is missing."""
    directory = frontend_dir()
    if directory is not None:
        app.mount("/", Frontend(directory), name="frontend")
        return

    @app.get("/", include_in_schema=False)
    async def missing_frontend() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><title>Backprop Lab</title><h1>Backprop Lab</h1>"
            "<p>The dashboard files were not found (looked for backproplab/frontend in the package and "
            "frontend/ in the repository). The API is running: see <a href='/docs'>/docs</a>.</p>",
            status_code=404,
        )
