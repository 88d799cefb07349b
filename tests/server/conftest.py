"""Fixtures: an in-process TestClient app and real servers (``python -m backproplab`` on a free port).

Clients talk to 127.0.0.1 (the server refuses host names that are not its own) and carry a bearer token
of their own (``Authorization``), as the dashboard does: what they create is theirs to change.
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
import pytest
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


@pytest.fixture
def client(tmp_path):
    with open_client(Settings(data_dir=tmp_path)) as test_client:
        yield test_client


@pytest.fixture
def app_client():
    """``with app_client(settings) as client``: a TestClient of an app with these settings."""
    return open_client


@pytest.fixture
def mint():
    """``mint(client)``: headers carrying a new identity's token (another user than the client's own)."""

    def new_identity(test_client: TestClient) -> dict[str, str]:
        token = test_client.post("/api/identities", headers={"Authorization": ""}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    return new_identity


ADMIN_TOKEN = "operator-secret-0123456789"


@pytest.fixture
def admin_client(tmp_path):
    """The ``client`` of a server with an admin token; ``client.admin`` holds its headers."""
    with open_client(Settings(data_dir=tmp_path, admin_token=ADMIN_TOKEN)) as test_client:
        test_client.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
        yield test_client


@pytest.fixture(scope="module")
def admin_server(tmp_path_factory):
    """A real server with an admin token; ``admin_server.admin`` holds its headers."""
    data_dir = tmp_path_factory.mktemp("admin-server")
    process = ServerProcess(data_dir, {"BACKPROPLAB_ADMIN_TOKEN": ADMIN_TOKEN}).start()
    process.admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    yield process
    process.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("server")).start()
    yield process
    process.stop()


@pytest.fixture
def make_server(tmp_path):
    """Start servers on demand (same data directory unless given); all are stopped at the end."""
    started: list[ServerProcess] = []

    def start(data_dir: Path | None = None, env: dict[str, str] | None = None, **options) -> ServerProcess:
        process = ServerProcess(data_dir or tmp_path, env, **options).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.kill()
