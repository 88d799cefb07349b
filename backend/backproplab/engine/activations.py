"""Activation functions, each paired with its derivative (TensorFlow Playground's habit).

Every activation maps the pre-activation ``z`` to ``a = f(z)`` and knows ``f'(z)``. Backward passes use
``grad_z = grad_a * f'(z)`` for the elementwise ones; softmax, whose Jacobian is not diagonal, uses the
vector-Jacobian product in :meth:`Activation.backward`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z) = 1 / (1 + e^(−z)).

    # NOTE: e^(−z) overflows for very negative z. With e = e^(−|z|) ≤ 1, σ(z) = 1/(1+e) for z ≥ 0 and
    e/(1+e) for z < 0: no overflow, and full relative precision in both tails.
    """
    e = np.exp(-np.abs(z))
    result: np.ndarray = np.where(z >= 0, 1.0, e) / (1.0 + e)
    return result


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z)_k = e^(z_k) / Σ_j e^(z_j), row by row.

    # NOTE: subtracting the row maximum first leaves the result unchanged and keeps e^(·) ≤ 1.
    """
    shifted = z - z.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: np.ndarray = exp / exp.sum(axis=1, keepdims=True)
    return result


def _softplus(z: np.ndarray) -> np.ndarray:
    """softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^(−|z|)) (stable for any z)."""
    result: np.ndarray = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))
    return result


def _elu(z: np.ndarray) -> np.ndarray:
    """elu(z) = z for z > 0, α(e^z − 1) otherwise (α = 1, as torch)."""
    return np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# NOTE: numpy has no erf; libm's erfc through a ufunc of Python floats is exact to an ulp but costs about
# 200 ns an element (a tanh costs 5), so exact gelu trains visibly slower than gelu_tanh on big layers.
_erfc = np.frompyfunc(math.erfc, 1, 1)


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    """Φ(z) = ½(1 + erf(z/√2)), computed as ½·erfc(−z/√2).

    # NOTE: 1 + erf(z/√2) cancels to 0 for z < −8.3 (torch's form returns 0 there); erfc keeps full
    relative precision in the lower tail, and agrees with torch's form to 1e-16 absolute everywhere.
    """
    erfc = np.asarray(_erfc(-_SQRT_HALF * np.asarray(z, dtype=np.float64)), dtype=np.float64)
    cdf: np.ndarray = 0.5 * erfc
    return cdf


def _gelu(z: np.ndarray) -> np.ndarray:
    """gelu(z) = z·Φ(z), Φ the standard normal CDF: exact (torch's default, approximate='none')."""
    result: np.ndarray = z * _normal_cdf(z)
    return result


def _gelu_derivative(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d/dz z·Φ(z) = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π)."""
    result: np.ndarray = _normal_cdf(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))
    return result


def _gelu_tanh(z: np.ndarray) -> np.ndarray:
    """gelu_tanh(z) = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))): the tanh approximation of gelu
    (torch's approximate='tanh'; within 5e-4 of the exact form)."""
    return 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3)))


def _gelu_tanh_derivative(z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """d/dz gelu_tanh = ½(1 + t) + ½ z (1 − t²) √(2/π)(1 + 3·0.044715 z²), t = tanh(√(2/π)(z + 0.044715 z³))."""
    t = np.tanh(_SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3))
    result: np.ndarray = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _SQRT_2_OVER_PI * (
        1.0 + 3.0 * _GELU_CUBIC * z * z
    )
    return result


@dataclass(frozen=True)
class Activation:
    """An activation ``a = f(z)`` and its derivative ``f'(z)`` (given both z and a, whichever is cheaper).

    ``formula`` and ``derivative_formula`` are the human-readable forms the step-through view shows.
    """

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]
    formula: str
    derivative_formula: str
    elementwise: bool = True

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """grad_z = ∂L/∂z from ∂L/∂a.

        Elementwise: grad_z = grad_a ⊙ f'(z).
        Softmax: grad_z_k = a_k (grad_a_k − Σ_j grad_a_j a_j), the row-wise vector-Jacobian product of
        ∂a_j/∂z_k = a_j(δ_jk − a_k).
        """
        grad_z: np.ndarray
        if self.elementwise:
            grad_z = grad_a * self.derivative(z, a)
        else:
            grad_z = a * (grad_a - (grad_a * a).sum(axis=1, keepdims=True))
        return grad_z


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in (
        Activation("linear", lambda z: z, lambda z, a: np.ones_like(z), "a = z", "1"),
        Activation("sigmoid", sigmoid, lambda z, a: a * (1.0 - a), "a = 1/(1+e^-z)", "a(1-a)"),
        Activation("tanh", np.tanh, lambda z, a: 1.0 - a * a, "a = tanh(z)", "1-a²"),
        Activation(
            "relu",
            lambda z: np.maximum(z, 0.0),
            lambda z, a: (z > 0).astype(z.dtype),
            "a = max(0,z)",
            "1 if z>0 else 0",
        ),
        Activation(
            "leaky_relu",
            lambda z: np.where(z > 0, z, LEAKY_RELU_SLOPE * z),
            lambda z, a: np.where(z > 0, 1.0, LEAKY_RELU_SLOPE),
            "a = z if z>0 else 0.01z",
            "1 if z>0 else 0.01",
        ),
        Activation(
            "elu",
            _elu,
            lambda z, a: np.where(z > 0, 1.0, a + ELU_ALPHA),
            "a = z if z>0 else e^z-1",
            "1 if z>0 else a+1",
        ),
        Activation("softplus", _softplus, lambda z, a: sigmoid(z), "a = log(1+e^z)", "σ(z)"),
        Activation("gelu", _gelu, _gelu_derivative, "a = z·Φ(z), Φ(z) = ½(1+erf(z/√2))", "Φ(z) + z·φ(z)"),
        Activation(
            "gelu_tanh",
            _gelu_tanh,
            _gelu_tanh_derivative,
            "a = ½z(1+tanh(√(2/π)(z+0.044715z³)))",
            "gelu_tanh'(z)",
        ),
        Activation(
            "softmax",
            softmax,
            lambda z, a: a * (1.0 - a),
            "a_k = e^z_k/Σe^z_j",
            "a_k(δ_jk-a_j)",
            elementwise=False,
        ),
    )
}

HIDDEN_ACTIVATIONS = tuple(name for name in ACTIVATIONS if name != "softmax")


def get_activation(name: str, field: str = "model.activation") -> Activation:
    """Look an activation up by name, with a ConfigError naming the choices when it is unknown."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ConfigError(
            field, f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None
