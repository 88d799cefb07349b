"""Pydantic models of the network landscape endpoints: the loss slice around the current weights and the
1-D line along the gradient."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Number = float | None  # a non-finite value travels as null


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LandscapePath(_Model):
    """The run's recorded trajectory projected onto the plane (least squares; exact for PCA): every
    recorded point, or for a wide network an evenly spaced sample of them (at most 2¹⁸ values, ≥ 64
    points; PCA is taken over the same sample), always with the first and the current one."""

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
