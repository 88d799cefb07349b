"""Where runs are kept. ``connect(location)`` opens the store a location names; trainers, in other
processes, receive the same location and open their own connection."""

from __future__ import annotations

from pathlib import Path

from .base import (
    Checkpoint,
    ClassRecord,
    ComparisonRecord,
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
    directory = Path(location)
    return SqliteStore.open_primary(directory) if primary else SqliteStore(directory)
