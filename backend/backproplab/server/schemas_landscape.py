"""Pydantic models of the landscape protocol: the network's loss slice, the 1-D line view, test surfaces,
optimizer races (REST bodies and responses) and the race WebSocket's messages.

docs/protocol.md describes the run protocol; these models are the source of truth for everything here and
appear in /openapi.json with examples.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..engine.config import FiniteFloat, OptimizerName
from ..engine.race import MAX_STEPS_PER_CALL
from ..engine.surfaces import MAX_CONDITION, SURFACES

Number = float | None  # a non-finite value travels as null
Point = tuple[FiniteFloat, FiniteFloat]
FunctionName = Literal[tuple(SURFACES)]  # type: ignore[valid-type]
MAX_RACERS = 8
MAX_SPEED = 5_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- the network's landscape


class LandscapePath(_Model):
    """The run's recorded trajectory projected onto the plane (least squares; exact for PCA)."""

    steps: list[int] = Field(description="the step of each point; the last one is the current step")
    points: list[list[float]] = Field(description="(α, β) per step")


class LandscapePlane(_Model):
    """θ and the two directions as flat vectors (W0, b0, W1, b1, … with W row-major), so a client can
    project live weights onto the same plane between two computations."""

    origin: list[float]
    d1: list[float]
    d2: list[float]


class LandscapeOut(_Model):
    """L(θ + α·d1 + β·d2) on a grid around the current weights θ."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "directions": "filter",
                    "metric": "loss",
                    "split": "train",
                    "seed": 0,
                    "step": 400,
                    "lr": 0.03,
                    "span": 1.0,
                    "resolution": 3,
                    "alphas": [-1.0, 0.0, 1.0],
                    "betas": [-1.0, 0.0, 1.0],
                    "values": [[0.9, 0.7, 0.8], [0.6, 0.31, 0.7], [0.8, 0.6, 1.2]],
                    "value_range": [0.31, 1.2],
                    "current_value": 0.31,
                    "current_loss": 0.31,
                    "path": {"steps": [1, 200, 400], "points": [[-0.6, 0.1], [-0.2, 0.05], [0.0, 0.0]]},
                    "explained_variance": None,
                    "plane": None,
                    "elapsed_ms": 12.5,
                }
            ]
        }
    )
    directions: Literal["filter", "pca", "gradient"]
    metric: Literal["loss", "log_loss"] = Field(description="log_loss: values are log10 of the loss")
    split: Literal["train", "test"]
    seed: int
    step: int = Field(description="the run's step when the weights were copied")
    lr: Number = Field(description="the learning rate in force at that step")
    span: float = Field(description="α and β run from −span to span")
    resolution: int
    alphas: list[float]
    betas: list[float]
    values: list[list[Number]] = Field(description="values[i][j] at (alphas[j], betas[i]): rows are β")
    value_range: list[Number] = Field(description="[min, max] of the finite values")
    current_value: Number = Field(description="the metric at θ itself (α = β = 0)")
    current_loss: Number = Field(description="the loss at θ (data loss, no regularisation penalty)")
    path: LandscapePath
    explained_variance: list[float] | None = Field(
        description="PCA only: the share of the trajectory's variance along d1 and d2"
    )
    plane: LandscapePlane | None = Field(description="null for networks too large to send")
    elapsed_ms: float


class LandscapeLineOut(_Model):
    """L(θ − α·g) along the full-batch gradient g: what a plain gradient step of size α would do."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "split": "train",
                    "step": 400,
                    "lr": 0.03,
                    "alphas": [0.0, 0.06, 0.12],
                    "values": [0.31, 0.29, 0.35],
                    "current_loss": 0.31,
                    "loss_at_lr": 0.3,
                    "best_alpha": 0.06,
                    "gradient_norm": 0.84,
                }
            ]
        }
    )
    split: Literal["train", "test"]
    step: int
    lr: Number = Field(description="the current learning rate, to mark on the α axis")
    alphas: list[float]
    values: list[Number]
    current_loss: Number = Field(description="L(θ), α = 0")
    loss_at_lr: Number = Field(description="L(θ − lr·g): plain SGD's next point on this data")
    best_alpha: Number = Field(description="the α with the lowest loss among those sampled")
    gradient_norm: float


class LandscapeProgress(_Model):
    """``?progress=true`` streams NDJSON: progress lines, then one result or error line."""

    type: Literal["progress"]
    done: int
    total: int


# ---------------------------------------------------------------- test surfaces


class SurfaceOut(_Model):
    """A 2-D test function: its formula, plotting domain, known minima and a good start."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "rosenbrock",
                    "title": "Rosenbrock",
                    "formula": "f = (1 − x)² + 100(y − x²)²",
                    "x_range": [-2.0, 2.0],
                    "y_range": [-1.0, 3.0],
                    "minima": [[1.0, 1.0]],
                    "local_minima": [],
                    "min_value": 0.0,
                    "start": [-1.2, 1.0],
                    "log_scale": True,
                    "note": "A curved, flat-bottomed valley.",
                    "parameters": {},
                }
            ]
        }
    )
    name: str
    title: str
    formula: str
    x_range: list[float]
    y_range: list[float]
    minima: list[list[float]]
    local_minima: list[list[float]]
    min_value: float | None = Field(description="f at the global minima; null when there is none")
    start: list[float]
    log_scale: bool = Field(description="the range spans orders of magnitude: colour on a log scale")
    note: str
    parameters: dict[str, float]


class SurfaceGridOut(_Model):
    """f on a resolution × resolution grid over the surface's domain, for contour plots."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "name": "booth",
                    "resolution": 2,
                    "x_range": [-10.0, 10.0],
                    "y_range": [-10.0, 10.0],
                    "values": [[2594.0, 1234.0], [754.0, 1394.0]],
                    "value_range": [754.0, 2594.0],
                    "log_scale": True,
                }
            ]
        }
    )
    name: str
    resolution: int
    x_range: list[float]
    y_range: list[float]
    values: list[list[Number]] = Field(
        description="values[i][j] = f(x_j, y_i), x and y evenly spaced over the ranges, row 0 the lowest y"
    )
    value_range: list[float]
    log_scale: bool


# ---------------------------------------------------------------- races


class SurfaceParams(_Model):
    condition: FiniteFloat | None = Field(
        None, ge=1.0, le=MAX_CONDITION, description="quadratic bowl only: κ, the Hessian's condition number"
    )


class RacerSpec(_Model):
    label: str | None = Field(None, max_length=40, description="defaults to the optimizer's name")
    optimizer: OptimizerName
    hyper: dict[str, Any] = Field(
        default_factory=dict, description="hyperparameters (torch's names and defaults), e.g. lr"
    )


DEFAULT_RACERS = [
    RacerSpec(optimizer="sgd", hyper={"lr": 0.001}),
    RacerSpec(optimizer="momentum", hyper={"lr": 0.001}),
    RacerSpec(optimizer="adam", hyper={"lr": 0.05}),
]


class RaceCreate(_Model):
    """Every field optional: a Rosenbrock race of SGD, momentum and Adam from the surface's start."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "function": "quadratic_bowl",
                    "params": {"condition": 20},
                    "start": [-1.8, 1.2],
                    "racers": [
                        {"label": "SGD", "optimizer": "sgd", "hyper": {"lr": 0.05}},
                        {"optimizer": "adam", "hyper": {"lr": 0.1, "betas": [0.9, 0.999]}},
                    ],
                    "speed": 60,
                }
            ]
        }
    )
    function: FunctionName = "rosenbrock"
    params: SurfaceParams | None = None
    start: Point | None = Field(None, description="(x, y); null takes the surface's suggested start")
    racers: list[RacerSpec] = Field(
        default_factory=lambda: list(DEFAULT_RACERS), min_length=1, max_length=MAX_RACERS
    )
    speed: int = Field(60, ge=1, le=MAX_SPEED, description="steps per second while playing")


class RacerPatch(_Model):
    index: int = Field(ge=0, lt=MAX_RACERS)
    hyper: dict[str, Any] = Field(description="changed hyperparameters; point and optimizer state are kept")


class RacePatch(_Model):
    """A new start restarts every racer from it; hyperparameter changes keep each racer's point and state."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"start": [0.5, -0.5]}, {"racers": [{"index": 0, "hyper": {"lr": 0.01}}]}]
        }
    )
    start: Point | None = None
    racers: list[RacerPatch] | None = Field(None, max_length=MAX_RACERS)
    speed: int | None = Field(None, ge=1, le=MAX_SPEED)


class RaceStepRequest(_Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"steps": 100}]})
    steps: int = Field(1, ge=1, le=MAX_STEPS_PER_CALL)


class SurfaceRacerOut(_Model):
    name: str
    optimizer: str
    hyper: dict[str, Any]
    status: Literal["running", "diverged"]
    message: str
    steps: int
    position: list[float] | None
    value: Number
    gradient: list[float] | None = Field(description="∇f at the current point")
    velocity: list[float] | None = Field(description="the momentum-like optimizer buffer, if any")
    velocity_kind: str | None = Field(description="momentum_buffer or exp_avg")
    last_step: list[float] | None = Field(description="the last update's displacement")
    nearest_minimum: list[float] | None
    distance_to_minimum: Number
    path: list[list[float]] | None = Field(None, description="recorded points, every path_stride steps")
    path_stride: int | None = None


class RaceOut(_Model):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "r8Xk2m0aQ3",
                    "function": "rosenbrock",
                    "parameters": {},
                    "start": [-1.2, 1.0],
                    "path_cap": 2000,
                    "playing": False,
                    "speed": 60,
                    "surface": SurfaceOut.model_config["json_schema_extra"]["examples"][0],
                    "racers": [
                        {
                            "name": "adam",
                            "optimizer": "adam",
                            "hyper": {"lr": 0.05},
                            "status": "running",
                            "message": "",
                            "steps": 1,
                            "position": [-1.15, 0.95],
                            "value": 4.7,
                            "gradient": [-21.5, -32.5],
                            "velocity": [-2.15, -1.25],
                            "velocity_kind": "exp_avg",
                            "last_step": [0.05, -0.05],
                            "nearest_minimum": [1.0, 1.0],
                            "distance_to_minimum": 2.15,
                            "path": [[-1.2, 1.0], [-1.15, 0.95]],
                            "path_stride": 1,
                        }
                    ],
                }
            ]
        }
    )
    id: str
    function: str
    parameters: dict[str, float]
    start: list[float]
    path_cap: int
    playing: bool
    speed: int
    surface: SurfaceOut
    racers: list[SurfaceRacerOut]


# ---------------------------------------------------------------- race WebSocket, client to server


class RacePlay(_Model):
    type: Literal["play"]


class RacePause(_Model):
    type: Literal["pause"]


class RaceReset(_Model):
    type: Literal["reset"]


class RaceStep(_Model):
    type: Literal["step"]
    steps: int = Field(1, ge=1, le=MAX_STEPS_PER_CALL)


class RaceSet(RacePatch):
    type: Literal["set"]


class RaceFps(_Model):
    type: Literal["fps"]
    fps: int = Field(ge=1, le=60)


RaceClientMessage = Annotated[
    RacePlay | RacePause | RaceReset | RaceStep | RaceSet | RaceFps, Field(discriminator="type")
]

# ---------------------------------------------------------------- race WebSocket, server to client


class RaceStateMessage(_Model):
    """Sent first, and again whenever the racers restart (a new start, a reset)."""

    type: Literal["state"]
    race: RaceOut


class RaceFrameMessage(_Model):
    """At the client's rate while something changed. Each racer carries ``path_append`` (recorded points
    since this client's previous frame) or, after the path was thinned, the whole ``path``."""

    type: Literal["frame"]
    playing: bool
    speed: int
    racers: list[dict[str, Any]]
