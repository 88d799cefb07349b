"""Fixtures for the cluster tests: a real PostgreSQL server per session, a fresh database per test.

A prerequisite that is missing (psycopg, Ray, Debian's postgresql, a network namespace) skips the tests
that need it with the reason, except under CI=true, where the cluster tests must run: there it fails.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from cluster_harness import Postgres, missing_for_postgres, missing_for_ray, require

from backproplab.server.store import Store, connect


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[Postgres]:
    require(missing_for_postgres())
    server = Postgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: Postgres) -> str:
    """A new, empty database on the session's server."""
    return postgres_server.create_database(f"test_{secrets.token_hex(6)}")


@pytest.fixture(scope="session")
def ray_available() -> None:
    require(missing_for_ray())


@pytest.fixture(params=["sqlite", "postgres"])
def location(request: pytest.FixtureRequest, tmp_path) -> str:
    """Where a store lives, once for each store: a data dir for SQLite, a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def store(location: str) -> Iterator[Store]:
    """The store at ``location``, opened as a web process opens it (created and migrated)."""
    opened = connect(location, primary=True)
    yield opened
    opened.close()
