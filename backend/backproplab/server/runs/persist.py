"""A run's checkpoint and restore through the store: the one place that knows the engine's persistence API.

The store writes a checkpoint as a ``core`` (rewritten each time) plus chunks appended to the run's logs
(store/base.py); the engine's incremental checkpoint gives exactly that (engine/checkpoint.py):
``run.checkpoint(mark)`` returns the core, what each log gained since ``mark`` (the mark of the last
checkpoint that was *saved*: a failed save keeps the old mark, so the next checkpoint carries everything
since), the logs to start over and the new mark; ``Run.restore(core, logs, data)`` continues the run bit
for bit. A core saved before incremental checkpoints is a whole state (``Run.to_bytes``): it is read with
``Run.from_bytes`` and the next checkpoint rewrites every log.
"""

from __future__ import annotations

from typing import Any

from ...engine.checkpoint import Checkpoint as EngineCheckpoint
from ...engine.custom_data import CustomData
from ...engine.errors import ConfigError
from ...engine.run import Run
from ..store import Saved


def snapshot(run: Run, mark: Any) -> EngineCheckpoint:
    """The run's checkpoint since ``mark`` (None: since nothing, i.e. everything)."""
    return run.checkpoint(mark)


def restore(saved: Saved, data: CustomData | None) -> tuple[Run, Any]:
    """The run a stored checkpoint describes, and the mark that says all of it is saved (raises if the
    checkpoint cannot be read)."""
    try:
        run = Run.restore(saved.core, saved.logs, data)
    except ConfigError as error:
        if error.field != "state" or saved.logs:
            raise
        return Run.from_bytes(saved.core), None  # a whole state: the next checkpoint rewrites every log
    # NOTE: the mark of a checkpoint taken now is where the stored logs end (this costs one packing of the
    # logs per load; the engine could expose the mark alone).
    return run, run.checkpoint(None).mark
