"""The cluster store: runs in PostgreSQL (psycopg 3), for several web replicas and trainers on many machines.

The same interface and the same rules as the SQLite store (store/base.py): the web process creates and
deletes rows, a trainer only ever updates an existing row, a checkpoint appends to its run's logs. Each
process opens its own connection (shared by its threads under a lock, as SQLite's is) and opens a new one
when the server went away, so a restarted PostgreSQL costs the calls in flight, never the process.

The web process that starts first creates the schema and migrates it (:meth:`PostgresStore.open_primary`,
under an advisory lock, so replicas starting together migrate once); the schema's version lives in the
table ``backproplab_schema``. A database newer than this server is refused, never rewritten.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

from .base import Checkpoint, RunRecord, Saved, StoreError

log = logging.getLogger("backproplab.store")

SCHEMA_VERSION = 1
CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK = 0x6270_6C61_6221  # pg_advisory_xact_lock key: "bplab!"
# One list of statements per schema version, applied in order to reach it (append; never edit one).
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            owner TEXT,
            class_id TEXT,
            name TEXT,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL,
            summary TEXT,
            core BYTEA
        )""",
        "CREATE INDEX runs_owner ON runs (owner)",
        "CREATE INDEX runs_class ON runs (class_id)",
        """CREATE TABLE run_logs (
            run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            log TEXT NOT NULL,
            seq INTEGER NOT NULL,
            chunk BYTEA NOT NULL,
            PRIMARY KEY (run_id, log, seq)
        )""",
    ),
}
_RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
T = TypeVar("T")


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

    @classmethod
    def open_primary(cls, url: str) -> PostgresStore:
        """Create or migrate the schema (the web process, once at start), then open the store."""
        store = cls(url)
        store._run(store._migrate)
        return store

    # ------------------------------------------------------------------ connection

    def _connection(self) -> psycopg.Connection[Any]:
        if self._db is None or self._db.closed:
            self._db = psycopg.connect(self.url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_S)
        return self._db

    def _run(self, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """Do ``work`` on this process's connection; a failure of the server becomes a StoreError."""
        with self._lock:
            try:
                return work(self._connection())
            except psycopg.OperationalError as error:
                # NOTE: a broken connection stays "open" in psycopg until used; drop it so the next call
                # connects again (PostgreSQL restarted, a network blip) instead of failing forever.
                if self._db is not None and self._db.broken:
                    self._db.close()
                    self._db = None
                raise StoreError(str(error).strip() or type(error).__name__) from error

    @contextmanager
    def _transaction(self, db: psycopg.Connection[Any]) -> Iterator[psycopg.Cursor[Any]]:
        with db.transaction(), db.cursor() as cursor:
            yield cursor

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        def work(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
            with db.cursor() as cursor:
                cursor.execute(sql, parameters)
                return cursor.fetchall()

        return self._run(work)

    def _migrate(self, db: psycopg.Connection[Any]) -> None:
        with self._transaction(db) as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cursor.execute("CREATE TABLE IF NOT EXISTS backproplab_schema (version INTEGER NOT NULL)")
            row = cursor.execute("SELECT max(version) FROM backproplab_schema").fetchone()
            version = row[0] if row and row[0] is not None else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the database's schema version {version} is newer than this server's {SCHEMA_VERSION}: "
                    "upgrade backproplab"
                )
            for target in range(version + 1, SCHEMA_VERSION + 1):
                log.info("migrating %s to schema version %d", self.description, target)
                for statement in MIGRATIONS[target]:
                    cursor.execute(statement)
                cursor.execute("INSERT INTO backproplab_schema (version) VALUES (%s)", (target,))

    # ------------------------------------------------------------------ metadata (web process)

    def insert_run(self, run_id: str, owner: str | None, class_id: str | None, name: str | None) -> None:
        now = time.time()

        def work(db: psycopg.Connection[Any]) -> None:
            db.execute(
                "INSERT INTO runs (id, owner, class_id, name, created, updated) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (run_id, owner, class_id, name, now, now),
            )

        self._run(work)

    def delete_run(self, run_id: str) -> bool:
        def work(db: psycopg.Connection[Any]) -> bool:
            with self._transaction(db) as cursor:
                cursor.execute("DELETE FROM run_logs WHERE run_id = %s", (run_id,))
                return cursor.execute("DELETE FROM runs WHERE id = %s", (run_id,)).rowcount > 0

        return self._run(work)

    def run_record(self, run_id: str) -> RunRecord | None:
        rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM runs WHERE id = %s", (run_id,))
        return _record(rows[0]) if rows else None

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]:
        clauses, parameters = _filters(owner, class_id)
        rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM runs{clauses} ORDER BY created, id", parameters)
        return [_record(row) for row in rows]

    def count_runs(self, owner: str | None = None) -> int:
        clauses, parameters = _filters(owner, None)
        return int(self._query(f"SELECT count(*) FROM runs{clauses}", parameters)[0][0])

    # ------------------------------------------------------------------ checkpoints (trainers)

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        summary = json.dumps(checkpoint.summary, allow_nan=False)

        def work(db: psycopg.Connection[Any]) -> bool:
            with self._transaction(db) as cursor:
                cursor.execute(
                    "UPDATE runs SET core = %s, summary = %s, updated = %s WHERE id = %s",
                    (checkpoint.core, summary, time.time(), run_id),
                )
                if not cursor.rowcount:
                    return False
                for name in checkpoint.replace:
                    cursor.execute("DELETE FROM run_logs WHERE run_id = %s AND log = %s", (run_id, name))
                for name, chunk in checkpoint.logs.items():
                    cursor.execute(
                        "INSERT INTO run_logs (run_id, log, seq, chunk) SELECT %s, %s, "
                        "COALESCE(max(seq), -1) + 1, %s FROM run_logs WHERE run_id = %s AND log = %s",
                        (run_id, name, chunk, run_id, name),
                    )
                return True

        return self._run(work)

    def load(self, run_id: str) -> Saved | None:
        def work(db: psycopg.Connection[Any]) -> Saved | None:
            with self._transaction(db) as cursor:  # one snapshot: the core and its logs agree
                row = cursor.execute("SELECT core FROM runs WHERE id = %s", (run_id,)).fetchone()
                if row is None or row[0] is None:
                    return None
                logs: dict[str, list[bytes]] = {}
                for name, chunk in cursor.execute(
                    "SELECT log, chunk FROM run_logs WHERE run_id = %s ORDER BY log, seq", (run_id,)
                ):
                    logs.setdefault(name, []).append(bytes(chunk))
                return Saved(core=bytes(row[0]), logs=logs)

        return self._run(work)

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None


def _filters(owner: str | None, class_id: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses, parameters = [], []
    if owner is not None:
        clauses.append("owner = %s")
        parameters.append(owner)
    if class_id is not None:
        clauses.append("class_id = %s")
        parameters.append(class_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(parameters)


def _record(row: tuple[Any, ...]) -> RunRecord:
    return RunRecord(
        id=row[0],
        owner=row[1],
        class_id=row[2],
        name=row[3],
        created=row[4],
        updated=row[5],
        summary=json.loads(row[6]) if row[6] else None,
    )
