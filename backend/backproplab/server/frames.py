"""What WebSocket clients are sent: a per-run snapshot shared by every watcher, and per-client frames.

The training thread publishes an immutable :class:`Snapshot` of a watched run at about the fastest frame
rate its watchers asked for; each client's task reads the newest one when its own next frame is due
("latest value wins") and adds the metrics since its own previous frame from a bounded buffer of the
engine's metric rows. Heavy parts (params, grid, neuron grids) are JSON-encoded once per snapshot, not once
per client, and computed only while some client asks for them.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..engine.history import SCALAR_COLUMNS, downsample_rows, rows_to_columns
from .schemas import ViewMessage

DEFAULT_VIEW = ViewMessage(type="view")
EVALUATED = ("test_loss", "train_accuracy", "test_accuracy")


def dumps(value: Any) -> str:
    """Compact JSON that refuses NaN and Infinity (the engine hands over JSON-safe values)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True)
class Wants:
    """The union of what a run's watchers asked for: it decides what a snapshot computes."""

    grid: bool = False
    neurons: bool = False
    params: bool = False
    resolution: int = 40
    fps: int = 30

    @classmethod
    def of(cls, watchers: list[tuple[ViewMessage, int]]) -> Wants:
        if not watchers:
            return cls()
        return cls(
            grid=any(view.grid for view, _ in watchers),
            neurons=any(view.grid and view.neurons for view, _ in watchers),
            params=any(view.params for view, _ in watchers),
            resolution=max(view.resolution for view, _ in watchers),
            fps=max(fps for _, fps in watchers),
        )


@dataclass(frozen=True)
class Snapshot:
    """A run's state at one moment, ready to be cut into frames."""

    version: int
    step: int
    epoch: int
    status: str
    message: str | None
    lr: float | None
    latest_json: str
    params_json: str | None
    grid_json: str | None
    neurons_json: str | None
    metrics: tuple[np.ndarray, ...]
    n_layers: int
    # Frames already cut from this snapshot, by (the client's previous step, what it views): clients that
    # watch the same run in step share one encoding. Touched only on the event loop.
    frames: dict[tuple, str] = field(default_factory=dict, compare=False)

    def frame_for(self, since_step: int, view: ViewMessage, cap: int) -> str:
        """The frame for a client whose previous frame showed ``since_step``."""
        key = (since_step, view.params, view.grid, view.neurons)
        text = self.frames.get(key)
        if text is None:
            text = frame_text(self, metrics_since(self.metrics, since_step, cap, self.n_layers), view)
            self.frames[key] = text
        return text


class MetricsBuffer:
    """The last ``capacity`` or so metric rows (engine ``history_rows`` blocks), and the latest values.

    ``latest`` follows the engine's ``Run.latest()``: step, epoch, lr and train loss of the newest row, the
    evaluated metrics from the newest row that has them. It is updated from the rows as they arrive.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.blocks: deque[np.ndarray] = deque()
        self.rows = 0
        self.last_step = 0
        self.latest: dict[str, Any] | None = None

    def clear(self, step: int = 0) -> None:
        self.blocks.clear()
        self.rows = 0
        self.last_step = step
        self.latest = None

    def add(self, rows: np.ndarray) -> bool:
        """Append rows with step > last_step; False if they do not continue the buffer (a gap)."""
        if not len(rows):
            return True
        contiguous = int(rows[0, 0]) == self.last_step + 1
        self.blocks.append(rows)
        self.rows += len(rows)
        self.last_step = int(rows[-1, 0])
        while self.blocks and self.rows - len(self.blocks[0]) >= self.capacity:
            self.rows -= len(self.blocks.popleft())
        if not contiguous or self.latest is None:
            return False
        latest = dict(self.latest)
        last = rows[-1]
        for index, name in enumerate(SCALAR_COLUMNS):
            if name in EVALUATED:
                finite = rows[:, index][np.isfinite(rows[:, index])]
                if len(finite):
                    latest[name] = float(finite[-1])
            elif name in ("step", "epoch"):
                latest[name] = int(last[index])
            else:
                latest[name] = _number(last[index])
        self.latest = latest
        return True


def metrics_since(blocks: tuple[np.ndarray, ...], step: int, cap: int, n_layers: int) -> dict[str, Any]:
    """Every buffered row with step > ``step`` as protocol columns; past ``cap`` rows an even downsample
    that keeps the first, the latest and the minimum train loss, with ``stride`` saying how sparse it is."""
    pieces = []
    for block in reversed(blocks):  # newest first: a client usually needs only the last block or two
        if block[-1, 0] <= step:
            break
        pieces.append(block)
    if not pieces:
        return {"step": [], "stride": 1}
    pieces.reverse()
    first = pieces[0]
    pieces[0] = first[np.searchsorted(first[:, 0], step, side="right") :]
    rows = np.concatenate(pieces) if len(pieces) > 1 else pieces[0]
    stride = 1
    if len(rows) > cap:
        stride = math.ceil(len(rows) / cap)
        rows = downsample_rows(rows, cap)
    columns = rows_to_columns(rows, n_layers)
    columns["stride"] = stride
    return columns


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def frame_text(snapshot: Snapshot, metrics: dict[str, Any], view: ViewMessage) -> str:
    """The ``frame`` message for one client, splicing in the snapshot's pre-encoded parts."""
    head = {
        "type": "frame",
        "step": snapshot.step,
        "epoch": snapshot.epoch,
        "status": snapshot.status,
        "message": snapshot.message,
        "lr": snapshot.lr,
        "metrics": metrics,
    }
    parts = [dumps(head)[:-1], ',"latest":', snapshot.latest_json]
    if view.params and snapshot.params_json is not None:
        parts += [',"params":', snapshot.params_json]
    if view.grid and snapshot.grid_json is not None:
        grid = snapshot.grid_json
        if view.neurons and snapshot.neurons_json is not None:
            grid = f'{grid[:-1]},"neurons":{snapshot.neurons_json}}}'
        parts += [',"grid":', grid]
    parts.append("}")
    return "".join(parts)
