"""Incremental checkpoints: a small core rewritten each time, and the growing logs appended in chunks.

A run's full state (:meth:`Run.to_bytes`) grows with its age, because of three bounded but large logs:
the metric history, the parameter trajectory and the health snapshots. A checkpoint instead carries

- ``core``: everything else — config (custom data by its content hash), weights, gradients, optimizer
  and scheduler state, the batch generator and sampler, counters, the stopped-learning monitor, the
  logs' bookkeeping, and the history's newest row (it still stands in for the latest step and may
  change) — whose size does not depend on the run's age;
- ``logs[name]``: for each log, the bytes of what was appended since the last checkpoint's ``mark``
  (b"" when nothing was), and ``replace``, the logs that were compacted (halved, thinned) or restarted
  since then, whose stored chunks must be dropped before this one is appended.

The caller stores the core (replacing the last) and each log's chunks in order. A compaction rewrites a
log whole, but compactions get rarer as a run ages (each doubles the log's stride), so the bytes per
checkpoint, averaged over a run, stay flat. :func:`restore` rebuilds the run from the core and every
stored chunk; it continues bit for bit, and its stored history equals the original's (its recent
full-resolution ring is refilled from the stored rows).

    checkpoint = run.checkpoint(mark)          # mark: None the first time, then checkpoint.mark
    store.core = checkpoint.core
    for name in checkpoint.replace: store.logs[name] = []
    for name, chunk in checkpoint.logs.items(): store.logs[name].append(chunk)
    run = Run.restore(store.core, store.logs, data)   # data: the CustomData its content hash names
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from . import serialize
from .custom_data import CustomData
from .errors import ConfigError
from .health import packed_snapshots, unpacked_snapshots
from .history import MetricHistory
from .run_state import core_state, load_core_state, saved_config

if TYPE_CHECKING:
    from .run import Run

LOG_NAMES = ("history", "trajectory", "health")


@dataclass(frozen=True)
class CheckpointMark:
    """Where the last checkpoint left each log: the run's build, then per log (compactions, length)."""

    generation: int
    history: tuple[int, int]
    trajectory: tuple[int, int]
    health: tuple[int, int]


@dataclass(frozen=True)
class Checkpoint:
    """One checkpoint: the core, each log's new chunk, the logs to rewrite, and the mark for next time."""

    core: bytes
    logs: dict[str, bytes]
    replace: frozenset[str]
    mark: CheckpointMark


def take_checkpoint(run: Run, mark: CheckpointMark | None) -> Checkpoint:
    """The checkpoint of ``run`` after ``mark`` (None: everything, as the first time)."""
    history, trajectory, health = run.metric_history, run.trajectory, run.health
    now = CheckpointMark(
        generation=run._generation,
        history=(history.compactions, history.settled()),
        trajectory=(trajectory.compactions, trajectory.count),
        health=(health.compactions, len(health.snapshots)),
    )
    logs: dict[str, bytes] = {}
    replace = set()
    for name in LOG_NAMES:
        compactions, end = getattr(now, name)
        start = 0
        if mark is not None and mark.generation == now.generation and getattr(mark, name)[0] == compactions:
            start = getattr(mark, name)[1]
        else:
            replace.add(name)
        logs[name] = _chunk(run, name, start, end) if end > start else b""
    tail = history.stored()[history.settled() :].copy()  # the newest row, which may still change
    core = {
        **core_state(run),
        "history": {**history.meta(), "tail": tail},
        "trajectory": {
            "stride": trajectory.stride,
            "compactions": trajectory.compactions,
            "capacity": trajectory.capacity,
        },
        "health": {"every": health.every, "compactions": health.compactions, "capacity": health.capacity},
    }
    return Checkpoint(serialize.pack(core), logs, frozenset(replace), now)


def _chunk(run: Run, name: str, start: int, end: int) -> bytes:
    if name == "history":
        return serialize.pack({"rows": run.metric_history.stored()[start:end].copy()})
    if name == "trajectory":
        trajectory = run.trajectory
        return serialize.pack(
            {"steps": trajectory.steps[start:end].copy(), "points": trajectory.points[start:end].copy()}
        )
    return serialize.pack({"packed": packed_snapshots(run.health.snapshots[start:end])})


def restore(cls: type[Run], core: bytes, logs: dict[str, list[bytes]], data: CustomData | None) -> Run:
    """The run a checkpoint's ``core`` and every stored chunk of each log (in order) describe."""
    state = serialize.unpack(core)
    if "tail" not in state.get("history", {}):
        raise ConfigError("state", "this is not a checkpoint's core (use Run.from_bytes for a full state)")
    config, _ = saved_config({**state, "custom_data": None})
    run = cls(config, data)
    load_core_state(run, state)
    chunks = {name: [serialize.unpack(chunk) for chunk in logs.get(name, []) if chunk] for name in LOG_NAMES}
    width = run.metric_history.width
    rows = [np.asarray(chunk["rows"]).reshape(-1, width) for chunk in chunks["history"]]
    rows.append(np.asarray(state["history"]["tail"]).reshape(-1, width))
    history_state: dict[str, Any] = {**state["history"], "rows": np.concatenate(rows)}
    run.metric_history = MetricHistory.from_state_dict(len(run.network.layers), history_state)
    size = run.network.parameter_count()
    run.trajectory.load_state_dict(
        {
            **state["trajectory"],
            "steps": np.concatenate(
                [np.zeros(0, np.int64), *(chunk["steps"] for chunk in chunks["trajectory"])]
            ),
            "points": np.concatenate(
                [np.zeros((0, size)), *(chunk["points"] for chunk in chunks["trajectory"])]
            ),
        }
    )
    # NOTE: chunks saved before the snapshots were packed hold them as they are.
    snapshots = [
        snapshot
        for chunk in chunks["health"]
        for snapshot in (unpacked_snapshots(chunk["packed"]) if "packed" in chunk else chunk["snapshots"])
    ]
    run.health.load_state_dict({**state["health"], "snapshots": snapshots})
    return run
