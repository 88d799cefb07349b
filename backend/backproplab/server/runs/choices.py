"""GET /api/choices: every choice and limit a RunConfig accepts, read from the engine's own definitions
(so the dashboard never re-declares them)."""

from __future__ import annotations

from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict

from ...engine import config as run_config
from ...engine.datasets import CLASSIFIERS, MULTICLASS, REGRESSORS
from ...engine.optimizers import OPTIMIZERS
from ...engine.race import MAX_RACERS
from ..settings import Settings
from ..teaching.limits import MAX_TRACE_PARAMETERS

router = APIRouter(prefix="/api", tags=["runs"])


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetChoices(_Model):
    classification: list[str]
    regression: list[str]
    multiclass: list[str]


class ScheduleField(_Model):
    name: str
    integer: bool
    boolean: bool = False  # a switch (cycle_momentum); min and max are then null
    default: bool | int | float | None
    min: float | None
    max: float | None


class OptimizerChoice(_Model):
    defaults: dict[str, float | bool | list[float] | None]
    fields: list[str]


class Limits(_Model):
    max_hidden_layers: int
    max_neurons: int
    max_parameters: int
    max_steps_per_request: int
    max_rows: int
    max_racers: int
    max_gradcheck_parameters: int
    max_trace_parameters: int
    max_fps: int


class Choices(_Model):
    datasets: DatasetChoices
    features: list[str]
    activations: list[str]
    output_activations: list[str]
    losses: list[str]
    inits: list[str]
    regularizations: list[str]
    schedules: dict[str, list[ScheduleField]]
    optimizers: dict[str, OptimizerChoice]
    limits: Limits


def _bounds(model: type[BaseModel], name: str) -> tuple[float | None, float | None]:
    schema = model.model_json_schema()["properties"][name]
    options = schema.get("anyOf", [schema])
    low = next((o.get("minimum", o.get("exclusiveMinimum")) for o in options if "type" in o), None)
    high = next((o.get("maximum", o.get("exclusiveMaximum")) for o in options if "type" in o), None)
    return low, high


def _schedule_fields() -> dict[str, list[ScheduleField]]:
    fields = run_config.ScheduleConfig.model_fields
    result: dict[str, list[ScheduleField]] = {}
    for kind, names in run_config.SCHEDULE_FIELDS.items():
        result[kind] = []
        for name in names:
            low, high = _bounds(run_config.ScheduleConfig, name)
            annotation = fields[name].annotation
            boolean = annotation is bool
            integer = not boolean and (int in get_args(annotation) or annotation is int)
            result[kind].append(
                ScheduleField(
                    name=name,
                    integer=integer,
                    boolean=boolean,
                    default=fields[name].default,
                    min=low,
                    max=high,
                )
            )
    return result


def _optimizer_fields(defaults: dict[str, Any]) -> list[str]:
    names: list[str] = []
    for key in defaults:
        if key == "lr":
            continue
        names += ["beta1", "beta2"] if key == "betas" else [key]
    return names


def choices(settings: Settings) -> Choices:
    hidden = run_config.ModelConfig.model_json_schema()["properties"]["hidden"]
    return Choices(
        datasets=DatasetChoices(
            classification=list(CLASSIFIERS), regression=list(REGRESSORS), multiclass=sorted(MULTICLASS)
        ),
        features=list(get_args(run_config.FeatureName)),
        activations=list(get_args(run_config.ActivationName)),
        output_activations=list(get_args(run_config.OutputActivationName)),
        losses=list(get_args(run_config.LossName)),
        inits=list(get_args(run_config.InitName)),
        regularizations=list(get_args(run_config.RegularizationConfig.model_fields["kind"].annotation)),
        schedules=_schedule_fields(),
        optimizers={
            name: OptimizerChoice(
                defaults={k: list(v) if isinstance(v, tuple) else v for k, v in cls.defaults.items()},
                fields=_optimizer_fields(cls.defaults),
            )
            for name, cls in OPTIMIZERS.items()
        },
        limits=Limits(
            max_hidden_layers=hidden["maxItems"],
            max_neurons=hidden["items"]["maximum"],
            max_parameters=settings.max_parameters,
            max_steps_per_request=settings.max_steps_per_request,
            max_rows=run_config.MAX_ROWS,
            max_racers=MAX_RACERS,
            max_gradcheck_parameters=settings.max_gradcheck_parameters,
            max_trace_parameters=MAX_TRACE_PARAMETERS,
            max_fps=60,
        ),
    )


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


@router.get("/choices", response_model=Choices)
async def get_choices(settings: Annotated[Settings, Depends(get_settings)]) -> Choices:
    """Datasets, features, activations, losses, inits, schedules (with their fields), optimizers (with
    torch's defaults and their hyperparameters) and the server's limits."""
    return choices(settings)
