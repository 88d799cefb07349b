"""Pydantic models of the run protocol: REST bodies and responses, WebSocket messages in and out.

RunConfig (engine/config.py) is reused as is; this module holds everything else about runs. docs/protocol.md
describes the same shapes in words, and the tests validate live messages against these models.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from ...engine.config import FiniteFloat, OptimizerConfig, RunConfig
from ...engine.learning import IssueKind
from ...engine.text import display_text
from ..identities.access import Role
from ..partial import partial_of

Status = Literal["running", "paused", "diverged"]
Number = float | None  # JSON never carries NaN or Infinity: a non-finite value travels as null

RUN_EXAMPLE: dict[str, Any] = {
    "id": "Qm3c1X9bq2W4eM2pYVv0mA",
    "status": "paused",
    "message": None,
    "step": 120,
    "epoch": 4,
    "config": {
        "seed": 0,
        "dataset": {"kind": "circle", "samples": 500},
        "optimizer": {"name": "sgd", "lr": 0.03},
    },
    "resolved": {
        "task": "classification",
        "num_classes": 2,
        "sizes": [2, 4, 2, 1],
        "loss": "bce",
        "lr": 0.03,
    },
    "latest": {"step": 120, "epoch": 4, "train_loss": 0.41, "test_loss": 0.44, "test_accuracy": 0.78},
    "keep_training": False,
    "name": "Ada",
    "class": {"code": "K7M2QX", "name": "Period 3", "allowed": ["optimizer.lr", "optimizer.name"]},
    "rebuilt": None,
}
MAX_NAME = 80  # characters of a run's, a student's or a class's name
MAX_LABEL = 40  # characters of a racer's label (races, comparisons)

# Every free-text name a request gives (runs, students, classes, racers): one check (engine/text.py), two
# lengths.
DisplayName = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_NAME), AfterValidator(display_text)
]
DisplayLabel = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=MAX_LABEL), AfterValidator(display_text)
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassBadge(_Model):
    """The class a run belongs to, as its student sees it."""

    code: str = Field(description="the class's join code")
    name: str | None
    allowed: list[str] | None = Field(
        description="settings the student may change (dotted RunConfig paths); null: every setting"
    )


class RunConfigPatch(partial_of(RunConfig, "RunConfigPart")):  # type: ignore[misc]
    """Any part of a RunConfig (settings left out keep their values; null puts a setting back to its
    default)."""


class Hyperparameters(partial_of(OptimizerConfig, "OptimizerPart", exclude=frozenset({"name"}))):  # type: ignore[misc]
    """An optimizer's hyperparameters as RunConfig's optimizer names and bounds them (any subset; the rest
    keep torch's defaults)."""


class OptimizerInForce(partial_of(OptimizerConfig, "OptimizerConfigPart")):  # type: ignore[misc]
    """The optimizer's name and every hyperparameter it uses (torch's names and defaults)."""


class Learning(_Model):
    """The network stopped learning although it did not diverge, said for a student, with a fix."""

    kind: IssueKind
    message: str
    fix: RunConfigPatch | None = Field(description="any part of a RunConfig that should help (PATCH it)")
    reset: bool = Field(description="true when the fix needs a reset (PATCH, then POST /reset)")


class LrAhead(_Model):
    """The lr a future step will use under the schedule (if nothing is typed meanwhile)."""

    step: int
    lr: Number


class Latest(_Model):
    """The latest value of each scalar metric; evaluated ones (test loss, accuracies) from the last
    evaluation, null before there is one (accuracies: null for regression)."""

    step: int
    epoch: int
    lr: Number = Field(description="the lr of the last step (null before the first)")
    train_loss: Number = Field(description="the last step's training loss (null before the first)")
    test_loss: Number
    train_accuracy: Number
    test_accuracy: Number


class Resolved(_Model):
    """What the engine chose where the config left a default, and what the data turned out to be."""

    task: Literal["classification", "regression"]
    num_classes: int = Field(description="output classes (1 for regression)")
    input_size: int = Field(description="inputs the network sees (after the feature transform)")
    raw_input_size: int = Field(description="columns of the data")
    sizes: list[int] = Field(description="units per layer, inputs first")
    loss: str
    output_activation: str
    optimizer: OptimizerInForce
    lr: Number = Field(description="the lr the next step uses")
    lr_next: list[LrAhead] = Field(
        description="the schedule's lr 10, 100 and 1000 steps ahead ([]: it stays)"
    )
    train_size: int
    test_size: int
    input_names: list[str] = Field(description="the network's inputs (features of 2-D data, else columns)")
    raw_names: list[str] = Field(description="the data's column names")
    target_name: str
    class_names: list[str] | None
    extent: list[float] | None = Field(description="[xmin, xmax, ymin, ymax] of 2-D data's plot, else null")


class RunOut(_Model):
    """A run as the server reports it (REST responses and ``state.run`` on the WebSocket)."""

    model_config = ConfigDict(json_schema_extra={"examples": [RUN_EXAMPLE]}, populate_by_name=True)
    id: str = Field(description="unguessable, URL-safe")
    status: Status
    message: str | None = Field(description="why the run diverged, in words")
    step: int
    epoch: int
    config: RunConfig = Field(
        description="the RunConfig as set; a custom dataset's X and y are null here (GET /points has the rows)"
    )
    resolved: Resolved
    latest: Latest
    learning: Learning | None = Field(
        None,
        description="why the network stopped learning (dead units, flat loss, vanished gradients), or null",
    )
    keep_training: bool = Field(
        False, description="true: the run keeps playing when nobody watches it (else it pauses after a while)"
    )
    steps_per_second: int | None = Field(
        None, description="while it plays at a watchable pace: at most this many steps a second (else null)"
    )
    name: str | None = Field(None, description="a name its owner gave it (a student's name in a class)")
    class_: ClassBadge | None = Field(None, alias="class", description="the class it belongs to, if any")
    rebuilt: bool | None = Field(None, description="PATCH only: true when the change rebuilt the network")


class RunCreated(RunOut):
    """A new run (POST /api/runs, a fork, joining a class)."""

    token: str | None = Field(
        None,
        description="only when the request carried no token: the new owner's bearer token, shown this once",
    )


class RunMeta(_Model):
    """The parts of a PATCH body that are about the run, not its config."""

    name: DisplayName | None = Field(None, description="rename the run (null clears it)")
    keep_training: bool | None = Field(None, strict=True, description="keep playing when nobody watches")


class RunPatch(RunMeta, RunConfigPatch):
    """A PATCH body: any part of a RunConfig, and/or the run's name and keep_training."""


class StepRequest(_Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"steps": 100}]})
    steps: int = Field(
        1,
        ge=1,
        strict=True,
        description="optimizer steps to do now (at most the server's limit, 10,000 by default)",
    )


class LayerParams(_Model):
    W: list[list[Number]] = Field(
        description="shape (fan_in, fan_out): row = from-neuron, column = to-neuron"
    )
    b: list[Number]
    dW: list[list[Number]] = Field(  # noqa: N815 (the protocol's name)
        description="the last step's gradient of the loss with respect to W"
    )
    db: list[Number]
    activation: str | None = None


class Params(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"layers": [{"W": [[0.1, -0.2]], "b": [0.0, 0.0], "dW": [[0.01, 0.0]], "db": [0.0, 0.0]}]}
            ]
        }
    )
    layers: list[LayerParams]


class History(_Model):
    """Per-step metrics as columns of equal length (docs/protocol.md)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "step": [1, 2],
                    "epoch": [0, 0],
                    "lr": [0.03, 0.03],
                    "train_loss": [0.7, 0.69],
                    "test_loss": [0.71, None],
                    "train_accuracy": [0.5, None],
                    "test_accuracy": [0.48, None],
                    "grad_norm": [[0.1, 0.2], None],
                    "weight_norm": [[1.0, 1.1], None],
                    "update_ratio": [[0.003, 0.004], None],
                    "stride": 1,
                    "total_steps": 2,
                }
            ]
        }
    )
    step: list[int]
    epoch: list[int]
    lr: list[Number]
    train_loss: list[Number]
    test_loss: list[Number]
    train_accuracy: list[Number]
    test_accuracy: list[Number]
    grad_norm: list[list[Number] | None]
    weight_norm: list[list[Number] | None]
    update_ratio: list[list[Number] | None]
    stride: int = Field(description="engine history stride (> 1 once past its cap)")
    total_steps: int


class Rows(_Model):
    X: list[list[Number]] = Field(description="raw inputs, one row per point (before the feature transform)")
    y: list[Number] | list[list[Number]] = Field(description="targets: class labels or real values")


class Points(_Model):
    """The run's data: raw inputs (before the feature transform) and targets."""

    train: Rows
    test: Rows
    added: int = Field(
        0, description="the last `added` training points are the ones added by hand (dataset.extra)"
    )


# ---------------------------------------------------------------- WebSocket, client to server


class _Message(_Model):
    pass


MAX_STEPS_PER_SECOND = 100_000
StepsPerSecond = Annotated[int, Field(ge=1, le=MAX_STEPS_PER_SECOND, strict=True)]  # a pace to play at


class PlayRequest(_Model):
    """How fast to play: as fast as the trainer can (no pace), or at a pace a person can follow."""

    steps_per_second: StepsPerSecond | None = Field(
        None,
        description="at most this many steps a second (the dashboard's 1 step a frame is 30); none: flat out",
    )


class PlayMessage(_Message, PlayRequest):
    type: Literal["play"]


class PauseMessage(_Message):
    type: Literal["pause"]


class ResetMessage(_Message):
    type: Literal["reset"]


class AuthMessage(_Message):
    """Present a token (send it first): the socket may then change what the token's identity may."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=200)


class StepMessage(_Message):
    type: Literal["step"]
    steps: int = Field(1, ge=1, strict=True)


class SetMessage(_Message):
    type: Literal["set"]
    config: RunConfigPatch = Field(description="any part of a RunConfig")


class FpsMessage(_Message):
    type: Literal["fps"]
    fps: int = Field(ge=1, le=60, strict=True)


class ViewMessage(_Message):
    """What this client wants in its frames; heavy parts are computed only while someone wants them."""

    type: Literal["view"]
    grid: bool = Field(True, strict=True)
    neurons: bool = Field(False, strict=True)
    params: bool = Field(True, strict=True)
    resolution: int = Field(40, ge=2, le=200, strict=True)


class SetWeightMessage(_Message):
    type: Literal["set_weight"]
    layer: int
    row: int
    col: int
    value: FiniteFloat


class SetBiasMessage(_Message):
    type: Literal["set_bias"]
    layer: int
    index: int
    value: FiniteFloat


ClientMessage = Annotated[
    AuthMessage
    | PlayMessage
    | PauseMessage
    | ResetMessage
    | StepMessage
    | SetMessage
    | FpsMessage
    | ViewMessage
    | SetWeightMessage
    | SetBiasMessage,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------- WebSocket, server to client


class GridOut(BaseModel):
    """Decision boundary over the input plane: base64 uint8 cells, row 0 = lowest x2 (docs/protocol.md)."""

    resolution: int
    extent: list[float]
    output: dict[str, Any]
    classes: str | None = None
    neurons: list[list[dict[str, Any]]] | None = None


class StateMessage(_Model):
    type: Literal["state"]
    run: RunOut
    history: History
    params: Params
    grid: GridOut | None
    points: Points | None = Field(None, description="the data, for 2-input datasets")


class FrameMessage(_Model):
    type: Literal["frame"]
    step: int
    epoch: int
    status: Status
    message: str | None
    lr: Number
    lr_next: list[LrAhead] = Field(
        default_factory=list, description="the schedule's lr 10, 100 and 1000 steps ahead ([]: it stays)"
    )
    learning: Learning | None = None
    metrics: dict[str, Any] = Field(description="every step since this client's previous frame (columns)")
    latest: Latest
    params: Params | None = None
    grid: GridOut | None = None


class RunMessage(_Model):
    """Sent to every watcher when the run's description changed without a rebuild (config, status)."""

    type: Literal["run"]
    run: RunOut


class AckMessage(_Model):
    type: Literal["ack"]
    of: str
    rebuilt: bool | None = None
    steps: int | None = None
    role: Role | None = Field(None, description="auth only: the token's role on this run or race")


class ErrorMessage(_Model):
    type: Literal["error"]
    message: str
    field: str | None = None
