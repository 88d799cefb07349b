"""The cluster store: runs in PostgreSQL (psycopg 3), for several web replicas and trainers on many machines.

The same interface and the same rules as the SQLite store (store/base.py): the web process creates and
deletes rows, a trainer only ever updates an existing row, a checkpoint appends to its run's logs, and a
custom dataset is stored once by content hash and deleted with the last run that uses it. Each process
opens its own connection (shared by its threads under a lock, as SQLite's is), checks it before use when
it sat idle (the server may have ended the session: a restart, a failover, an administrator) and opens a new
one when the server went away, so a restarted PostgreSQL costs the calls in flight, never the process and
never the next call.

The web process that starts first creates the schema and migrates it (:meth:`PostgresStore.open_primary`,
postgres_schema.py); a database newer than this server is refused, never rewritten.

Failures never escape as psycopg errors: each becomes a :class:`StoreError` by its SQLSTATE (a full disk,
a read-only server, damage, a server that cannot be reached). The store remembers the last failed write,
or damage or a lost server met by a read, until a write succeeds (a read that reaches the server again
clears a lost server): :meth:`health`; :meth:`probe` tries a small write.

Several replicas and trainers change datasets at once, so every change that may create or drop a dataset
(a run created on one, a checkpoint naming new rows, any delete) holds one advisory lock: a dataset is
never dropped by one transaction while another makes a run use it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .base import (
    Checkpoint,
    ClassRecord,
    ComparisonRecord,
    RunRecord,
    Saved,
    StoredDataset,
    StoreError,
    StoreHealth,
    Usage,
)
from .postgres_schema import MIGRATIONS, SCHEMA_VERSION, migrate, store_error, unreachable
from .rows import (
    CLASS_COLUMNS,
    COMPARISON_COLUMNS,
    RECORD_COLUMNS,
    allowed_text,
    check_name_free,
    class_record,
    class_row,
    comparison_record,
    comparison_row,
    filters,
    other_names,
    run_record,
)

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresStore", "redacted"]
log = logging.getLogger("backproplab.store")

CONNECT_TIMEOUT_S = 10
IDLE_CHECK_S = 1.0  # a connection idle this long is checked (one empty round trip) before it is used
DATASETS_LOCK = 0x6270_6C61_6264  # pg_advisory_xact_lock key held by changes that may add or drop datasets
ORPHAN_AGE_S = 3600.0  # a row without a checkpoint this old is a creation that never finished
T = TypeVar("T")
Cursor = psycopg.Cursor[Any]


def redacted(url: str) -> str:
    """The URL without its password, for logs and /api/health."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class PostgresStore:
    """Runs in a PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str):
        self.url = url
        self.description = redacted(url)
        self._lock = threading.Lock()
        self._db: psycopg.Connection[Any] | None = None
        self._used = 0.0  # time.monotonic() of the connection's last use
        self._problem: StoreHealth | None = None
        self._lost_server = False  # the remembered problem is a server that could not be reached

    @classmethod
    def open_primary(cls, url: str) -> PostgresStore:
        """Create or migrate the schema (a web process, at start), drop rows of creations that never
        finished long ago (another replica may be creating a run right now) and unused datasets."""
        store = cls(url)
        store._run(lambda db: migrate(db, store.description), write=True)
        before = time.time() - ORPHAN_AGE_S

        def work(cursor: Cursor) -> int:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DATASETS_LOCK,))
            orphans = cursor.execute(
                "DELETE FROM runs WHERE core IS NULL AND created < %s", (before,)
            ).rowcount
            cursor.execute(
                "DELETE FROM datasets WHERE digest NOT IN (SELECT dataset FROM runs WHERE dataset IS NOT NULL)"
            )
            return orphans

        if orphans := store._write(work):
            log.info("removed %d runs whose creation never finished", orphans)
        return store

    # ------------------------------------------------------------------ connection, failures and health

    def _connection(self) -> psycopg.Connection[Any]:
        if self._db is not None and not self._db.closed and time.monotonic() - self._used > IDLE_CHECK_S:
            # NOTE: psycopg learns that the server ended an idle session only when the session is next used;
            # an empty query finds out before a real one fails on it (nothing of the caller's has run yet).
            try:
                self._db.execute("")
            except psycopg.Error:
                self._db.close()
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        return self._db

    def _run(self, work: Callable[[psycopg.Connection[Any]], T], write: bool) -> T:
        """Do ``work`` on this process's connection; any psycopg error becomes a StoreError, remembered
        when it was a write's (or damage, or a lost server)."""
        with self._lock:
            try:
                result = work(self._connection())
                self._used = time.monotonic()
            except psycopg.Error as error:
                # NOTE: a broken connection stays "open" in psycopg until used; drop it so the next call
                # connects again (PostgreSQL restarted, a network blip) instead of failing forever.
                if self._db is not None and self._db.broken:
                    self._db.close()
                    self._db = None
                problem = store_error(error, self.description)
                lost = unreachable(error)
                if write or lost or problem.kind == "damaged":
                    since = self._problem.since if self._problem else time.time()
                    self._problem = StoreHealth(False, problem.kind, problem.reason, since)
                    self._lost_server = lost
                raise problem from error
            if write or self._lost_server:
                self._problem, self._lost_server = None, False
            return result

    def _write(self, work: Callable[[Cursor], T]) -> T:
        """``work`` in one transaction: on any failure nothing is written."""

        def transaction(db: psycopg.Connection[Any]) -> T:
            with db.transaction(), db.cursor() as cursor:
                return work(cursor)

        return self._run(transaction, write=True)

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def work(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with db.cursor() as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall()

        return self._run(work, write=False)

    def _change(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """One statement in its own transaction; the number of rows it changed."""
        return self._write(lambda cursor: cursor.execute(sql, parameters).rowcount)

    def health(self) -> StoreHealth:
        return self._problem or StoreHealth()

    def probe(self) -> StoreHealth:
        with contextlib.suppress(StoreError):  # remembered: health() says why
            self._change(
                "INSERT INTO meta (key, value) VALUES ('probe', %s) "
                "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                (str(time.time()),),
            )
        return self.health()

    # ------------------------------------------------------------------ metadata (web process)

    def insert_run(
        self,
        run_id: str,
        owner: str | None,
        class_id: str | None,
        name: str | None,
        dataset: StoredDataset | None = None,
        memory: int = 0,
    ) -> None:
        now = time.time()

        def work(cursor: Cursor) -> None:
            if class_id is not None and name is not None:
                _check_name_free(cursor, class_id, name, run_id)
            if dataset is not None:
                _store_dataset(cursor, dataset)
            cursor.execute(
                "INSERT INTO runs (id, owner, class_id, name, created, updated, dataset, memory) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (run_id, owner, class_id, name, now, now, dataset.digest if dataset else None, memory),
            )

        self._write(work)

    def delete_run(self, run_id: str) -> bool:
        def work(cursor: Cursor) -> bool:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DATASETS_LOCK,))
            cursor.execute("DELETE FROM run_logs WHERE run_id = %s", (run_id,))
            found = cursor.execute("DELETE FROM runs WHERE id = %s RETURNING dataset", (run_id,)).fetchone()
            if found is not None and found[0] is not None:
                _forget_dataset_if_unused(cursor, found[0])
            return found is not None

        return self._write(work)

    def run_record(self, run_id: str) -> RunRecord | None:
        rows = self._query(f"SELECT {RECORD_COLUMNS} FROM runs WHERE id = %s", (run_id,))
        return run_record(rows[0]) if rows else None

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]:
        clauses, parameters = filters(owner, class_id, "%s")
        rows = self._query(f"SELECT {RECORD_COLUMNS} FROM runs{clauses} ORDER BY created, id", parameters)
        return [run_record(row) for row in rows]

    def count_runs(self, owner: str | None = None) -> int:
        clauses, parameters = filters(owner, None, "%s")
        return int(self._query(f"SELECT count(*) FROM runs{clauses}", parameters)[0][0])

    def usage(self, owner: str | None = None) -> Usage:
        clauses, parameters = filters(owner, None, "%s")

        def work(db: psycopg.Connection[Any]) -> Usage:
            with db.transaction(), db.cursor() as cursor:  # one snapshot: runs and datasets agree
                row = cursor.execute(
                    f"SELECT count(*), COALESCE(sum(memory), 0) FROM runs{clauses}",
                    parameters,
                ).fetchone()
                assert row is not None
                datasets = cursor.execute(
                    "SELECT digest, memory FROM datasets "
                    f"WHERE digest IN (SELECT dataset FROM runs{clauses})",
                    parameters,
                ).fetchall()
            return Usage(
                runs=int(row[0]),
                memory=int(row[1]) + sum(int(size) for _, size in datasets),
                datasets=frozenset(digest for digest, _ in datasets),
            )

        return self._run(work, write=False)

    def rename_run(self, run_id: str, name: str | None) -> bool:
        def work(cursor: Cursor) -> bool:
            found = cursor.execute("SELECT class_id FROM runs WHERE id = %s", (run_id,)).fetchone()
            if found is None:
                return False
            if found[0] is not None and name is not None:
                _check_name_free(cursor, found[0], name, run_id)
            cursor.execute(
                "UPDATE runs SET name = %s, updated = %s WHERE id = %s", (name, time.time(), run_id)
            )
            return True

        return self._write(work)

    def expired_runs(self, before: float, limit: int) -> list[str]:
        rows = self._query(
            "SELECT id FROM runs WHERE updated < %s ORDER BY updated LIMIT %s", (before, limit)
        )
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ identities

    def insert_identity(self, identity_id: str, token_hash: str) -> None:
        self._change(
            "INSERT INTO identities (id, token_hash, created) VALUES (%s, %s, %s)",
            (identity_id, token_hash, time.time()),
        )

    def identity_by_hash(self, token_hash: str) -> str | None:
        rows = self._query("SELECT id FROM identities WHERE token_hash = %s", (token_hash,))
        return rows[0][0] if rows else None

    def delete_idle_identities(self, before: float) -> int:
        return self._change(
            "DELETE FROM identities WHERE created < %s "
            "AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.owner = identities.id) "
            "AND NOT EXISTS (SELECT 1 FROM classes WHERE classes.teacher = identities.id) "
            "AND NOT EXISTS (SELECT 1 FROM comparisons WHERE comparisons.owner = identities.id)",
            (before,),
        )

    # ------------------------------------------------------------------ classes

    def insert_class(self, record: ClassRecord) -> bool:
        def work(cursor: Cursor) -> bool:
            # NOTE: ON CONFLICT DO NOTHING on the code only: any other conflict (a taken id) still fails.
            return (
                cursor.execute(
                    f"INSERT INTO classes ({CLASS_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                    "ON CONFLICT (code) DO NOTHING",
                    class_row(record),
                ).rowcount
                > 0
            )

        return self._write(work)

    def class_record(self, class_id: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes WHERE id = %s", (class_id,))
        return class_record(rows[0]) if rows else None

    def class_by_code(self, code: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes WHERE code = %s", (code,))
        return class_record(rows[0]) if rows else None

    def classes_of(self, teacher: str | None) -> list[ClassRecord]:
        where, parameters = (" WHERE teacher = %s", (teacher,)) if teacher is not None else ("", ())
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes{where} ORDER BY created, id", parameters)
        return [class_record(row) for row in rows]

    def update_class(
        self, class_id: str, name: str | None, config: dict[str, Any], allowed: list[str] | None
    ) -> None:
        self._change(
            "UPDATE classes SET name = %s, config = %s, allowed = %s, updated = %s WHERE id = %s",
            (name, json.dumps(config, allow_nan=False), allowed_text(allowed), time.time(), class_id),
        )

    def delete_class(self, class_id: str) -> bool:
        def work(cursor: Cursor) -> bool:
            cursor.execute("UPDATE runs SET class_id = NULL WHERE class_id = %s", (class_id,))
            return cursor.execute("DELETE FROM classes WHERE id = %s", (class_id,)).rowcount > 0

        return self._write(work)

    # ------------------------------------------------------------------ comparisons

    def insert_comparison(self, record: ComparisonRecord) -> None:
        self._change(
            f"INSERT INTO comparisons ({COMPARISON_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
            comparison_row(record),
        )

    def comparison_record(self, comparison_id: str) -> ComparisonRecord | None:
        rows = self._query(f"SELECT {COMPARISON_COLUMNS} FROM comparisons WHERE id = %s", (comparison_id,))
        return comparison_record(rows[0]) if rows else None

    def delete_comparisons(self, before: float) -> int:
        return self._change("DELETE FROM comparisons WHERE created < %s", (before,))

    def delete_comparison(self, comparison_id: str) -> bool:
        return self._change("DELETE FROM comparisons WHERE id = %s", (comparison_id,)) > 0

    # ------------------------------------------------------------------ datasets

    def dataset(self, digest: str) -> bytes | None:
        rows = self._query("SELECT data FROM datasets WHERE digest = %s", (digest,))
        return bytes(rows[0][0]) if rows else None

    # ------------------------------------------------------------------ checkpoints (trainers)

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        summary = json.dumps(checkpoint.summary, allow_nan=False)

        def work(cursor: Cursor) -> bool:
            if checkpoint.dataset is not None:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DATASETS_LOCK,))
            found = cursor.execute(
                "UPDATE runs SET core = %s, summary = %s, updated = %s WHERE id = %s RETURNING dataset",
                (checkpoint.core, summary, time.time(), run_id),
            ).fetchone()
            if found is None:
                return False
            if checkpoint.dataset is not None and checkpoint.dataset.digest != found[0]:
                _store_dataset(cursor, checkpoint.dataset)
                cursor.execute(
                    "UPDATE runs SET dataset = %s WHERE id = %s", (checkpoint.dataset.digest, run_id)
                )
                if found[0] is not None:
                    _forget_dataset_if_unused(cursor, found[0])
            for name in checkpoint.replace:
                cursor.execute("DELETE FROM run_logs WHERE run_id = %s AND log = %s", (run_id, name))
            for name, chunk in checkpoint.logs.items():
                cursor.execute(
                    "INSERT INTO run_logs (run_id, log, seq, chunk) SELECT %s, %s, "
                    "COALESCE(max(seq), -1) + 1, %s FROM run_logs WHERE run_id = %s AND log = %s",
                    (run_id, name, chunk, run_id, name),
                )
            return True

        return self._write(work)

    def load(self, run_id: str) -> Saved | None:
        def work(db: psycopg.Connection[Any]) -> Saved | None:
            with db.transaction(), db.cursor() as cursor:  # one snapshot: the core and its logs agree
                row = cursor.execute("SELECT core, dataset FROM runs WHERE id = %s", (run_id,)).fetchone()
                if row is None or row[0] is None:
                    return None
                logs: dict[str, list[bytes]] = {}
                for name, chunk in cursor.execute(
                    "SELECT log, chunk FROM run_logs WHERE run_id = %s ORDER BY log, seq", (run_id,)
                ):
                    logs.setdefault(name, []).append(bytes(chunk))
                return Saved(core=bytes(row[0]), logs=logs, dataset=row[1])

        return self._run(work, write=False)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


# ---------------------------------------------------------------------------------------------- helpers


def _check_name_free(cursor: Cursor, class_id: str, name: str, run_id: str) -> None:
    """NameTakenError if another run of the class has ``name``. The class's row is locked first (until the
    transaction ends): joins and renames in one class take turns, on every replica, so two students cannot
    take one name at once; the names are read after the lock, so they include the last one committed."""
    cursor.execute("SELECT 1 FROM classes WHERE id = %s FOR UPDATE", (class_id,))
    check_name_free(name, cursor.execute(other_names("%s"), (class_id, run_id)).fetchall())


def _store_dataset(cursor: Cursor, dataset: StoredDataset) -> None:
    """Store ``dataset`` unless its hash is stored already (under DATASETS_LOCK: no delete runs meanwhile)."""
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (DATASETS_LOCK,))
    cursor.execute(
        "INSERT INTO datasets (digest, memory, data) VALUES (%s, %s, %s) ON CONFLICT (digest) DO NOTHING",
        (dataset.digest, dataset.memory, dataset.data),
    )


def _forget_dataset_if_unused(cursor: Cursor, digest: str) -> None:
    cursor.execute(
        "DELETE FROM datasets WHERE digest = %s AND NOT EXISTS (SELECT 1 FROM runs WHERE dataset = %s)",
        (digest, digest),
    )
