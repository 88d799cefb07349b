"""Bounded per-step metrics: every step up to a cap, then a downsampled record, plus a recent window.

A million-step run must not grow memory without limit. ``MetricHistory`` stores rows in preallocated
float64 columns. When the columns are full it halves them, keeping every other row, and doubles its
``stride``, so later steps are recorded only on multiples of the stride. Some rows always survive a
halving: the newest, the one with the lowest train loss, and the first divergence. A separate ring of the
last ``recent_capacity`` steps keeps full resolution, so a live client still sees every step's loss since
its previous frame.

Missing values (test metrics between evaluations, per-layer statistics between samples) are NaN inside
and ``None`` in JSON.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .numbers import finite_list

SCALAR_COLUMNS = ("step", "epoch", "lr", "train_loss", "test_loss", "train_accuracy", "test_accuracy")
LAYER_COLUMNS = ("grad_norm", "weight_norm", "update_ratio")
DEFAULT_CAPACITY = 50_000
INITIAL_ROWS = 1_024  # storage doubles on demand up to the capacity, so an idle run stays small
RECENT_CAPACITY = 4_096


class MetricHistory:
    """Columns ``SCALAR_COLUMNS`` plus ``LAYER_COLUMNS`` × n_layers, with bounded memory."""

    def __init__(
        self, n_layers: int, capacity: int = DEFAULT_CAPACITY, recent_capacity: int = RECENT_CAPACITY
    ):
        self.n_layers = n_layers
        self.capacity = capacity
        self.width = len(SCALAR_COLUMNS) + len(LAYER_COLUMNS) * n_layers
        self.rows = np.full((min(capacity, INITIAL_ROWS), self.width), np.nan)
        self.size = 0
        self.stride = 1
        self.recent = np.full((recent_capacity, self.width), np.nan)
        self.recent_size = recent_capacity
        self.recent_count = 0  # rows ever written to the ring
        self._newest_step = -1  # the step of the newest stored row
        self.compactions = 0  # halvings so far: stored rows were dropped that many times
        self.min_loss_step = -1
        self.min_loss = math.inf
        self.first_divergence_step = -1
        self.total_steps = 0
        self._last_finite: dict[int, tuple[int, float | None]] = {}  # column: (recent_count, value)

    def record(self, row: np.ndarray, step: int, loss: float) -> None:
        """Append one step's row (length ``width``; ``step`` and ``loss`` are its row[0] and row[3])."""
        self.total_steps = step
        self.recent[self.recent_count % self.recent_size] = row
        self.recent_count += 1
        if loss < self.min_loss:
            self.min_loss, self.min_loss_step = loss, step
            self._append(row, step)
        elif step % self.stride == 0:
            self._append(row, step)
        elif self.size and not self._is_stride_step(self._newest_step):
            # Between stride points, the newest row stands in for the latest step (it is always present).
            self.rows[self.size - 1] = row
            self._newest_step = step
        else:
            self._append(row, step)

    def mark_divergence(self, step: int) -> None:
        """The run diverged after ``step``: that step's row (the newest) is kept through every halving.

        Only the first divergence is marked; a run that diverges again at the same step adds nothing.
        """
        if self.first_divergence_step < 0:
            self.first_divergence_step = step

    def _append(self, row: np.ndarray, step: int) -> None:
        if self.size >= self.capacity:
            self._halve()
        elif self.size == len(self.rows):
            grown = np.full((min(2 * len(self.rows), self.capacity), self.width), np.nan)
            grown[: self.size] = self.rows[: self.size]
            self.rows = grown
        self.rows[self.size] = row
        self.size += 1
        self._newest_step = step

    def _is_stride_step(self, step: int) -> bool:
        """Whether the row of ``step`` is kept for good: on the stride, the lowest loss, the divergence."""
        return step % self.stride == 0 or step == self.min_loss_step or step == self.first_divergence_step

    def _halve(self) -> None:
        """Double the stride and keep only rows on it, plus the protected ones and the newest."""
        self.stride *= 2
        self.compactions += 1
        steps = self.rows[: self.size, 0].astype(np.int64)
        keep = (
            (steps % self.stride == 0) | (steps == self.min_loss_step) | (steps == self.first_divergence_step)
        )
        keep[-1] = True
        kept = self.rows[: self.size][keep]
        self.rows[: len(kept)] = kept
        self.rows[len(kept) : self.size] = np.nan
        self.size = len(kept)

    def amend_newest(self, columns: slice, values: np.ndarray) -> None:
        """Write ``values`` into ``columns`` of the newest step's row, in the recent ring and, when it is
        stored, in the store: an evaluation made after the step was recorded."""
        latest = self.latest_row()
        if latest is None:
            return
        latest[columns] = values
        self._last_finite.clear()
        if self.size and self._newest_step == self.total_steps:
            self.rows[self.size - 1, columns] = values

    def fill_recent(self, rows: np.ndarray) -> None:
        """Put ``rows`` (oldest first) into the empty recent ring; only the last ``recent_size`` fit."""
        tail = rows[-self.recent_size :]
        self.recent[: len(tail)] = tail
        self.recent_count = len(tail)
        self._last_finite.clear()

    def latest_row(self) -> np.ndarray | None:
        if self.recent_count == 0:
            return None
        row: np.ndarray = self.recent[(self.recent_count - 1) % self.recent_size]
        return row

    def last_finite(self, column: int) -> float | None:
        """The newest finite value of ``column`` (None if there is none): evaluated metrics are NaN on the
        steps between evaluations, so this is the last evaluation's value. Remembered per column with the
        ring's write count, so a live frame looks only at the rows written since the previous call."""
        searched, value = self._last_finite.get(column, (-1, None))
        fresh = self.recent_count - searched
        if fresh == 0:
            return value
        if searched < 0 or fresh > self.recent_size:
            value = self._search_finite(column)
        else:
            newest = self.recent[(self.recent_count - 1 - np.arange(fresh)) % self.recent_size, column]
            hits = np.flatnonzero(np.isfinite(newest))
            if len(hits):
                value = float(newest[hits[0]])
        self._last_finite[column] = (self.recent_count, value)
        return value

    def _search_finite(self, column: int) -> float | None:
        """last_finite from scratch: the recent ring newest first (its last 64 rows, then all of it), then
        the stored rows, so the cost does not grow with the run's age."""
        size = min(self.recent_count, self.recent_size)
        for width in (min(64, size), size):
            values = self.recent[(self.recent_count - 1 - np.arange(width)) % self.recent_size, column]
            hits = np.flatnonzero(np.isfinite(values))
            if len(hits):
                return float(values[hits[0]])
        values = self.stored()[:, column]
        hits = np.flatnonzero(np.isfinite(values))
        return float(values[hits[-1]]) if len(hits) else None

    def recent_since(self, step: int) -> np.ndarray:
        """Full-resolution rows with step > ``step`` still in the recent ring (oldest first).

        Steps grow along the ring's write order, so a binary search over that order finds the first such
        row: a live frame copies only its new rows, never the whole ring."""
        low, high = self.recent_count - min(self.recent_count, self.recent_size), self.recent_count
        while low < high:
            middle = (low + high) // 2
            if self.recent[middle % self.recent_size, 0] > step:
                high = middle
            else:
                low = middle + 1
        return self.recent[np.arange(low, self.recent_count) % self.recent_size]

    def stored(self) -> np.ndarray:
        return self.rows[: self.size]

    def column_names(self) -> list[str]:
        names = list(SCALAR_COLUMNS)
        for column in LAYER_COLUMNS:
            names += [f"{column}_{layer}" for layer in range(self.n_layers)]
        return names

    def settled(self) -> int:
        """Stored rows that can no longer change but by a halving: all but the newest, which stands in for
        the latest step until the next stride point (what an incremental checkpoint may append)."""
        return max(self.size - 1, 0)

    def state_dict(self) -> dict[str, Any]:
        """The stored rows, the recent ring and :meth:`meta`."""
        return {"rows": self.stored().copy(), "recent": self.recent_since(-1), **self.meta()}

    def meta(self) -> dict[str, Any]:
        """Everything but the rows: what restores the rows' bookkeeping."""
        return {
            "stride": self.stride,
            "min_loss_step": self.min_loss_step,
            "min_loss": self.min_loss if math.isfinite(self.min_loss) else None,
            "first_divergence_step": self.first_divergence_step,
            "total_steps": self.total_steps,
            "capacity": self.capacity,
            "compactions": self.compactions,
        }

    @classmethod
    def from_state_dict(cls, n_layers: int, state: dict[str, Any]) -> MetricHistory:
        """The history :meth:`state_dict` described; without "recent", the ring is refilled from the rows."""
        history = cls(n_layers, capacity=int(state["capacity"]))
        rows = np.asarray(state["rows"], dtype=np.float64).reshape(-1, history.width)
        history.rows = np.full((max(len(rows), min(INITIAL_ROWS, history.capacity)), history.width), np.nan)
        history.rows[: len(rows)] = rows
        history.size = len(rows)
        history._newest_step = int(rows[-1, 0]) if len(rows) else -1
        recent = state.get("recent", rows)
        history.fill_recent(np.asarray(recent, dtype=np.float64).reshape(-1, history.width))
        history.compactions = int(state.get("compactions", 0))
        history.stride = int(state["stride"])
        history.min_loss_step = int(state["min_loss_step"])
        history.min_loss = math.inf if state["min_loss"] is None else float(state["min_loss"])
        history.first_divergence_step = int(state["first_divergence_step"])
        history.total_steps = int(state["total_steps"])
        return history


def rows_to_columns(rows: np.ndarray, n_layers: int) -> dict[str, Any]:
    """Rows → the protocol's columns: scalars as lists, per-layer values as [[layer0, layer1, ..], ..].

    NaN and ±inf become None, step and epoch stay ints (JSON never carries bare NaN or Infinity). A
    per-layer column is None at a step whose statistics were not sampled (most of them): a row counts as
    sampled for a column when any of its layers has a finite value there.

    # NOTE: a whole ``null`` instead of ``[null, null, ..]`` more than halves a live frame's size; boxing
    those NaNs one by one was most of the event loop's work while a client watched a fast run. The
    columns are converted together (a few numpy calls per frame, not a few per column: every watched
    run's every frame comes through here).
    """
    scalars = len(SCALAR_COLUMNS)
    columns: dict[str, Any] = dict(
        zip(SCALAR_COLUMNS[:2], rows[:, :2].T.astype(np.int64).tolist(), strict=True)
    )
    columns.update(zip(SCALAR_COLUMNS[2:], finite_list(rows[:, 2:scalars].T), strict=True))
    width = len(LAYER_COLUMNS)
    layers = rows[:, scalars : scalars + width * n_layers].reshape(len(rows), width, n_layers)
    sampled = np.isfinite(layers).any(axis=2)  # [row, column]
    picked = np.flatnonzero(sampled.any(axis=1))
    values = finite_list(layers[picked])  # [picked row][column][layer]
    picks = list(zip(picked.tolist(), values, sampled[picked].tolist(), strict=True))
    for index, name in enumerate(LAYER_COLUMNS):
        result: list[Any] = [None] * len(rows)
        for row, row_values, row_flags in picks:
            if row_flags[index]:
                result[row] = row_values[index]
        columns[name] = result
    return columns


def downsample_rows(rows: np.ndarray, max_points: int) -> np.ndarray:
    """Exactly ``max_points`` rows of more: evenly spaced, always keeping the first, the last and (from 3
    points) the minimum loss, which takes the place of one evenly spaced row when it is not one already."""
    if max_points <= 0 or len(rows) <= max_points:
        return rows

    def even(count: int) -> np.ndarray:
        return np.unique(np.linspace(0, len(rows) - 1, count).round().astype(np.int64))

    picks = even(max_points)
    losses = rows[:, 3]
    if max_points >= 3 and np.isfinite(losses).any():
        best = int(np.nanargmin(losses))
        if best not in picks:
            picks = np.union1d(even(max_points - 1), [best])
    kept: np.ndarray = rows[picks]
    return kept
