"""What a run measures besides the batch loss: per-layer statistics and whole-set evaluations.

- per layer, at a cadence: the gradient norm ‖∂L/∂θ_l‖, the weight norm ‖θ_l‖ and the update-to-weight
  ratio ‖Δθ_l‖/‖θ_l‖ (θ_l is the layer's W and b together; about 1e-3 is a healthy update);
- whole-set: the loss (mean over every row) and, for classification, the accuracy, on train and test.
"""

from __future__ import annotations

import math

import numpy as np

from .learning import LayerWatch
from .losses import Loss
from .network import Network


def layer_norms(network: Network, arrays: dict[str, np.ndarray]) -> np.ndarray:
    """Per layer √(‖W‖² + ‖b‖²) of ``arrays`` keyed W0, b0, W1, … (parameters, gradients or updates)."""
    norms = np.empty(len(network.layers))
    for index in range(len(norms)):
        W, b = arrays[f"W{index}"], arrays[f"b{index}"]
        norms[index] = math.sqrt(float(np.vdot(W, W)) + float(np.vdot(b, b)))
    return norms


def layer_statistics(
    network: Network, grads: dict[str, np.ndarray], before: dict[str, np.ndarray]
) -> np.ndarray:
    """[grad norms…, weight norms…, update ratios…] per layer; ``before`` holds the weights before the update.

    The update ratio is NaN for a layer whose weights are all zero (the ratio is undefined there).
    """
    params = network.params()
    weight_norms = layer_norms(network, params)
    update_norms = layer_norms(network, {name: params[name] - before[name] for name in params})
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = np.where(weight_norms > 0, update_norms / weight_norms, np.nan)
    return np.concatenate([layer_norms(network, grads), weight_norms, ratios])


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
