"""Fixtures: an in-process TestClient app and real servers (``python -m backproplab`` on a free port), from
server_harness.py (import helpers from there, never from this file)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from server_harness import ADMIN_TOKEN, ServerProcess, open_client

from backproplab.server.settings import Settings


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
