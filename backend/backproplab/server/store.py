"""SQLite persistence of runs: one row per run holding the engine's ``Run.to_bytes`` blob.

WAL journal, one connection shared under a lock (writes come from worker threads, never the event loop).
A database that cannot be opened or fails its integrity check is moved aside with a timestamp and the
server starts clean, logging what happened.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger("backproplab.store")

DB_NAME = "runs.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    blob BLOB NOT NULL
)
"""


class Store:
    """Run blobs by id in ``<data_dir>/runs.sqlite3``."""

    def __init__(self, data_dir: Path):
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_NAME
        self._lock = threading.Lock()
        try:
            self._db = self._open()
        except sqlite3.DatabaseError as error:
            aside = self._move_aside(error)
            log.error(
                "database %s was unusable (%s); moved it to %s and started clean", self.path, error, aside
            )
            self._db = self._open()

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            result = db.execute("PRAGMA quick_check").fetchone()
            if result is None or result[0] != "ok":
                raise sqlite3.DatabaseError(f"integrity check failed: {result}")
            db.execute(_SCHEMA)
            db.execute("SELECT id, created, updated, blob FROM runs LIMIT 1").fetchall()
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    def _move_aside(self, error: Exception) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        aside = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        self.path.replace(aside)
        for suffix in ("-wal", "-shm"):
            companion = self.path.with_name(self.path.name + suffix)
            if companion.exists():
                companion.replace(aside.with_name(aside.name + suffix))
        return aside

    def load_all(self) -> list[tuple[str, bytes]]:
        """Every stored (id, blob), oldest run first."""
        with self._lock:
            return [
                (row[0], bytes(row[1]))
                for row in self._db.execute("SELECT id, blob FROM runs ORDER BY created")
            ]

    def save(self, run_id: str, blob: bytes) -> None:
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO runs (id, created, updated, blob) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET updated = excluded.updated, blob = excluded.blob",
                (run_id, now, now, blob),
            )

    def delete(self, run_id: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    def close(self) -> None:
        with self._lock:
            self._db.close()
