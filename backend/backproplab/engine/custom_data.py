"""Custom datasets as compact, shareable, content-addressed arrays.

A request carries custom data inline (``dataset.X`` as a list of rows, ``dataset.y`` a list), which in
Python floats costs about 50 bytes a value. Once validated, the data becomes a :class:`CustomData`: two
read-only float64 arrays (8 bytes a value) named by their ``content_hash``. The run's config then keeps
only the hash (``dataset.content_hash``, X and y None), so a Run description never carries the data, a
checkpoint stores it by reference, and a server can hold one copy for every run that uses the same data.

    data = CustomData.from_values(X, y)              # validate once (csv_data.validate_custom), hash
    config, data = detach_custom_data(config)        # inline X/y → content_hash (data None if none inline)
    run = Run(config, data)                          # a run on shared data (no copy of X when it trains
                                                     # on every row in order; else its own split)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import RunConfig
from .csv_data import validate_custom
from .errors import ConfigError

_HASH_TAG = b"backproplab custom data v1"


def content_hash(X: np.ndarray, y: np.ndarray) -> str:
    """sha256 (hex) of the arrays' shapes and float64 bytes: equal data, equal name, on any machine."""
    digest = hashlib.sha256(_HASH_TAG)
    for array in (X, y):
        contiguous = np.ascontiguousarray(array, dtype="<f8")
        digest.update(np.asarray(contiguous.shape, dtype="<i8").tobytes())
        digest.update(contiguous.data)
    return digest.hexdigest()


@dataclass(frozen=True, eq=False)
class CustomData:
    """Validated custom data: ``X`` (n, d) and ``y`` (n,), float64 and read-only, and their hash."""

    X: np.ndarray
    y: np.ndarray
    content_hash: str

    @classmethod
    def from_values(cls, X: Any, y: Any) -> CustomData:
        """Validate X and y, from any user input (ConfigError naming dataset.X or dataset.y), and freeze them."""
        X_array, y_array = validate_custom(X, y)
        for array in (X_array, y_array):
            array.setflags(write=False)
        return cls(X_array, y_array, content_hash(X_array, y_array))

    @property
    def nbytes(self) -> int:
        return int(self.X.nbytes + self.y.nbytes)


def detach_custom_data(config: RunConfig) -> tuple[RunConfig, CustomData | None]:
    """``config`` with inline custom X and y replaced by their content hash, and the data (None if the
    config carries none inline)."""
    dataset = config.dataset
    if dataset.X is None or dataset.y is None:
        return config, None
    data = CustomData.from_values(dataset.X, dataset.y)
    detached = dataset.model_copy(update={"X": None, "y": None, "content_hash": data.content_hash})
    return config.model_copy(update={"dataset": detached}), data


def resolve_custom_data(config: RunConfig, data: CustomData | None) -> tuple[RunConfig, CustomData | None]:
    """The config (X and y detached) and the data a run on it uses; ConfigError if it has none that fits.

    Inline data wins; otherwise ``data`` must be the data ``dataset.content_hash`` names.
    """
    config, inline = detach_custom_data(config)
    if inline is not None:
        return config, inline
    if config.dataset.kind != "custom":
        return config, None
    if data is None:
        raise ConfigError("dataset.content_hash", "no data with this content hash was given; send X and y")
    if data.content_hash != config.dataset.content_hash:
        raise ConfigError("dataset.content_hash", "the data given does not have this content hash")
    return config, data
