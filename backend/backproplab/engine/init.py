"""Weight initialisation, with torch.nn.init's formulas for a weight W of shape (fan_in, fan_out).

- zeros: W = 0
- uniform: U(−1/√fan_in, 1/√fan_in) (torch's default for nn.Linear's weight and bias)
- normal: N(0, 1)
- xavier_uniform: U(−a, a), a = √(6 / (fan_in + fan_out))
- xavier_normal: N(0, σ²), σ = √(2 / (fan_in + fan_out))
- he_uniform (kaiming_uniform_, relu gain √2, fan_in mode): U(−b, b), b = √2 · √(3 / fan_in)
- he_normal (kaiming_normal_): N(0, σ²), σ = √2 / √fan_in

Biases start at zero for every scheme except ``uniform``, which gives them torch's default
U(−1/√fan_in, 1/√fan_in) too.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import ConfigError

INIT_SCHEMES = ("zeros", "uniform", "normal", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal")


def init_weight(scheme: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """A (fan_in, fan_out) float64 weight matrix drawn by ``scheme`` from ``rng``."""
    shape = (fan_in, fan_out)
    if scheme == "zeros":
        return np.zeros(shape)
    if scheme == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, shape)
    if scheme == "normal":
        return rng.standard_normal(shape)
    if scheme == "xavier_uniform":
        bound = math.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-bound, bound, shape)
    if scheme == "xavier_normal":
        return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), shape)
    if scheme == "he_uniform":
        bound = math.sqrt(2.0) * math.sqrt(3.0 / fan_in)
        return rng.uniform(-bound, bound, shape)
    if scheme == "he_normal":
        return rng.normal(0.0, math.sqrt(2.0) / math.sqrt(fan_in), shape)
    raise ConfigError("model.init", f"unknown initialisation {scheme!r}; choose one of {list(INIT_SCHEMES)}")


def init_bias(scheme: str, fan_in: int, fan_out: int, rng: np.random.Generator) -> np.ndarray:
    """A (fan_out,) bias: torch's U(−1/√fan_in, 1/√fan_in) for ``uniform``, zeros otherwise."""
    if scheme == "uniform":
        bound = 1.0 / math.sqrt(fan_in)
        return rng.uniform(-bound, bound, fan_out)
    return np.zeros(fan_out)
