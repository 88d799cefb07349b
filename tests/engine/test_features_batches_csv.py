"""Feature transforms, the mini-batch sampler, and CSV / inline custom-data validation."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from backproplab.engine.batches import BatchSampler
from backproplab.engine.config import MAX_COLUMNS, MAX_ROWS, MAX_VALUES, RunConfig
from backproplab.engine.csv_data import parse_csv, validate_custom
from backproplab.engine.errors import ConfigError
from backproplab.engine.features import FEATURES, feature_matrix, input_transform

# ------------------------------------------------------------------------------------------------ features


def test_feature_values_in_requested_order():
    X = np.array([[1.0, 2.0], [-0.5, 3.0], [0.0, -4.0]])
    names = ["sin(x2)", "x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)"]
    out = feature_matrix(X, names)
    x1, x2 = X[:, 0], X[:, 1]
    expected = np.column_stack([np.sin(x2), x1, x2, x1**2, x2**2, x1 * x2, np.sin(x1)])
    assert out.shape == (3, 7) and out.dtype == np.float64
    np.testing.assert_array_equal(out, expected)
    assert set(FEATURES) == set(names)


def test_feature_matrix_errors_and_empty_rows():
    assert feature_matrix(np.empty((0, 2)), ["x1", "x1*x2"]).shape == (0, 2)
    with pytest.raises(ConfigError):
        feature_matrix(np.zeros((3, 3)), ["x1"])
    with pytest.raises(ConfigError) as error:
        feature_matrix(np.zeros((3, 2)), ["x3"])
    assert error.value.field == "features"


def test_input_transform_applies_features_only_to_2d_data():
    X2 = np.array([[1.0, 2.0]])
    np.testing.assert_array_equal(input_transform(X2, ["x1^2", "x1*x2"], 2), [[1.0, 2.0]])
    X5 = np.arange(10.0).reshape(2, 5)
    np.testing.assert_array_equal(input_transform(X5, ["x1^2"], 5), X5)
    X1 = np.array([[3.0], [4.0]])
    assert input_transform(X1, ["x1", "x2"], 1).shape == (2, 1)


# ------------------------------------------------------------------------------------------------- batches


def draw_epoch(sampler: BatchSampler, batch_size: int) -> list[np.ndarray]:
    epoch = sampler.epoch
    batches = []
    while sampler.epoch == epoch:
        batches.append(sampler.next_batch(batch_size))
    return batches


def test_every_row_once_per_epoch_with_a_smaller_last_batch():
    sampler = BatchSampler(23, shuffle=True, rng=np.random.default_rng(0))
    batches = draw_epoch(sampler, 5)
    assert [len(batch) for batch in batches] == [5, 5, 5, 5, 3]
    np.testing.assert_array_equal(np.sort(np.concatenate(batches)), np.arange(23))
    assert batches[0].dtype == np.int64
    assert sampler.epoch == 1 and sampler.steps_in_epoch == 0


def test_reshuffles_between_epochs_from_the_callers_generator():
    sampler = BatchSampler(50, shuffle=True, rng=np.random.default_rng(7))
    first, second = np.concatenate(draw_epoch(sampler, 8)), np.concatenate(draw_epoch(sampler, 8))
    np.testing.assert_array_equal(np.sort(second), np.arange(50))
    assert not np.array_equal(first, second)
    rng = np.random.default_rng(7)
    np.testing.assert_array_equal(first, rng.permutation(50))
    np.testing.assert_array_equal(second, rng.permutation(50))


def test_no_shuffle_goes_in_order_every_epoch():
    sampler = BatchSampler(7, shuffle=False, rng=np.random.default_rng(0))
    for _ in range(2):
        batches = draw_epoch(sampler, 3)
        assert [batch.tolist() for batch in batches] == [[0, 1, 2], [3, 4, 5], [6]]


def test_batch_size_change_mid_epoch_continues_from_the_cursor():
    sampler = BatchSampler(20, shuffle=True, rng=np.random.default_rng(1))
    a = sampler.next_batch(4)
    assert (sampler.cursor, sampler.steps_in_epoch) == (4, 1)
    b = sampler.next_batch(10)
    c = sampler.next_batch(10)
    assert [len(a), len(b), len(c)] == [4, 10, 6]
    np.testing.assert_array_equal(np.sort(np.concatenate([a, b, c])), np.arange(20))
    assert sampler.epoch == 1


def test_full_batch():
    sampler = BatchSampler(12, shuffle=True, rng=np.random.default_rng(2))
    for epoch in range(3):
        assert sampler.epoch == epoch
        batch = sampler.next_batch(1000)
        np.testing.assert_array_equal(np.sort(batch), np.arange(12))
    assert sampler.epoch == 3
    one = BatchSampler(1, shuffle=True, rng=np.random.default_rng(0))
    assert one.next_batch(10).tolist() == [0] and one.epoch == 1


def test_state_dict_round_trip_continues_identically():
    rng = np.random.default_rng(3)
    sampler = BatchSampler(17, shuffle=True, rng=rng)
    for _ in range(6):
        sampler.next_batch(4)  # 4+4+4+4+1 ends epoch 0, then one batch into epoch 1
    state, rng_state = sampler.state_dict(), rng.bit_generator.state
    expected = [sampler.next_batch(size).tolist() for size in (4, 3, 9, 9, 2)]

    restored_rng = np.random.default_rng(99)
    restored_rng.bit_generator.state = rng_state
    restored = BatchSampler(17, shuffle=True, rng=restored_rng)
    restored.load_state_dict(state)
    assert (restored.epoch, restored.steps_in_epoch, restored.cursor) == (1, 1, 4)
    assert [restored.next_batch(size).tolist() for size in (4, 3, 9, 9, 2)] == expected

    boundary = BatchSampler(4, shuffle=True, rng=np.random.default_rng(0))
    boundary.next_batch(4)
    assert boundary.state_dict()["permutation"] is None
    at_boundary = BatchSampler(4, shuffle=True, rng=np.random.default_rng(5))
    at_boundary.load_state_dict(boundary.state_dict())
    assert len(at_boundary.next_batch(2)) == 2 and (at_boundary.epoch, at_boundary.steps_in_epoch) == (1, 1)
    with pytest.raises(ConfigError):
        BatchSampler(5, shuffle=True, rng=rng).load_state_dict(state)


def test_bad_batch_size():
    with pytest.raises(ConfigError) as error:
        BatchSampler(3, shuffle=False, rng=np.random.default_rng(0)).next_batch(0)
    assert error.value.field == "batch_size"


# ----------------------------------------------------------------------------------------------------- CSV


def csv_error(text: str, **kwargs) -> str:
    with pytest.raises(ConfigError) as error:
        parse_csv(text, **kwargs)
    assert error.value.field in ("dataset.csv", "dataset.target")
    return error.value.reason


def test_names_that_cannot_be_shown_are_refused_in_a_header_and_in_a_config():
    """Column and class names are shown to everyone who watches the run: no control characters and no
    bidirectional overrides (engine/text.py), in a CSV header as in a config."""
    assert "U+0007 at character 2" in csv_error("x\x07,label\n1,0\n")
    assert "bidirectional" in csv_error("x1,\u202elabel\n1,0\n")
    with pytest.raises(ValidationError, match="U\\+2066 at character 1"):
        RunConfig.model_validate({"dataset": {"kind": "custom", "class_names": ["\u2066a", "b"]}})
    assert parse_csv("höhe,标签\n1,0\n").columns == ["höhe"]  # any script is a name


def test_a_ragged_first_row_is_reported_as_a_ragged_row():
    assert csv_error("a,b,label\n0,0,0,9\n1,1,1\n") == "row 2 has 4 values, the header has 3"
    assert csv_error("a,b,label\n0,0\n1,1,1\n") == "row 2 has 2 values, the header has 3"
    assert parse_csv("a;b;label\n1,5;2;0\n").X.tolist() == [[1.5, 2.0]]  # decimal commas still sniffed


def test_parse_csv_basic_and_tolerances():
    text = "\ufeff x1 , x2 ,label\n1, 2 ,0\n\n  3.5,-4e-1, 1 \n"
    table = parse_csv(text)
    np.testing.assert_array_equal(table.X, [[1.0, 2.0], [3.5, -0.4]])
    np.testing.assert_array_equal(table.y, [0.0, 1.0])
    assert table.columns == ["x1", "x2"] and table.X.dtype == table.y.dtype == np.float64
    assert table.target_name == "label" and table.class_names is None
    table = parse_csv("a,b,c\r\n1,2,3\r\n4,5,6", target="a")
    np.testing.assert_array_equal(table.X, [[2, 3], [5, 6]])
    np.testing.assert_array_equal(table.y, [1, 4])
    assert table.columns == ["b", "c"] and table.target_name == "a"
    table = parse_csv('"a","b","c"\n1,2,3\n', target=1)
    assert table.columns == ["a", "c"] and table.y.tolist() == [2.0]
    assert parse_csv("a,b,c\n1,2,3\n", target=-1).columns == ["a", "b"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_parse_csv_sniffs_the_delimiter(delimiter):
    text = delimiter.join(["height", "weight", "kind"]) + "\n"
    text += "".join(delimiter.join([f"{i}.5", f"-{i}", str(i % 2)]) + "\n" for i in range(4))
    table = parse_csv(text)
    assert table.columns == ["height", "weight"] and table.target_name == "kind"
    np.testing.assert_array_equal(table.X[:, 0], [0.5, 1.5, 2.5, 3.5])
    np.testing.assert_array_equal(table.y, [0, 1, 0, 1])


def test_parse_csv_reads_semicolon_files_with_decimal_commas():
    table = parse_csv("a;b;y\n1,5;-2,25;0\n3;4e-1;1,5\n")
    np.testing.assert_array_equal(table.X, [[1.5, -2.25], [3.0, 0.4]])
    np.testing.assert_array_equal(table.y, [0.0, 1.5])


def test_parse_csv_keeps_a_quoted_comma_inside_a_name():
    table = parse_csv('"size, cm",weight,y\n1,2,0\n3,4,1\n')
    assert table.columns == ["size, cm", "weight"]


def test_string_labels_become_sorted_class_indices_with_their_names():
    text = "petal;sepal;species\n1;2;virginica\n3;4;setosa\n5;6;versicolor\n7;8;setosa\n"
    table = parse_csv(text)
    assert table.class_names == ["setosa", "versicolor", "virginica"]
    np.testing.assert_array_equal(table.y, [2, 0, 1, 0])
    assert table.dataset()["task"] == "classification"
    assert table.dataset()["class_names"] == ["setosa", "versicolor", "virginica"]
    # The order does not depend on the rows' order; numbers among words sort first, by value.
    assert parse_csv("x,y\n1,yes\n2,no\n").class_names == ["no", "yes"]
    assert parse_csv("x,y\n1,b\n2,10\n3,9\n").class_names == ["9", "10", "b"]


def test_numeric_labels_stay_as_they_are():
    table = parse_csv("x,y\n1,3\n2,0\n3,7\n")
    assert table.class_names is None and table.y.tolist() == [3.0, 0.0, 7.0]
    assert "task" not in table.dataset()


def test_string_label_errors():
    assert "one class label" in csv_error("x,y\n1,cat\n2,cat\n")
    many = "x,y\n" + "".join(f"{i},c{i}\n" for i in range(101))
    assert "101 class labels" in csv_error(many)
    # Fractions beside a word: a typo in a regression target, said as such.
    reason = csv_error("x,y\n1,0.5\n2,1.25\n3,oops\n")
    assert "row 4" in reason and "'oops' is not a number" in reason


def test_csv_errors_name_row_and_column():
    assert csv_error("x1,x2,y\n1,2,0\n1,2\n") == "row 3 has 2 values, the header has 3"
    reason = csv_error("x1,x2,y\n1,2,0\n3,abc,1\n")
    assert "row 3" in reason and "'x2'" in reason and "'abc'" in reason
    for bad in ("nan", "inf", "-Infinity"):
        reason = csv_error(f"x1,x2,y\n1,2,0\n1,2,0\n4,5,{bad}\n")
        assert "row 4" in reason and "'y'" in reason and "finite" in reason
    assert "row 2" in csv_error("x1,x2,y\n1,,0\n") and "empty" in csv_error("x1,x2,y\n1,,0\n")
    assert "empty" in csv_error("")
    assert "empty" in csv_error(" \n\n")
    assert "no data rows" in csv_error("x1,y\n")
    assert "header" in csv_error("1,2,3\n4,5,6\n")
    assert "two columns" in csv_error("y\n1\n")
    assert "twice" in csv_error("a,a,y\n1,2,3\n")
    assert "no column named" in csv_error("a,b\n1,2\n", target="c")
    assert "out of range" in csv_error("a,b\n1,2\n", target=2)


def test_csv_row_limit():
    body = "1,0\n" * MAX_ROWS
    table = parse_csv("x,y\n" + body)
    X, y = table.X, table.y
    assert X.shape == (MAX_ROWS, 1) and y.shape == (MAX_ROWS,)
    assert "rows" in csv_error("x,y\n" + body + "1,0\n")


def test_csv_column_and_value_limits():
    row = ",".join(["0"] * 785)
    header = ",".join(f"p{i}" for i in range(784)) + ",label"
    table = parse_csv(header + "\n" + "\n".join([row] * 2000))
    assert table.X.shape == (2000, 784) and table.y.shape == (2000,) and len(table.columns) == 784
    wide = ",".join(f"c{i}" for i in range(MAX_COLUMNS + 1))
    assert "1025 columns" in csv_error(wide + "\n" + ",".join(["1"] * (MAX_COLUMNS + 1)) + "\n")
    full = ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    rows = MAX_VALUES // MAX_COLUMNS + 1
    assert "values" in csv_error(full + "\n" + "\n".join([",".join(["1"] * MAX_COLUMNS)] * rows))


# ------------------------------------------------------------------------------------------- inline custom


def inline_error(X, y) -> ConfigError:
    with pytest.raises(ConfigError) as error:
        validate_custom(X, y)
    return error.value


def test_validate_custom_accepts_lists_and_arrays():
    X, y = validate_custom([[1, 2], [3, 4]], [0, 1])
    assert X.dtype == y.dtype == np.float64 and X.shape == (2, 2) and y.shape == (2,)
    X, y = validate_custom(np.ones((MAX_ROWS, 1)), np.zeros(MAX_ROWS))
    assert X.shape == (MAX_ROWS, 1)


def test_validate_custom_errors():
    error = inline_error([[1, 2], [3]], [0, 1])
    assert error.field == "dataset.X" and "row 1" in error.reason
    assert inline_error([1, 2], [0, 1]).field == "dataset.X"
    assert inline_error([], []).field == "dataset.X"
    assert inline_error([[1], [2]], [0]).field == "dataset.y"
    assert inline_error([[1], [2]], [[0], [1]]).field == "dataset.y"
    error = inline_error([[1, 2], [3, np.nan]], [0, 1])
    assert error.field == "dataset.X" and "row 1, column 1" in error.reason
    assert inline_error([[1], [2]], [0, np.inf]).field == "dataset.y"
    assert inline_error([["a"], [2]], [0, 1]).field == "dataset.X"
    assert "rows" in inline_error(np.ones((MAX_ROWS + 1, 1)), np.zeros(MAX_ROWS + 1)).reason
    assert "columns" in inline_error(np.ones((2, MAX_COLUMNS + 1)), np.zeros(2)).reason
    assert "values" in inline_error(np.ones((2000, 1001)), np.zeros(2000)).reason
