"""Where runs are kept. ``connect(location)`` opens the store a location names; trainers, in other
processes, receive the same location and open their own connection. A ``postgresql://`` URL names a
PostgreSQL database (store/postgres.py, the ``postgres`` extra, imported only then); anything else is a
data directory for SQLite."""

from __future__ import annotations

from pathlib import Path

from .base import (
    Checkpoint,
    ClassRecord,
    ComparisonRecord,
    NameTakenError,
    RunRecord,
    Saved,
    Store,
    StoredDataset,
    StoreError,
    StoreHealth,
    Usage,
)
from .sqlite import SqliteStore

__all__ = [
    "Checkpoint",
    "ClassRecord",
    "ComparisonRecord",
    "NameTakenError",
    "RunRecord",
    "Saved",
    "Store",
    "StoreError",
    "StoreHealth",
    "StoredDataset",
    "Usage",
    "connect",
]


def connect(location: str, primary: bool = False) -> Store:
    """The store at ``location`` (a data directory for SQLite); ``primary`` creates and migrates it first."""
    if location.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore.open_primary(location) if primary else PostgresStore(location)
    directory = Path(location)
    return SqliteStore.open_primary(directory) if primary else SqliteStore(directory)
