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
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

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
from .sqlite_file import (
    DB_NAME,
    SCHEMA_VERSION,
    classify,
    connect,
    move_aside,
    prepare,
    rollback,
    store_error,
)
from .sqlite_salvage import salvage

__all__ = ["DB_NAME", "SqliteStore"]
log = logging.getLogger("backproplab.store")


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
            self._db = connect(self.path)
            self._db.execute("SELECT COUNT(*) FROM meta").fetchone()
        except sqlite3.Error as error:
            problem = store_error(error, data_dir)
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
            prepare(path)
        except sqlite3.Error as error:
            kind = classify(error, data_dir)[0]
            if kind == "read_only" and path.exists():
                log.error(
                    "the data dir %s cannot be written (%s): serving its runs read-only", data_dir, error
                )
                store = cls(data_dir)
                store._check_schema()
                return store
            if kind != "damaged" or not path.exists():
                raise store_error(error, data_dir) from error
            aside = move_aside(path)
            log.error("database %s was unusable (%s); moved it to %s", path, error, aside)
            prepare(path)
            report = salvage(aside, path)
            lost = report.lost
            log.error(
                "salvaged %d runs from %s; lost %d: %s%s",
                len(report.copied),
                aside,
                len(report.lost),
                ", ".join(report.lost) or "none",
                f"; rows on damaged pages of {', '.join(report.damaged_tables)} were lost"
                if report.damaged_tables
                else "",
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
        problem = store_error(error, self.path.parent)
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
            db = connect(self.path)
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
        """A write transaction; on any failure it is rolled back and nothing is written. A constraint a
        method checks on purpose (a taken join code) stays a ``sqlite3.IntegrityError`` for it to catch."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
                yield db
                db.execute("COMMIT")
            except sqlite3.IntegrityError:
                rollback(db)
                raise
            except sqlite3.Error as error:
                rollback(db)
                raise self._error(error, write=True) from error
            except BaseException:
                rollback(db)
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
            if class_id is not None and name is not None:
                _check_name_free(db, class_id, name, run_id)
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
        rows = self._query(f"SELECT {RECORD_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        return run_record(rows[0]) if rows else None

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]:
        clauses, parameters = filters(owner, class_id, "?")
        rows = self._query(f"SELECT {RECORD_COLUMNS} FROM runs{clauses} ORDER BY created", parameters)
        return [run_record(row) for row in rows]

    def count_runs(self, owner: str | None = None) -> int:
        clauses, parameters = filters(owner, None, "?")
        return int(self._query(f"SELECT COUNT(*) FROM runs{clauses}", parameters)[0][0])

    def usage(self, owner: str | None = None) -> Usage:
        clauses, parameters = filters(owner, None, "?")
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

    def rename_run(self, run_id: str, name: str | None) -> bool:
        with self._transaction() as db:
            found = db.execute("SELECT class_id FROM runs WHERE id = ?", (run_id,)).fetchone()
            if found is None:
                return False
            if found[0] is not None and name is not None:
                _check_name_free(db, found[0], name, run_id)
            db.execute("UPDATE runs SET name = ?, updated = ? WHERE id = ?", (name, time.time(), run_id))
            return True

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
                    f"INSERT INTO classes ({CLASS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    class_row(record),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def class_record(self, class_id: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes WHERE id = ?", (class_id,))
        return class_record(rows[0]) if rows else None

    def class_by_code(self, code: str) -> ClassRecord | None:
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes WHERE code = ?", (code,))
        return class_record(rows[0]) if rows else None

    def classes_of(self, teacher: str | None) -> list[ClassRecord]:
        where, parameters = (" WHERE teacher = ?", (teacher,)) if teacher is not None else ("", ())
        rows = self._query(f"SELECT {CLASS_COLUMNS} FROM classes{where} ORDER BY created", parameters)
        return [class_record(row) for row in rows]

    def update_class(
        self, class_id: str, name: str | None, config: dict[str, Any], allowed: list[str] | None
    ) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE classes SET name = ?, config = ?, allowed = ?, updated = ? WHERE id = ?",
                (name, json.dumps(config, allow_nan=False), allowed_text(allowed), time.time(), class_id),
            )

    def delete_class(self, class_id: str) -> bool:
        with self._transaction() as db:
            db.execute("UPDATE runs SET class_id = NULL WHERE class_id = ?", (class_id,))
            return db.execute("DELETE FROM classes WHERE id = ?", (class_id,)).rowcount > 0

    # ------------------------------------------------------------------ comparisons

    def insert_comparison(self, record: ComparisonRecord) -> None:
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO comparisons ({COMPARISON_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                comparison_row(record),
            )

    def comparison_record(self, comparison_id: str) -> ComparisonRecord | None:
        rows = self._query(f"SELECT {COMPARISON_COLUMNS} FROM comparisons WHERE id = ?", (comparison_id,))
        return comparison_record(rows[0]) if rows else None

    def delete_comparisons(self, before: float) -> int:
        with self._transaction() as db:
            return db.execute("DELETE FROM comparisons WHERE created < ?", (before,)).rowcount

    def delete_comparison(self, comparison_id: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM comparisons WHERE id = ?", (comparison_id,)).rowcount > 0

    # ------------------------------------------------------------------ datasets

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


def _check_name_free(db: sqlite3.Connection, class_id: str, name: str, run_id: str) -> None:
    """NameTakenError if another run of the class has ``name`` (in a write transaction: BEGIN IMMEDIATE
    makes every writer, in every process, wait for it, so no other run can take the name meanwhile)."""
    check_name_free(name, db.execute(other_names("?"), (class_id, run_id)).fetchall())


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
