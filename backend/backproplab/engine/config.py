"""RunConfig: everything that defines a run, as pydantic models (the one source of the protocol's config).

pydantic is a validation library, not web code: the engine owns its configuration and the server's
schemas reuse these models, so a field's type, range, default and example live in exactly one place.
Every field is optional; ``RunConfig()`` is TensorFlow Playground's opening setup.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from .errors import ConfigError
from .text import display_text

DatasetKind = Literal["circle", "xor", "gauss", "spiral", "moons", "plane", "sine", "custom"]
# gelu is exact (z·Φ(z), torch's default); gelu_tanh is its tanh approximation (torch's approximate="tanh").
ActivationName = Literal[
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "gelu_tanh"
]
OutputActivationName = Literal[
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "gelu_tanh", "softmax"
]
LossName = Literal["bce", "cross_entropy", "mse", "mae", "huber"]
OptimizerName = Literal[
    "sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "adadelta", "nadam"
]
InitName = Literal["zeros", "uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"]
FeatureName = Literal["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin(x1)", "sin(x2)"]

# Limits of a RunConfig: the one source for validation here, the data checks and the server's /api/choices.
# The total size of a network is bounded by the server's parameter cap, not here.
MAX_HIDDEN_LAYERS = 10
MAX_NEURONS = 512  # per hidden layer (784 → 128 → 64 → 10 fits; the parameter cap bounds the total)
MAX_ROWS = 20_000  # rows of data (generated or custom); also the largest batch
MAX_COLUMNS = 1_024  # input columns of custom data
MAX_VALUES = 2_000_000  # values of custom X
MAX_FEATURES = 7  # the 2-D input features, each at most once
MIN_SAMPLES = 10  # rows a built-in dataset generates, at least
MAX_GENERATED_CLASSES = 8  # classes of the gauss and spiral generators
MAX_CLASSES = 100  # class labels of custom data must be below this (one output unit per class)
MAX_NAME_LENGTH = 100  # characters of a column or class name
MAX_ADDED_POINTS = 500  # points added by hand on top of a 2-D dataset (dataset.extra)
MAX_LR = 1e4
MAX_EVAL_EVERY = 100_000
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME_LENGTH),
    AfterValidator(display_text),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _distinct(names: list[str] | None) -> list[str] | None:
    if names is not None and len(set(names)) != len(names):
        repeated = next(name for name in names if names.count(name) > 1)
        raise ValueError(f"names must not repeat ({repeated!r} appears twice)")
    return names


class AddedPoints(_Strict):
    """Points added by hand (clicking the plane) on top of a 2-D dataset: appended to its training rows,
    kept while its generator's settings or the seed change. Checked against the data by the engine
    (engine/datasets.py): inside the plane drawn, labels that name the data's classes."""

    X: list[tuple[FiniteFloat, FiniteFloat]] = Field(
        max_length=MAX_ADDED_POINTS, description="the points' inputs [[x1, x2], ...]"
    )
    y: list[FiniteFloat] = Field(
        max_length=MAX_ADDED_POINTS,
        description="their targets: class labels 0..K-1 (or reals for regression)",
    )

    @model_validator(mode="after")
    def _one_target_per_point(self) -> AddedPoints:
        if len(self.X) != len(self.y):
            raise ValueError(f"X has {len(self.X)} points and y {len(self.y)} targets; give one per point")
        return self


class DatasetConfig(_Strict):
    """Which data to train on. Built-in 2-D sets are generated from the run's seed; ``custom`` takes X and y.

    Custom X and y arrive inline; once a run holds them (as engine.custom_data.CustomData) its config
    keeps their ``content_hash`` instead, with X and y None, so descriptions never carry the data.
    ``columns``, ``target_name`` and ``class_names`` name the data (checked against it by the engine);
    ``extra`` adds points by hand to 2-D data. A patch that brings new data drops them (merge_config).
    """

    kind: DatasetKind = "circle"
    samples: int = Field(500, ge=MIN_SAMPLES, le=MAX_ROWS, description="rows generated for built-in datasets")
    noise: FiniteFloat = Field(0.0, ge=0.0, le=1.0, description="noise as a fraction of the data's scale")
    train_fraction: FiniteFloat = Field(0.5, gt=0.0, le=1.0, description="share of rows used for training")
    classes: int = Field(2, ge=2, le=MAX_GENERATED_CLASSES, description="classes for gauss and spiral")
    X: list[list[FiniteFloat]] | None = Field(None, description="custom inputs, n rows by d columns")
    y: list[FiniteFloat] | None = Field(None, description="custom targets: class labels 0..K-1 or reals")
    content_hash: str | None = Field(
        None,
        pattern="^[0-9a-f]{64}$",
        description="custom data already on the server, named by the sha256 of its arrays (set by the "
        "engine once X and y are held; ignored for other kinds)",
    )
    task: Literal["auto", "classification", "regression"] = Field(
        "auto",
        description="for custom data: auto treats small non-negative integer targets as classes (and "
        "any targets with class_names)",
    )
    columns: list[Name] | None = Field(
        None,
        max_length=MAX_COLUMNS,
        description="names of the input columns, one per column (x1, x2, … if null)",
    )
    target_name: Name | None = Field(None, description="name of the target (y if null)")
    class_names: list[Name] | None = Field(
        None, max_length=MAX_CLASSES, description="names of classes 0..K-1, one per class (classification)"
    )
    extra: AddedPoints | None = Field(
        None, description="points added by hand to 2-D data, on top of its training rows; null clears them"
    )

    _distinct_columns = field_validator("columns")(_distinct)
    _distinct_classes = field_validator("class_names")(_distinct)

    @model_validator(mode="before")
    @classmethod
    def _hash_only_for_custom(cls, data: Any) -> Any:
        # NOTE: a merged PATCH keeps the old hash when a custom run switches to a generated set; the hash
        # is the engine's bookkeeping, not the user's choice, so it goes quietly.
        if isinstance(data, dict) and data.get("kind", "circle") != "custom" and "content_hash" in data:
            data = {**data, "content_hash": None}
        return data

    @model_validator(mode="after")
    def _custom_needs_data(self) -> DatasetConfig:
        inline = self.X is not None and self.y is not None
        if self.kind == "custom" and not inline and self.content_hash is None:
            raise ValueError("a custom dataset needs both X and y")
        if self.kind != "custom" and (self.X is not None or self.y is not None):
            raise ValueError("X and y are only for kind 'custom'")
        return self


class LayerWeights(_Strict):
    """One layer's weights: ``W`` shaped (fan_in, fan_out) so that z = a·W + b, and ``b`` (fan_out)."""

    W: list[list[FiniteFloat]]
    b: list[FiniteFloat]


class ModelConfig(_Strict):
    """Network shape and starting point. ``output_activation`` None picks the loss's natural one."""

    hidden: list[Annotated[int, Field(ge=1, le=MAX_NEURONS)]] = Field(
        default_factory=lambda: [4, 2], max_length=MAX_HIDDEN_LAYERS
    )
    activation: ActivationName = "tanh"
    output_activation: OutputActivationName | None = None
    init: InitName = "xavier_uniform"
    weights: list[LayerWeights] | None = Field(
        None, description="explicit start weights, from the input side"
    )


class OptimizerConfig(_Strict):
    """An optimizer and its hyperparameters; None means torch.optim's default for that optimizer."""

    name: OptimizerName = "sgd"
    lr: FiniteFloat | None = Field(0.03, ge=0.0, le=MAX_LR)
    momentum: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    dampening: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    nesterov: bool | None = None
    betas: tuple[FiniteFloat, FiniteFloat] | None = None
    eps: FiniteFloat | None = Field(None, gt=0.0, le=1.0)
    alpha: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    rho: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    centered: bool | None = None
    amsgrad: bool | None = None
    weight_decay: FiniteFloat | None = Field(None, ge=0.0, le=10.0)
    lr_decay: FiniteFloat | None = Field(None, ge=0.0, le=10.0)
    momentum_decay: FiniteFloat | None = Field(None, ge=0.0, le=1.0)
    initial_accumulator_value: FiniteFloat | None = Field(None, ge=0.0, le=1e6)

    @field_validator("betas")
    @classmethod
    def _betas_in_range(cls, betas: tuple[float, float] | None) -> tuple[float, float] | None:
        if betas is not None and not all(0.0 <= beta < 1.0 for beta in betas):
            raise ValueError("each beta must be in [0, 1)")
        return betas

    def hyperparameters(self) -> dict[str, Any]:
        """The hyperparameters the user set (name excluded), for the optimizer's constructor."""
        return {key: value for key, value in self.model_dump(exclude={"name"}).items() if value is not None}


class RegularizationConfig(_Strict):
    """L1 adds rate·Σ|W| to the loss, L2 adds rate/2·ΣW²; weights only, never biases."""

    kind: Literal["none", "l1", "l2"] = "none"
    rate: FiniteFloat = Field(0.0, ge=0.0, le=10.0)


class ScheduleConfig(_Strict):
    """A learning-rate schedule, stepped after every optimizer step, as torch.optim.lr_scheduler's.

    Attached at the lr in force (at step 0 the optimizer's lr; later, whatever is in force then) and
    counting its own steps t from 0. step: ×gamma every step_size steps. exponential: ×gamma every step.
    cosine: from the lr down to eta_min over t_max steps along a half cosine. cyclic (triangular): between
    the lr and max_lr (default 10× the lr), step_size_up steps up and step_size_down (default the same)
    down; with cycle_momentum the momentum (β₁ for optimizers with betas) cycles between max_momentum and
    base_momentum the other way. See engine/schedules.py for the exact recursions.
    """

    kind: Literal["constant", "step", "exponential", "cosine", "cyclic"] = "constant"
    step_size: int = Field(100, ge=1, le=10**9)
    gamma: FiniteFloat = Field(0.5, gt=0.0, le=1.0)
    t_max: int = Field(1000, ge=1, le=10**9)
    eta_min: FiniteFloat = Field(0.0, ge=0.0)
    max_lr: FiniteFloat | None = Field(None, gt=0.0, le=MAX_LR)
    step_size_up: int = Field(200, ge=1, le=10**9)
    step_size_down: int | None = Field(None, ge=1, le=10**9)
    cycle_momentum: bool = Field(
        True,
        description="cyclic: cycle the momentum (β₁) inversely to the lr, as torch's CyclicLR by default",
    )
    base_momentum: FiniteFloat = Field(0.8, ge=0.0, lt=1.0, description="cyclic: the momentum at max_lr")
    max_momentum: FiniteFloat = Field(0.9, ge=0.0, lt=1.0, description="cyclic: the momentum at the lr")


# The fields each schedule kind reads (the others are ignored): the one list /api/choices reports.
SCHEDULE_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step": ("step_size", "gamma"),
    "exponential": ("gamma",),
    "cosine": ("t_max", "eta_min"),
    "cyclic": ("max_lr", "step_size_up", "step_size_down", "cycle_momentum", "base_momentum", "max_momentum"),
}


class RunConfig(_Strict):
    """Everything that defines a run. One seed reproduces data, initial weights and batch order."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        json_schema_extra={
            "examples": [
                {
                    "seed": 0,
                    "dataset": {"kind": "spiral", "samples": 300, "noise": 0.1, "classes": 3},
                    "model": {"hidden": [8, 8], "activation": "relu", "init": "he_normal"},
                    "loss": "cross_entropy",
                    "optimizer": {"name": "adam", "lr": 0.01},
                    "batch_size": 16,
                }
            ]
        },
    )

    seed: int = Field(0, ge=0, le=2**32 - 1)
    dataset: DatasetConfig = Field(default_factory=DatasetConfig)
    features: list[FeatureName] = Field(
        default_factory=lambda: list[FeatureName](["x1", "x2"]), min_length=1, max_length=MAX_FEATURES
    )
    model: ModelConfig = Field(default_factory=ModelConfig)
    loss: LossName | None = Field(None, description="None picks bce, cross_entropy or mse from the data")
    optimizer: OptimizerConfig = Field(default_factory=OptimizerConfig)
    batch_size: int = Field(10, ge=1, le=MAX_ROWS)
    regularization: RegularizationConfig = Field(default_factory=RegularizationConfig)
    schedule: ScheduleConfig = Field(default_factory=ScheduleConfig)
    eval_every: int | None = Field(
        None,
        ge=1,
        le=MAX_EVAL_EVERY,
        description="steps between whole-set evaluations (test loss, accuracies); None: once per epoch, "
        "clamped to 10..100 steps",
    )

    @field_validator("features")
    @classmethod
    def _distinct_features(cls, features: list[FeatureName]) -> list[FeatureName]:
        if len(set(features)) != len(features):
            raise ValueError("features must not repeat")
        return features


# Parts of the config whose change rebuilds the network (and restarts training from step 0).
REBUILD_FIELDS = ("seed", "dataset", "features", "model", "loss")


def merge_config(current: RunConfig, patch: dict[str, Any]) -> RunConfig:
    """The config with ``patch`` (any part of a RunConfig) merged in, validated as a whole.

    Nested objects merge key by key (``{"optimizer": {"lr": 0.1}}`` keeps the optimizer's name); lists
    and scalars are replaced. Raises pydantic's ValidationError for bad values.
    """
    if not isinstance(patch, dict):
        raise ConfigError("config", "must be a JSON object with any part of a RunConfig")
    merged = _deep_merge(current.model_dump(), patch)
    if isinstance(patch.get("dataset"), dict) and isinstance(merged.get("dataset"), dict):
        _forget_old_description(current.dataset, patch["dataset"], merged["dataset"])
    return RunConfig.model_validate(merged)


# What names and adds to a dataset: it belongs to the data it was given with.
DATA_DESCRIPTION = ("columns", "target_name", "class_names", "extra")


def _forget_old_description(old: DatasetConfig, patch: dict[str, Any], merged: dict[str, Any]) -> None:
    """A patch that brings new data (another kind, custom X and y, other held data) drops the old data's
    names and added points, and one that changes a generated set's number of classes drops its class
    names, unless the patch restates them; the rest of a dataset's settings carry over."""
    new_data = (
        patch.get("kind", old.kind) != old.kind
        or patch.get("X") is not None
        or patch.get("y") is not None
        or patch.get("content_hash", old.content_hash) != old.content_hash
    )
    new_classes = old.kind != "custom" and patch.get("classes", old.classes) != old.classes
    forget = DATA_DESCRIPTION if new_data else ("class_names",) if new_classes else ()
    for key in forget:
        if key not in patch:
            merged[key] = None


def _deep_merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result
