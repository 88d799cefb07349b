"""A run's frames on the web side: the mirror of its news, and each client's frame cut from it.

The trainer publishes a run's news (runs/item.py :class:`RunNews`) to this web process at the fastest
frame rate its watchers asked for; :class:`RunMirror` keeps the newest news and a bounded buffer of the
metric rows, and each client's frame is cut when its own next frame is due ("latest value wins"): every
row since that client's previous frame, plus the pre-encoded heavy parts its view asked for. Clients that
watch in step share one encoding.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np

from ...engine.history import downsample_rows, rows_to_columns
from ..encoding import dumps
from .news import RunNews
from .schemas import ViewMessage

DEFAULT_VIEW = ViewMessage(type="view")


class RunMirror:
    """The newest news of a run and its recent metric rows (about ``capacity`` of them)."""

    def __init__(self, capacity: int, frame_cap: int):
        self.capacity = capacity
        self.frame_cap = frame_cap
        self.blocks: deque[np.ndarray] = deque()
        self.rows = 0
        self.news: RunNews | None = None
        self.described = -1
        self.run_json: str | None = None
        self.frames: dict[tuple[Any, ...], str] = {}  # frames cut from the current news, shared

    def reset(self) -> None:
        self.blocks.clear()
        self.rows = 0
        self.news = None
        self.frames = {}

    def apply(self, news: RunNews, described: int) -> None:
        if len(news.rows):
            self.blocks.append(news.rows)
            self.rows += len(news.rows)
            while self.blocks and self.rows - len(self.blocks[0]) >= self.capacity:
                self.rows -= len(self.blocks.popleft())
        if news.run_json is not None:
            self.run_json, self.described = news.run_json, described
        self.news = news
        self.frames = {}

    def frame_for(self, since_step: int, view: ViewMessage) -> str | None:
        """The frame for a client whose previous frame showed ``since_step`` (None before any news)."""
        news = self.news
        if news is None:
            return None
        key = (since_step, view.params, view.grid, view.neurons)
        text = self.frames.get(key)
        if text is None:
            metrics = metrics_since(tuple(self.blocks), since_step, self.frame_cap, news.n_layers)
            text = self.frames[key] = frame_text(news, metrics, view)
        return text


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
    columns: dict[str, Any] = rows_to_columns(rows, n_layers)
    columns["stride"] = stride
    return columns


def frame_text(news: RunNews, metrics: dict[str, Any], view: ViewMessage) -> str:
    """The ``frame`` message for one client, splicing in the news' pre-encoded parts."""
    head = {
        "type": "frame",
        "step": news.step,
        "epoch": news.epoch,
        "status": news.status,
        "message": news.message,
        "lr": news.lr,
        "lr_next": news.lr_next,
        "learning": news.learning,
        "metrics": metrics,
    }
    parts = [dumps(head)[:-1], ',"latest":', news.latest_json]
    if view.params and news.params_json is not None:
        parts += [',"params":', news.params_json]
    if view.grid and news.grid_json is not None:
        grid = news.grid_json
        if view.neurons and news.neurons_json is not None:
            grid = f'{grid[:-1]},"neurons":{news.neurons_json}}}'
        parts += [',"grid":', grid]
    parts.append("}")
    return "".join(parts)
