"""The PostgreSQL database itself: its schema, created and migrated in numbered steps, and what a psycopg
error means for storage (a full disk, a read-only server, damage, a server that cannot be reached).

Schema versions (the table ``backproplab_schema`` lists each one applied): 1 runs and their log chunks;
2 identities, classes and comparisons; 3 custom datasets stored once (``datasets``), each run's dataset and
memory estimate, and ``meta`` (where a probe writes). The columns are SQLite's (store/sqlite_file.py).
"""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from .base import ProblemKind, StoreError

log = logging.getLogger("backproplab.store")

SCHEMA_VERSION = 3
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
    2: (  # identities, classes and comparisons (issue 11)
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
    3: (  # custom datasets stored once by content hash, memory estimates (issue 13)
        "ALTER TABLE runs ADD COLUMN dataset TEXT",
        "ALTER TABLE runs ADD COLUMN memory BIGINT NOT NULL DEFAULT 0",
        "CREATE INDEX runs_dataset ON runs (dataset)",
        """CREATE TABLE datasets (
            digest TEXT PRIMARY KEY,
            memory BIGINT NOT NULL,
            data BYTEA NOT NULL
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)",
    ),
}


def migrate(db: psycopg.Connection[Any], description: str) -> None:
    """Create or migrate the schema in one transaction, under an advisory lock (replicas starting together
    migrate once); a database newer than this server is refused, never rewritten."""
    with db.transaction(), db.cursor() as cursor:
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
            log.info("migrating %s to schema version %d", description, target)
            for statement in MIGRATIONS[target]:
                cursor.execute(statement)
            cursor.execute("INSERT INTO backproplab_schema (version) VALUES (%s)", (target,))


def classify(error: psycopg.Error, description: str) -> tuple[ProblemKind, str]:
    """(kind, reason in words) for a psycopg error, by its SQLSTATE (PostgreSQL's appendix A)."""
    state = error.sqlstate or ""
    first = (str(error).strip().splitlines() or [type(error).__name__])[0]
    if state == "53100":  # disk_full
        return "full", f"the disk of the database {description} is full"
    if state == "25006":  # read_only_sql_transaction: a standby, or default_transaction_read_only
        return "read_only", f"the database {description} is read-only"
    if state in ("XX001", "XX002"):  # data_corrupted, index_corrupted
        return "damaged", f"the database {description} is damaged ({first})"
    if unreachable(error):
        return "unavailable", f"the database {description} cannot be reached ({first})"
    return "unavailable", f"the database {description} failed ({first})"


def unreachable(error: psycopg.Error) -> bool:
    """A connection exception (class 08), the server ending the session or not taking one yet (57P01
    admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now), or a connection lost or refused before
    the server said why."""
    state = error.sqlstate or ""
    return state.startswith(("08", "57P")) or (isinstance(error, psycopg.OperationalError) and not state)


def store_error(error: psycopg.Error, description: str) -> StoreError:
    kind, reason = classify(error, description)
    return StoreError(reason, kind)
