"""Mini-batches over the training rows, as torch's DataLoader(shuffle=..., drop_last=False) hands them out.

An epoch is one pass over every training row. With ``shuffle`` each epoch walks a fresh permutation drawn
from the caller's generator when the epoch's first batch is requested; without it, rows go in their given
order. Batches are consecutive slices of that order; the last batch of an epoch holds whatever is left and
may be smaller. The batch size may change between calls: the next batch starts where the last one ended.
A batch size of at least ``n_rows`` is full-batch gradient descent (from the start of an epoch, one batch
of every row; from the middle of one, the rest of that epoch).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import ConfigError


class BatchSampler:
    """Row indices of successive mini-batches over ``n_rows`` training rows.

    Attributes:
        epoch: the number of the epoch the *next* batch belongs to, from 0. After the last batch of epoch 0
            it is 1, so it also counts completed epochs.
        steps_in_epoch: batches already drawn in epoch ``epoch`` (0 at the start of an epoch).
        cursor: position in the current epoch's order where the next batch starts.

    The generator belongs to the caller (the Run), which saves its state separately; this object's state
    is the current order, the cursor and the counters (:meth:`state_dict`).
    """

    def __init__(self, n_rows: int, shuffle: bool, rng: np.random.Generator):
        if n_rows < 1:
            raise ConfigError("dataset", "there must be at least one training row")
        self.n_rows = int(n_rows)
        self.shuffle = bool(shuffle)
        self.rng = rng
        self.epoch = 0
        self.steps_in_epoch = 0
        self.cursor = 0
        # The current epoch's row order; None until the epoch's first batch is requested.
        self._order: np.ndarray | None = None
        # The state before the last batch (cursor, epoch, steps in epoch, order, generator state if that
        # batch drew a new permutation), for undo.
        self._before: tuple[int, int, int, np.ndarray | None, Mapping[str, Any] | None] | None = None

    def next_batch(self, batch_size: int) -> np.ndarray:
        """The int64 row indices of the next mini-batch (a read-only view of the epoch's order)."""
        if batch_size < 1:
            raise ConfigError("batch_size", f"must be at least 1, got {batch_size}")
        drawing = self._order is None and self.shuffle
        rng_state = self.rng.bit_generator.state if drawing else None
        self._before = (self.cursor, self.epoch, self.steps_in_epoch, self._order, rng_state)
        if self._order is None:
            order = self.rng.permutation(self.n_rows) if self.shuffle else np.arange(self.n_rows)
            order.setflags(write=False)
            self._order = order
        stop = min(self.cursor + int(batch_size), self.n_rows)
        batch = self._order[self.cursor : stop]
        self.cursor = stop
        self.steps_in_epoch += 1
        if self.cursor == self.n_rows:
            self.epoch += 1
            self.steps_in_epoch = 0
            self.cursor = 0
            self._order = None
        return batch

    def undo(self) -> None:
        """Take the last batch back: the next call returns it again (a failed step is retried exactly).

        The generator is wound back too when that batch drew the epoch's permutation.
        """
        if self._before is None:
            raise RuntimeError("there is no batch to take back")
        self.cursor, self.epoch, self.steps_in_epoch, self._order, rng_state = self._before
        if rng_state is not None:
            self.rng.bit_generator.state = rng_state
        self._before = None

    def state_dict(self) -> dict[str, Any]:
        """JSON-ready state: the current order (or None between epochs), cursor and counters."""
        return {
            "n_rows": self.n_rows,
            "shuffle": self.shuffle,
            "permutation": None if self._order is None else self._order.tolist(),
            "cursor": self.cursor,
            "epoch": self.epoch,
            "steps_in_epoch": self.steps_in_epoch,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict`; the next batch is the one the saved sampler would have given."""
        if int(state["n_rows"]) != self.n_rows:
            raise ConfigError("batches", f"saved state is for {state['n_rows']} rows, not {self.n_rows}")
        order = state.get("permutation")
        if order is not None:
            order = np.asarray(order, dtype=np.int64)
            if order.shape != (self.n_rows,) or not np.array_equal(np.sort(order), np.arange(self.n_rows)):
                raise ConfigError("batches", "saved permutation is not a permutation of the rows")
        cursor = int(state["cursor"])
        if not 0 <= cursor < self.n_rows or (order is None and cursor != 0):
            raise ConfigError("batches", f"saved cursor {cursor} is out of range")
        self.shuffle = bool(state["shuffle"])
        self._order = order
        self.cursor = cursor
        self.epoch = int(state["epoch"])
        self.steps_in_epoch = int(state["steps_in_epoch"])
