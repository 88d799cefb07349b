"""The SQLite store by itself: space freed by deletes goes back to the file system, older files are
migrated (and switched to incremental auto-vacuum), unfinished creations are removed at start, shared
datasets are counted once, and a failed write leaves the store usable."""

from __future__ import annotations

import os
import sqlite3

import pytest

from backproplab.server.store import Checkpoint, StoredDataset, StoreError
from backproplab.server.store.sqlite import DB_NAME, SCHEMA_VERSION, SqliteStore


def test_deleting_runs_gives_their_space_back(tmp_path):
    store = SqliteStore.open_primary(tmp_path)
    for index in range(20):
        run_id = f"run-{index}"
        store.insert_run(run_id, None, None, None)
        store.save(run_id, Checkpoint(os.urandom(200_000), {"id": run_id}, {"history": os.urandom(50_000)}))
    store.close()
    full = (tmp_path / DB_NAME).stat().st_size
    store = SqliteStore.open_primary(tmp_path)
    for index in range(19):
        assert store.delete_run(f"run-{index}")
    store.close()
    assert (tmp_path / DB_NAME).stat().st_size < full / 5
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("PRAGMA freelist_count").fetchone()[0] < 10
    assert SqliteStore(tmp_path).load("run-19").logs["history"][0]


def test_a_version_2_file_is_migrated_and_switched_to_incremental_vacuum(tmp_path):
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        db.executescript(
            "PRAGMA journal_mode=WAL;"
            "CREATE TABLE runs (id TEXT PRIMARY KEY, owner TEXT, class_id TEXT, name TEXT, created REAL NOT NULL,"
            " updated REAL NOT NULL, summary TEXT, core BLOB);"
            "CREATE TABLE run_logs (run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE, log TEXT NOT NULL,"
            " seq INTEGER NOT NULL, chunk BLOB NOT NULL, PRIMARY KEY (run_id, log, seq));"
            "INSERT INTO runs VALUES ('old', 'alice', NULL, NULL, 1, 1, '{\"id\": \"old\"}', x'0102');"
            "PRAGMA user_version=2;"
        )
    store = SqliteStore.open_primary(tmp_path)
    assert store.load("old").core == b"\x01\x02"
    assert store.usage("alice").runs == 1
    store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as db:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_rows_of_creations_that_never_finished_are_removed_at_start(tmp_path):
    store = SqliteStore.open_primary(tmp_path)
    store.insert_run("finished", None, None, None)
    store.save("finished", Checkpoint(b"core", {"id": "finished"}))
    store.insert_run("unfinished", None, None, None)
    store.close()
    store = SqliteStore.open_primary(tmp_path)
    assert store.run_record("unfinished") is None and store.run_record("finished") is not None
    store.close()


def test_shared_datasets_are_counted_once_per_server_and_per_owner(tmp_path):
    store = SqliteStore.open_primary(tmp_path)
    shared = StoredDataset("d1", b"rows", memory=1_000)
    store.insert_run("a", "alice", None, None, shared, memory=10)
    store.insert_run("b", "alice", None, None, shared, memory=20)
    store.insert_run("c", "bob", None, None, shared, memory=40)
    store.insert_run("d", "bob", None, None, StoredDataset("d2", b"more", memory=500), memory=80)
    assert store.usage().memory == 10 + 20 + 40 + 80 + 1_000 + 500
    assert store.usage("alice").memory == 10 + 20 + 1_000 and store.usage("alice").datasets == {"d1"}
    assert store.usage("bob").memory == 40 + 80 + 1_000 + 500
    assert store.dataset("d1") == b"rows"
    store.delete_run("d")
    assert store.dataset("d2") is None and store.usage().datasets == {"d1"}
    store.close()


def test_a_full_database_is_a_full_store_error_that_changes_nothing_and_passes(tmp_path):
    store = SqliteStore.open_primary(tmp_path)
    store.insert_run("a", None, None, None)
    store.save("a", Checkpoint(b"first", {"id": "a"}))
    pages = store._db.execute("PRAGMA page_count").fetchone()[0]
    store._db.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: as on a full disk
    with pytest.raises(StoreError) as full:
        store.save("a", Checkpoint(os.urandom(500_000), {"id": "a"}, {"history": os.urandom(10_000)}))
    assert full.value.kind == "full" and full.value.status == 507
    assert store.health().kind == "full" and not store.health().ok
    saved = store.load("a")
    assert saved.core == b"first" and saved.logs == {}, "a failed checkpoint wrote nothing"
    store._db.execute("PRAGMA max_page_count=1073741823")
    assert store.save("a", Checkpoint(b"second", {"id": "a"})) and store.health().ok
    assert store.load("a").core == b"second"
    store.close()


def test_a_checkpoint_can_name_a_new_dataset_and_the_old_one_goes(tmp_path):
    store = SqliteStore.open_primary(tmp_path)
    store.insert_run("a", None, None, None, StoredDataset("old", b"old rows", memory=8), memory=1)
    store.insert_run("b", None, None, None, StoredDataset("kept", b"kept rows", memory=9), memory=1)
    new = StoredDataset("new", b"new rows", memory=8)
    assert store.save("a", Checkpoint(b"core", {"id": "a"}, dataset=new))
    assert store.load("a").dataset == "new" and store.dataset("new") == b"new rows"
    assert store.dataset("old") is None, "no run uses it any more"
    assert store.save("b", Checkpoint(b"core", {"id": "b"}, dataset=new))
    assert store.dataset("kept") is None and store.usage().datasets == {"new"}
    assert not store.save("gone", Checkpoint(b"core", {}, dataset=StoredDataset("x", b"x", 1)))
    assert store.dataset("x") is None
    store.close()
