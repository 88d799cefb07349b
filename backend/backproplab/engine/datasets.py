"""Datasets: TensorFlow Playground's 2-D generators, two more, and custom data, split into train and test.

Built-in sets live in the plane [-6, 6]²; ``noise`` is a fraction in [0, 1] (Playground's 0-50 % slider
divided by 100, so Playground's settings carry over as they are, and up to 1 goes further). Classification
labels are 0..K-1 stored as float64 (Playground uses ±1: its +1 is our 1 and its −1 our 0).

Classification:
  circle  Playground's classifyCircleData: radius 5; half the points uniform in radius [0, 2.5] and half in
          [3.5, 5]; label 1 when the point *after* a uniform jitter of ±5·noise per axis lies within radius
          2.5, else 0. The stored point is the clean one, so noise flips labels near the boundary. With
          noise 0 the label is exactly ``|x| < 2.5``.
  xor     Playground's classifyXORData: x1, x2 uniform in [-5, 5] pushed 0.3 away from each axis; label 1
          when x1·x2 >= 0 after a ±5·noise jitter, else 0.
  gauss   Playground's classifyTwoGaussData for 2 classes: class 1 around (2, 2), class 0 around (−2, −2),
          each coordinate normal with variance 0.5 + 7·noise (Playground's scale [0, .5] → [.5, 4], extended
          linearly). K classes: centres evenly around a ring (class k at angle 225° + 360°·k/K, so K = 2 is
          exactly Playground's); the ring has radius 2√2 for K <= 4 and 4 for more, so neighbours stay apart.
  spiral  Playground's classifySpiralData, K arms evenly spaced: arm k has radius r = 5·i/m and angle
          t = 1.75·2π·i/m + 2πk/K for its i = 0..m−1 points, each coordinate jittered uniformly by ±noise.
          (Playground draws its +1 arm at angle offset 0 and its −1 arm at π; here class 0 is the arm at 0.)
  moons   sklearn.datasets.make_moons: the upper half circle (class 0) and the lower one shifted to (1, .5)
          (class 1), points evenly spaced along each arc with normal noise of standard deviation ``noise``
          in moon units (sklearn's own ``noise`` parameter), then centred and scaled ×3 into [-4.5, 4.5] ×
          [-2.25, 2.25].
  gauss and spiral take ``classes``; circle, xor and moons always have two and ignore it. Classes get
  equal counts (n // K, the first n % K classes one more), except xor whose labels follow the quadrants.

Regression (targets in [-1, 1], inputs uniform in [-6, 6]², the target computed at the point jittered
uniformly by ±6·noise per axis, as Playground's regressors do):
  plane   Playground's regressPlane: y = (x1 + x2) / 10.
  sine    y = (sin x1 + sin x2) / 2: a wavy surface a small network must bend to fit from x1, x2, and an exact
          linear function of the features sin(x1), sin(x2), which shows what feature engineering buys.

Custom data (config ``X``, ``y``; see :func:`custom_task` for how ``task`` is decided): rows as given. With
``train_fraction`` 1.0 every row trains, in the given order, and batches go in order (``shuffle`` False).

Names (:func:`data_names`): ``columns`` name the raw input columns (x1, x2, … by default), ``target_name``
the target (y), ``class_names`` the classes 0..K-1 (None: unnamed); each must fit the data.

Added points (``extra``, :func:`add_points`): 2-D data only; appended after the split to the training
rows (the last ``added`` of them), so the generated rows, their split and the run's generators are the
same with or without them. Each must lie inside the plane drawn (``extent``) and carry a label of one of
the data's classes (any finite target within [-1e6, 1e6] for regression).

Splitting: a permutation from the run's generator; round(train_fraction·n) rows train (at least 1), the rest
test (empty when train_fraction is 1.0). Everything is float64 and depends only on the config and the
generator's state.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from .config import MAX_CLASSES, AddedPoints, DatasetConfig
from .custom_data import CustomData
from .errors import ConfigError

PLAYGROUND_EXTENT = (-6.0, 6.0, -6.0, 6.0)
# "auto" treats targets as class labels only when they are integers in 0..AUTO_MAX_CLASSES-1.
AUTO_MAX_CLASSES = 20
MAX_ADDED_TARGET = 1e6  # |target| of a point added to regression data
Extent = tuple[float, float, float, float]


@dataclass
class Dataset:
    """A train/test split of raw inputs (before the feature transform) and targets, and their names."""

    X_train: np.ndarray  # (n_train, d) float64
    y_train: np.ndarray  # (n_train,) float64: labels 0..K-1 or real targets
    X_test: np.ndarray  # (n_test, d), n_test may be 0
    y_test: np.ndarray
    task: str  # "classification" | "regression"
    num_classes: int  # K >= 2 for classification, 0 for regression
    shuffle: bool  # False only for custom data with train_fraction 1.0
    extent: Extent | None  # (x1_min, x1_max, x2_min, x2_max) of the plane to draw; None unless 2-D
    columns: list[str] = field(default_factory=list)  # names of the d raw input columns
    target_name: str = "y"
    class_names: list[str] | None = None  # names of classes 0..K-1, None if unnamed
    added: int = 0  # the last ``added`` training rows are points added by hand (config ``extra``)


# ---------------------------------------------------------------------------------------------- generators
# Each returns (X (n, 2), y (n,)) in generation order; make_dataset shuffles them in the split.


def _class_counts(n: int, classes: int) -> list[int]:
    return [n // classes + (1 if k < n % classes else 0) for k in range(classes)]


def _uniform_jitter(rng: np.random.Generator, n: int, half_width: float, noise: float) -> np.ndarray:
    """(n, 2) offsets uniform in [−half_width, half_width]·noise, Playground's label noise."""
    return rng.uniform(-half_width, half_width, size=(n, 2)) * noise


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    radius = 5.0
    n_inside = n // 2
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, size=n_inside), rng.uniform(radius * 0.7, radius, size=n - n_inside)]
    )
    angle = rng.uniform(0.0, 2.0 * math.pi, size=n)
    X = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    noisy = X + _uniform_jitter(rng, n, radius, noise)
    y = (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(np.float64)
    return X, y


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    padding = 0.3
    X = rng.uniform(-5.0, 5.0, size=(n, 2))
    X += np.where(X > 0, padding, -padding)
    noisy = X + _uniform_jitter(rng, n, 5.0, noise)
    y = (noisy[:, 0] * noisy[:, 1] >= 0).astype(np.float64)
    return X, y


def gauss(n: int, noise: float, rng: np.random.Generator, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    variance = 0.5 + 7.0 * noise
    ring = 2.0 * math.sqrt(2.0) if classes <= 4 else 4.0
    parts, labels = [], []
    for k, count in enumerate(_class_counts(n, classes)):
        angle = math.radians(225.0 + 360.0 * k / classes)
        centre = ring * np.array([math.cos(angle), math.sin(angle)])
        parts.append(centre + rng.normal(0.0, math.sqrt(variance), size=(count, 2)))
        labels.append(np.full(count, float(k)))
    return np.concatenate(parts), np.concatenate(labels)


def spiral(n: int, noise: float, rng: np.random.Generator, classes: int = 2) -> tuple[np.ndarray, np.ndarray]:
    parts, labels = [], []
    for k, count in enumerate(_class_counts(n, classes)):
        i = np.arange(count, dtype=np.float64)
        r = i / count * 5.0
        t = 1.75 * i / count * 2.0 * math.pi + 2.0 * math.pi * k / classes
        arm = np.column_stack([r * np.sin(t), r * np.cos(t)])
        parts.append(arm + rng.uniform(-1.0, 1.0, size=(count, 2)) * noise)
        labels.append(np.full(count, float(k)))
    return np.concatenate(parts), np.concatenate(labels)


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n_outer = n // 2
    n_inner = n - n_outer
    outer = np.linspace(0.0, math.pi, n_outer)
    inner = np.linspace(0.0, math.pi, n_inner)
    X = np.concatenate(
        [
            np.column_stack([np.cos(outer), np.sin(outer)]),
            np.column_stack([1.0 - np.cos(inner), 1.0 - np.sin(inner) - 0.5]),
        ]
    )
    y = np.concatenate([np.zeros(n_outer), np.ones(n_inner)])
    X += rng.normal(0.0, 1.0, size=X.shape) * noise
    # Moon units span [-1, 2] x [-0.5, 1]; centre on (0.5, 0.25) and scale ×3.
    return (X - np.array([0.5, 0.25])) * 3.0, y


def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-6.0, 6.0, size=(n, 2))
    noisy = X + _uniform_jitter(rng, n, 6.0, noise)
    return X, (noisy[:, 0] + noisy[:, 1]) / 10.0


def sine(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    X = rng.uniform(-6.0, 6.0, size=(n, 2))
    noisy = X + _uniform_jitter(rng, n, 6.0, noise)
    return X, (np.sin(noisy[:, 0]) + np.sin(noisy[:, 1])) / 2.0


CLASSIFIERS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray]]] = {
    "circle": circle,
    "xor": xor,
    "gauss": gauss,
    "spiral": spiral,
    "moons": moons,
}
MULTICLASS = {"gauss", "spiral"}
REGRESSORS = {"plane": plane, "sine": sine}


# ---------------------------------------------------------------------------------------------- custom data


def custom_task(y: np.ndarray, task: str, named_classes: bool = False) -> tuple[str, int]:
    """(task, num_classes) for custom targets ``y``.

    "auto" is classification when every target is a whole number in 0..19 and at least two distinct values
    occur; K is then max(y) + 1 (labels name classes 0..K-1, unused ones allowed). Anything else (fractions,
    negatives, a single value, labels of 20 or more) is regression; set ``task`` to override. With
    ``named_classes`` (the config names the classes) "auto" means "classification".
    "classification" needs whole numbers in 0..MAX_CLASSES-1; K = max(2, max(y) + 1).
    "regression" takes any finite targets.
    """
    whole = bool(np.all(y == np.round(y)))
    if task == "regression":
        return "regression", 0
    if task == "auto" and not named_classes:
        if whole and y.min() >= 0 and y.max() < AUTO_MAX_CLASSES and np.unique(y).size >= 2:
            return "classification", int(y.max()) + 1
        return "regression", 0
    if task not in ("auto", "classification"):
        raise ConfigError("dataset.task", f"unknown task {task!r}; choose auto, classification or regression")
    if not whole or y.min() < 0:
        bad = int(np.flatnonzero((y != np.round(y)) | (y < 0))[0])
        raise ConfigError(
            "dataset.y", f"classification needs class labels 0, 1, 2, ...; value {bad} is {y[bad]:g}"
        )
    if y.max() >= MAX_CLASSES:
        raise ConfigError("dataset.y", f"class labels must be below {MAX_CLASSES}, got {y.max():g}")
    return "classification", max(2, int(y.max()) + 1)


def _padded_range(values: np.ndarray) -> tuple[float, float]:
    low, high = float(values.min()), float(values.max())
    pad = 0.1 * (high - low) if high > low else 1.0
    return low - pad, high + pad


def custom_extent(X: np.ndarray) -> Extent | None:
    """The plane to draw 2-D data on: its bounding box padded by 10 % of its width on each side (±1 for a
    column with one value). None for data of any other width (there is no plane)."""
    if X.shape[1] != 2:
        return None
    return (*_padded_range(X[:, 0]), *_padded_range(X[:, 1]))


# ---------------------------------------------------------------------------------------------- names, points


def data_names(
    config: DatasetConfig, width: int, task: str, num_classes: int
) -> tuple[list[str], str, list[str] | None]:
    """(columns, target_name, class_names) of data with ``width`` input columns: the config's, checked
    against the data, or the defaults x1..xd, y and None."""
    columns = config.columns
    if columns is None:
        columns = [f"x{index + 1}" for index in range(width)]
    elif len(columns) != width:
        raise ConfigError("dataset.columns", f"has {len(columns)} names; the data has {width} input columns")
    class_names = config.class_names
    if class_names is not None:
        if task != "classification":
            raise ConfigError("dataset.class_names", "names classes, but this dataset is a regression task")
        if len(class_names) != num_classes:
            raise ConfigError(
                "dataset.class_names", f"has {len(class_names)} names; the data has {num_classes} classes"
            )
    return list(columns), config.target_name or "y", None if class_names is None else list(class_names)


def add_points(dataset: Dataset, extra: AddedPoints) -> Dataset:
    """``dataset`` with the points ``extra`` describes appended to its training rows (checked: 2-D data,
    inside the plane drawn, a label of one of its classes or a bounded regression target)."""
    X = np.array(extra.X, dtype=np.float64).reshape(-1, 2)
    y = np.array(extra.y, dtype=np.float64)
    if dataset.extent is None:
        width = dataset.X_train.shape[1]
        raise ConfigError(
            "dataset.extra", f"points can be added to 2-D data only; this data has {width} inputs"
        )
    x1_min, x1_max, x2_min, x2_max = dataset.extent
    outside = np.flatnonzero(
        (X[:, 0] < x1_min) | (X[:, 0] > x1_max) | (X[:, 1] < x2_min) | (X[:, 1] > x2_max)
    )
    if outside.size:
        point = int(outside[0])
        raise ConfigError(
            f"dataset.extra.X.{point}",
            f"({X[point, 0]:g}, {X[point, 1]:g}) is outside the plane drawn, "
            f"[{x1_min:g}, {x1_max:g}] × [{x2_min:g}, {x2_max:g}]",
        )
    if dataset.task == "classification":
        bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= dataset.num_classes))
        if bad.size:
            point = int(bad[0])
            raise ConfigError(
                f"dataset.extra.y.{point}",
                f"{y[point]:g} is not a class of this data (0 to {dataset.num_classes - 1})",
            )
    else:
        bad = np.flatnonzero(np.abs(y) > MAX_ADDED_TARGET)
        if bad.size:
            point = int(bad[0])
            raise ConfigError(f"dataset.extra.y.{point}", f"must be within ±{MAX_ADDED_TARGET:g}")
    return replace(
        dataset,
        X_train=np.concatenate([dataset.X_train, X]),
        y_train=np.concatenate([dataset.y_train, y]),
        added=len(y),
    )


# ---------------------------------------------------------------------------------------------- make_dataset


def _train_count(n: int, train_fraction: float) -> int:
    return min(n, max(1, math.floor(train_fraction * n + 0.5)))


def make_dataset(config: DatasetConfig, rng: np.random.Generator, data: CustomData | None = None) -> Dataset:
    """Generate (or take) the data ``config`` describes, split it into train and test with ``rng``, name
    it and add the points added by hand.

    Custom data comes from ``data`` (or, when it is None, from the config's inline X and y). Trained on
    every row in order, it is used as it is (read-only, no copy); a split or added points copy its rows.
    """
    dataset = _split_dataset(config, rng, data)
    width = dataset.X_train.shape[1]
    columns, target_name, class_names = data_names(config, width, dataset.task, dataset.num_classes)
    dataset = replace(dataset, columns=columns, target_name=target_name, class_names=class_names)
    return add_points(dataset, config.extra) if config.extra is not None and config.extra.y else dataset


def _split_dataset(config: DatasetConfig, rng: np.random.Generator, data: CustomData | None) -> Dataset:
    if config.kind == "custom":
        if data is None:
            data = CustomData.from_values(config.X, config.y)
        X, y = data.X, data.y
        task, num_classes = custom_task(y, config.task, named_classes=config.class_names is not None)
        extent = custom_extent(X)
        if config.train_fraction >= 1.0:
            empty_X = np.empty((0, X.shape[1]), dtype=np.float64)
            return Dataset(X, y, empty_X, np.empty(0, dtype=np.float64), task, num_classes, False, extent)
    elif config.kind in CLASSIFIERS:
        generate = CLASSIFIERS[config.kind]
        num_classes = config.classes if config.kind in MULTICLASS else 2
        if config.kind in MULTICLASS:
            X, y = generate(config.samples, config.noise, rng, num_classes)
        else:
            X, y = generate(config.samples, config.noise, rng)
        task, extent = "classification", PLAYGROUND_EXTENT
    elif config.kind in REGRESSORS:
        X, y = REGRESSORS[config.kind](config.samples, config.noise, rng)
        task, num_classes, extent = "regression", 0, PLAYGROUND_EXTENT
    else:
        raise ConfigError("dataset.kind", f"unknown dataset {config.kind!r}")

    order = rng.permutation(X.shape[0])
    n_train = _train_count(X.shape[0], config.train_fraction)
    train, test = order[:n_train], order[n_train:]
    return Dataset(
        X_train=np.ascontiguousarray(X[train], dtype=np.float64),
        y_train=np.ascontiguousarray(y[train], dtype=np.float64),
        X_test=np.ascontiguousarray(X[test], dtype=np.float64),
        y_test=np.ascontiguousarray(y[test], dtype=np.float64),
        task=task,
        num_classes=num_classes,
        shuffle=True,
        extent=extent,
    )
