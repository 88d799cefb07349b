"""The store contract, the same for SQLite and PostgreSQL: one interface, two implementations."""

from __future__ import annotations

import math
import threading
import time

import pytest

from backproplab.server.store import Checkpoint, NameTakenError, StoredDataset, StoreError, Usage, connect
from backproplab.server.store.base import ClassRecord, ComparisonRecord
from backproplab.server.store.postgres import SCHEMA_VERSION, PostgresStore

SUMMARY = {
    "id": "r",
    "step": 3,
    "status": "paused",
    "latest": {"loss": 0.1 + 0.2, "tiny": 5e-324, "big": 1e308},
}


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


def test_runs_are_renamed_and_expire_oldest_first(store):
    for run_id in ("a", "b", "c"):
        store.insert_run(run_id, None, None, None)
    assert store.rename_run("b", "second") and store.run_record("b").name == "second"
    assert store.rename_run("missing", "x") is False
    newest = store.run_record("b").updated
    assert store.expired_runs(newest, 10) == ["a", "c"], "b was touched by the rename"
    assert store.expired_runs(newest + 1, 2) == ["a", "c"] and store.expired_runs(0, 10) == []


def test_identities_are_found_by_token_hash_and_idle_ones_forgotten(store):
    store.insert_identity("alice", "hash-a")
    store.insert_identity("bob", "hash-b")
    store.insert_identity("carol", "hash-c")
    assert store.identity_by_hash("hash-b") == "bob" and store.identity_by_hash("nope") is None
    store.insert_run("r", "alice", None, None)
    store.insert_class(ClassRecord("k", "CODE1", "bob", None, {"seed": 1}, None, 1.0, 1.0))
    assert store.delete_idle_identities(before=time.time() + 1) == 1, "only carol owns nothing"
    assert store.identity_by_hash("hash-c") is None and store.identity_by_hash("hash-a") == "alice"
    assert store.delete_idle_identities(before=0.0) == 0


def test_classes_by_id_code_and_teacher_and_their_deletion(store):
    first = ClassRecord(
        "k1", "AAAA", "teacher", "Monday", {"seed": 1, "optimizer": {"lr": 0.1}}, ["optimizer.lr"], 1.0, 1.0
    )
    assert store.insert_class(first)
    assert store.insert_class(ClassRecord("k2", "AAAA", "other", None, {}, None, 2.0, 2.0)) is False, (
        "code taken"
    )
    assert store.insert_class(ClassRecord("k3", "BBBB", "teacher", None, {}, None, 3.0, 3.0))
    assert store.class_record("k1") == first and store.class_by_code("AAAA") == first
    assert store.class_record("k2") is None and store.class_by_code("ZZZZ") is None
    assert [record.id for record in store.classes_of("teacher")] == ["k1", "k3"]
    assert [record.id for record in store.classes_of(None)] == ["k1", "k3"]
    store.update_class("k1", "Tuesday", {"seed": 2}, None)
    changed = store.class_record("k1")
    assert (changed.name, changed.config, changed.allowed) == ("Tuesday", {"seed": 2}, None)
    store.insert_run("student", "s", "k1", None)
    assert store.delete_class("k1") and store.delete_class("k1") is False
    assert store.run_record("student").class_id is None, "students keep their runs"


def test_names_are_unique_in_a_class_without_case_and_only_there(store):
    store.insert_class(ClassRecord("k", "CODE1", "teacher", None, {}, None, 1.0, 1.0))
    store.insert_run("ada", "s1", "k", "Ada")
    for taken in ("Ada", "ada", "ADA", "Ａｄａ"):
        with pytest.raises(NameTakenError) as refused:
            store.insert_run("ada-2", "s2", "k", taken)
        assert refused.value.name == taken
    assert store.run_record("ada-2") is None and store.count_runs() == 1, "a refused run is not written"
    store.insert_run("elsewhere", "s2", "another-class", "Ada")
    store.insert_run("alone", "s2", None, "Ada")
    store.insert_run("unnamed-1", "s3", "k", None)
    store.insert_run("unnamed-2", "s4", "k", None)
    store.insert_run("grace", "s5", "k", "Grace")

    with pytest.raises(NameTakenError):
        store.rename_run("grace", "ada")
    with pytest.raises(NameTakenError):
        store.rename_run("unnamed-1", "GRACE")
    assert store.run_record("grace").name == "Grace" and store.run_record("unnamed-1").name is None
    assert store.rename_run("ada", "ADA") and store.run_record("ada").name == "ADA", "its own name"
    assert store.rename_run("alone", "Grace") and store.rename_run("elsewhere", "Grace"), "not in this class"
    assert store.rename_run("grace", None) and store.rename_run("unnamed-1", "grace"), "a name let go"
    assert store.rename_run("missing", "Ada") is False


def test_students_taking_one_name_at_once_on_several_replicas_get_it_once(location, store):
    """Each replica (its own connection) inserts a run named Ada in one class at the same moment."""
    store.insert_class(ClassRecord("k", "CODE1", "teacher", None, {}, None, 1.0, 1.0))
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def replica(index: int) -> None:
        own = connect(location)
        try:
            start.wait()
            own.insert_run(f"r{index}", f"s{index}", "k", "Ada" if index % 2 else "ada")
            outcomes.append("joined")
        except NameTakenError:
            outcomes.append("taken")
        finally:
            own.close()

    threads = [threading.Thread(target=replica, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["joined"] + ["taken"] * 5
    assert len([record.name for record in store.run_records(class_id="k")]) == 1


def test_comparisons_are_kept_and_forgotten_by_age(store):
    record = ComparisonRecord("c", "alice", ["sgd", "adam"], ["r1", "r2"], True, 10.0)
    store.insert_comparison(record)
    store.insert_comparison(ComparisonRecord("d", None, [], [], False, 20.0))
    assert store.comparison_record("c") == record and store.comparison_record("x") is None
    assert store.delete_comparisons(before=15.0) == 1
    assert store.comparison_record("c") is None and store.comparison_record("d").identical_start is False


def test_shared_datasets_are_stored_once_and_counted_once_per_server_and_owner(store):
    shared = StoredDataset("d1", b"rows", memory=1_000)
    store.insert_run("a", "alice", None, None, shared, memory=10)
    store.insert_run("b", "alice", None, None, StoredDataset("d1", b"other bytes", 1), memory=20)
    store.insert_run("c", "bob", None, None, shared, memory=40)
    store.insert_run("d", "bob", None, None, StoredDataset("d2", b"more", memory=500), memory=80)
    store.insert_run("e", "bob", None, None)
    assert store.dataset("d1") == b"rows", "a known hash is not stored again"
    assert store.usage() == Usage(5, 10 + 20 + 40 + 80 + 1_000 + 500, frozenset({"d1", "d2"}))
    assert store.usage("alice") == Usage(2, 10 + 20 + 1_000, frozenset({"d1"}))
    assert store.usage("bob") == Usage(3, 40 + 80 + 1_000 + 500, frozenset({"d1", "d2"}))
    assert store.usage("nobody") == Usage(0, 0, frozenset())
    assert store.dataset("missing") is None


def test_a_dataset_goes_with_its_last_run(store):
    shared = StoredDataset("d1", b"rows", memory=1_000)
    store.insert_run("a", "alice", None, None, shared)
    store.insert_run("b", "bob", None, None, shared)
    store.save("a", Checkpoint(b"core", {"id": "a"}, {"history": b"h"}))
    assert store.load("a").dataset == "d1" and store.run_record("a") is not None
    assert store.delete_run("a") and store.dataset("d1") == b"rows", "b still uses it"
    assert store.delete_run("b") and store.dataset("d1") is None
    assert store.usage() == Usage(0, 0, frozenset())


def test_a_checkpoint_can_name_a_new_dataset_and_the_old_one_goes(store):
    store.insert_run("a", None, None, None, StoredDataset("old", b"old rows", memory=8), memory=1)
    store.insert_run("b", None, None, None, StoredDataset("kept", b"kept rows", memory=9), memory=1)
    new = StoredDataset("new", b"new rows", memory=8)
    assert store.save("a", Checkpoint(b"core", {"id": "a"}, dataset=new))
    assert store.load("a").dataset == "new" and store.dataset("new") == b"new rows"
    assert store.dataset("old") is None, "no run uses it any more"
    assert store.save("b", Checkpoint(b"core", {"id": "b"}, dataset=new))
    assert store.dataset("kept") is None and store.usage().datasets == {"new"}
    assert store.save("b", Checkpoint(b"core2", {"id": "b"}, dataset=new)), "naming the same one again"
    assert store.dataset("new") == b"new rows" and store.load("b").core == b"core2"
    assert not store.save("gone", Checkpoint(b"core", {}, dataset=StoredDataset("x", b"x", 1)))
    assert store.dataset("x") is None, "nothing is written for a run that is gone"


def test_replicas_creating_and_deleting_runs_on_one_dataset_never_lose_it(location, store):
    """Each replica (its own connection) creates a run on the shared rows, checks they are there while its
    run lives, and deletes it, while the others do the same: no delete may drop rows another run uses."""
    shared = StoredDataset("shared", b"rows" * 1000, memory=4000)
    missing: list[str] = []

    def replica(name: str) -> None:
        own = connect(location)
        try:
            for index in range(40):
                run_id = f"{name}-{index}"
                own.insert_run(run_id, name, None, None, shared)
                if own.dataset("shared") is None:
                    missing.append(run_id)
                own.delete_run(run_id)
        finally:
            own.close()

    threads = [threading.Thread(target=replica, args=(name,)) for name in ("a", "b", "c", "d")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert missing == [], "runs whose rows were dropped by another replica's delete"
    assert store.count_runs() == 0 and store.dataset("shared") is None


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
        versions = db.execute("SELECT version FROM backproplab_schema ORDER BY version").fetchall()
        assert versions == [(version,) for version in range(1, SCHEMA_VERSION + 1)], "each migration once"


def test_postgres_refuses_a_database_newer_than_the_server(postgres_url):
    PostgresStore.open_primary(postgres_url).close()
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as db:
        db.execute("INSERT INTO backproplab_schema (version) VALUES (%s)", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match="newer than this server"):
        PostgresStore.open_primary(postgres_url)


def test_postgres_migrates_a_version_1_database_keeping_its_runs(postgres_url):
    import psycopg

    from backproplab.server.store.postgres import MIGRATIONS

    with psycopg.connect(postgres_url, autocommit=True) as db:  # as a server of schema version 1 left it
        db.execute("CREATE TABLE backproplab_schema (version INTEGER NOT NULL)")
        for statement in MIGRATIONS[1]:
            db.execute(statement)
        db.execute("INSERT INTO backproplab_schema (version) VALUES (1)")
        db.execute("INSERT INTO runs (id, owner, created, updated, core) VALUES ('old', 'alice', 1, 1, 'c')")
        db.execute("INSERT INTO runs (id, owner, created, updated) VALUES ('unfinished', 'alice', 1, 1)")
    store = PostgresStore.open_primary(postgres_url)
    try:
        assert store.run_record("old").owner == "alice"
        assert store.load("old").core == b"c" and store.load("old").dataset is None
        assert store.usage("alice") == Usage(runs=1, memory=0, datasets=frozenset())
        assert store.run_record("unfinished") is None, "a creation that never finished, long ago"
        store.insert_identity("alice", "hash")
        assert store.identity_by_hash("hash") == "alice"
        store.insert_run("new", "alice", None, None, StoredDataset("d", b"rows", 100), memory=5)
        assert store.usage("alice").memory == 105
    finally:
        store.close()


def test_postgres_keeps_a_row_another_replica_is_creating_now(postgres_url):
    """SQLite removes rows without a checkpoint when its one server starts; with replicas, only old ones."""
    first = PostgresStore.open_primary(postgres_url)
    try:
        first.insert_run("being-created", None, None, None)
        PostgresStore.open_primary(postgres_url).close()  # another replica starts meanwhile
        assert first.run_record("being-created") is not None
    finally:
        first.close()


def test_a_comparison_is_deleted_alone(store):
    store.insert_comparison(ComparisonRecord("c", "alice", ["sgd"], ["r1"], True, 10.0))
    store.insert_comparison(ComparisonRecord("d", "alice", ["adam"], ["r2"], True, 10.0))
    assert store.delete_comparison("c") and store.delete_comparison("c") is False
    assert store.comparison_record("c") is None and store.comparison_record("d") is not None
