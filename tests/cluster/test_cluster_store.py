"""The store contract, the same for SQLite and PostgreSQL: one interface, two implementations."""

from __future__ import annotations

import math
import threading

import pytest

from backproplab.server.store import Checkpoint, StoreError, connect
from backproplab.server.store.postgres import SCHEMA_VERSION, PostgresStore, redacted

SUMMARY = {
    "id": "r",
    "step": 3,
    "status": "paused",
    "latest": {"loss": 0.1 + 0.2, "tiny": 5e-324, "big": 1e308},
}


@pytest.fixture(params=["sqlite", "postgres"])
def location(request, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path)
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def store(location):
    opened = connect(location, primary=True)
    yield opened
    opened.close()


def test_rows_are_created_listed_counted_and_filtered(store):
    store.insert_run("a", "alice", None, "first")
    store.insert_run("b", "bob", "class-1", None)
    store.insert_run("c", "alice", "class-1", None)
    assert [record.id for record in store.run_records()] == ["a", "b", "c"]
    assert [record.id for record in store.run_records(owner="alice")] == ["a", "c"]
    assert [record.id for record in store.run_records(class_id="class-1")] == ["b", "c"]
    assert [record.id for record in store.run_records(owner="alice", class_id="class-1")] == ["c"]
    assert store.count_runs() == 3 and store.count_runs(owner="bob") == 1 and store.count_runs("nobody") == 0
    record = store.run_record("a")
    assert (record.owner, record.class_id, record.name, record.summary) == ("alice", None, "first", None)
    assert record.created <= record.updated
    assert store.run_record("missing") is None
    assert store.load("a") is None, "a row without a checkpoint has nothing to load"


def test_checkpoints_round_trip_exactly_and_logs_append(store):
    store.insert_run("r", None, None, None)
    core = bytes(range(256)) * 40
    assert store.save("r", Checkpoint(core=core, summary=SUMMARY, logs={"history": b"\x00one"}))
    assert store.save(
        "r", Checkpoint(core=b"core2", summary=SUMMARY, logs={"history": b"two", "health": b"h"})
    )
    saved = store.load("r")
    assert saved.core == b"core2"
    assert saved.logs == {"history": [b"\x00one", b"two"], "health": [b"h"]}
    summary = store.run_record("r").summary
    assert summary == SUMMARY and summary["latest"]["loss"] == 0.1 + 0.2  # floats exactly, not rounded
    assert math.copysign(1, summary["latest"]["tiny"]) == 1 and isinstance(summary["latest"]["big"], float)

    store.save(
        "r",
        Checkpoint(core=core, summary=SUMMARY, logs={"history": b"fresh"}, replace=frozenset({"history"})),
    )
    assert store.load("r").logs == {"history": [b"fresh"], "health": [b"h"]}
    assert store.load("r").core == core


def test_a_checkpoint_never_brings_a_deleted_run_back(store):
    store.insert_run("r", "alice", None, None)
    store.save("r", Checkpoint(core=b"core", summary=SUMMARY, logs={"history": b"x"}))
    assert store.delete_run("r") is True
    assert store.save("r", Checkpoint(core=b"late", summary=SUMMARY, logs={"history": b"y"})) is False
    assert store.run_record("r") is None and store.load("r") is None and store.count_runs() == 0
    assert store.delete_run("r") is False
    store.insert_run("r", "alice", None, None)  # the id is free again, with no old logs
    store.save("r", Checkpoint(core=b"new", summary=SUMMARY))
    assert store.load("r").logs == {}


def test_a_second_connection_sees_every_write(location, store):
    """Trainers open their own connection to the same location."""
    other = connect(location)
    try:
        store.insert_run("r", None, None, None)
        assert other.save("r", Checkpoint(core=b"from a trainer", summary=SUMMARY))
        assert store.load("r").core == b"from a trainer"
        assert [record.id for record in other.run_records()] == ["r"]
    finally:
        other.close()


def test_the_store_is_shared_by_threads(store):
    def insert(prefix: str) -> None:
        for index in range(20):
            store.insert_run(f"{prefix}{index}", prefix, None, None)
            store.save(f"{prefix}{index}", Checkpoint(core=b"c", summary=SUMMARY, logs={"history": b"h"}))

    threads = [threading.Thread(target=insert, args=(prefix,)) for prefix in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count_runs() == 80 and store.count_runs(owner="c") == 20


# ---------------------------------------------------------------------------- PostgreSQL only


def test_postgres_schema_is_created_once_by_replicas_starting_together(postgres_url):
    errors: list[BaseException] = []

    def start() -> None:
        try:
            PostgresStore.open_primary(postgres_url).close()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    import psycopg

    with psycopg.connect(postgres_url) as db:
        assert db.execute("SELECT version FROM backproplab_schema").fetchall() == [(SCHEMA_VERSION,)]


def test_postgres_refuses_a_database_newer_than_the_server(postgres_url):
    PostgresStore.open_primary(postgres_url).close()
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("INSERT INTO backproplab_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this server"):
        PostgresStore.open_primary(postgres_url)


def test_postgres_store_reconnects_after_the_server_restarts(postgres_server, postgres_url):
    store = PostgresStore.open_primary(postgres_url)
    try:
        store.insert_run("r", None, None, None)
        postgres_server.restart()
        with pytest.raises(StoreError):  # the call in flight when the server went away fails cleanly
            store.count_runs()
        assert store.count_runs() == 1, "the next call connects again"
    finally:
        store.close()


def test_postgres_errors_are_store_errors_and_passwords_are_never_shown():
    store = PostgresStore("postgresql://user:secret@/nothing?host=/nonexistent-socket-dir")
    with pytest.raises(StoreError):
        store.count_runs()
    assert "secret" not in store.description and store.description == redacted(store.url)
    assert redacted("postgresql://u:pw@db:5432/x") == "postgresql://u:***@db:5432/x"
