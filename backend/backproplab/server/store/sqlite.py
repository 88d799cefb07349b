"""The default store: one SQLite file, ``<data_dir>/runs.sqlite3``, shared by the web process and its trainers.

WAL journal, so readers never wait for a writer; each process opens its own connection (with a busy
timeout, as SQLite serialises writers across processes) and shares it between its threads under a lock.
The web process opens the file first (:meth:`SqliteStore.open_primary`): it migrates older layouts and
checks integrity, moving an unusable file aside with a timestamp so the server starts clean.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import Checkpoint, ClassRecord, ComparisonRecord, RunRecord, Saved, StoreError

log = logging.getLogger("backproplab.store")

DB_NAME = "runs.sqlite3"
SCHEMA_VERSION = 3
BUSY_TIMEOUT_MS = 10_000
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT,
    class_id TEXT,
    name TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    summary TEXT,
    core BLOB
);
CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner);
CREATE INDEX IF NOT EXISTS runs_class ON runs (class_id);
CREATE INDEX IF NOT EXISTS runs_updated ON runs (updated);
CREATE TABLE IF NOT EXISTS identities (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS classes (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    teacher TEXT NOT NULL,
    name TEXT,
    config TEXT NOT NULL,
    allowed TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS classes_teacher ON classes (teacher);
CREATE TABLE IF NOT EXISTS comparisons (
    id TEXT PRIMARY KEY,
    owner TEXT,
    labels TEXT NOT NULL,
    run_ids TEXT NOT NULL,
    identical_start INTEGER NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS run_logs (
    run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    log TEXT NOT NULL,
    seq INTEGER NOT NULL,
    chunk BLOB NOT NULL,
    PRIMARY KEY (run_id, log, seq)
);
"""
_RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
_CLASS_COLUMNS = "id, code, teacher, name, config, allowed, created, updated"
_COMPARISON_COLUMNS = "id, owner, labels, run_ids, identical_start, created"


class SqliteStore:
    """Runs in ``<data_dir>/runs.sqlite3`` (see the module docstring)."""

    def __init__(self, data_dir: Path):
        self.path = data_dir / DB_NAME
        self.description = str(self.path)
        self._lock = threading.Lock()
        self._db = _connect(self.path)

    @classmethod
    def open_primary(cls, data_dir: Path) -> SqliteStore:
        """Create, migrate and check the file (the web process, once at start), then open it."""
        data_dir.mkdir(parents=True, exist_ok=True)
        path = data_dir / DB_NAME
        try:
            _prepare(path)
        except sqlite3.DatabaseError as error:
            aside = _move_aside(path)
            log.error("database %s was unusable (%s); moved it to %s and started clean", path, error, aside)
            _prepare(path)
        return cls(data_dir)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.OperationalError as error:
                raise StoreError(str(error)) from error

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.OperationalError as error:
                raise StoreError(str(error)) from error

    # ------------------------------------------------------------------ metadata (web process)

    def insert_run(self, run_id: str, owner: str | None, class_id: str | None, name: str | None) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (id, owner, class_id, name, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, owner, class_id, name, now, now),
            )

    def delete_run(self, run_id: str) -> bool:
        with self._transaction() as db:
            db.execute("DELETE FROM run_logs WHERE run_id = ?", (run_id,))
            return db.execute("DELETE FROM runs WHERE id = ?", (run_id,)).rowcount > 0

    def run_record(self, run_id: str) -> RunRecord | None:
        rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return _record(rows[0]) if rows else None

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]:
        clauses, parameters = _filters(owner, class_id)
        rows = self._query(f"SELECT {_RECORD_COLUMNS} FROM runs{clauses} ORDER BY created", parameters)
        return [_record(row) for row in rows]

    def count_runs(self, owner: str | None = None) -> int:
        clauses, parameters = _filters(owner, None)
        return int(self._query(f"SELECT COUNT(*) FROM runs{clauses}", parameters)[0][0])

    def rename_run(self, run_id: str, name: str | None) -> bool:
        with self._transaction() as db:
            return (
                db.execute(
                    "UPDATE runs SET name = ?, updated = ? WHERE id = ?", (name, time.time(), run_id)
                ).rowcount
                > 0
            )

    def expired_runs(self, before: float, limit: int) -> list[str]:
        rows = self._query("SELECT id FROM runs WHERE updated < ? ORDER BY updated LIMIT ?", (before, limit))
        return [row[0] for row in rows]

    # ------------------------------------------------------------------ identities

    def insert_identity(self, identity_id: str, token_hash: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO identities (id, token_hash, created) VALUES (?, ?, ?)",
                (identity_id, token_hash, time.time()),
            )

    def identity_by_hash(self, token_hash: str) -> str | None:
        rows = self._query("SELECT id FROM identities WHERE token_hash = ?", (token_hash,))
        return rows[0][0] if rows else None

    def delete_idle_identities(self, before: float) -> int:
        with self._transaction() as db:
            return db.execute(
                "DELETE FROM identities WHERE created < ? "
                "AND NOT EXISTS (SELECT 1 FROM runs WHERE runs.owner = identities.id) "
                "AND NOT EXISTS (SELECT 1 FROM classes WHERE classes.teacher = identities.id) "
                "AND NOT EXISTS (SELECT 1 FROM comparisons WHERE comparisons.owner = identities.id)",
                (before,),
            ).rowcount

    # ------------------------------------------------------------------ classes

    def insert_class(self, record: ClassRecord) -> bool:
        try:
            with self._transaction() as db:
                db.execute(
                    f"INSERT INTO classes ({_CLASS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        record.id,
                        record.code,
                        record.teacher,
                        record.name,
                        json.dumps(record.config, allow_nan=False),
                        None if record.allowed is None else json.dumps(record.allowed),
                        record.created,
                        record.updated,
                    ),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def class_record(self, class_id: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes WHERE id = ?", (class_id,))
        return _class(rows[0]) if rows else None

    def class_by_code(self, code: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes WHERE code = ?", (code,))
        return _class(rows[0]) if rows else None

    def classes_of(self, teacher: str | None) -> list[ClassRecord]:
        where, parameters = (" WHERE teacher = ?", (teacher,)) if teacher is not None else ("", ())
        rows = self._query(f"SELECT {_CLASS_COLUMNS} FROM classes{where} ORDER BY created", parameters)
        return [_class(row) for row in rows]

    def update_class(
        self, class_id: str, name: str | None, config: dict[str, Any], allowed: list[str] | None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE classes SET name = ?, config = ?, allowed = ?, updated = ? WHERE id = ?",
                (
                    name,
                    json.dumps(config, allow_nan=False),
                    None if allowed is None else json.dumps(allowed),
                    time.time(),
                    class_id,
                ),
            )

    def delete_class(self, class_id: str) -> bool:
        with self._transaction() as db:
            db.execute("UPDATE runs SET class_id = NULL WHERE class_id = ?", (class_id,))
            return db.execute("DELETE FROM classes WHERE id = ?", (class_id,)).rowcount > 0

    # ------------------------------------------------------------------ comparisons

    def insert_comparison(self, record: ComparisonRecord) -> None:
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO comparisons ({_COMPARISON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                (
                    record.id,
                    record.owner,
                    json.dumps(record.labels),
                    json.dumps(record.run_ids),
                    int(record.identical_start),
                    record.created,
                ),
            )

    def comparison_record(self, comparison_id: str) -> ComparisonRecord | None:
        rows = self._query(f"SELECT {_COMPARISON_COLUMNS} FROM comparisons WHERE id = ?", (comparison_id,))
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
        with self._transaction() as db:
            return db.execute("DELETE FROM comparisons WHERE created < ?", (before,)).rowcount

    # ------------------------------------------------------------------ checkpoints (trainers)

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE runs SET core = ?, summary = ?, updated = ? WHERE id = ?",
                (checkpoint.core, json.dumps(checkpoint.summary, allow_nan=False), time.time(), run_id),
            ).rowcount
            if not updated:
                return False
            for name in checkpoint.replace:
                db.execute("DELETE FROM run_logs WHERE run_id = ? AND log = ?", (run_id, name))
            for name, chunk in checkpoint.logs.items():
                db.execute(
                    "INSERT INTO run_logs (run_id, log, seq, chunk) SELECT ?, ?, "
                    "COALESCE(MAX(seq), -1) + 1, ? FROM run_logs WHERE run_id = ? AND log = ?",
                    (run_id, name, chunk, run_id, name),
                )
            return True

    def load(self, run_id: str) -> Saved | None:
        rows = self._query("SELECT core FROM runs WHERE id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        logs: dict[str, list[bytes]] = {}
        for name, chunk in self._query(
            "SELECT log, chunk FROM run_logs WHERE run_id = ? ORDER BY log, seq", (run_id,)
        ):
            logs.setdefault(name, []).append(bytes(chunk))
        return Saved(core=bytes(rows[0][0]), logs=logs)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    return db


def _prepare(path: Path) -> None:
    """Check integrity, switch to WAL, and create or migrate the schema."""
    db = _connect(path)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        result = db.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise sqlite3.DatabaseError(f"integrity check failed: {result}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
        if "blob" in columns:  # version 1: one blob per run (Run.to_bytes), no owners
            log.info("migrating %s from one blob per run to checkpoints with owners", path)
            db.executescript(
                "BEGIN;"
                "ALTER TABLE runs RENAME COLUMN blob TO core;"
                "ALTER TABLE runs ADD COLUMN owner TEXT;"
                "ALTER TABLE runs ADD COLUMN class_id TEXT;"
                "ALTER TABLE runs ADD COLUMN name TEXT;"
                "ALTER TABLE runs ADD COLUMN summary TEXT;"
                "COMMIT;"
            )
        elif version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"schema version {version} is newer than this server's {SCHEMA_VERSION}"
            )
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute(f"SELECT {_RECORD_COLUMNS}, core FROM runs LIMIT 1").fetchall()
    finally:
        db.close()


def _move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.replace(aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(aside.with_name(aside.name + suffix))
    return aside


def _filters(owner: str | None, class_id: str | None) -> tuple[str, tuple[Any, ...]]:
    clauses, parameters = [], []
    if owner is not None:
        clauses.append("owner = ?")
        parameters.append(owner)
    if class_id is not None:
        clauses.append("class_id = ?")
        parameters.append(class_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), tuple(parameters)


def _class(row: tuple[Any, ...]) -> ClassRecord:
    return ClassRecord(
        id=row[0],
        code=row[1],
        teacher=row[2],
        name=row[3],
        config=json.loads(row[4]),
        allowed=None if row[5] is None else json.loads(row[5]),
        created=row[6],
        updated=row[7],
    )


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
