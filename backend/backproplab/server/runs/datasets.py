"""Custom datasets by content: stored once, shared by every run that uses the same rows.

The engine holds custom data as :class:`~backproplab.engine.custom_data.CustomData` (read-only float64
arrays named by their content hash) and a run's config keeps only the hash. The web process detaches the
rows from a new run's config and stores them with the run's row (one copy per hash, deleted with the last
run that uses it); a config may also name rows stored before by their ``content_hash`` alone. The config
travels to the trainer without the rows; the trainer reads them from its :class:`DatasetCache`, so every
run of that trainer on the same rows shares one copy in memory.
"""

from __future__ import annotations

import io
import threading
import weakref

import numpy as np

from ...engine.config import RunConfig
from ...engine.custom_data import CustomData, detach_custom_data
from ..errors import ApiError
from ..store import Store, StoredDataset


def detach(config: RunConfig) -> tuple[RunConfig, CustomData | None]:
    """The config with inline rows replaced by their hash, and the rows (None for built-in data or a
    config that names its rows by hash only)."""
    return detach_custom_data(config)


def stored(data: CustomData) -> StoredDataset:
    """The rows as the store keeps them, with the memory their arrays take."""
    buffer = io.BytesIO()
    np.savez(buffer, X=data.X, y=data.y)
    return StoredDataset(data.content_hash, buffer.getvalue(), data.nbytes)


def decode(digest: str, encoded: bytes) -> CustomData:
    """Stored rows as CustomData (read-only arrays: runs share them)."""
    with np.load(io.BytesIO(encoded), allow_pickle=False) as archive:
        X, y = archive["X"], archive["y"]
    for array in (X, y):
        array.setflags(write=False)
    return CustomData(X, y, digest)


def by_hash(store: Store, digest: str) -> tuple[CustomData, StoredDataset]:
    """Rows stored before, named by a config's ``dataset.content_hash``; 422 if there are none."""
    encoded = store.dataset(digest)
    if encoded is None:
        raise ApiError(
            "no dataset with this content hash is stored here; send X and y",
            "dataset.content_hash",
            status=422,
        )
    data = decode(digest, encoded)
    return data, StoredDataset(digest, encoded, data.nbytes)


def resolve(store: Store, config: RunConfig) -> tuple[RunConfig, CustomData | None, StoredDataset | None]:
    """A config's custom rows wherever they are, as a run's creation and a sweep take them: inline
    (detached from the config) or stored before and named by ``dataset.content_hash`` (422 if unknown);
    with their stored form. (config, None, None) for built-in data."""
    config, data = detach(config)
    if data is not None:
        return config, data, stored(data)
    if config.dataset.kind == "custom" and config.dataset.content_hash is not None:
        data, dataset = by_hash(store, config.dataset.content_hash)
        return config, data, dataset
    return config, None, None


class DatasetCache:
    """A trainer's datasets by hash: one copy in memory for as long as any run holds it."""

    def __init__(self) -> None:
        self._held: weakref.WeakValueDictionary[str, CustomData] = weakref.WeakValueDictionary()
        self._lock = threading.Lock()

    def get(self, digest: str, store: Store) -> CustomData:
        with self._lock:
            data = self._held.get(digest)
        if data is not None:
            return data
        encoded = store.dataset(digest)
        if encoded is None:
            raise LookupError(f"dataset {digest} is not in the store")
        data = decode(digest, encoded)
        with self._lock:
            return self._held.setdefault(digest, data)
