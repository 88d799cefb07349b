"""Loss functions, each the mean over the batch, each paired with its gradient.

Shapes: ``output`` and ``logits`` are (batch, width). For regression losses ``target`` has the output's
shape. ``bce`` takes targets in {0, 1} with shape (batch, 1) and ``cross_entropy`` takes integer class
labels with shape (batch,).

Two losses are *fused* with their output activation, as torch's ``binary_cross_entropy_with_logits`` and
``cross_entropy`` are: they read the logits z and return ∂L/∂z directly, which is both stabler and the
textbook result (∂L/∂z = (a − y)/n).

Each loss writes its formula once, in :meth:`Loss.terms` (one term per element, or per row for
cross-entropy); the training step averages them over the batch, and the loss landscape averages them over
a stack of whole networks at once (:meth:`Loss.stack_means`).
"""

from __future__ import annotations

from typing import ClassVar, NamedTuple

import numpy as np

from .errors import ConfigError

HUBER_DELTA = 1.0


class LossResult(NamedTuple):
    """The mean loss over the batch and ∂L/∂(what the loss reads): logits if fused, outputs otherwise."""

    value: float
    grad: np.ndarray


class Loss:
    """Base: ``terms`` is the formula, ``gradient`` its derivative, ``evaluate`` both for one batch.

    ``fused_activation`` names the output activation a fused loss includes; for those losses the
    returned gradient is ∂L/∂z (logits) and the network must not apply the activation's derivative again.
    ``per_row`` losses have one term per row (cross-entropy over its classes), the others one per element.
    """

    name: ClassVar[str] = ""
    fused_activation: ClassVar[str | None] = None
    formula: ClassVar[str] = ""  # L, and ∂L/∂(what the loss reads), for the step-through view
    gradient_formula: ClassVar[str] = ""
    per_row: ClassVar[bool] = False

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The loss of each element (each row for ``per_row``); any leading axes are carried along."""
        raise NotImplementedError

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        """∂L/∂(logits if fused, else output) of the batch mean, shaped like what it differentiates."""
        raise NotImplementedError

    def evaluate(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> LossResult:
        """The batch's mean loss L and its gradient."""
        terms = self.terms(logits, output, target)
        return LossResult(
            float(np.add.reduce(terms, axis=None)) / terms.size, self.gradient(logits, output, target)
        )

    def stack_means(self, logits: np.ndarray, output: np.ndarray | None, target: np.ndarray) -> np.ndarray:
        """The mean loss of each network in a stack: (G, n, width) inputs, (n, …) target → (G,) losses.

        ``output`` may be None for fused losses, which read the logits only.
        """
        means: np.ndarray = np.mean(
            self.terms(logits, logits if output is None else output, target),
            axis=-1 if self.per_row else (-2, -1),
        )
        return means


class MeanSquaredError(Loss):
    """L = (1/N) Σ (a − y)², N = number of elements (torch ``mse_loss`` mean); ∂L/∂a = 2(a − y)/N."""

    name = "mse"
    formula = "L = mean((a-y)²)"
    gradient_formula = "∂L/∂a = 2(a − y)/N"

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        diff = output - target
        squared: np.ndarray = diff * diff
        return squared

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        diff: np.ndarray = output - target
        diff *= 2.0 / diff.size
        return diff


class MeanAbsoluteError(Loss):
    """L = (1/N) Σ |a − y|; ∂L/∂a = sign(a − y)/N (0 at the kink, as torch)."""

    name = "mae"
    formula = "L = mean(|a-y|)"
    gradient_formula = "∂L/∂a = sign(a − y)/N"

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        absolute: np.ndarray = np.abs(output - target)
        return absolute

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        sign: np.ndarray = np.sign(output - target)
        sign /= sign.size
        return sign


class HuberLoss(Loss):
    """Huber with δ = 1 (torch ``huber_loss``): ½d² for |d| ≤ δ, δ(|d| − ½δ) beyond; mean over elements.

    ∂L/∂a = d/N inside, δ·sign(d)/N outside, i.e. clip(d, −δ, δ)/N.
    """

    name = "huber"
    formula = "L = mean(½d² if |d|≤1 else |d|-½)"
    gradient_formula = "∂L/∂a = clip(a − y, −1, 1)/N"

    def __init__(self, delta: float = HUBER_DELTA):
        self.delta = delta

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        abs_diff = np.abs(output - target)
        quadratic = np.minimum(abs_diff, self.delta)
        huber: np.ndarray = 0.5 * quadratic * quadratic + self.delta * (abs_diff - quadratic)
        return huber

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        clipped: np.ndarray = np.clip(output - target, -self.delta, self.delta)
        clipped /= clipped.size
        return clipped


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy fused with a sigmoid output (torch ``binary_cross_entropy_with_logits``).

    L = (1/N) Σ [log(1 + e^z) − z·y], which equals −[y log σ(z) + (1−y) log(1−σ(z))] without ever forming
    log(0). ∂L/∂z = (σ(z) − y)/N.
    """

    name = "bce"
    fused_activation = "sigmoid"
    formula = "L = -mean(y·log a + (1-y)·log(1-a))"
    gradient_formula = "∂L/∂z = (σ(z) − y)/N  (sigmoid fused into the loss)"

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        # NOTE: logaddexp(0, z) = log(1 + e^z) computed stably for any z (the naive log(σ(z)) is −inf
        # for z < −745, and e^z overflows for z > 709).
        bce: np.ndarray = np.logaddexp(0.0, logits) - logits * target
        return bce

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        # ``output`` is already σ(logits) from the forward pass (the fused activation); reuse it.
        grad: np.ndarray = output - target
        grad /= grad.size
        return grad


class CrossEntropy(Loss):
    """Multi-class cross-entropy fused with softmax, integer labels (torch ``cross_entropy``).

    L = (1/n) Σ_i [logsumexp(z_i) − z_i,y_i]; ∂L/∂z_i = (softmax(z_i) − onehot(y_i))/n.
    """

    name = "cross_entropy"
    fused_activation = "softmax"
    formula = "L = -mean(log a_y)"
    gradient_formula = "∂L/∂z = (softmax(z) − onehot(y))/n  (softmax fused into the loss)"
    per_row = True

    def terms(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        labels = target.astype(np.intp).reshape(-1)
        # NOTE: log-sum-exp with the row maximum taken out, so e^(·) never overflows.
        row_max = logits.max(axis=-1, keepdims=True)
        log_sum_exp = row_max[..., 0] + np.log(np.exp(logits - row_max).sum(axis=-1))
        rows: np.ndarray = log_sum_exp - logits[..., np.arange(labels.size), labels]
        return rows

    def gradient(self, logits: np.ndarray, output: np.ndarray, target: np.ndarray) -> np.ndarray:
        # ``output`` is already softmax(logits) from the forward pass (the fused activation); reuse it.
        labels = target.astype(np.intp).reshape(-1)
        grad = output.copy()
        grad[np.arange(labels.size), labels] -= 1.0
        grad /= labels.size
        return grad


LOSSES: dict[str, type[Loss]] = {
    cls.name: cls
    for cls in (MeanSquaredError, MeanAbsoluteError, HuberLoss, BinaryCrossEntropy, CrossEntropy)
}


def get_loss(name: str) -> Loss:
    """A loss object by name, with a ConfigError naming the choices when it is unknown."""
    try:
        return LOSSES[name]()
    except KeyError:
        raise ConfigError("loss", f"unknown loss {name!r}; choose one of {sorted(LOSSES)}") from None
