"""The default store: one SQLite file, ``<data_dir>/runs.sqlite3``, shared by the web process and its trainers.

WAL journal, so readers never wait for a writer; each process opens its own connection (with a busy
timeout, as SQLite serialises writers across processes) and shares it between its threads under a lock.
The web process opens the file first (:meth:`SqliteStore.open_primary`): it migrates older layouts,
deletes rows of runs whose creation never finished, and checks integrity; a damaged file is moved aside
with a timestamp and every run that can still be read is copied into a fresh one (sqlite_salvage.py).

Failures never escape as sqlite3 errors: each becomes a :class:`StoreError` saying what went wrong (a full
disk, a read-only data dir, damage), and the store remembers the last failed write until a write succeeds
(:meth:`SqliteStore.health`). A data dir that cannot be written is opened read-only: reads keep working.
Deleted rows free pages that incremental auto-vacuum hands back to the file system after each delete.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .base import Checkpoint, RunRecord, Saved, StoredDataset, StoreError, StoreHealth, Usage
from .sqlite_salvage import salvage

log = logging.getLogger("backproplab.store")

DB_NAME = "runs.sqlite3"
SCHEMA_VERSION = 3
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
_RECORD_COLUMNS = "id, owner, class_id, name, created, updated, summary"
_RUN_COLUMNS = f"{_RECORD_COLUMNS}, core, dataset, memory"
# Primary result codes (https://sqlite.org/rescode.html); extended codes keep them in their low byte.
_PERM, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 3, 8, 10, 11, 13, 14, 26


class DamagedError(sqlite3.DatabaseError):
    """The file opens but fails its integrity check."""


class SqliteStore:
    """Runs in ``<data_dir>/runs.sqlite3`` (see the module docstring)."""

    def __init__(self, data_dir: Path, lost: tuple[str, ...] = ()):
        self.path = data_dir / DB_NAME
        self.description = str(self.path)
        self._lock = threading.Lock()
        self._problem: StoreHealth | None = None
        self._lost = lost
        self.read_only = False
        try:
            self._db = _connect(self.path)
            self._db.execute("SELECT COUNT(*) FROM meta").fetchone()
        except sqlite3.Error as error:
            problem = _store_error(error, data_dir)
            if problem.kind != "read_only":
                raise problem from error
            self._open_read_only()

    @classmethod
    def open_primary(cls, data_dir: Path) -> SqliteStore:
        """Create, migrate and check the file (the web process, once at start), then open it."""
        if not data_dir.exists():
            data_dir.mkdir(parents=True)
        path = data_dir / DB_NAME
        lost: tuple[str, ...] = ()
        try:
            _prepare(path)
        except sqlite3.Error as error:
            kind = _classify(error, data_dir)[0]
            if kind == "read_only" and path.exists():
                log.error(
                    "the data dir %s cannot be written (%s): serving its runs read-only", data_dir, error
                )
                store = cls(data_dir)
                store._check_schema()
                return store
            if kind != "damaged" or not path.exists():
                raise _store_error(error, data_dir) from error
            aside = _move_aside(path)
            log.error("database %s was unusable (%s); moved it to %s", path, error, aside)
            _prepare(path)
            report = salvage(aside, path)
            lost = report.lost
            log.error(
                "salvaged %d runs from %s; lost %d: %s",
                len(report.copied),
                aside,
                len(report.lost),
                ", ".join(report.lost) or "none",
            )
        return cls(data_dir, lost)

    def _open_read_only(self) -> None:
        """Read the file without writing anything next to it (no -shm can be created in the directory)."""
        wal = self.path.with_name(self.path.name + "-wal")
        # NOTE: immutable=1 ignores a -wal file; use it only when there is none, else read through the WAL.
        mode = "ro" if wal.exists() and wal.stat().st_size else "ro&immutable=1"
        self._db = sqlite3.connect(
            f"file:{self.path}?mode={mode}", uri=True, check_same_thread=False, isolation_level=None
        )
        self.read_only = True
        self._problem = StoreHealth(
            False, "read_only", f"the data dir {self.path.parent} is read-only", time.time()
        )

    def _check_schema(self) -> None:
        version = self._query("PRAGMA user_version")[0][0]
        if version != SCHEMA_VERSION:
            raise StoreError(
                f"the database in the read-only data dir {self.path.parent} has schema version {version}, "
                f"and this server needs {SCHEMA_VERSION}: make the directory writable once to migrate it",
                "read_only",
            )

    # ------------------------------------------------------------------ failures and health

    def _error(self, error: sqlite3.Error, write: bool) -> StoreError:
        """The StoreError for ``error``; a failed write (or damage found by a read) is remembered."""
        problem = _store_error(error, self.path.parent)
        if write or problem.kind == "damaged":
            since = self._problem.since if self._problem else time.time()
            self._problem = StoreHealth(False, problem.kind, problem.reason, since)
        return problem

    def health(self) -> StoreHealth:
        problem = self._problem
        if problem is None:
            return StoreHealth(lost=self._lost)
        return StoreHealth(False, problem.kind, problem.reason, problem.since, self._lost)

    def probe(self) -> StoreHealth:
        if self.read_only:
            self._reopen_writable()
        else:
            try:
                with self._transaction() as db:
                    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)", (time.time(),))
            except StoreError:
                pass
        return self.health()

    def _reopen_writable(self) -> None:
        try:
            db = _connect(self.path)
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('probe', ?)", (time.time(),))
            db.execute("COMMIT")
        except sqlite3.Error:
            return
        with self._lock:
            old, self._db = self._db, db
            self.read_only, self._problem = False, None
        old.close()
        log.info("the data dir %s can be written again", self.path.parent)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction; on any failure it is rolled back and nothing is written."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.Error as error:
                _rollback(db)
                raise self._error(error, write=True) from error
            except BaseException:
                _rollback(db)
                raise
            self._problem = None

    def _query(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise self._error(error, write=False) from error

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
        with self._transaction() as db:
            if dataset is not None:
                db.execute(
                    "INSERT OR IGNORE INTO datasets (digest, memory, data) VALUES (?, ?, ?)",
                    (dataset.digest, dataset.memory, dataset.data),
                )
            db.execute(
                "INSERT INTO runs (id, owner, class_id, name, created, updated, dataset, memory) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run_id, owner, class_id, name, now, now, dataset.digest if dataset else None, memory),
            )

    def delete_run(self, run_id: str) -> bool:
        with self._transaction() as db:
            found = db.execute("SELECT dataset FROM runs WHERE id = ?", (run_id,)).fetchall()
            db.execute("DELETE FROM run_logs WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))
            if found and found[0][0] is not None:
                _forget_dataset_if_unused(db, found[0][0])
        if found:
            self._reclaim()
        return bool(found)

    def _reclaim(self) -> None:
        """Give pages freed by a delete back to the file system (best effort: a full disk may refuse)."""
        with self._lock:
            try:
                # NOTE: each step of this pragma frees one page, and execute() takes one step; a script runs
                # it to the end.
                self._db.executescript("PRAGMA incremental_vacuum;")
            except sqlite3.Error as error:
                log.warning("could not reclaim free space in %s: %s", self.path, error)

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

    def usage(self, owner: str | None = None) -> Usage:
        clauses, parameters = _filters(owner, None)
        runs, memory = self._query(
            f"SELECT COUNT(*), COALESCE(SUM(memory), 0) FROM runs{clauses}", parameters
        )[0]
        datasets = self._query(
            f"SELECT digest, memory FROM datasets WHERE digest IN (SELECT dataset FROM runs{clauses})",
            parameters,
        )
        return Usage(
            runs=int(runs),
            memory=int(memory) + sum(int(size) for _, size in datasets),
            datasets=frozenset(digest for digest, _ in datasets),
        )

    def dataset(self, digest: str) -> bytes | None:
        rows = self._query("SELECT data FROM datasets WHERE digest = ?", (digest,))
        return bytes(rows[0][0]) if rows else None

    # ------------------------------------------------------------------ checkpoints (trainers)

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        summary = json.dumps(checkpoint.summary, allow_nan=False)
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE runs SET core = ?, summary = ?, updated = ? WHERE id = ?",
                (checkpoint.core, summary, time.time(), run_id),
            ).rowcount
            if not updated:
                return False
            if checkpoint.dataset is not None:
                _name_dataset(db, run_id, checkpoint.dataset)
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
        rows = self._query("SELECT core, dataset FROM runs WHERE id = ?", (run_id,))
        if not rows or rows[0][0] is None:
            return None
        logs: dict[str, list[bytes]] = {}
        for name, chunk in self._query(
            "SELECT log, chunk FROM run_logs WHERE run_id = ? ORDER BY log, seq", (run_id,)
        ):
            logs.setdefault(name, []).append(bytes(chunk))
        return Saved(core=bytes(rows[0][0]), logs=logs, dataset=rows[0][1])

    def close(self) -> None:
        with self._lock:
            self._db.close()


# ---------------------------------------------------------------------------------------------- helpers


def _name_dataset(db: sqlite3.Connection, run_id: str, dataset: StoredDataset) -> None:
    """Make ``dataset`` the run's (stored once), forgetting its previous one if no run uses it any more."""
    previous = db.execute("SELECT dataset FROM runs WHERE id = ?", (run_id,)).fetchone()[0]
    if previous == dataset.digest:
        return
    db.execute(
        "INSERT OR IGNORE INTO datasets (digest, memory, data) VALUES (?, ?, ?)",
        (dataset.digest, dataset.memory, dataset.data),
    )
    db.execute("UPDATE runs SET dataset = ? WHERE id = ?", (dataset.digest, run_id))
    if previous is not None:
        _forget_dataset_if_unused(db, previous)


def _forget_dataset_if_unused(db: sqlite3.Connection, digest: str) -> None:
    db.execute(
        "DELETE FROM datasets WHERE digest = ?1 AND NOT EXISTS (SELECT 1 FROM runs WHERE dataset = ?1)",
        (digest,),
    )


def _connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute(f"PRAGMA journal_size_limit={JOURNAL_SIZE_LIMIT}")
    return db


def _rollback(db: sqlite3.Connection) -> None:
    # NOTE: a failed COMMIT (disk full) can leave the transaction open; the next BEGIN would then fail
    # with "cannot start a transaction within a transaction" for the life of the connection.
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error as error:
            log.warning("rollback failed: %s", error)


def _classify(error: sqlite3.Error, data_dir: Path) -> tuple[str, str]:
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


def _store_error(error: sqlite3.Error, data_dir: Path) -> StoreError:
    kind, reason = _classify(error, data_dir)
    return StoreError(reason, kind)  # type: ignore[arg-type]


def _prepare(path: Path) -> None:
    """Check integrity, switch to WAL and incremental auto-vacuum, create or migrate the schema, and
    delete rows of runs whose creation never finished (no trainer runs yet, so none is under way)."""
    db = _connect(path)
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
        db.execute(f"SELECT {_RUN_COLUMNS} FROM runs LIMIT 1").fetchall()
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
    if "dataset" not in columns:  # version 2: no shared datasets, no memory estimates
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
