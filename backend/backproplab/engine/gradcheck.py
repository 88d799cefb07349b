"""Gradient check: backprop's gradients next to central differences, per weight, per layer and overall.

For every parameter θ (each weight and bias) and every input x, the numerical derivative is

    ∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h,

whose Taylor expansion L(θ ± h) = L ± h L' + h²/2 L'' ± h³/6 L''' + … leaves a truncation error of
h²/6 · L''' (the even terms cancel), against the one-sided difference's h/2 · L''. Floating point adds a
round-off error of about ε·|L|/h (ε = 2.2e-16 in float64), so the total error is smallest near
h ≈ (3ε|L|/|L'''|)^(1/3) ≈ 1e-5, where both are about 1e-10 relative: :func:`sweep_h` shows the V.

Agreement is measured by the relative error |a − n| / (|a| + |n|), which is 0 for equal values, 1 when one
is zero and scale-free otherwise. Verdicts (CS231n's rule of thumb, tightened for float64):

- ``ok`` below 1e-7: a correct gradient in float64 lands near 1e-9 to 1e-10 (the error budget above), so
  1e-7 leaves two orders of margin for ill-conditioned points and still catches any real bug;
- ``warning`` below 1e-4: more than a smooth gradient shows at h ≈ 1e-5, less than any real bug; an h far
  from the optimum (:func:`sweep_h`), or a point within h of a kink (below);
- ``error`` otherwise: a wrong factor, sign or index anywhere shows up at 1e-3 and above.

Kinks, where the loss is not differentiable (tests/engine/test_gradcheck.py holds each case):

- |x| at exactly x = 0 is checked *exactly* when x moves linearly with θ: (|h| − |−h|)/2h = 0 is the
  subgradient sign(0) = 0 the engine (and torch) use. So L1 at W = 0 agrees exactly, and so does mae at
  a = y for the parameters a depends on linearly (a linear output layer's W and b);
- mae at a = y for parameters behind a curved activation: a(θ ± h) − y = ±h·a' + O(h²), so the difference
  is O(h) against the analytic 0 — a warning-sized error when one row sits on the kink, an error when
  every row does (the analytic gradient is then exactly 0);
- huber at |d| = δ: L' is continuous but L'' jumps, so the truncation error is O(h), not O(h²): warning;
- relu at exactly z = 0: the difference is half the one-sided slope against the engine's 0 (torch's
  convention), an error for the weights feeding that unit.

The verdict reads the norm-based relative error ‖a − n‖ / (‖a‖ + ‖n‖) of each layer (and of the whole
network), not the per-weight maximum: a single weight whose true gradient is ~1e-12 has a per-weight
ratio of two round-off-sized numbers, which is noise, while a wrong gradient of any weight that matters
moves its layer's norm. The per-weight errors and their maximum are reported for the view regardless.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from .losses import Loss
from .network import Network
from .numbers import json_safe
from .regularization import (
    NO_REGULARIZATION,
    Regularization,
    add_regularization_gradient,
    regularization_penalty,
)

OK_THRESHOLD = 1e-7
WARNING_THRESHOLD = 1e-4
DEFAULT_H = 1e-5


def loss_at(
    network: Network, loss: Loss, X: np.ndarray, y: np.ndarray, regularization: Regularization | None = None
) -> float:
    """L(θ, X) including the penalty, computed without touching the network's forward caches."""
    logits, output = network.predict_with_logits(X)
    return loss.evaluate(logits, output, y).value + regularization_penalty(
        network, *(regularization or NO_REGULARIZATION)
    )


def analytic_gradients(
    network: Network, loss: Loss, X: np.ndarray, y: np.ndarray, regularization: Regularization | None = None
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Backprop's gradients, ({name: ∂L/∂θ}, ∂L/∂X), as a training step computes them (penalty included)."""
    output = network.forward(X)
    result = loss.evaluate(network.logits, output, y)
    grad_X = network.backward(
        result.grad, grad_is_logits=loss.fused_activation is not None, need_input_grad=True
    )
    add_regularization_gradient(network, *(regularization or NO_REGULARIZATION))
    assert grad_X is not None  # asked for with need_input_grad
    return {name: grad.copy() for name, grad in network.grads().items()}, grad_X.copy()


def numerical_gradient(f: Callable[[], float], values: np.ndarray, h: float) -> np.ndarray:
    """Central differences of f() with respect to every entry of ``values``, perturbed in place.

    # NOTE: each entry is put back by assigning the saved float, not by adding and subtracting h:
    # (w + h) − h need not equal w in floating point, and the check must leave the weights exactly as found.
    """
    grad = np.empty_like(values)
    for index in np.ndindex(values.shape):
        saved = values[index]
        try:
            values[index] = saved + h
            f_plus = f()
            values[index] = saved - h
            f_minus = f()
        finally:
            values[index] = saved
        # NOTE: divide by the step actually taken: saved ± h are rounded to float64, so their distance
        # differs from 2h by up to ulp(saved) (1e-11 relative for saved ≈ 1, h = 1e-5). An h below
        # ulp(saved)/2 does not move the weight at all; that derivative is unknown (NaN), not 0/0.
        step = (saved + h) - (saved - h)
        grad[index] = (f_plus - f_minus) / step if step != 0.0 else math.nan
    return grad


def relative_errors(analytic: np.ndarray, numerical: np.ndarray) -> np.ndarray:
    """|a − n| / max(|a| + |n|, tiny) per entry (0 where both are exactly 0)."""
    errors: np.ndarray = np.abs(analytic - numerical) / np.maximum(
        np.abs(analytic) + np.abs(numerical), np.finfo(float).tiny
    )
    return errors


def norm_relative_error(analytic: np.ndarray, numerical: np.ndarray) -> float:
    """‖a − n‖ / (‖a‖ + ‖n‖) over all entries (0 when both are all zero, NaN when either holds a NaN)."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numerical)
    return 0.0 if denominator == 0.0 else float(np.linalg.norm(analytic - numerical) / denominator)


def verdict(error: float) -> str:
    """ok below 1e-7, warning below 1e-4, error otherwise (and for NaN)."""
    if error < OK_THRESHOLD:
        return "ok"
    return "warning" if error < WARNING_THRESHOLD else "error"


def _compare(analytic: np.ndarray, numerical: np.ndarray) -> dict[str, Any]:
    error = norm_relative_error(analytic, numerical)
    per_entry = relative_errors(analytic, numerical)
    return {
        "analytic": json_safe(analytic),
        "numerical": json_safe(numerical),
        "relative_error": json_safe(per_entry),
        "max_relative_error": json_safe(float(per_entry.max())),
        "norm_relative_error": json_safe(error),
        "verdict": verdict(error),
    }


def _numerical_parameter_gradients(
    network: Network,
    loss: Loss,
    X: np.ndarray,
    y: np.ndarray,
    h: float,
    regularization: Regularization | None,
) -> dict[str, np.ndarray]:
    def f() -> float:
        return loss_at(network, loss, X, y, regularization)

    return {name: numerical_gradient(f, values, h) for name, values in network.params().items()}


def _flat(grads: dict[str, np.ndarray]) -> np.ndarray:
    return np.concatenate([grad.ravel() for grad in grads.values()])


def gradient_check(
    network: Network,
    loss: Loss,
    X: ArrayLike,
    y: ArrayLike,
    h: float = DEFAULT_H,
    regularization: Regularization | None = None,
) -> dict[str, Any]:
    """Every parameter's and every input's backprop gradient next to its central difference.

    ``regularization`` is ``(kind, rate)`` with kind none, l1 or l2, or None. Works on a copy, so the
    network's weights, gradients and caches are exactly as before. Returns a JSON-safe dict: ``h``,
    ``loss``, ``thresholds``, ``layers`` (per layer: ``W`` and ``b`` comparisons with per-entry relative
    errors, the layer's max and norm-based errors and verdict), ``overall`` and ``input_gradient_check``.
    """
    network = copy.deepcopy(network)
    X = np.array(X, dtype=np.float64)
    y = np.asarray(y)
    analytic, analytic_X = analytic_gradients(network, loss, X, y, regularization)
    numerical = _numerical_parameter_gradients(network, loss, X, y, h, regularization)
    numerical_X = numerical_gradient(lambda: loss_at(network, loss, X, y, regularization), X, h)

    layers, layer_errors = [], []
    for index in range(len(network.layers)):
        names = (f"W{index}", f"b{index}")
        layer_a = np.concatenate([analytic[name].ravel() for name in names])
        layer_n = np.concatenate([numerical[name].ravel() for name in names])
        error = norm_relative_error(layer_a, layer_n)
        layer_errors.append(error)
        layers.append(
            {
                "layer": index,
                "W": _compare(analytic[names[0]], numerical[names[0]]),
                "b": _compare(analytic[names[1]], numerical[names[1]]),
                "max_relative_error": json_safe(float(relative_errors(layer_a, layer_n).max())),
                "norm_relative_error": json_safe(error),
                "verdict": verdict(error),
            }
        )
    all_a, all_n = _flat(analytic), _flat(numerical)
    overall_error = norm_relative_error(all_a, all_n)
    # NOTE: max() skips a NaN that is not first; nan_to_num turns a NaN error into inf, i.e. "error".
    worst = float(np.max(np.nan_to_num([overall_error, *layer_errors], nan=math.inf)))
    return {
        "h": float(h),
        "loss": json_safe(loss_at(network, loss, X, y, regularization)),
        "thresholds": {"ok": OK_THRESHOLD, "warning": WARNING_THRESHOLD},
        "layers": layers,
        "overall": {
            "max_relative_error": json_safe(float(relative_errors(all_a, all_n).max())),
            "norm_relative_error": json_safe(overall_error),
            "verdict": verdict(worst),
        },
        "input_gradient_check": _compare(analytic_X, numerical_X),
    }


def sweep_h(
    network: Network,
    loss: Loss,
    X: ArrayLike,
    y: ArrayLike,
    hs: Sequence[float],
    regularization: Regularization | None = None,
) -> list[dict[str, Any]]:
    """The overall norm-based relative error for each step size h.

    Large h: truncation error h²/6 · L''' dominates and the error grows as h². Tiny h: the two losses
    agree in nearly all their digits and round-off ε|L|/h dominates, growing as 1/h. The minimum sits
    near h ≈ 1e-5 in float64.
    """
    network = copy.deepcopy(network)
    X = np.array(X, dtype=np.float64)
    y = np.asarray(y)
    analytic = _flat(analytic_gradients(network, loss, X, y, regularization)[0])
    points = []
    for h in hs:
        numerical = _flat(_numerical_parameter_gradients(network, loss, X, y, float(h), regularization))
        points.append({"h": float(h), "relative_error": json_safe(norm_relative_error(analytic, numerical))})
    return points
