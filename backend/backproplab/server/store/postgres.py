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

from .base import Checkpoint, ClassRecord, ComparisonRecord, RunRecord, Saved, StoreError
from .sqlite import _class, _record  # one row layout, one converter: the columns are SQLite's

log = logging.getLogger("backproplab.store")

SCHEMA_VERSION = 2
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
    2: (  # identities, classes and comparisons (issue 11), the same columns as in SQLite
        "CREATE INDEX runs_updated ON runs (updated)",
        """CREATE TABLE identities (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL UNIQUE,
            created DOUBLE PRECISION NOT NULL
        )""",
        """CREATE TABLE classes (
            id TEXT PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            teacher TEXT NOT NULL,
            name TEXT,
            config TEXT NOT NULL,
            allowed TEXT,
            created DOUBLE PRECISION NOT NULL,
            updated DOUBLE PRECISION NOT NULL
        )""",
        "CREATE INDEX classes_teacher ON classes (teacher)",
        """CREATE TABLE comparisons (
            id TEXT PRIMARY KEY,
            owner TEXT,
            labels TEXT NOT NULL,
            run_ids TEXT NOT NULL,
            identical_start BOOLEAN NOT NULL,
            created DOUBLE PRECISION NOT NULL
        )""",
    ),
}
_RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
_CLASS_COLUMNS = "id, code, teacher, name, config, allowed, created, updated"
_COMPARISON_COLUMNS = "id, owner, labels, run_ids, identical_start, created"
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
        self._change(
            "INSERT INTO runs (id, owner, class_id, name, created, updated) VALUES (%s, %s, %s, %s, %s, %s)",
            (run_id, owner, class_id, name, now, now),
        )

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

    def rename_run(self, run_id: str, name: str | None) -> bool:
        return (
            self._change("UPDATE runs SET name = %s, updated = %s WHERE id = %s", (name, time.time(), run_id))
            > 0
        )

    def expired_runs(self, before: float, limit: int) -> list[str]:
        rows = self._query(
            "SELECT id FROM runs WHERE updated < %s ORDER BY updated LIMIT %s", (before, limit)
        )
        return [row[0] for row in rows]

    def _change(self, sql: str, parameters: tuple[Any, ...]) -> int:
        """One statement in its own transaction; the number of rows it changed."""

        def work(db: psycopg.Connection[Any]) -> int:
            return db.execute(sql, parameters).rowcount  # type: ignore[arg-type]  # our SQL is literal

        return self._run(work)

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
        config = json.dumps(record.config, allow_nan=False)
        allowed = None if record.allowed is None else json.dumps(record.allowed)
        try:
            self._change(
                f"INSERT INTO classes ({_CLASS_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    record.id,
                    record.code,
                    record.teacher,
                    record.name,
                    config,
                    allowed,
                    record.created,
                    record.updated,
                ),
            )
        except psycopg.errors.UniqueViolation:
            return False
        return True

    def class_record(self, class_id: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes WHERE id = %s", (class_id,))
        return _class(rows[0]) if rows else None

    def class_by_code(self, code: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes WHERE code = %s", (code,))
        return _class(rows[0]) if rows else None

    def classes_of(self, teacher: str | None) -> list[ClassRecord]:
        where, parameters = (" WHERE teacher = %s", (teacher,)) if teacher is not None else ("", ())
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes{where} ORDER BY created, id", parameters)
        return [_class(row) for row in rows]

    def update_class(
        self, class_id: str, name: str | None, config: dict[str, Any], allowed: list[str] | None
    ) -> None:
        self._change(
            "UPDATE classes SET name = %s, config = %s, allowed = %s, updated = %s WHERE id = %s",
            (
                name,
                json.dumps(config, allow_nan=False),
                None if allowed is None else json.dumps(allowed),
                time.time(),
                class_id,
            ),
        )

    def delete_class(self, class_id: str) -> bool:
        def work(db: psycopg.Connection[Any]) -> bool:
            with self._transaction(db) as cursor:
                cursor.execute("UPDATE runs SET class_id = NULL WHERE class_id = %s", (class_id,))
                return cursor.execute("DELETE FROM classes WHERE id = %s", (class_id,)).rowcount > 0

        return self._run(work)

    # ------------------------------------------------------------------ comparisons

    def insert_comparison(self, record: ComparisonRecord) -> None:
        self._change(
            f"INSERT INTO comparisons ({_COMPARISON_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s)",
            (
                record.id,
                record.owner,
                json.dumps(record.labels),
                json.dumps(record.run_ids),
                record.identical_start,
                record.created,
            ),
        )

    def comparison_record(self, comparison_id: str) -> ComparisonRecord | None:
        rows = self._query(f"SELECT {_COMPARISON_COLUMNS} FROM comparisons WHERE id = %s", (comparison_id,))
        if not rows:
            return None
        row = rows[0]
        return ComparisonRecord(
            id=row[0],
            owner=row[1],
            labels=json.loads(row[2]),
            run_ids=json.loads(row[3]),
            identical_start=bool(row[4]),
            created=row[5],
        )

    def delete_comparisons(self, before: float) -> int:
        return self._change("DELETE FROM comparisons WHERE created < %s", (before,))

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
