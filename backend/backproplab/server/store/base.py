"""The store interface: runs' metadata (written by the web process) and their checkpoints (written by the
trainer that owns the run), identities, classes and comparisons. SQLite by default (sqlite.py); the same
interface serves other databases, so nothing outside an implementation writes SQL.

Identities are stored by the SHA-256 of their token, never the token. A class's students are the runs
whose ``class_id`` is the class (a membership is a student's run in it: ``run_records(owner, class_id)``);
their names are unique in the class, compared without case (rows.py ``name_key``): a run that would take a
name another run of the class has is refused with :class:`NameTakenError`, atomically with the write.

A run's row is created by the web process before its trainer first saves it, and deleted by the web
process; a trainer only ever *updates* an existing row, so a checkpoint racing a DELETE can never bring a
deleted run back. A checkpoint is the engine's ``core`` (rewritten each time) plus chunks appended to the
run's growing logs (history, trajectory, health), so its cost does not grow with the run's age.

Custom datasets are stored once, by content hash, and shared by every run that uses them; a dataset no run
uses any more is deleted with its last run.

Failures: every method raises :class:`StoreError` (never a driver's own exception). A store watches its
own writes: :meth:`Store.health` says whether the last one failed and why (disk full, read-only, damaged),
and :meth:`Store.probe` tries a small write to find out whether storage works again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

# What went wrong: "full" (no space), "read_only" (the data cannot be written), "damaged" (corruption),
# "unavailable" (busy, I/O error, database gone).
ProblemKind = Literal["full", "read_only", "damaged", "unavailable"]


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
class ClassRecord:
    """A class: its teacher (an identity id), join code, current setup and what students may change."""

    id: str
    code: str
    teacher: str
    name: str | None
    config: dict[str, Any]  # the RunConfig every joining student starts from (model_dump, JSON-safe)
    allowed: list[str] | None  # dotted RunConfig paths students may change; None: every setting
    created: float
    updated: float


@dataclass(frozen=True)
class ComparisonRecord:
    """An optimizer comparison: its owner and its racers' runs."""

    id: str
    owner: str | None
    labels: list[str]
    run_ids: list[str]
    identical_start: bool
    created: float


@dataclass(frozen=True)
class StoredDataset:
    """A custom dataset as the store keeps it: its content hash, its encoded arrays, and the bytes its
    arrays take in memory (what a memory budget charges for it, once per server and once per identity)."""

    digest: str
    data: bytes
    memory: int


@dataclass(frozen=True)
class Checkpoint:
    """One save of a run: its new core, what each log gained, and the logs to start over; ``dataset``
    when the run's custom data changed since its row named it (a rebuild on new rows, a run saved before
    datasets were stored apart): stored once, named by the row, the old one deleted if no run uses it."""

    core: bytes
    summary: dict[str, Any]
    logs: dict[str, bytes] = field(default_factory=dict)
    replace: frozenset[str] = frozenset()
    dataset: StoredDataset | None = None


@dataclass(frozen=True)
class Saved:
    """A run as stored: its core, every chunk of each log (oldest first) and its dataset's digest."""

    core: bytes
    logs: dict[str, list[bytes]]
    dataset: str | None = None


@dataclass(frozen=True)
class Usage:
    """What a set of runs (one identity's, or the whole server's) holds: how many, the memory their
    trainers need for them (estimates made at creation, each shared dataset counted once), and the
    digests of the datasets they use."""

    runs: int
    memory: int
    datasets: frozenset[str]


@dataclass(frozen=True)
class StoreHealth:
    """Whether the store works. ``lost`` lists runs that could not be salvaged from a damaged database."""

    ok: bool = True
    kind: ProblemKind | None = None
    reason: str | None = None
    since: float | None = None  # time.time() of the first failure in a row
    lost: tuple[str, ...] = ()


class StoreError(Exception):
    """The store could not do what was asked; ``reason`` says why in words, ``kind`` what went wrong."""

    def __init__(self, reason: str, kind: ProblemKind = "unavailable"):
        super().__init__(reason)
        self.reason = reason
        self.kind = kind

    def __reduce__(self) -> tuple[type[StoreError], tuple[str, ProblemKind]]:
        return (StoreError, (self.reason, self.kind))

    @property
    def status(self) -> int:
        """507 when storage cannot take the change (full, read-only), 503 otherwise."""
        return 507 if self.kind in ("full", "read_only") else 503


class NameTakenError(Exception):
    """Another run of the class has this name (nothing was written); the API answers 409."""

    def __init__(self, name: str):
        super().__init__(name)
        self.name = name

    def __reduce__(self) -> tuple[type[NameTakenError], tuple[str]]:
        return (NameTakenError, (self.name,))


class Store(Protocol):
    """Runs by id. Every method is blocking: call it off the event loop."""

    description: str

    def insert_run(
        self,
        run_id: str,
        owner: str | None,
        class_id: str | None,
        name: str | None,
        dataset: StoredDataset | None = None,
        memory: int = 0,
    ) -> None:
        """A new run's row (and its dataset, unless stored already), in one transaction. ``memory`` is the
        estimate of what its trainer needs for it besides the dataset. NameTakenError (nothing written)
        when another run of ``class_id`` has ``name``."""
        ...

    def delete_run(self, run_id: str) -> bool:
        """Delete the run, its logs and its dataset if no other run uses it, then give the freed space
        back to the file system. False if there was no such run. A delete that raises changed nothing."""
        ...

    def run_record(self, run_id: str) -> RunRecord | None: ...

    def run_records(self, owner: str | None = None, class_id: str | None = None) -> list[RunRecord]: ...

    def count_runs(self, owner: str | None = None) -> int: ...

    def usage(self, owner: str | None = None) -> Usage:
        """What ``owner``'s runs hold (every run when ``owner`` is None)."""
        ...

    def rename_run(self, run_id: str, name: str | None) -> bool:
        """False if there is no such run; NameTakenError (nothing written) when another run of its class
        has ``name``."""
        ...

    def expired_runs(self, before: float, limit: int) -> list[str]:
        """Ids of runs last updated before ``before``, the oldest first, at most ``limit``."""
        ...

    # identities: tokens are stored as their SHA-256 hex digest

    def insert_identity(self, identity_id: str, token_hash: str) -> None: ...

    def identity_by_hash(self, token_hash: str) -> str | None: ...

    def delete_idle_identities(self, before: float) -> int:
        """Forget identities created before ``before`` that own no run, class or comparison."""
        ...

    # classes

    def insert_class(self, record: ClassRecord) -> bool:
        """False (nothing written) when the join code is taken."""
        ...

    def class_record(self, class_id: str) -> ClassRecord | None: ...

    def class_by_code(self, code: str) -> ClassRecord | None: ...

    def classes_of(self, teacher: str | None) -> list[ClassRecord]:
        """The classes ``teacher`` teaches, oldest first (None: every class)."""
        ...

    def update_class(
        self, class_id: str, name: str | None, config: dict[str, Any], allowed: list[str] | None
    ) -> None: ...

    def delete_class(self, class_id: str) -> bool:
        """Delete the class; its students keep their runs, no longer in a class."""
        ...

    # comparisons

    def insert_comparison(self, record: ComparisonRecord) -> None: ...

    def comparison_record(self, comparison_id: str) -> ComparisonRecord | None: ...

    def delete_comparisons(self, before: float) -> int:
        """Forget comparisons created before ``before`` (their runs expire by their own age)."""
        ...

    def delete_comparison(self, comparison_id: str) -> bool:
        """Forget one comparison (its owner deletes its runs first); False if there was none."""
        ...

    def save(self, run_id: str, checkpoint: Checkpoint) -> bool:
        """Write a checkpoint; False (and nothing written) if the run's row is gone."""
        ...

    def load(self, run_id: str) -> Saved | None: ...

    def dataset(self, digest: str) -> bytes | None:
        """A stored dataset's encoded arrays (``StoredDataset.data``), None if there is none."""
        ...

    def health(self) -> StoreHealth:
        """Whether the last write worked (and runs lost to damage when the store was opened)."""
        ...

    def probe(self) -> StoreHealth:
        """Try a small write (reopening a store that was read-only) and return the health it shows."""
        ...

    def close(self) -> None: ...
