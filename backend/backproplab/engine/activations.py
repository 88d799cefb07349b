"""Activation functions, each paired with its derivative (TensorFlow Playground's habit).

Every activation maps the pre-activation ``z`` to ``a = f(z)`` and knows ``f'(z)``. Each is written once,
in place: ``forward_into(z, out)`` and, for the elementwise ones, ``derivative_into(z, a, out)``; the
allocating forms and the backward pass (``grad_z = grad_a ⊙ f'(z)``) are built from those. Softmax,
whose Jacobian is not diagonal, uses the vector-Jacobian product in :meth:`Activation.backward_into`.
``out`` may be ``z`` itself (the loss landscape activates its buffers in place). The hot ones pass
``out`` positionally: numpy parses a keyword ``out`` more slowly than a 10-row tanh takes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .errors import ConfigError

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715
_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
LEAKY_RELU_SLOPE = 0.01
ELU_ALPHA = 1.0

ForwardInto = Callable[[np.ndarray, np.ndarray], None]
DerivativeInto = Callable[[np.ndarray, np.ndarray, np.ndarray], None]


def _linear(z: np.ndarray, out: np.ndarray) -> None:
    np.copyto(out, z)


def _linear_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    out.fill(1.0)


def _sigmoid(z: np.ndarray, out: np.ndarray) -> None:
    """σ(z) = 1 / (1 + e^(−z)) = exp(−log(1 + e^(−z))).

    # NOTE: e^(−z) overflows for very negative z; logaddexp(0, −z) = log(1 + e^(−z)) never does, and
    the exp of its negation keeps its relative precision in both tails (σ(−800) = e^(−800), not 0): the
    error is about |z|·ε relative, 1e-13 at z = −800.
    """
    np.negative(z, out)
    np.logaddexp(0.0, out, out)
    np.negative(out, out)
    np.exp(out, out)


def _sigmoid_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """σ'(z) = a(1 − a)."""
    np.subtract(1.0, a, out)
    np.multiply(a, out, out)


def _tanh(z: np.ndarray, out: np.ndarray) -> None:
    np.tanh(z, out)


def _tanh_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """tanh'(z) = 1 − a²."""
    np.multiply(a, a, out)
    np.subtract(1.0, out, out)


def _relu(z: np.ndarray, out: np.ndarray) -> None:
    np.maximum(z, 0.0, out=out)


def _relu_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """1 for z > 0, else 0 (0 at the kink, as torch)."""
    np.greater(z, 0.0, out)


def _leaky_relu(z: np.ndarray, out: np.ndarray) -> None:
    out[...] = np.where(z > 0, z, LEAKY_RELU_SLOPE * z)


def _leaky_relu_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    out[...] = np.where(z > 0, 1.0, LEAKY_RELU_SLOPE)


def _elu(z: np.ndarray, out: np.ndarray) -> None:
    """elu(z) = z for z > 0, α(e^z − 1) otherwise (α = 1, as torch)."""
    out[...] = np.where(z > 0, z, ELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _elu_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """1 for z > 0, else α·e^z = a + α."""
    out[...] = np.where(z > 0, 1.0, a + ELU_ALPHA)


def _softplus(z: np.ndarray, out: np.ndarray) -> None:
    """softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^(−|z|)) (stable for any z)."""
    out[...] = np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _softplus_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """softplus'(z) = σ(z)."""
    _sigmoid(z, out)


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


def _gelu(z: np.ndarray, out: np.ndarray) -> None:
    """gelu(z) = z·Φ(z), Φ the standard normal CDF: exact (torch's default, approximate='none')."""
    out[...] = z * _normal_cdf(z)


def _gelu_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """d/dz z·Φ(z) = Φ(z) + z·φ(z), φ(z) = e^(−z²/2)/√(2π)."""
    out[...] = _normal_cdf(z) + z * (_INV_SQRT_2PI * np.exp(-0.5 * z * z))


def _gelu_tanh(z: np.ndarray, out: np.ndarray) -> None:
    """gelu_tanh(z) = ½ z (1 + tanh(√(2/π)(z + 0.044715 z³))): the tanh approximation of gelu
    (torch's approximate='tanh'; within 5e-4 of the exact form)."""
    out[...] = 0.5 * z * (1.0 + np.tanh(_SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3)))


def _gelu_tanh_derivative(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """d/dz gelu_tanh = ½(1 + t) + ½ z (1 − t²) √(2/π)(1 + 3·0.044715 z²), t = tanh(√(2/π)(z + 0.044715 z³))."""
    t = np.tanh(_SQRT_2_OVER_PI * (z + _GELU_CUBIC * z**3))
    out[...] = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * z * z)


def _softmax(z: np.ndarray, out: np.ndarray) -> None:
    """softmax(z)_k = e^(z_k) / Σ_j e^(z_j), row by row.

    # NOTE: subtracting the row maximum first leaves the result unchanged and keeps e^(·) ≤ 1.
    """
    exp = np.exp(z - z.max(axis=-1, keepdims=True))
    np.divide(exp, exp.sum(axis=-1, keepdims=True), out=out)


def _softmax_diagonal(z: np.ndarray, a: np.ndarray, out: np.ndarray) -> None:
    """The Jacobian's diagonal ∂a_k/∂z_k = a_k(1 − a_k), for showing (backward uses the whole Jacobian)."""
    _sigmoid_derivative(z, a, out)


@dataclass(frozen=True)
class Activation:
    """An activation ``a = f(z)`` and its derivative ``f'(z)`` (given both z and a, whichever is cheaper).

    ``formula`` and ``derivative_formula`` are the human-readable forms the step-through view shows.
    """

    name: str
    forward_into: ForwardInto
    derivative_into: DerivativeInto
    formula: str
    derivative_formula: str
    elementwise: bool = True

    def forward(self, z: np.ndarray) -> np.ndarray:
        """a = f(z), a new array."""
        out = np.empty_like(z, dtype=np.float64)
        self.forward_into(z, out)
        return out

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """f'(z) elementwise (for softmax, the Jacobian's diagonal), a new array."""
        out = np.empty_like(z, dtype=np.float64)
        self.derivative_into(z, a, out)
        return out

    def backward_into(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray) -> None:
        """grad_z = ∂L/∂z from ∂L/∂a, into ``out``.

        Elementwise: grad_z = f'(z) ⊙ grad_a.
        Softmax: grad_z_k = a_k (grad_a_k − Σ_j grad_a_j a_j), the row-wise vector-Jacobian product of
        ∂a_j/∂z_k = a_j(δ_jk − a_k).
        """
        if self.elementwise:
            self.derivative_into(z, a, out)
            np.multiply(out, grad_a, out)
        else:
            np.multiply(a, grad_a - (grad_a * a).sum(axis=-1, keepdims=True), out=out)

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """grad_z = ∂L/∂z from ∂L/∂a, a new array (see :meth:`backward_into`)."""
        out = np.empty_like(z, dtype=np.float64)
        self.backward_into(z, a, grad_a, out)
        return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    """σ(z), a new array."""
    return ACTIVATIONS["sigmoid"].forward(z)


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax(z) row by row, a new array."""
    return ACTIVATIONS["softmax"].forward(z)


ACTIVATIONS: dict[str, Activation] = {
    act.name: act
    for act in (
        Activation("linear", _linear, _linear_derivative, "a = z", "1"),
        Activation("sigmoid", _sigmoid, _sigmoid_derivative, "a = 1/(1+e^-z)", "a(1-a)"),
        Activation("tanh", _tanh, _tanh_derivative, "a = tanh(z)", "1-a²"),
        Activation("relu", _relu, _relu_derivative, "a = max(0,z)", "1 if z>0 else 0"),
        Activation(
            "leaky_relu", _leaky_relu, _leaky_relu_derivative, "a = z if z>0 else 0.01z", "1 if z>0 else 0.01"
        ),
        Activation("elu", _elu, _elu_derivative, "a = z if z>0 else e^z-1", "1 if z>0 else a+1"),
        Activation("softplus", _softplus, _softplus_derivative, "a = log(1+e^z)", "σ(z)"),
        Activation("gelu", _gelu, _gelu_derivative, "a = z·Φ(z), Φ(z) = ½(1+erf(z/√2))", "Φ(z) + z·φ(z)"),
        Activation(
            "gelu_tanh",
            _gelu_tanh,
            _gelu_tanh_derivative,
            "a = ½z(1+tanh(√(2/π)(z+0.044715z³)))",
            "gelu_tanh'(z)",
        ),
        Activation(
            "softmax", _softmax, _softmax_diagonal, "a_k = e^z_k/Σe^z_j", "a_k(δ_jk-a_j)", elementwise=False
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
