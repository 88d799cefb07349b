"""MetricHistory (engine/history.py): bounded rows that keep the latest, the minimum and the divergence, the
recent ring read from a step on, and the newest finite value of an evaluated column; rows as the protocol's
columns."""

from __future__ import annotations

import numpy as np
import pytest

from backproplab.engine.history import (
    LAYER_COLUMNS,
    SCALAR_COLUMNS,
    MetricHistory,
    downsample_rows,
    rows_to_columns,
)


def test_history_stays_bounded_and_keeps_latest_minimum_and_divergence():
    history = MetricHistory(n_layers=1, capacity=64, recent_capacity=16)
    rng = np.random.default_rng(0)
    losses = rng.uniform(1.0, 2.0, 10_000)
    losses[1234] = 0.01
    for step, loss in enumerate(losses, start=1):
        row = np.full(history.width, np.nan)
        row[0], row[3] = step, loss
        history.record(row, step, loss)
        if step == 7777:
            history.mark_divergence(step)
    stored_steps = history.stored()[:, 0].astype(int)
    assert history.size <= 64 and history.stride > 1
    assert stored_steps[-1] == 10_000
    assert 1235 in stored_steps and 7777 in stored_steps
    assert list(history.recent_since(9_990)[:, 0].astype(int)) == list(range(9_991, 10_001))


@pytest.mark.parametrize("written", [0, 5, 16, 17, 40])
def test_recent_since_is_the_newer_rows_of_the_ring_in_order(written):
    """Checked against the plain definition (every ring row in write order, filtered), wrapped or not."""
    history = MetricHistory(n_layers=1, capacity=64, recent_capacity=16)
    for step in range(1, written + 1):
        row = np.full(history.width, np.nan)
        row[0] = step
        history.record(row, step, 1.0 / step)
    ring = [history.recent[i % 16] for i in range(max(written - 16, 0), written)]
    for since in range(-1, written + 2):
        expected = [row for row in ring if row[0] > since]
        np.testing.assert_array_equal(
            history.recent_since(since), np.array(expected).reshape(-1, history.width)
        )


def test_last_finite_follows_records_and_amendments_called_at_any_cadence():
    """Against a plain oracle (the newest finite value written), asked after every write or every few:
    evaluations on some steps, amendments of the newest row, a ring that wraps many times."""
    history = MetricHistory(n_layers=1, capacity=64, recent_capacity=16)
    rng = np.random.default_rng(3)
    test_loss, newest = 4, None
    for step in range(1, 400):
        row = np.full(history.width, np.nan)
        row[0], row[3] = step, 1.0
        if rng.random() < 0.05:
            row[test_loss] = newest = float(step)
        history.record(row, step, 1.0)
        if rng.random() < 0.03:
            history.amend_newest(slice(test_loss, test_loss + 1), np.array([-step], dtype=float))
            newest = -float(step)
        if rng.random() < 0.3 or step % 37 == 0:
            assert history.last_finite(test_loss) == newest, step


def test_last_finite_is_the_newest_evaluation_wherever_it_is_kept():
    history = MetricHistory(n_layers=1, capacity=64, recent_capacity=16)
    test_loss = 4  # SCALAR_COLUMNS: step, epoch, lr, train_loss, test_loss, ...
    assert history.last_finite(test_loss) is None
    for step in range(1, 5_001):
        row = np.full(history.width, np.nan)
        row[0], row[3] = step, 1.0
        if step % 37 == 0:  # evaluated now and then, on steps the downsampled store does not keep
            row[test_loss] = step / 1_000
        history.record(row, step, 1.0)
    assert history.last_finite(test_loss) == 4_995 / 1_000  # 4995 = 37 × 135, in the recent ring
    for step in range(5_001, 5_020):  # more steps than the ring holds, none evaluated
        row = np.full(history.width, np.nan)
        row[0], row[3] = step, 1.0
        history.record(row, step, 1.0)
    stored = history.stored()[:, test_loss]
    assert history.last_finite(test_loss) == stored[np.isfinite(stored)][-1]


def _value(number: float) -> float | None:
    return float(number) if np.isfinite(number) else None


@pytest.mark.parametrize("n_layers", [1, 3])
def test_rows_become_columns_element_by_element(n_layers):
    """Against the definition, one element at a time: scalars with None for NaN and ±inf, step and epoch
    as ints, a per-layer column None at a row with no finite value for it, else every layer's value."""
    rng = np.random.default_rng(n_layers)
    rows = rng.normal(size=(40, len(SCALAR_COLUMNS) + len(LAYER_COLUMNS) * n_layers))
    rows[:, 0], rows[:, 1] = np.arange(40) + 7, np.arange(40) // 10
    rows[rng.random(rows.shape) < 0.5] = np.nan  # evaluations and statistics at a cadence
    rows[:, 0], rows[:, 1] = np.arange(40) + 7, np.arange(40) // 10
    rows[3, 4], rows[5, len(SCALAR_COLUMNS)] = np.inf, -np.inf
    columns = rows_to_columns(rows, n_layers)
    assert columns["step"] == list(range(7, 47)) and columns["epoch"] == [row // 10 for row in range(40)]
    assert all(type(step) is int for step in columns["step"])
    for index, name in enumerate(SCALAR_COLUMNS[2:], start=2):
        assert columns[name] == [_value(number) for number in rows[:, index]], name
    for index, name in enumerate(LAYER_COLUMNS):
        start = len(SCALAR_COLUMNS) + index * n_layers
        block = rows[:, start : start + n_layers]
        expected = [[_value(number) for number in row] if np.isfinite(row).any() else None for row in block]
        assert columns[name] == expected, name
    assert rows_to_columns(rows[:0], n_layers) == {name: [] for name in (*SCALAR_COLUMNS, *LAYER_COLUMNS)}


@pytest.mark.parametrize("max_points", [2, 3, 4, 5, 10, 50, 199])
@pytest.mark.parametrize("best_at", [0, 77, 199])  # the minimum loss first, inside, last
def test_a_downsample_has_exactly_max_points_with_the_ends_and_the_minimum(max_points, best_at):
    rows = np.zeros((200, 4))
    rows[:, 0] = np.arange(1, 201)
    rows[:, 3] = 1.0 + np.arange(200) % 7
    rows[best_at, 3] = 0.5
    steps = downsample_rows(rows, max_points)[:, 0].tolist()
    assert len(steps) == max_points, steps
    assert steps[0] == 1 and steps[-1] == 200 and steps == sorted(set(steps))
    if max_points >= 3:
        assert best_at + 1 in steps
