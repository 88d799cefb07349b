"""Pydantic models of the engine's two large teaching answers: one training step's trace (step-through) and
the gradient check, field by field as engine/stepthrough.py and engine/gradcheck.py build them.

Vectors run over the traced batch's rows: a neuron's ``z`` holds one value per row, ``inputs`` one row of
the previous layer's activations per batch row.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field

from ...engine.config import LayerWeights
from ..runs.schemas import Hyperparameters, Number

Targets = list[list[Number]] | list[Number]  # one-hot or regression rows, or class labels
Verdict = Literal["ok", "warning", "error"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ---------------------------------------------------------------- step-through


class ForwardNeuron(_Model):
    id: str
    label: str = Field(description="a⁽ˡ⁾ⱼ, as the diagram labels the unit")
    inputs: list[list[Number]] = Field(description="the previous layer's activations, per row")
    weights: list[Number] = Field(description="the unit's incoming weights W[:, j]")
    bias: Number
    z: list[Number] = Field(description="z = Σᵢ wᵢ·aᵢ + b, per row")
    activation: str
    a: list[Number] = Field(description="a = f(z), per row")
    formula: list[str] = Field(description="the sums with the numbers in, per row")


class ForwardStage(_Model):
    kind: Literal["forward"]
    layer: int
    activation: str
    formula: str = Field(description="the activation, e.g. a = tanh(z)")
    neurons: list[ForwardNeuron]


class LossStage(_Model):
    kind: Literal["loss"]
    name: str
    formula: str
    output: list[list[Number]]
    target: Targets
    value: Number = Field(description="the loss L averaged over the batch")
    penalty: Number = Field(description="the regularization term added to it")
    total: Number = Field(description="L + penalty, what the step minimises")
    gradient_formula: str
    gradient: list[list[Number]] = Field(description="∂L/∂(output), per row")


class BackwardNeuron(_Model):
    id: str
    label: str
    upstream: list[Number] | None = Field(description="∂L/∂a from the layer above (null at the output)")
    local: list[Number] | None = Field(description="f′(z) (null at the output: folded into the loss)")
    grad_z: list[Number] = Field(description="∂L/∂z = upstream × local, per row")
    chain: list[str] = Field(description="the product with the numbers in, per row")


class WeightGradient(_Model):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    id: str
    label: str
    source: int = Field(alias="from", description="the input unit")
    to: int = Field(description="the output unit")
    a_in: list[Number] = Field(description="the input unit's activation, per row")
    grad_z: list[Number]
    grad: Number = Field(description="∂L/∂w = mean over rows of a_in·grad_z (plus the penalty's part)")
    chain: str


class BiasGradient(_Model):
    id: str
    label: str
    grad: Number = Field(description="∂L/∂b = mean over rows of grad_z")
    chain: str


class BackwardStage(_Model):
    kind: Literal["backward"]
    layer: int
    neurons: list[BackwardNeuron]
    weights: list[WeightGradient]
    biases: list[BiasGradient]
    grad_W: list[list[Number]]  # noqa: N815 (the protocol's name: ∂L/∂W)
    grad_b: list[Number]


class ParameterUpdate(_Model):
    id: str
    old: Number
    grad: Number
    new: Number
    state: dict[str, Number] = Field(description="the optimizer's state for this parameter after the step")
    formula: str


class UpdateStage(_Model):
    kind: Literal["update"]
    optimizer: str
    lr: Number
    hyper: Hyperparameters
    rule: str = Field(description="the update rule, as torch.optim applies it")
    symbols: dict[str, str] = Field(description="the symbol of each optimizer state in the rule")
    parameters: list[ParameterUpdate]
    weights: list[LayerWeights] = Field(description="every layer's weights after the step")


Stage = Annotated[ForwardStage | LossStage | BackwardStage | UpdateStage, Discriminator("kind")]


class StepTrace(_Model):
    """Every number of one training step: forward stages per layer, the loss, backward stages from the
    output down (upstream gradient × local derivative at each neuron), and the optimizer's update."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "run_id": "Qm3c1X9bq2W4eM2pYVv0mA",
                    "step": 120,
                    "rows": [3],
                    "sizes": [2, 1],
                    "batch_size": 1,
                    "inputs": [[0.5, -1.2]],
                    "targets": [[1.0]],
                    "stages": [
                        {
                            "kind": "loss",
                            "name": "bce",
                            "formula": "L = −[y·log(ŷ) + (1−y)·log(1−ŷ)]",
                            "output": [[0.71]],
                            "target": [[1.0]],
                            "value": 0.34,
                            "penalty": 0.0,
                            "total": 0.34,
                            "gradient_formula": "∂L/∂ŷ = (ŷ − y) / (ŷ·(1 − ŷ))",
                            "gradient": [[-1.41]],
                        }
                    ],
                    "input_gradient": [[0.01, -0.02]],
                }
            ]
        },
    )
    run_id: str | None = None
    step: int | None = Field(None, description="the run's step count the trace starts from")
    rows: list[int] | None = Field(None, description="training rows the step is traced on")
    sizes: list[int]
    batch_size: int
    inputs: list[list[Number]]
    targets: Targets
    stages: list[Stage] = Field(description="forward per layer, the loss, backward from the output, update")
    input_gradient: list[list[Number]] = Field(description="∂L/∂x for each row's inputs")


# ---------------------------------------------------------------- gradient check


class Comparison(_Model):
    """Backprop's gradient (``analytic``) beside the central difference (``numerical``), element-wise
    relative error |a − n| / max(|a| + |n|, tiny), and the verdict on the norm-based error."""

    analytic: list[list[Number]] | list[Number]
    numerical: list[list[Number]] | list[Number]
    relative_error: list[list[Number]] | list[Number]
    max_relative_error: Number
    norm_relative_error: Number = Field(description="‖a − n‖ / (‖a‖ + ‖n‖)")
    verdict: Verdict


class Summary(_Model):
    max_relative_error: Number
    norm_relative_error: Number
    verdict: Verdict


class LayerCheck(Summary):
    layer: int
    W: Comparison
    b: Comparison


class Thresholds(_Model):
    ok: float = Field(description="norm-based error below this: ok")
    warning: float = Field(description="below this: warning; above: error")


class GradCheck(_Model):
    """Every parameter's and every input's backprop gradient next to its central difference
    (L(θ + h) − L(θ − h)) / 2h in float64, per layer and overall."""

    h: float
    loss: Number
    thresholds: Thresholds
    layers: list[LayerCheck]
    overall: Summary
    input_gradient_check: Comparison
