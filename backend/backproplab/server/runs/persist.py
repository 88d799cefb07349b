"""A run's checkpoint and restore through the store: the one place that knows the engine's persistence API.

The store writes a checkpoint as a ``core`` (rewritten each time) plus chunks appended to the run's logs,
so a checkpoint's cost need not grow with the run's age (store/base.py). The engine's incremental API
gives exactly that: ``run.checkpoint(mark)`` returns the core, what each log gained since ``mark`` (the
mark of the last checkpoint that was saved), the logs to start over, and the new mark; and
``Run.restore(core, logs)`` continues the run bit for bit.

# NOTE: adapter until that API is on main: a Run without ``checkpoint`` is saved whole (``to_bytes``
as the core, no logs) and restored with ``from_bytes``. Remove the fallback once the engine has it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...engine.run import Run
from ..store import Saved


@dataclass(frozen=True)
class Snapshot:
    """What one checkpoint writes, and the mark to pass to the next one once it is saved."""

    core: bytes
    logs: dict[str, bytes] = field(default_factory=dict)
    replace: frozenset[str] = frozenset()
    mark: Any = None


def snapshot(run: Run, mark: Any) -> Snapshot:
    """The run's checkpoint since ``mark`` (None: since nothing, i.e. everything)."""
    incremental = getattr(run, "checkpoint", None)
    if incremental is None:
        return Snapshot(run.to_bytes())
    taken = incremental(mark)
    return Snapshot(taken.core, dict(taken.logs), frozenset(taken.replace), taken.mark)


def restore(saved: Saved) -> tuple[Run, Any]:
    """The run a stored checkpoint describes, and the mark that says all of it is saved (raises if the
    checkpoint cannot be read)."""
    restore_from = getattr(Run, "restore", None)
    if restore_from is None:
        return Run.from_bytes(saved.core), None
    run: Run = restore_from(saved.core, saved.logs)
    return run, run.checkpoint(None).mark
