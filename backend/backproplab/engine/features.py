"""Input features computed from the raw 2-D point (x1, x2), as TensorFlow Playground's input column.

The network never sees the raw point directly: it sees the chosen features, in the order the config lists
them. Picking ``x1^2`` and ``x2^2`` makes the circle dataset linearly separable; ``x1*x2`` does the same for
xor; ``sin(x1)`` and ``sin(x2)`` make the sine regression dataset an exact linear function.

Features only exist for 2-D data. Custom data with d != 2 columns goes to the network unchanged and the
``features`` setting is ignored (see :func:`input_transform`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from .errors import ConfigError

# Each feature maps the columns x1, x2 (shape (n,)) to one column (n,).
FEATURES: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "x1": lambda x1, x2: x1,
    "x2": lambda x1, x2: x2,
    "x1^2": lambda x1, x2: x1 * x1,
    "x2^2": lambda x1, x2: x2 * x2,
    "x1*x2": lambda x1, x2: x1 * x2,
    "sin(x1)": lambda x1, x2: np.sin(x1),
    "sin(x2)": lambda x1, x2: np.sin(x2),
}


def feature_matrix(X_raw: np.ndarray, features: Sequence[str]) -> np.ndarray:
    """The (n, len(features)) float64 matrix of ``features`` evaluated on raw 2-D points ``X_raw`` (n, 2)."""
    X_raw = np.asarray(X_raw, dtype=np.float64)
    if X_raw.ndim != 2 or X_raw.shape[1] != 2:
        raise ConfigError("features", f"features need 2-D points (n, 2), got shape {X_raw.shape}")
    if not features:
        raise ConfigError("features", "choose at least one feature")
    unknown = [name for name in features if name not in FEATURES]
    if unknown:
        raise ConfigError("features", f"unknown feature {unknown[0]!r}; choose from {list(FEATURES)}")
    x1, x2 = X_raw[:, 0], X_raw[:, 1]
    out = np.empty((X_raw.shape[0], len(features)), dtype=np.float64)
    for column, name in enumerate(features):
        out[:, column] = FEATURES[name](x1, x2)
    return out


def input_transform(X_raw: np.ndarray, features: Sequence[str], raw_width: int) -> np.ndarray:
    """What the network's input layer receives for raw inputs ``X_raw``.

    ``raw_width == 2`` (every built-in dataset, and custom 2-D data): the feature matrix. Any other width
    (custom data with d != 2 columns, e.g. 784 pixels): ``X_raw`` unchanged as float64; ``features`` is
    ignored, because x1/x2 features mean nothing there. The network's input width is then d.
    """
    if raw_width == 2:
        return feature_matrix(X_raw, features)
    return np.asarray(X_raw, dtype=np.float64)
