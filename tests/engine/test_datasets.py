"""Built-in and custom datasets: shapes, labels, determinism, balance, noise-free geometry, splits."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.engine.config import MAX_ADDED_POINTS, DatasetConfig, RunConfig, merge_config
from backproplab.engine.datasets import PLAYGROUND_EXTENT, Dataset, make_dataset
from backproplab.engine.errors import ConfigError

CLASSIFICATION = ["circle", "xor", "gauss", "spiral", "moons"]
REGRESSION = ["plane", "sine"]


def make(seed: int = 0, **fields) -> Dataset:
    return make_dataset(DatasetConfig(**fields), np.random.default_rng(seed))


def all_rows(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    return np.concatenate([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])


@pytest.mark.parametrize("kind", CLASSIFICATION + REGRESSION)
def test_shapes_dtypes_and_split(kind):
    data = make(kind=kind, samples=301, train_fraction=0.7, noise=0.2)
    assert data.X_train.shape == (211, 2) and data.y_train.shape == (211,)
    assert data.X_test.shape == (90, 2) and data.y_test.shape == (90,)
    for array in (data.X_train, data.y_train, data.X_test, data.y_test):
        assert array.dtype == np.float64 and np.all(np.isfinite(array))
    assert data.shuffle is True
    assert data.extent == PLAYGROUND_EXTENT
    X, _ = all_rows(data)
    assert np.all(np.abs(X) <= 6.0 + 6.0 * 0.2)


@pytest.mark.parametrize("kind", CLASSIFICATION + REGRESSION)
def test_deterministic_from_seed(kind):
    first, again = make(3, kind=kind, noise=0.3), make(3, kind=kind, noise=0.3)
    other = make(4, kind=kind, noise=0.3)
    for name in ("X_train", "y_train", "X_test", "y_test"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.X_train, other.X_train)


@pytest.mark.parametrize("kind", ["circle", "moons"])
def test_two_class_sets_are_balanced_and_ignore_classes(kind):
    data = make(kind=kind, samples=400, classes=5)
    _, y = all_rows(data)
    assert data.task == "classification" and data.num_classes == 2
    assert set(np.unique(y)) == {0.0, 1.0}
    assert np.sum(y == 1) == 200


def test_xor_labels_follow_quadrants_without_noise():
    data = make(kind="xor", samples=1000, classes=4)
    X, y = all_rows(data)
    assert data.num_classes == 2
    np.testing.assert_array_equal(y, (X[:, 0] * X[:, 1] >= 0).astype(float))
    assert np.all(np.abs(X) >= 0.3)  # padded away from the axes
    assert 400 < np.sum(y) < 600


def test_circle_labels_exactly_by_radius_without_noise():
    X, y = all_rows(make(kind="circle", samples=1000))
    radius = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_array_equal(y, (radius < 2.5).astype(float))
    assert radius[y == 1].max() <= 2.5 and radius[y == 0].min() >= 3.5 and radius.max() <= 5.0


def test_circle_noise_flips_some_labels():
    X, y = all_rows(make(kind="circle", samples=1000, noise=0.5))
    flipped = y != (np.hypot(X[:, 0], X[:, 1]) < 2.5)
    assert 0 < flipped.sum() < 500


@pytest.mark.parametrize("kind", ["gauss", "spiral"])
@pytest.mark.parametrize("classes", [2, 3, 8])
def test_multiclass_labels_and_balance(kind, classes):
    data = make(kind=kind, samples=203, classes=classes, noise=0.1)
    _, y = all_rows(data)
    assert data.num_classes == classes
    np.testing.assert_array_equal(np.unique(y), np.arange(classes, dtype=float))
    counts = np.bincount(y.astype(int))
    assert counts.max() - counts.min() <= 1 and counts.sum() == 203


def test_gauss_two_classes_matches_playground_centres():
    X, y = all_rows(make(kind="gauss", samples=2000))
    np.testing.assert_allclose(X[y == 1].mean(axis=0), [2, 2], atol=0.1)
    np.testing.assert_allclose(X[y == 0].mean(axis=0), [-2, -2], atol=0.1)
    np.testing.assert_allclose(X[y == 1].var(axis=0), [0.5, 0.5], rtol=0.15)


@pytest.mark.parametrize("classes", [3, 8])
def test_gauss_without_noise_is_separable_by_nearest_centre(classes):
    X, y = all_rows(make(kind="gauss", samples=800, classes=classes))
    centres = np.array([X[y == k].mean(axis=0) for k in range(classes)])
    nearest = np.argmin(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)
    assert np.mean(nearest == y) > 0.97


@pytest.mark.parametrize("classes", [2, 5])
def test_spiral_arms_without_noise_follow_the_formula(classes):
    X, y = all_rows(make(kind="spiral", samples=100 * classes, classes=classes))
    for k in range(classes):
        arm = X[y == k]
        radius = np.hypot(arm[:, 0], arm[:, 1])
        np.testing.assert_allclose(np.sort(radius), np.arange(100) / 100 * 5.0, atol=1e-12)
        i = np.argsort(radius)[1:]  # skip the centre point, whose angle is undefined
        t = 1.75 * np.arange(1, 100) / 100 * 2 * np.pi + 2 * np.pi * k / classes
        np.testing.assert_allclose(arm[i, 0], radius[i] * np.sin(t), atol=1e-12)
        np.testing.assert_allclose(arm[i, 1], radius[i] * np.cos(t), atol=1e-12)


def test_moons_without_noise_lie_on_their_arcs():
    X, y = all_rows(make(kind="moons", samples=300))
    moon = X / 3.0 + np.array([0.5, 0.25])
    np.testing.assert_allclose(np.hypot(*moon[y == 0].T), 1.0)
    np.testing.assert_allclose(np.hypot(*(moon[y == 1] - [1.0, 0.5]).T), 1.0)
    assert np.all(moon[y == 0, 1] >= -1e-12) and np.all(moon[y == 1, 1] <= 0.5 + 1e-12)


def test_plane_and_sine_targets_without_noise():
    X, y = all_rows(make(kind="plane"))
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 10)
    X, y = all_rows(make(kind="sine"))
    np.testing.assert_allclose(y, (np.sin(X[:, 0]) + np.sin(X[:, 1])) / 2)
    for kind in REGRESSION:
        data = make(kind=kind, noise=0.4)
        assert data.task == "regression" and data.num_classes == 0
        _, y = all_rows(data)
        assert len(np.unique(y)) > 100


def test_regression_noise_perturbs_targets():
    X, y = all_rows(make(kind="plane", noise=0.2))
    residual = y - (X[:, 0] + X[:, 1]) / 10
    assert 0 < np.abs(residual).max() <= 2 * 6 * 0.2 / 10 + 1e-12


def test_train_fraction_one_leaves_empty_test_and_small_fractions_keep_one_row():
    data = make(kind="spiral", samples=50, train_fraction=1.0)
    assert data.X_train.shape == (50, 2) and data.X_test.shape == (0, 2) and data.y_test.shape == (0,)
    assert data.shuffle is True
    assert make(kind="xor", samples=10, train_fraction=0.01).X_train.shape == (1, 2)


def test_split_is_a_partition_of_the_generated_rows():
    whole = make(5, kind="circle", samples=200, train_fraction=1.0)
    split = make(5, kind="circle", samples=200, train_fraction=0.5)
    # Same generator state before the split: the same rows, a different division.
    rejoined = np.concatenate([split.X_train, split.X_test])
    assert sorted(map(tuple, rejoined)) == sorted(map(tuple, whole.X_train))


# ------------------------------------------------------------------------------------------- custom data


def test_custom_train_fraction_one_keeps_row_order_without_shuffle():
    X = [[3.0, 1.0], [1.0, 2.0], [2.0, 0.0]]
    data = make(kind="custom", X=X, y=[1, 0, 1], train_fraction=1.0)
    np.testing.assert_array_equal(data.X_train, X)
    np.testing.assert_array_equal(data.y_train, [1, 0, 1])
    assert data.shuffle is False and data.X_test.shape == (0, 2)
    assert data.task == "classification" and data.num_classes == 2
    np.testing.assert_allclose(data.extent, (0.8, 3.2, -0.2, 2.2))


def test_custom_split_shuffles():
    X = np.arange(40.0).reshape(20, 2)
    data = make(kind="custom", X=X.tolist(), y=list(range(20)), train_fraction=0.75, task="regression")
    assert data.X_train.shape == (15, 2) and data.X_test.shape == (5, 2) and data.shuffle is True
    np.testing.assert_array_equal(np.sort(np.concatenate([data.y_train, data.y_test])), np.arange(20.0))
    np.testing.assert_array_equal(data.X_train[:, 0], 2 * data.y_train)


@pytest.mark.parametrize(
    ("y", "task", "num_classes"),
    [
        ([0, 1, 2, 1], "classification", 3),
        ([0, 3, 3, 0], "classification", 4),
        ([0.5, 1, 2, 1], "regression", 0),
        ([-1, 1, 1, -1], "regression", 0),
        ([1, 1, 1, 1], "regression", 0),
        ([0, 20, 3, 1], "regression", 0),
        ([0, 19, 3, 1], "classification", 20),
    ],
)
def test_custom_auto_task_rule(y, task, num_classes):
    data = make(kind="custom", X=[[0.0], [1.0], [2.0], [3.0]], y=y, train_fraction=1.0)
    assert (data.task, data.num_classes) == (task, num_classes)


def test_custom_explicit_tasks():
    X = [[0.0, 1.0], [1.0, 0.0]]
    forced = make(kind="custom", X=X, y=[0, 1], task="regression", train_fraction=1.0)
    assert (forced.task, forced.num_classes) == ("regression", 0)
    single = make(kind="custom", X=X, y=[0, 0], task="classification", train_fraction=1.0)
    assert (single.task, single.num_classes) == ("classification", 2)
    wide = make(kind="custom", X=X, y=[0, 42], task="classification", train_fraction=1.0)
    assert wide.num_classes == 43
    for bad in ([0, 1.5], [-1, 1], [0, 100]):
        with pytest.raises(ConfigError) as error:
            make(kind="custom", X=X, y=bad, task="classification")
        assert error.value.field == "dataset.y"


def test_custom_high_dimensional_data_passes_through():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(30, 5))
    data = make(kind="custom", X=X.tolist(), y=rng.normal(size=30).tolist(), train_fraction=0.5)
    assert data.X_train.shape == (15, 5) and data.task == "regression"
    assert data.extent is None  # no plane to draw for 5 inputs
    assert data.columns == ["x1", "x2", "x3", "x4", "x5"] and data.target_name == "y"


def test_custom_bad_shapes_raise_config_errors():
    with pytest.raises(ConfigError) as error:
        make(kind="custom", X=[[0.0, 1.0], [1.0]], y=[0, 1])
    assert error.value.field == "dataset.X" and "row 1" in error.value.reason
    with pytest.raises(ConfigError) as error:
        make(kind="custom", X=[[0.0], [1.0]], y=[0, 1, 1])
    assert error.value.field == "dataset.y"


# ------------------------------------------------------------------------------------------- names


def test_names_default_and_follow_the_config():
    assert (make(kind="circle").columns, make(kind="circle").target_name) == (["x1", "x2"], "y")
    assert make(kind="circle").class_names is None
    named = make(kind="spiral", classes=3, columns=["east", "north"], class_names=["a", "b", "c"])
    assert named.columns == ["east", "north"] and named.class_names == ["a", "b", "c"]
    X = [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]]
    custom = make(
        kind="custom", X=X, y=[1, 0], columns=["a", "b", "c"], target_name="t", class_names=["n", "p"]
    )
    assert (custom.columns, custom.target_name, custom.class_names) == (["a", "b", "c"], "t", ["n", "p"])


def test_class_names_make_auto_data_classes_even_past_twenty():
    y = [float(k) for k in range(25)]
    data = make(
        kind="custom", X=[[float(k)] for k in range(25)], y=y, class_names=[f"c{k}" for k in range(25)]
    )
    assert (data.task, data.num_classes) == ("classification", 25)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"kind": "circle", "columns": ["a", "b", "c"]}, "dataset.columns", "3 names; the data has 2"),
        (
            {"kind": "spiral", "classes": 3, "class_names": ["a", "b"]},
            "dataset.class_names",
            "the data has 3",
        ),
        ({"kind": "plane", "class_names": ["a", "b"]}, "dataset.class_names", "regression"),
        (
            {"kind": "custom", "X": [[1.0], [2.0]], "y": [0, 1], "class_names": ["a", "b", "c"]},
            "dataset.class_names",
            "has 3 names; the data has 2 classes",
        ),
    ],
)
def test_names_that_do_not_fit_the_data_are_refused(fields, field, words):
    with pytest.raises(ConfigError) as error:
        make(**fields)
    assert error.value.field == field and words in error.value.reason


def test_names_are_checked_by_the_config():
    for bad in ({"columns": ["a", "a"]}, {"class_names": ["", "b"]}, {"target_name": "x" * 101}):
        with pytest.raises(ValueError):
            DatasetConfig(**bad)
    assert DatasetConfig(columns=[" a ", "b"]).columns == ["a", "b"]


# ------------------------------------------------------------------------------------------- added points


def test_added_points_go_on_top_of_the_generated_training_rows():
    plain = make(kind="spiral", classes=3, samples=90, noise=0.1, seed=4)
    extra = {"X": [[1.0, 2.0], [-3.0, 0.5]], "y": [2, 0]}
    added = make(kind="spiral", classes=3, samples=90, noise=0.1, seed=4, extra=extra)
    assert added.added == 2 and plain.added == 0
    np.testing.assert_array_equal(added.X_train[:-2], plain.X_train)  # the generated rows are untouched
    np.testing.assert_array_equal(added.X_train[-2:], extra["X"])
    np.testing.assert_array_equal(added.y_train[-2:], extra["y"])
    np.testing.assert_array_equal(added.X_test, plain.X_test)


def test_added_points_work_on_two_dimensional_custom_data_too():
    X = [[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]]
    data = make(kind="custom", X=X, y=[0, 1, 0], train_fraction=1.0, extra={"X": [[1.5, 0.5]], "y": [1]})
    assert data.X_train.shape == (4, 2) and data.added == 1 and data.shuffle is False


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"kind": "circle", "extra": {"X": [[7.0, 0.0]], "y": [1]}},
            "dataset.extra.X.0",
            "outside the plane",
        ),
        (
            {"kind": "circle", "extra": {"X": [[1.0, 0.0], [0, 0]], "y": [1, 2]}},
            "dataset.extra.y.1",
            "0 to 1",
        ),
        ({"kind": "circle", "extra": {"X": [[1.0, 0.0]], "y": [0.5]}}, "dataset.extra.y.0", "not a class"),
        ({"kind": "plane", "extra": {"X": [[1.0, 0.0]], "y": [2e6]}}, "dataset.extra.y.0", "within"),
        (
            {"kind": "custom", "X": [[0.0], [1.0]], "y": [0, 1], "extra": {"X": [[0.5, 0.5]], "y": [1]}},
            "dataset.extra",
            "2-D data only",
        ),
    ],
)
def test_added_points_that_do_not_fit_the_data_are_refused(fields, field, words):
    with pytest.raises(ConfigError) as error:
        make(**fields)
    assert error.value.field == field and words in error.value.reason


def test_added_points_are_checked_by_the_config():
    too_many = {"X": [[0.0, 0.0]] * (MAX_ADDED_POINTS + 1), "y": [0] * (MAX_ADDED_POINTS + 1)}
    for bad in (
        {"X": [[0.0, 0.0]], "y": []},
        {"X": [[0.0, 0.0, 1.0]], "y": [0]},
        {"X": [[float("nan"), 0]], "y": [0]},
        too_many,
    ):
        with pytest.raises(ValueError):
            DatasetConfig(kind="circle", extra=bad)


# ------------------------------------------------------------------------------------------- merging


def test_added_points_and_names_stay_while_the_generator_changes_and_go_with_new_data():
    extra = {"X": [[1.0, 2.0]], "y": [1]}
    config = RunConfig.model_validate(
        {"dataset": {"kind": "spiral", "classes": 3, "extra": extra, "class_names": ["a", "b", "c"]}}
    )
    for patch in ({"seed": 3}, {"dataset": {"noise": 0.3, "samples": 200}}, {"dataset": {"kind": "spiral"}}):
        kept = merge_config(config, patch).dataset
        assert kept.extra is not None and kept.extra.y == [1.0] and kept.class_names == ["a", "b", "c"]
    assert merge_config(config, {"dataset": {"extra": None}}).dataset.extra is None
    fewer = merge_config(config, {"dataset": {"classes": 2}}).dataset
    assert fewer.class_names is None and fewer.extra is not None  # the points stay; their labels are checked
    other = merge_config(config, {"dataset": {"kind": "circle"}}).dataset
    assert other.extra is None and other.class_names is None
    restated = merge_config(config, {"dataset": {"kind": "gauss", "extra": extra}}).dataset
    assert restated.extra is not None


def test_new_custom_data_drops_the_old_names_unless_restated():
    X, y = [[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]], [0, 1]
    config = RunConfig.model_validate(
        {"dataset": {"kind": "custom", "X": X, "y": y, "columns": ["a", "b", "c"], "target_name": "t"}}
    )
    renamed = merge_config(config, {"dataset": {"columns": ["p", "q", "r"]}}).dataset
    assert renamed.columns == ["p", "q", "r"] and renamed.target_name == "t"
    fresh = merge_config(config, {"dataset": {"X": [[1.0], [2.0]], "y": [1, 0]}}).dataset
    assert fresh.columns is None and fresh.target_name is None
    named = merge_config(config, {"dataset": {"X": [[1.0], [2.0]], "y": [1, 0], "columns": ["only"]}}).dataset
    assert named.columns == ["only"]
