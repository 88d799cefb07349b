"""Real servers and in-process apps for the server tests (the fixtures in conftest.py use these).

Clients talk to 127.0.0.1 (the server refuses host names that are not its own) and carry a bearer token
of their own (``Authorization``), as the dashboard does: what they create is theirs to change. Import it
by this name (``from server_harness import open_client``), never ``from conftest``: several test folders
have a conftest.py and which one that name finds depends on the order pytest loaded them.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from backproplab.server.app import create_app
from backproplab.server.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A real ``backproplab serve`` subprocess with its own data directory. ``prefix`` goes before the
    command (e.g. nsenter), ``log`` is where its output goes."""

    def __init__(
        self,
        data_dir: Path,
        env: dict[str, str] | None = None,
        prefix: list[str] | None = None,
        log: Path | None = None,
    ):
        self.data_dir = data_dir
        self.env = {**os.environ, **(env or {})}
        self.port = 0
        self.process: subprocess.Popen | None = None
        self.prefix = prefix or []
        self.log = log or data_dir / "server.log"
        self.auth: dict[str, str] = {}  # a token of this server's, minted at start (see identity())

    def command(self) -> list[str]:
        command = [*self.prefix, sys.executable, "-m", "backproplab", "serve", "--port", str(self.port)]
        return [*command, "--data-dir", str(self.data_dir)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> ServerProcess:
        self.port = free_port()
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command(), env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        try:
            return self._wait_until_up()
        except BaseException:
            self.kill()
            raise

    def _wait_until_up(self) -> ServerProcess:
        assert self.process is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=1).status_code == 200:
                    self.auth = self.identity()
                    return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError("server did not start")

    def identity(self) -> dict[str, str]:
        """Headers that carry a new identity's token (none from a server that cannot store one: a read-only
        or full data dir)."""
        response = httpx.post(self.url + "/api/identities")
        if response.status_code == 507:
            return {}
        return {"Authorization": f"Bearer {response.json()['token']}"}

    def stop(self) -> None:
        """Graceful stop (SIGTERM: the lifespan checkpoints every run)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


BASE_URL = "http://127.0.0.1:8000"


@contextmanager
def open_client(settings: Settings, token: bool = True) -> Iterator[TestClient]:
    """A TestClient of an app with these settings; ``token``: it carries a new identity's token."""
    with TestClient(create_app(settings), base_url=BASE_URL) as test_client:
        if token:
            authorize(test_client)
        yield test_client


def authorize(test_client: TestClient) -> str:
    """Give the client a new identity's token on every request; the token."""
    token = test_client.post("/api/identities").json()["token"]
    test_client.headers["Authorization"] = f"Bearer {token}"
    return token


ADMIN_TOKEN = "operator-secret-0123456789"


def wait_for(condition, seconds: float = 30.0, what: str = "condition"):
    """Poll ``condition`` until it returns something truthy (returned), or fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _parents() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(parent, []).append(int(entry))
    return children


def children(pid: int) -> list[int]:
    """The processes ``pid`` started."""
    return _parents().get(pid, [])


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, all the way down."""
    tree = _parents()
    found, stack = [], [pid]
    while stack:
        for child in tree.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found
