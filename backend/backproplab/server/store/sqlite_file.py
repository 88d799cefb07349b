"""The SQLite file itself: opening connections, creating and migrating the schema, checking integrity,
and saying in words what a sqlite3 error means for storage (a full disk, a read-only data dir, damage).

Schema versions: 1 one blob per run; 2 checkpoints (core and log chunks) with owners; 3 identities, classes
and comparisons; 4 custom datasets stored once (``datasets``), memory estimates, incremental auto-vacuum.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from .base import ProblemKind, StoreError

log = logging.getLogger("backproplab.store")

DB_NAME = "runs.sqlite3"
SCHEMA_VERSION = 4
BUSY_TIMEOUT_MS = 10_000
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # the WAL is cut back to this after a checkpoint of the file
LOW_SPACE_BYTES = 1024 * 1024  # an I/O error with less free space than this is a full disk
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    owner TEXT,
    class_id TEXT,
    name TEXT,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    summary TEXT,
    core BLOB,
    dataset TEXT,
    memory INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_owner ON runs (owner);
CREATE INDEX IF NOT EXISTS runs_class ON runs (class_id);
CREATE INDEX IF NOT EXISTS runs_dataset ON runs (dataset);
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
CREATE TABLE IF NOT EXISTS datasets (
    digest TEXT PRIMARY KEY,
    memory INTEGER NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
"""
RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
RUN_COLUMNS = f"{RECORD_COLUMNS}, core, dataset, memory"
# Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in their low byte.
_PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 8, 10, 11, 13, 14, 26


class DamagedError(sqlite3.DatabaseError):
    """The file opens but fails its integrity check."""


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    return db


def rollback(db: sqlite3.Connection) -> None:
    # NOTE: a failed COMMIT (disk full) can leave the transaction open; the next BEGIN would then fail
    # with "cannot start a transaction within a transaction" for the life of the connection.
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error as error:
            log.warning("rollback failed: %s", error)


def classify(error: sqlite3.Error, data_dir: Path) -> tuple[ProblemKind, str]:
    """(kind, reason in words) for a sqlite3 error; an I/O error on a full or read-only file system is
    reported as that, since SQLite cannot always tell."""
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary == _FULL:
        return "full", f"the disk holding {data_dir} is full"
    if primary in (_READONLY, _PERM):
        return "read_only", f"the data dir {data_dir} is read-only"
    if primary in (_CORRUPT, _NOTADB) or isinstance(error, DamagedError):
        return "damaged", f"the database is damaged ({error})"
    if primary in (_IOERR, _CANTOPEN):
        try:
            stats = os.statvfs(data_dir)
        except OSError:
            stats = None
        if stats is not None and stats.f_flag & os.ST_RDONLY:
            return "read_only", f"the data dir {data_dir} is on a read-only file system"
        if stats is not None and stats.f_bavail * stats.f_frsize < LOW_SPACE_BYTES:
            return "full", f"the disk holding {data_dir} is full"
        if primary == _CANTOPEN and not os.access(data_dir, os.W_OK):
            return "read_only", f"the data dir {data_dir} is read-only"
    return "unavailable", f"the database is unavailable ({error})"


def store_error(error: sqlite3.Error, data_dir: Path) -> StoreError:
    kind, reason = classify(error, data_dir)
    return StoreError(reason, kind)


def prepare(path: Path) -> None:
    """Check integrity, switch to WAL and incremental auto-vacuum, create or migrate the schema, and
    delete rows of runs whose creation never finished (no trainer runs yet, so none is under way)."""
    db = connect(path)
    try:
        if not db.execute("SELECT name FROM sqlite_master LIMIT 1").fetchall():
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")  # a new file: set before the first table
        db.execute("PRAGMA journal_mode=WAL")
        result = db.execute("PRAGMA quick_check").fetchone()
        if result is None or result[0] != "ok":
            raise DamagedError(f"integrity check failed: {result}")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{path} has schema version {version}, newer than this server's {SCHEMA_VERSION}: "
                "run the newer Backprop Lab, or choose another data dir",
                "unavailable",
            )
        _migrate(db, path)
        db.executescript(_SCHEMA)
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        db.execute(f"SELECT {RUN_COLUMNS} FROM runs LIMIT 1").fetchall()
        orphans = db.execute("DELETE FROM runs WHERE core IS NULL").rowcount
        db.execute("DELETE FROM run_logs WHERE run_id NOT IN (SELECT id FROM runs)")
        db.execute(
            "DELETE FROM datasets WHERE digest NOT IN (SELECT dataset FROM runs WHERE dataset IS NOT NULL)"
        )
        if orphans:
            log.info("removed %d runs whose creation never finished", orphans)
        if db.execute("PRAGMA auto_vacuum").fetchone()[0] != 2:
            _enable_incremental_vacuum(db, path)
        db.executescript("PRAGMA incremental_vacuum;")
    finally:
        db.close()


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring an older layout up to date, one step at a time (a new file has no runs table yet)."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if not columns:
        return
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
    if "dataset" not in columns:  # versions 2 and 3: no shared datasets, no memory estimates
        db.executescript(
            "BEGIN;"
            "ALTER TABLE runs ADD COLUMN dataset TEXT;"
            "ALTER TABLE runs ADD COLUMN memory INTEGER NOT NULL DEFAULT 0;"
            "COMMIT;"
        )


def _enable_incremental_vacuum(db: sqlite3.Connection, path: Path) -> None:
    """Switch an older file to incremental auto-vacuum (a one-time VACUUM that needs free space about
    the size of the file; without it the file keeps working and only keeps its free pages)."""
    try:
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("VACUUM")
        log.info("switched %s to incremental auto-vacuum", path)
    except sqlite3.Error as error:
        log.warning(
            "could not switch %s to incremental auto-vacuum (%s); will try at the next start", path, error
        )


def move_aside(path: Path) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = path.with_name(f"{path.name}.corrupt-{stamp}")
    path.replace(aside)
    for suffix in ("-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            companion.replace(aside.with_name(aside.name + suffix))
    return aside
