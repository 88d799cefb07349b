"""The store interface: runs' metadata (written by the web process) and their checkpoints (written by the
trainer that owns the run). SQLite by default (sqlite.py); the same interface serves other databases.

A run's row is created by the web process before its trainer first saves it, and deleted by the web
process; a trainer only ever *updates* an existing row, so a checkpoint racing a DELETE can never bring a
deleted run back. A checkpoint is the engine's ``core`` (rewritten each time) plus chunks appended to the
run's growing logs (history, trajectory, health), so its cost does not grow with the run's age.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class RunRecord:
    """What the store knows about a run without loading it: who owns it and its last saved summary."""

    id: str
    owner: str | None
    class_id: str | None
    name: str | None
    created: float
    updated: float
    summary: dict[str, Any] | None  # the Run description at the last checkpoint (docs/protocol.md)


@dataclass(frozen=True)
class Checkpoint:
    """One save of a run: its new core, what each log gained, and the logs to start over."""

    core: bytes
    summary: dict[str, Any]
    logs: dict[str, bytes] = field(default_factory=dict)
    replace: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Saved:
    """A run as stored: its core and every chunk of each log, oldest first."""

    core: bytes
    logs: dict[str, list[bytes]]


class StoreError(Exception):
    """The store could not do what was asked (disk full, read-only, database gone); ``reason`` says why."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class Store(Protocol):
    """Runs by id. Every method is blocking: call it off the event loop."""

    description: str

    def insert_run(self, run_id: str, owner: str | None, class_id: str | None, name: str | None) -> None: ...

    def delete_run(self, run_id: str) -> bool: ...

    def run_record(self, run_id: str) -> RunRecord | None: ...

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]: ...

    def count_runs(self, owner: str | None = None) -> int: ...

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        """Write a checkpoint; False (and nothing written) if the run's row is gone."""
        ...

    def load(self, run_id: str) -> Saved | None: ...

    def close(self) -> None: ...
