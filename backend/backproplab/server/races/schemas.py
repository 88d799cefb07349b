"""Pydantic models of test surfaces and optimizer races: REST bodies and responses and the race
WebSocket's messages (the source of truth; docs/protocol.md describes them in words)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ModelWrapValidatorHandler, ValidationError, model_validator
from pydantic_core import ErrorDetails

from ...engine.config import FiniteFloat, OptimizerName
from ...engine.race import MAX_RACERS, MAX_STEPS_PER_CALL
from ...engine.surfaces import MAX_CONDITION, SURFACES
from ..errors import relocated
from ..runs.schemas import DisplayLabel, Hyperparameters

Number = float | None  # a non-finite value travels as null
Point = tuple[FiniteFloat, FiniteFloat]
if TYPE_CHECKING:
    FunctionName = str
else:
    FunctionName = Literal[tuple(SURFACES)]  # the surfaces' names, from the engine
MAX_SPEED = 5_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- test surfaces


SURFACE_EXAMPLE: dict[str, Any] = {
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


class SurfaceOut(_Model):
    """A 2-D test function: its formula, plotting domain, known minima and a good start."""

    model_config = ConfigDict(json_schema_extra={"examples": [SURFACE_EXAMPLE]})
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
    label: DisplayLabel | None = Field(None, description="defaults to the optimizer's name")
    optimizer: OptimizerName
    hyper: Hyperparameters = Field(
        default_factory=Hyperparameters, description="hyperparameters (torch's names and defaults), e.g. lr"
    )


DEFAULT_RACERS = [
    RacerSpec(optimizer="sgd", hyper=Hyperparameters(lr=0.001)),
    RacerSpec(optimizer="momentum", hyper=Hyperparameters(lr=0.001)),
    RacerSpec(optimizer="adam", hyper=Hyperparameters(lr=0.05)),
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
    hyper: Hyperparameters = Field(description="changed hyperparameters; point and optimizer state are kept")


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

    @model_validator(mode="wrap")
    @classmethod
    def _by_racer(cls, value: Any, handler: ModelWrapValidatorHandler[RacePatch]) -> RacePatch:
        """A racer's bad hyperparameter is named by the racer's ``index`` (racers.2.hyper.lr), as the race
        names it, not by the change's place in this list."""
        try:
            return handler(value)
        except ValidationError as error:
            changes = value.get("racers") if isinstance(value, dict) else None

            def place(item: ErrorDetails) -> tuple[int | str, ...]:
                loc = tuple(item["loc"])
                if (
                    loc[:1] != ("racers",)
                    or len(loc) < 3
                    or loc[2] != "hyper"
                    or not isinstance(changes, list)
                ):
                    return loc
                change = changes[int(loc[1])]
                index = change.get("index") if isinstance(change, dict) else None
                return loc if type(index) is not int else ("racers", index, *loc[2:])

            raise relocated(error, place) from None


class RaceStepRequest(_Model):
    model_config = ConfigDict(json_schema_extra={"examples": [{"steps": 100}]})
    steps: int = Field(1, ge=1, le=MAX_STEPS_PER_CALL, strict=True)


class SurfaceRacerOut(_Model):
    name: str
    optimizer: str
    hyper: Hyperparameters
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
                    "surface": SURFACE_EXAMPLE,
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


class RaceCreated(RaceOut):
    token: str | None = Field(
        None,
        description="only when the request carried no token: the new owner's bearer token, shown this once",
    )


# ---------------------------------------------------------------- race WebSocket, client to server


class RaceAuth(_Model):
    """Present a token (send it first) to control a race its identity owns."""

    type: Literal["auth"]
    token: str = Field(min_length=1, max_length=200)


class RacePlay(_Model):
    type: Literal["play"]


class RacePause(_Model):
    type: Literal["pause"]


class RaceReset(_Model):
    type: Literal["reset"]


class RaceStep(_Model):
    type: Literal["step"]
    steps: int = Field(1, ge=1, le=MAX_STEPS_PER_CALL, strict=True)


class RaceSet(RacePatch):
    type: Literal["set"]


class RaceFps(_Model):
    type: Literal["fps"]
    fps: int = Field(ge=1, le=60)


RaceClientMessage = Annotated[
    RaceAuth | RacePlay | RacePause | RaceReset | RaceStep | RaceSet | RaceFps, Field(discriminator="type")
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
