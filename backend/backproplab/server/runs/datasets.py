"""Custom datasets by content: hashed and stored once, shared by every run that uses the same rows.

The web process hashes a custom dataset when a run is created and stores it with the run's row (only
once: the store keeps one copy per digest, deleted with the last run that uses it). The run's config
travels to its trainer without the rows, naming the digest; the trainer reads the rows from its
:class:`DatasetCache` (one copy in memory for all its runs on the same data) or from the store.

# NOTE: adapter until the engine holds custom data as arrays: :func:`with_data` gives the engine the rows
as lists (what RunConfig takes today), so each run still holds its own copy in memory. When the engine
takes arrays, pass the cached arrays through and every run on one dataset shares them.
"""

from __future__ import annotations

import hashlib
import io
import threading
import weakref
from typing import Any

import numpy as np

from ...engine.config import RunConfig
from ..store import Store, StoredDataset

_FORMAT = b"backproplab-dataset-v1"


class Rows:
    """A dataset's rows X (n, d) and targets y (n,), read-only float64 (so they can be shared)."""

    def __init__(self, X: np.ndarray, y: np.ndarray):
        X.flags.writeable = False
        y.flags.writeable = False
        self.X, self.y = X, y


def arrays(config: RunConfig) -> tuple[np.ndarray, np.ndarray] | None:
    """A custom dataset's X and y as contiguous float64 arrays (None for built-in data)."""
    dataset = config.dataset
    if dataset.kind != "custom" or dataset.X is None or dataset.y is None:
        return None
    X = np.ascontiguousarray(np.asarray(dataset.X, dtype=np.float64))
    y = np.ascontiguousarray(np.asarray(dataset.y, dtype=np.float64))
    return X, y


def digest_of(X: np.ndarray, y: np.ndarray) -> str:
    """sha256 of the rows' shapes and float64 bytes: equal data, equal digest, whatever its JSON spelling."""
    hasher = hashlib.sha256(_FORMAT)
    for array in (X, y):
        hasher.update(repr(array.shape).encode())
        hasher.update(np.ascontiguousarray(array, dtype=np.float64).data)
    return hasher.hexdigest()


def stored(config: RunConfig) -> StoredDataset | None:
    """The dataset as the store keeps it, with the memory its arrays take (None for built-in data)."""
    found = arrays(config)
    if found is None:
        return None
    X, y = found
    buffer = io.BytesIO()
    np.savez(buffer, X=X, y=y)
    return StoredDataset(digest_of(X, y), buffer.getvalue(), X.nbytes + y.nbytes)


def decode(data: bytes) -> Rows:
    with np.load(io.BytesIO(data), allow_pickle=False) as archive:
        return Rows(archive["X"], archive["y"])


def without_data(config: RunConfig) -> dict[str, Any]:
    """The config as JSON without the rows (they travel by digest)."""
    return config.model_dump(mode="json", exclude={"dataset": {"X", "y"}})


def with_data(config: dict[str, Any], rows: Rows) -> RunConfig:
    """The config with its rows back in (see the module's NOTE). The rows were validated when the run was
    created, so only the rest of the config is validated again (around a one-row placeholder)."""
    placeholder = {**config["dataset"], "X": [[0.0]], "y": [0.0]}
    shell = RunConfig.model_validate({**config, "dataset": placeholder})
    dataset = shell.dataset.model_copy(update={"X": rows.X.tolist(), "y": rows.y.tolist()})
    return shell.model_copy(update={"dataset": dataset})


class DatasetCache:
    """A trainer's datasets by digest: one copy in memory for as long as any run holds it."""

    def __init__(self) -> None:
        self._rows: weakref.WeakValueDictionary[str, Rows] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def get(self, digest: str, store: Store) -> Rows:
        with self._lock:
            rows = self._rows.get(digest)
        if rows is not None:
            return rows
        data = store.dataset(digest)
        if data is None:
            raise LookupError(f"dataset {digest} is not in the store")
        rows = decode(data)
        with self._lock:
            return self._rows.setdefault(digest, rows)
