"""Pydantic models of the teaching endpoints: step-through, textbook examples, gradient check sweep, gradient
health, presets, optimizer comparisons and learning-rate sweeps (routes_teaching.py).

The large engine answers (a step's trace, a gradient check) are in trace_schemas.py.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from ...engine.config import FiniteFloat, OptimizerConfig, RunConfig
from ..errors import relocated
from ..runs.schemas import DisplayLabel, Number, RunOut, StepsPerSecond
from .limits import MAX_COMPARISON_RUNS
from .trace_schemas import StepTrace, Thresholds

MAX_SWEEP_LRS = 12
MAX_SWEEP_STEPS = 5_000
SweepStatus = Literal["converged", "stalled", "diverged"]
LearningRate = Annotated[FiniteFloat, Field(gt=0.0, le=1e4)]
RACE_PACE = 300  # steps a second every racer of a comparison plays at, unless its play says otherwise


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- textbook


class GraphNode(_Model):
    id: str
    kind: Literal["input", "operation"]
    expression: str
    local: dict[str, float] = Field(description="∂node/∂parent for each parent")
    value: float
    grad: float = Field(description="dJ/d(node) by the chain rule")
    chain: str


class GraphEdge(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    source: str = Field(alias="from")
    to: str
    local: float


class ExpressionGraph(_Model):
    """J(a, b, c) = 3(a + bc) with its forward values and reverse-mode derivatives."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "expression": "J(a, b, c) = 3(a + bc)",
                    "source": "Andrew Ng, Deep Learning Specialization",
                    "nodes": [
                        {
                            "id": "b",
                            "kind": "input",
                            "expression": "b",
                            "local": {},
                            "value": 3.0,
                            "grad": 6.0,
                            "chain": "dJ/db = dJ/du · du/db = 3 × 2 = 6",
                        }
                    ],
                    "edges": [{"from": "b", "to": "u", "local": 2.0}],
                    "forward": ["a", "b", "c", "u", "v", "J"],
                    "backward": ["J", "v", "u", "c", "b", "a"],
                }
            ]
        },
    )
    expression: str
    source: str
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    forward: list[str]
    backward: list[str]


class TextbookNetwork(_Model):
    """The 1-1-1 sigmoid network of the classic derivation, its RunConfig and one step's full trace."""

    title: str
    source: str
    config: RunConfig = Field(description="a RunConfig that creates this network as a run")
    trace: StepTrace


# ---------------------------------------------------------------- gradient check sweep and health


class HSweepPoint(_Model):
    h: float
    relative_error: Number = Field(description="‖backprop − numerical‖ / (‖backprop‖ + ‖numerical‖)")


class HSweep(_Model):
    """The overall relative error of the central difference for each step size h: a V with its floor
    near h ≈ 1e-5 (truncation error grows as h² to the right, round-off as 1/h to the left)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "samples": 8,
                    "points": [
                        {"h": 0.1, "relative_error": 3e-3},
                        {"h": 1e-5, "relative_error": 2e-10},
                        {"h": 1e-10, "relative_error": 4e-6},
                    ],
                    "thresholds": {"ok": 1e-7, "warning": 1e-4},
                }
            ]
        },
    )
    samples: int
    points: list[HSweepPoint]
    thresholds: Thresholds


class Histogram(_Model):
    edges: list[Number] = Field(description="bin edges (one more than counts)")
    counts: list[int]


class LayerSnapshot(_Model):
    weights: Histogram
    grads: Histogram = Field(description="of ∂L/∂W")
    dead_share: Number = Field(
        description="share of ReLU units with z ≤ 0 on every training row (null: not relu)"
    )


class HealthSnapshot(_Model):
    step: int
    layers: list[LayerSnapshot]


class LayerStats(_Model):
    """Steps that recorded per-layer statistics (every 10th) and, per step, one value per layer from the
    input side: ‖∂L/∂W‖, ‖W‖ and the update ratio ‖ΔW‖ / ‖W‖."""

    step: list[int]
    grad_norm: list[list[Number]]
    weight_norm: list[list[Number]]
    update_ratio: list[list[Number]]


class LayerInfo(_Model):
    layer: int
    fan_in: int
    fan_out: int
    activation: str


class HealthOut(_Model):
    """Gradient health over time: per-layer statistics from the history and histogram snapshots."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "run_id": "Qm3c1X9bq2W4eM2pYVv0mA",
                    "step": 200,
                    "layers": [{"layer": 0, "fan_in": 2, "fan_out": 8, "activation": "sigmoid"}],
                    "stats": {
                        "step": [1, 10, 20],
                        "grad_norm": [[3e-5, 0.12]],
                        "weight_norm": [[2.1, 1.3]],
                        "update_ratio": [[1e-6, 0.004]],
                    },
                    "dead_share": [None, None],
                    "every": 50,
                    "snapshots": [
                        {
                            "step": 1,
                            "layers": [
                                {
                                    "weights": {"edges": [-1.0, 0.0, 1.0], "counts": [3, 5]},
                                    "grads": {"edges": [-0.1, 0.0, 0.1], "counts": [4, 4]},
                                    "dead_share": None,
                                }
                            ],
                        }
                    ],
                }
            ]
        },
    )
    run_id: str
    step: int
    layers: list[LayerInfo]
    stats: LayerStats = Field(description="per-layer statistics over time")
    dead_share: list[Number] = Field(
        description="per layer, share of ReLU units with z ≤ 0 on every training row now (null: not relu)"
    )
    every: int = Field(description="steps between histogram snapshots (doubles as the log fills)")
    snapshots: list[HealthSnapshot] = Field(description="histograms of W and ∂L/∂W at recorded steps")


# ---------------------------------------------------------------- presets


class Preset(_Model):
    id: str
    title: str
    description: str
    config: RunConfig


class Presets(_Model):
    """Ready-made RunConfigs: POST one's ``config`` to /api/runs."""

    presets: list[Preset]


# ---------------------------------------------------------------- comparisons


class Racer(_Model):
    label: DisplayLabel
    optimizer: OptimizerConfig = Field(description="replaces the base config's optimizer for this racer")


class ComparisonCreate(_Model):
    """Several runs from one base config, differing only in the optimizer (and its hyperparameters)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "base": {"dataset": {"kind": "spiral", "noise": 0.1}, "model": {"hidden": [8, 8]}},
                    "racers": [
                        {"label": "SGD", "optimizer": {"name": "sgd", "lr": 0.03}},
                        {"label": "Momentum", "optimizer": {"name": "momentum", "lr": 0.03}},
                        {"label": "Adam", "optimizer": {"name": "adam", "lr": 0.01}},
                    ],
                }
            ]
        },
    )
    base: RunConfig = Field(default_factory=RunConfig)
    racers: list[Racer] = Field(min_length=2, max_length=MAX_COMPARISON_RUNS)

    @field_validator("racers")
    @classmethod
    def _distinct_labels(cls, racers: list[Racer]) -> list[Racer]:
        labels = [racer.label for racer in racers]
        if len(set(labels)) != len(labels):
            raise ValueError("racer labels must be distinct")
        return racers


class RacerOut(_Model):
    label: str
    run_id: str
    run: RunOut | None = Field(description="the racer's run (null once it was deleted)")


class ComparisonOut(_Model):
    """A comparison: its racers' runs (each streams over /ws/runs/{run_id})."""

    id: str
    identical_start: bool = Field(description="all racers started from bit-identical weights")
    racers: list[RacerOut]


class ComparisonControl(_Model):
    """What a control does to every racer: ``step`` gives each the same ``steps``; ``play`` plays each at the
    same ``steps_per_second``, so racers that train at different speeds (Adam costs more than SGD, racers may
    share a busy trainer) stay at one step, and first brings every racer up to the leader's step."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"steps_per_second": RACE_PACE}]}
    )
    steps: int = Field(1, ge=1, strict=True, description="step: optimizer steps for every racer")
    steps_per_second: StepsPerSecond | None = Field(
        RACE_PACE, description="play: every racer's pace; null plays each flat out (then they drift apart)"
    )


class ComparisonCreated(ComparisonOut):
    token: str | None = Field(
        None,
        description="only when the request carried no token: the new owner's bearer token, shown this once",
    )


# ---------------------------------------------------------------- learning-rate sweep


class LrRange(_Model):
    min: FiniteFloat = Field(gt=0.0, le=1e4)
    max: FiniteFloat = Field(gt=0.0, le=1e4)
    count: int = Field(ge=2, le=MAX_SWEEP_LRS)

    @model_validator(mode="after")
    def _ordered(self) -> LrRange:
        if self.max <= self.min:
            raise ValueError("max must be above min")
        return self


NOT_A_RANGE = ("model_type", "model_attributes_type", "dict_type")  # neither a list nor {min, max, count}


def _untagged(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Errors located as the request names them: pydantic puts the union's tag in the path ("lrs.list.1"),
    which is no field of the body ("lrs.1"); a value of neither shape says what the two shapes are."""
    try:
        return handler(value)
    except ValidationError as error:
        problems = error.errors()
        if len(problems) == 1 and len(problems[0]["loc"]) == 1 and problems[0]["type"] in NOT_A_RANGE:
            raise PydanticCustomError(
                "lrs", "must be a list of learning rates or {min, max, count}"
            ) from None
        raise relocated(error, lambda item: tuple(item["loc"][1:])) from None


LearningRates = Annotated[
    Annotated[list[LearningRate], Field(min_length=1, max_length=MAX_SWEEP_LRS), Tag("list")]
    | Annotated[LrRange, Tag("range")],
    Discriminator(lambda value: "list" if isinstance(value, list) else "range"),
    WrapValidator(_untagged),
]


class SweepRequest(_Model):
    """The same run (config, seed, initial weights) trained for ``steps`` at each learning rate."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"config": {"dataset": {"kind": "circle"}}, "lrs": {"min": 1e-4, "max": 100, "count": 7}},
                {"config": {}, "lrs": [0.001, 0.03, 1.0, 100.0], "steps": 300},
            ]
        },
    )
    config: RunConfig = Field(default_factory=RunConfig)
    lrs: LearningRates = Field(
        description="learning rates, or {min, max, count} spaced evenly on a log scale"
    )
    steps: int = Field(300, ge=1, le=MAX_SWEEP_STEPS, strict=True)


class SweepCurve(_Model):
    step: list[int]
    train_loss: list[Number]


class SweepResult(_Model):
    lr: float
    status: SweepStatus
    initial_loss: Number = Field(description="loss on the whole training set before training")
    final_loss: Number = Field(description="loss on the whole training set after training")
    steps_done: int
    message: str | None = None
    curve: SweepCurve = Field(description="mini-batch losses, downsampled")


class SweepOut(_Model):
    """Per learning rate: status by the stated rule, losses and the loss curve."""

    rule: str
    steps: int
    results: list[SweepResult]
