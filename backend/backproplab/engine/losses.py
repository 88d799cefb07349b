"""Loss functions, each the mean over the batch, each paired with its gradient.

Shapes: ``output`` and ``logits`` are (batch, width). For regression losses ``target`` has the output's
shape. ``bce`` takes targets in {0, 1} with shape (batch, 1) and ``cross_entropy`` takes integer class
labels with shape (batch,).

Two losses are *fused* with their output activation, as torch's ``binary_cross_entropy_with_logits`` and
``cross_entropy`` are: they read the logits z and return ∂L/∂z directly, which is both stabler and the
textbook result (∂L/∂z = (a − y)/n).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

HUBER_DELTA = 1.0


@dataclass(frozen=True)
class LossResult:
    """The mean loss over the batch and ∂L/∂(what the loss reads): logits if fused, outputs otherwise."""

    value: float
    grad: np.ndarray


class Loss:
    """Base: ``evaluate(logits, output, target)`` returns a :class:`LossResult`.

    ``fused_activation`` names the output activation a fused loss includes; for those losses the
    returned gradient is ∂L/∂z (logits) and the network must not apply the activation's derivative again.
    """

    name: str = ""
    fused_activation: str | None = None
    formula: str = ""

    def evaluate(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> LossResult:
        raise NotImplementedError


class MeanSquaredError(Loss):
    """L = (1/N) Σ (a − y)², N = number of elements (torch ``mse_loss`` mean); ∂L/∂a = 2(a − y)/N."""

    name = "mse"
    formula = "L = mean((a-y)²)"

    def evaluate(self, logits, output, target):
        diff = output - target
        return LossResult(float(np.mean(diff * diff)), (2.0 / diff.size) * diff)


class MeanAbsoluteError(Loss):
    """L = (1/N) Σ |a − y|; ∂L/∂a = sign(a − y)/N (0 at the kink, as torch)."""

    name = "mae"
    formula = "L = mean(|a-y|)"

    def evaluate(self, logits, output, target):
        diff = output - target
        return LossResult(float(np.mean(np.abs(diff))), np.sign(diff) / diff.size)


class HuberLoss(Loss):
    """Huber with δ = 1 (torch ``huber_loss``): ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond; mean over elements.

    ∂L/∂a = d/N inside, δ·sign(d)/N outside, i.e. clip(d, −δ, δ)/N.
    """

    name = "huber"
    formula = "L = mean(½d² if |d|≤1 else |d|-½)"

    def __init__(self, delta: float = HUBER_DELTA):
        self.delta = delta

    def evaluate(self, logits, output, target):
        diff = output - target
        abs_diff = np.abs(diff)
        quadratic = np.minimum(abs_diff, self.delta)
        value = np.mean(0.5 * quadratic * quadratic + self.delta * (abs_diff - quadratic))
        return LossResult(float(value), np.clip(diff, -self.delta, self.delta) / diff.size)


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy fused with a sigmoid output (torch ``binary_cross_entropy_with_logits``).

    L = (1/N) Σ [max(z, 0) − z·y + log(1 + e^(−|z|))], which equals −[y log σ(z) + (1−y) log(1−σ(z))]
    without ever forming log(0). ∂L/∂z = (σ(z) − y)/N.
    """

    name = "bce"
    fused_activation = "sigmoid"
    formula = "L = -mean(y·log a + (1-y)·log(1-a))"

    def evaluate(self, logits, output, target):
        # NOTE: log1p(e^(−|z|)) is the stable softplus tail; the naive log(σ(z)) is −inf for z < −745.
        value = np.mean(np.maximum(logits, 0.0) - logits * target + np.log1p(np.exp(-np.abs(logits))))
        # ``output`` is already σ(logits) from the forward pass (the fused activation); reuse it.
        return LossResult(float(value), (output - target) / target.size)


class CrossEntropy(Loss):
    """Multi-class cross-entropy fused with softmax, integer labels (torch ``cross_entropy``).

    L = (1/n) Σ_i [logsumexp(z_i) − z_i,y_i]; ∂L/∂z_i = (softmax(z_i) − onehot(y_i))/n.
    """

    name = "cross_entropy"
    fused_activation = "softmax"
    formula = "L = -mean(log a_y)"

    def evaluate(self, logits, output, target):
        labels = target.astype(np.intp).reshape(-1)
        n = logits.shape[0]
        rows = np.arange(n)
        # NOTE: log-sum-exp with the row maximum taken out, so e^(·) never overflows.
        row_max = logits.max(axis=1, keepdims=True)
        log_sum_exp = row_max[:, 0] + np.log(np.exp(logits - row_max).sum(axis=1))
        value = np.mean(log_sum_exp - logits[rows, labels])
        # ``output`` is already softmax(logits) from the forward pass (the fused activation); reuse it.
        grad = output.copy()
        grad[rows, labels] -= 1.0
        return LossResult(float(value), grad / n)


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (MeanSquaredError, MeanAbsoluteError, HuberLoss, BinaryCrossEntropy, CrossEntropy)
}
CLASSIFICATION_LOSSES = ("bce", "cross_entropy")


def get_loss(name: str) -> Loss:
    """A loss object by name, with a ConfigError naming the choices when it is unknown."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ConfigError("loss", f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
