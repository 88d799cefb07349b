"""What a run will cost in memory, estimated from its config before anything is built, and the budgets
(per server, per identity) that a new run must fit in.

The estimate is an upper bound for the run at any age, in float64 bytes (8 per value):

- parameters P: weights, gradients, the step's backup and up to three optimizer states (Adam's m, v
  and AMSGrad's max) plus one temporary: 7·P values;
- activations of a mini-batch of B rows through layer widths w₀..w_L (z, a and the backward gradient):
  3·B·Σw; a whole-set evaluation over n rows: 2·n·Σw;
- the run's own data: its train/test split of the rows (n·d, plus targets n·o) and the input features
  when the data is 2-D (n·f);
- metric history at its caps: (HISTORY_ROWS + RECENT_ROWS)·(7 + 3L); the trajectory at its cap
  (min(1000, max(16, 4·10⁶ / P)) points of P values); health snapshots;
- a custom dataset's rows X (n·d) and targets y (n) are charged separately (:attr:`MemoryCost.data`):
  stored once by content hash and shared by every run that uses them, they count once per server and
  once per identity, however many runs use them.
"""

from __future__ import annotations

from dataclasses import dataclass

from ...engine.config import RunConfig
from ...engine.custom_data import CustomData
from ...engine.health import CAPACITY as HEALTH_SNAPSHOTS
from ...engine.history import DEFAULT_CAPACITY as HISTORY_ROWS
from ...engine.history import LAYER_COLUMNS, SCALAR_COLUMNS
from ...engine.history import RECENT_CAPACITY as RECENT_ROWS
from ...engine.trajectory import TRAJECTORY_CAPACITY, TRAJECTORY_MAX_VALUES
from ..errors import LimitError, TooManyRunsError
from ..store import Usage
from .limits import layer_sizes, parameter_estimate

FLOAT = 8  # bytes
OPTIMIZER_COPIES = 7  # W, grad, backup, three optimizer states, one temporary
HEALTH_SNAPSHOT_BYTES = 2_048  # per layer: two histograms and a share
RUN_OVERHEAD = 512 * 1024  # the objects around the arrays
MB = 1024 * 1024


@dataclass(frozen=True)
class MemoryCost:
    """Bytes a run needs for itself, and bytes of its custom dataset (0 for built-in data)."""

    run: int
    data: int = 0

    @property
    def total(self) -> int:
        return self.run + self.data


def memory_cost(config: RunConfig, data: CustomData | None = None) -> MemoryCost:
    """The estimate in the module docstring; custom rows inline in the config or held as ``data``."""
    dataset = config.dataset
    sizes = layer_sizes(config, data)
    parameters = parameter_estimate(config, data)
    widths = sum(sizes)
    layers = len(sizes) - 1
    if dataset.kind == "custom":
        X = data.X if data is not None else dataset.X if dataset.X is not None else [[0.0]]
        rows, raw = len(X), len(X[0]) if len(X) else 1
    else:
        rows, raw = dataset.samples, 2
    features = sizes[0] if raw == 2 else 0
    own_data = rows * (raw + sizes[-1] + 1 + features)
    history = (HISTORY_ROWS + RECENT_ROWS) * (len(SCALAR_COLUMNS) + len(LAYER_COLUMNS) * layers)
    trajectory = max(16, min(TRAJECTORY_CAPACITY, TRAJECTORY_MAX_VALUES // max(parameters, 1))) * parameters
    values = (
        OPTIMIZER_COPIES * parameters
        + 3 * min(config.batch_size, rows) * widths
        + 2 * rows * widths
        + own_data
        + history
        + trajectory
    )
    run = values * FLOAT + HEALTH_SNAPSHOTS * layers * HEALTH_SNAPSHOT_BYTES + RUN_OVERHEAD
    data_bytes = rows * (raw + 1) * FLOAT if dataset.kind == "custom" else 0
    return MemoryCost(run=run, data=data_bytes)


def check_budget(cost: MemoryCost, digest: str | None, usage: Usage, budget: int, whose: str) -> None:
    """Refuse a run that does not fit in ``budget`` next to ``usage``: 422 when it alone is too big, 429
    when the runs already there leave too little room (deleting some helps). ``whose`` names the budget
    ("this server", "your runs")."""
    field = "dataset" if cost.data > cost.run else "model.hidden"
    if cost.total > budget:
        raise LimitError(
            f"this run would need about {_mb(cost.total)} of memory; the budget of {whose} is {_mb(budget)}",
            field,
        )
    added = cost.run + (0 if digest is not None and digest in usage.datasets else cost.data)
    if usage.memory + added > budget:
        raise TooManyRunsError(
            f"this run would need about {_mb(added)} of memory and {whose} already use {_mb(usage.memory)} "
            f"of a {_mb(budget)} budget; delete a run first"
        )


def _mb(size: int) -> str:
    return f"{size / MB:,.0f} MB" if size >= 10 * MB else f"{size / MB:,.1f} MB"
