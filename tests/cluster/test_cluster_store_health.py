"""How a store fails and says so, the same on SQLite and PostgreSQL: every failure a StoreError with its
kind and HTTP status, nothing written by a change that failed, ``health()`` remembering the failure until a
write works, ``probe()`` finding out that storage works again. Then PostgreSQL's own failures, for real: a
full disk (a tablespace on a small tmpfs), a damaged page, a server that is gone or restarts."""

from __future__ import annotations

import os
import shutil
import time

import psycopg
import pytest
from cluster_harness import Postgres, SmallDisk, require

from backproplab.server.store import Checkpoint, Store, StoredDataset, StoreError, StoreHealth
from backproplab.server.store.postgres import IDLE_CHECK_S, PostgresStore, redacted
from backproplab.server.store.postgres_schema import classify, unreachable
from backproplab.server.store.sqlite import SqliteStore


def read_only(store: Store, on: bool) -> None:
    """Make the store's own connection refuse writes, as a read-only disk or a standby server does."""
    if isinstance(store, SqliteStore):
        store._db.execute(f"PRAGMA query_only={int(on)}")
    else:
        assert isinstance(store, PostgresStore)
        store._connection().execute(f"SET default_transaction_read_only = {'on' if on else 'off'}")


def test_a_refused_delete_changes_nothing_and_health_says_why_until_a_probe_works(store):
    store.insert_run("a", "alice", None, None, StoredDataset("d", b"rows", 10))
    store.save("a", Checkpoint(b"core", {"id": "a"}, {"history": b"h"}))
    assert store.health() == StoreHealth()
    read_only(store, True)
    with pytest.raises(StoreError) as refused:
        store.delete_run("a")
    assert (refused.value.kind, refused.value.status) == ("read_only", 507)
    assert "read-only" in refused.value.reason
    health = store.health()
    assert (health.ok, health.kind, health.reason) == (False, "read_only", refused.value.reason)
    assert health.since is not None
    assert store.run_record("a") is not None and store.dataset("d") == b"rows", "nothing was deleted"
    assert store.load("a").logs == {"history": [b"h"]} and store.usage().runs == 1, "reads still work"
    with pytest.raises(StoreError):
        store.save("a", Checkpoint(b"new core", {"id": "a"}, {"history": b"more"}))
    assert store.load("a").core == b"core", "a failed checkpoint wrote nothing"
    assert store.probe().kind == "read_only" and store.health().since == health.since
    read_only(store, False)
    assert store.probe() == StoreHealth()
    assert store.delete_run("a") and store.dataset("d") is None and store.health().ok


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (psycopg.errors.DiskFull, "full"),
        (psycopg.errors.ReadOnlySqlTransaction, "read_only"),
        (psycopg.errors.DataCorrupted, "damaged"),
        (psycopg.errors.IndexCorrupted, "damaged"),
        (psycopg.errors.ConnectionException, "unavailable"),
        (psycopg.errors.ConnectionFailure, "unavailable"),
        (psycopg.errors.AdminShutdown, "unavailable"),
        (psycopg.OperationalError, "unavailable"),
        (psycopg.errors.DeadlockDetected, "unavailable"),
    ],
)
def test_postgres_errors_are_classified_by_their_sqlstate(error, kind):
    found, reason = classify(error("what the server said"), "postgresql://db/x")
    assert found == kind and "postgresql://db/x" in reason
    assert StoreError(reason, found).status == (507 if kind in ("full", "read_only") else 503)


def test_a_session_the_server_ended_is_a_lost_server_but_a_deadlock_is_not():
    assert unreachable(psycopg.errors.AdminShutdown("terminating connection due to administrator command"))
    assert unreachable(psycopg.errors.CannotConnectNow("the database system is starting up"))
    assert not unreachable(psycopg.errors.DeadlockDetected("deadlock detected"))


def test_postgres_errors_are_store_errors_and_passwords_are_never_shown():
    store = PostgresStore("postgresql://user:secret@/nothing?host=/nonexistent-socket-dir")
    with pytest.raises(StoreError) as unreachable:
        store.count_runs()
    assert (unreachable.value.kind, unreachable.value.status) == ("unavailable", 503)
    assert "cannot be reached" in unreachable.value.reason and "secret" not in unreachable.value.reason
    assert store.health().kind == "unavailable", "a server that cannot be reached is a problem, read or write"
    assert store.probe().kind == "unavailable"
    assert "secret" not in store.description and store.description == redacted(store.url)
    assert redacted("postgresql://u:pw@db:5432/x") == "postgresql://u:***@db:5432/x"


def test_postgres_store_reconnects_after_the_server_restarts(postgres_server, postgres_url):
    store = PostgresStore.open_primary(postgres_url)
    try:
        store.insert_run("r", None, None, None)
        with postgres_server.offline():
            with pytest.raises(StoreError) as gone:  # a call while the server is away fails cleanly
                store.count_runs()
            assert gone.value.kind == "unavailable" and store.health().kind == "unavailable"
        assert store.count_runs() == 1, "the next call connects again"
        assert store.health() == StoreHealth(), "and the store says it works again"
        postgres_server.restart()
        time.sleep(IDLE_CHECK_S)
        assert store.count_runs() == 1, "a session the server ended while idle costs no call"
        assert store.health() == StoreHealth()
    finally:
        store.close()


def test_postgres_damage_is_found_and_said(postgres_server, postgres_url):
    store = PostgresStore.open_primary(postgres_url)
    store.insert_run("a", None, None, None)
    store.save("a", Checkpoint(b"core", {"id": "a"}))
    relation = store._query("SELECT pg_relation_filepath('runs')")[0][0]
    store.close()
    with postgres_server.offline() as data, open(data / relation, "r+b") as table:
        table.write(b"\xa5" * 24)  # the first page's header
    store = PostgresStore(postgres_url)
    try:
        with pytest.raises(StoreError) as damaged:
            store.load("a")
        assert (damaged.value.kind, damaged.value.status) == ("damaged", 503)
        assert "damaged" in damaged.value.reason and "invalid page" in damaged.value.reason
        assert store.health().kind == "damaged", "damage met by a read is remembered"
    finally:
        store.close()


@pytest.fixture
def small_disk():
    if os.geteuid() != 0 or shutil.which("nsenter") is None:
        require("mounting a small disk for PostgreSQL needs root and nsenter")
    disk = SmallDisk("8m")
    server = Postgres(prefix=disk.prefix).start()
    try:
        yield disk, server
    finally:
        server.stop()
        disk.close()


def test_postgres_on_a_full_disk_refuses_checkpoints_then_resumes(small_disk):
    disk, server = small_disk
    url = server.create_database("full")
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(f"CREATE TABLESPACE small LOCATION '{disk.mount_point}'")
    store = PostgresStore.open_primary(url)
    try:
        with psycopg.connect(url, autocommit=True) as db:
            for table in ("runs", "run_logs", "datasets"):
                db.execute(f"ALTER TABLE {table} SET TABLESPACE small")
        store.insert_run("a", None, None, None)
        store.save("a", Checkpoint(b"first", {"id": "a"}))
        disk.fill(leave=64 * 1024)
        big = Checkpoint(os.urandom(1_000_000), {"id": "a"}, {"history": os.urandom(200_000)})
        with pytest.raises(StoreError) as full:
            store.save("a", big)
        assert (full.value.kind, full.value.status) == ("full", 507) and "full" in full.value.reason
        assert store.health().kind == "full"
        saved = store.load("a")
        assert saved.core == b"first" and saved.logs == {}, "a failed checkpoint wrote nothing"
        disk.free()
        assert store.save("a", big) and store.health() == StoreHealth()
        assert store.load("a").core == big.core
    finally:
        store.close()
