"""What a run measures besides the batch loss: per-layer statistics and whole-set evaluations.

- per layer, at a cadence: the gradient norm ‖∂L/∂θ_l‖, the weight norm ‖θ_l‖ and the update-to-weight
  ratio ‖Δθ_l‖/‖θ_l‖ (θ_l is the layer's W and b together; about 1e-3 is a healthy update);
- whole-set: the loss (mean over every row) and, for classification, the accuracy, on train and test, at
  a cadence that keeps them a small share of the work (:func:`auto_eval_every`).
"""

from __future__ import annotations

import math

import numpy as np

from .learning import LayerWatch
from .losses import Loss
from .network import Network

EVAL_SHARE = 0.025  # the automatic cadence keeps evaluation near this share of the training work
# NOTE: the fixed cost of a step or an evaluation (numpy calls on small arrays: ~40 calls, ~20 µs here) in
# multiply-adds (~1 ns each), so the estimate holds for the playground's 113 weights as for 100,000.
FIXED_COST = 20_000
MIN_EVAL_EVERY, MAX_EVAL_EVERY = 10, 1_000


def auto_eval_every(rows: int, batch_size: int, network: Network) -> int:
    """Steps between evaluations of ``rows`` rows so that they cost about EVAL_SHARE of the training.

    An evaluation is a forward pass over every row (about rows·P multiply-adds for P parameters); a step
    is a forward and backward pass over a batch (about 3·batch·P); each adds FIXED_COST. Clamped to
    10..1,000 steps: the default circle gets ~60, a 784-128-64-10 network on 2,000 rows ~420.
    """
    params = network.parameter_count()
    evaluation = FIXED_COST + rows * params
    step = FIXED_COST + 3 * min(batch_size, rows) * params
    return min(max(math.ceil(evaluation / (EVAL_SHARE * step)), MIN_EVAL_EVERY), MAX_EVAL_EVERY)


def layer_norms(network: Network, flat: np.ndarray) -> np.ndarray:
    """Per layer √(‖W‖² + ‖b‖²) of a vector laid out as ``network.flat_params`` (weights, gradients, updates)."""
    norms: np.ndarray = np.sqrt(np.add.reduceat(flat * flat, network.layer_starts))
    return norms


def layer_statistics(network: Network, before: np.ndarray) -> np.ndarray:
    """[grad norms…, weight norms…, update ratios…] per layer, from the network's flat gradients and
    parameters; ``before`` is ``flat_params`` before the update.

    The update ratio is NaN for a layer whose weights are all zero (the ratio is undefined there).
    """
    weight_norms = layer_norms(network, network.flat_params)
    update_norms = layer_norms(network, network.flat_params - before)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(weight_norms > 0, update_norms / weight_norms, np.nan)
    return np.concatenate([layer_norms(network, network.flat_grads), weight_norms, ratios])


def predict_classes(output: np.ndarray) -> np.ndarray:
    """Class predictions from network outputs: argmax for several outputs, threshold 0.5 for one."""
    if output.shape[1] == 1:
        return (output[:, 0] > 0.5).astype(np.int64)
    labels: np.ndarray = np.argmax(output, axis=1)
    return labels


def accuracy(output: np.ndarray, labels: np.ndarray) -> float:
    """The share of rows whose predicted class is the label."""
    return np.count_nonzero(predict_classes(output) == labels) / len(labels)


def evaluate_split(
    network: Network,
    loss: Loss,
    X: np.ndarray,
    target: np.ndarray,
    labels: np.ndarray | None,
    watch: LayerWatch | None = None,
) -> tuple[float | None, float | None]:
    """(loss, accuracy) over every row of one split; (None, None) for an empty split.

    ``labels`` are the integer classes for classification (None for regression: no accuracy). ``watch``
    sees every hidden layer's pre-activations on the way (the stopped-learning signals).
    """
    if len(X) == 0:
        return None, None
    last = len(network.layers) - 1
    logits, output = X, X
    for index, (layer, outputs) in enumerate(zip(network.layers, network.layer_outputs(X), strict=True)):
        logits, output = outputs
        if watch is not None:
            watch.see(index, layer, logits, hidden=index < last)
    value = loss.evaluate(logits, output, target).value
    return value, None if labels is None else accuracy(output, labels)
