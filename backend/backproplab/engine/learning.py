"""Has the network stopped learning? Three states a student should see, with what to do about each.

A :class:`LearningMonitor` watches a run at its evaluations (and its per-layer gradient norms at the
statistics cadence) and reports a :class:`LearningIssue` or None:

- ``dead_units``: every ReLU unit of a hidden layer has z ≤ 0 on every training row. Such a unit outputs 0
  and passes back a gradient of exactly 0, so it cannot recover, and nothing below it learns either. Known
  at once (it is an exact condition).
- ``vanished_gradients``: the first layer's gradient norm is below VANISHED_RATIO of the last layer's
  (the median over the window) while the loss makes no progress: the first layers barely move. Deep
  sigmoid stacks (each σ' ≤ ¼) and all-zero starts (every first-layer gradient exactly 0) do this.
- ``flat_loss``: for WINDOW evaluations and MIN_STEPS steps the whole-set training loss has never been
  clearly better than chance — the loss of the best constant prediction (the class frequencies, the mean
  or the median). With most tanh/sigmoid units saturated that is large inputs when the data's values
  reach beyond LARGE_INPUT (unscaled columns such as a height in cm), else an overshooting learning rate;
  with a tiny one it is crawling; with no clear cause it is said only after GENERIC_MIN_STEPS (a small network
  on a hard dataset can hover near chance for thousands of steps and still learn).

A run that diverged is not "not learning"; divergence has its own message. Healthy runs start near chance
too, which is why the windowed kinds wait for WINDOW evaluations and MIN_STEPS steps after any change.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from .config import RunConfig
from .losses import Loss
from .network import DenseLayer

WINDOW = 20  # the last evaluations a windowed verdict reads
MIN_EVALUATIONS = 5  # ... at least this many of them
MIN_STEPS = 1_000  # ... spanning at least this many steps since the last change
GENERIC_MIN_STEPS = 5_000  # ... and before a flat loss with no clearer cause (small nets learn slowly)
CHANCE_MARGIN = 0.95  # "clearly better than chance" means below 95 % of the chance loss
PROGRESS = 0.01  # a window whose best loss improved on its first by less than 1 % made no progress
VANISHED_RATIO = 1e-3  # first-layer gradient norm / last-layer's: three orders of magnitude
SATURATION_Z = 4.0  # |z| beyond which tanh' < 1.4e-3 and σ' < 0.018: a saturated unit
SATURATED_SHARE = 0.5  # share of (row, unit) pairs saturated for "most units are saturated"
SATURATING = ("tanh", "sigmoid")
SMALL_LR = 1e-3  # below this, a flat loss is blamed on crawling
# Inputs beyond this in size saturate tanh/sigmoid units from the start at any learning rate. The built-in
# datasets stay within ±6, and their largest features (x1², x1·x2) within ±36.
LARGE_INPUT = 50.0

IssueKind = Literal["dead_units", "flat_loss", "vanished_gradients"]


@dataclass(frozen=True)
class LearningIssue:
    """Why the network stopped learning: ``kind``, a ``message`` for a student, a ``fix`` (a RunConfig
    patch, or None when there is no single one) and whether the fix needs a ``reset`` of the weights."""

    kind: IssueKind
    message: str
    fix: dict[str, Any] | None
    reset: bool

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "message": self.message, "fix": self.fix, "reset": self.reset}


class LayerWatch:
    """What one evaluation's forward pass over the training rows shows, layer by layer: the share of dead
    ReLU units per layer (None for other activations), the hidden layers that are entirely dead, and how
    many hidden tanh/sigmoid pre-activations are saturated."""

    def __init__(self, n_layers: int) -> None:
        self.dead_shares: list[float | None] = [None] * n_layers
        self.dead_layers: list[int] = []
        self.saturated = 0
        self.saturating = 0

    def see(self, index: int, layer: DenseLayer, z: np.ndarray, hidden: bool) -> None:
        """Take in layer ``index``'s pre-activations z (rows × units) on the training rows."""
        name = layer.activation.name
        if name == "relu":
            share = float(np.mean((z <= 0.0).all(axis=0)))
            self.dead_shares[index] = share
            if hidden and share == 1.0:
                self.dead_layers.append(index)
        elif hidden and name in SATURATING:
            self.saturated += int(np.count_nonzero(np.abs(z) > SATURATION_Z))
            self.saturating += z.size

    @property
    def saturated_share(self) -> float:
        return self.saturated / self.saturating if self.saturating else 0.0


def chance_loss(loss: Loss, target: np.ndarray) -> float:
    """The loss of the best constant prediction: class frequencies (fused losses), else the targets' mean
    (mse) or median (mae, huber), computed by the loss's own formula."""
    n = target.shape[0]
    if loss.fused_activation == "softmax":
        labels = target.astype(np.int64)
        priors = np.bincount(labels, minlength=int(labels.max()) + 1) / n
        logits = np.log(np.maximum(priors, np.finfo(float).tiny))
        logits = np.broadcast_to(logits, (n, priors.size))
        output = np.broadcast_to(priors, (n, priors.size))
    elif loss.fused_activation == "sigmoid":
        p = float(np.clip(target.mean(), 1e-12, 1.0 - 1e-12))
        logits = np.full(target.shape, math.log(p) - math.log1p(-p))
        output = np.full(target.shape, p)
    else:
        centre = target.mean(axis=0) if loss.name == "mse" else np.median(target, axis=0)
        logits = output = np.broadcast_to(centre, target.shape)
    return float(np.mean(loss.terms(logits, output, target)))


def input_size(X: np.ndarray) -> float:
    """max |x| over the training inputs (0 for none)."""
    return float(np.max(np.abs(X))) if X.size else 0.0


def smaller_lr(lr: float) -> float:
    """A learning rate to suggest instead of one that was too large: a tenth, at most 0.03 (the default)."""
    return float(f"{min(lr / 10.0, 0.03):.2g}")


class LearningMonitor:
    """The rolling evidence since the run's last change, and the verdict it supports (``issue``)."""

    def __init__(self, chance: float, input_size: float = 0.0, peak_lr: float = 0.0):
        self.chance = chance
        self.input_size = input_size  # the largest |x| of the training inputs (input_size())
        # The largest learning rate these weights were trained with (kept across changes that keep the
        # weights): what pushed units into saturation or death, when the learning rate was lowered since.
        self.peak_lr = peak_lr
        self.losses: deque[float] = deque(maxlen=WINDOW)
        self.ratios: deque[float] = deque(maxlen=WINDOW * 5)
        self.steps = 0
        self.issue: LearningIssue | None = None

    def observe_gradients(self, grad_norms: np.ndarray) -> None:
        """Per-layer gradient norms at the statistics cadence: keep first / last (networks of 2+ layers)."""
        if len(grad_norms) >= 2 and grad_norms[-1] > 0.0:
            self.ratios.append(float(grad_norms[0] / grad_norms[-1]))

    def observe_evaluation(
        self, steps_since_change: int, train_loss: float, watch: LayerWatch, config: RunConfig, lr: float
    ) -> LearningIssue | None:
        """Take in one evaluation and return (and keep) the verdict."""
        self.steps = steps_since_change
        self.peak_lr = max(self.peak_lr, lr)
        if math.isfinite(train_loss):
            self.losses.append(train_loss)
        self.issue = self._verdict(watch, config, lr)
        return self.issue

    def _verdict(self, watch: LayerWatch, config: RunConfig, lr: float) -> LearningIssue | None:
        if watch.dead_layers:
            return _dead_units(watch.dead_layers[0], lr, self.peak_lr)
        if len(self.losses) < MIN_EVALUATIONS or self.steps < MIN_STEPS:
            return None
        best = min(self.losses)
        at_chance = best >= CHANCE_MARGIN * self.chance
        stalled = self.losses[0] - best < PROGRESS * abs(self.losses[0])
        ratio = float(np.median(self.ratios)) if self.ratios else math.inf
        if at_chance and watch.saturated_share >= SATURATED_SHARE:
            if self.input_size > LARGE_INPUT:
                return _large_inputs(self.chance, self.steps, watch.saturated_share, self.input_size)
            return _saturated(self.chance, self.steps, watch.saturated_share, lr, self.peak_lr)
        if ratio < VANISHED_RATIO and (at_chance or stalled):
            return _vanished(ratio, config)
        if at_chance and lr < SMALL_LR:
            return _crawling(self.chance, self.steps, lr)
        if at_chance and self.steps >= GENERIC_MIN_STEPS:
            return _flat(self.chance, self.steps)
        return None

    def state_dict(self) -> dict[str, Any]:
        return {
            "chance": self.chance,
            "losses": list(self.losses),
            "ratios": list(self.ratios),
            "steps": self.steps,
            "peak_lr": self.peak_lr,
            "issue": None if self.issue is None else self.issue.as_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.chance = float(state["chance"])
        self.losses = deque((float(value) for value in state["losses"]), maxlen=WINDOW)
        self.ratios = deque((float(value) for value in state["ratios"]), maxlen=WINDOW * 5)
        self.steps = int(state["steps"])
        self.peak_lr = float(state.get("peak_lr", 0.0))  # 0: saved before it was kept
        self.issue = None if state["issue"] is None else LearningIssue(**state["issue"])


def culprit_lr(lr: float, peak: float) -> tuple[float, str]:
    """The learning rate to blame for weights pushed too far, and how to name it: the one in force, or a
    larger one used earlier on these weights (lowering it afterwards does not bring them back)."""
    if peak > lr:
        return peak, f"{peak:g}, used earlier on these weights; lowering it to {lr:g} cannot undo that"
    return lr, f"{lr:g} here"


def _dead_units(layer: int, lr: float, peak: float) -> LearningIssue:
    culprit, named = culprit_lr(lr, peak)
    fix: dict[str, Any] = (
        {"optimizer": {"lr": smaller_lr(culprit)}}
        if culprit > 0.1
        else {"model": {"activation": "leaky_relu"}}
    )
    return LearningIssue(
        "dead_units",
        f"Every ReLU unit in hidden layer {layer + 1} outputs 0 for every training point. A ReLU unit whose "
        "input is negative everywhere passes no gradient back, so it can never come back to life, and the "
        f"layers below it stop learning too. A large learning rate ({named}) pushes weights there in one "
        "step. Reset and train with a smaller learning rate, or use leaky ReLU, whose units never go "
        "completely silent.",
        fix,
        True,
    )


def _saturated(chance: float, steps: int, share: float, lr: float, peak: float) -> LearningIssue:
    culprit, named = culprit_lr(lr, peak)
    return LearningIssue(
        "flat_loss",
        f"For the last {steps:,} steps the loss has been no better than guessing ({chance:.3g}). {share:.0%} of "
        "the tanh/sigmoid units are saturated: their input is so large that their slope is almost 0, so the "
        f"gradients barely move anything. The learning rate ({named}) overshot into that flat region. Reset "
        "and train with a smaller learning rate.",
        {"optimizer": {"lr": smaller_lr(culprit)}},
        True,
    )


def _large_inputs(chance: float, steps: int, share: float, size: float) -> LearningIssue:
    return LearningIssue(
        "flat_loss",
        f"For the last {steps:,} steps the loss has been no better than guessing ({chance:.3g}). {share:.0%} of "
        f"the tanh/sigmoid units are saturated because the inputs are large (up to {size:.3g}): a unit's input "
        "w·x is then far outside the narrow range where tanh and sigmoid curve, so their slope is almost 0 and "
        "the gradients barely move anything, whatever the learning rate. Scale each input column to about -1 "
        "to 1 (subtract its mean, divide by its spread) and upload the data again.",
        None,
        False,
    )


def _vanished(ratio: float, config: RunConfig) -> LearningIssue:
    if config.model.init == "zeros":
        return LearningIssue(
            "vanished_gradients",
            "Every weight started at zero, so the units of a layer all compute the same thing and no gradient "
            "reaches the first layer at all: it cannot learn. Reset with random starting weights (Xavier).",
            {"model": {"init": "xavier_uniform"}},
            True,
        )
    activation = config.model.activation
    return LearningIssue(
        "vanished_gradients",
        f"The gradient reaching the first layer is {ratio:.0e} times the one at the last layer: it shrinks at "
        f"every {activation} layer on its way back (a sigmoid's slope is at most ¼), so the first layers "
        "barely learn. Use ReLU with He initialisation, or fewer layers.",
        {"model": {"activation": "relu", "init": "he_normal"}},
        True,
    )


def _crawling(chance: float, steps: int, lr: float) -> LearningIssue:
    return LearningIssue(
        "flat_loss",
        f"For the last {steps:,} steps the loss has been no better than guessing ({chance:.3g}): a learning "
        f"rate of {lr:g} is so small that each step barely moves the weights. Try a larger one.",
        {"optimizer": {"lr": float(f"{min(lr * 100.0, 0.03):.2g}")}},
        False,
    )


def _flat(chance: float, steps: int) -> LearningIssue:
    return LearningIssue(
        "flat_loss",
        f"For the last {steps:,} steps the loss has been no better than guessing ({chance:.3g}). The network may "
        "be too small for this data, or need other input features (try x1², x2² for a circle, x1·x2 for xor); "
        "a different learning rate may help too.",
        None,
        False,
    )
