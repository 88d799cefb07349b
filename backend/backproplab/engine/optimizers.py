"""Optimizers with torch.optim's update rules, operation order and default hyperparameters.

Each optimizer updates the parameter arrays it was given *in place* from a dict of gradients keyed by
parameter name (``W0``, ``b0``, …) and keeps its state in ``state[name]`` under torch's own names
(``exp_avg``, ``momentum_buffer``, …), so a state is easy to show, serialise and compare with torch.

Notation: θ parameter, g gradient, η the step's learning rate, λ weight_decay, t the 1-based step count;
each class's RULE names its state buffers (SYMBOLS: u the momentum buffer, m and v the moment estimates,
…) and is rendered into its docstring. Every update mirrors torch's ``_single_tensor_*`` function (the CPU
path) operation by operation, so float64 results agree with torch to a few ulps;
``tests/engine/test_optimizers.py`` holds them to rtol 1e-9 over 50 steps.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .config import OptimizerConfig
from .errors import ConfigError
from .network import Network
from .optimizer_base import (
    HYPERPARAMETER_NAMES,
    L2_DECAY,
    Hyper,
    Optimizer,
    RuleLine,
    State,
    lerp_,
    weight_decay_on,
)

__all__ = [
    "HYPERPARAMETER_NAMES",
    "OPTIMIZERS",
    "OPTIMIZER_NAMES",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "MomentumSGD",
    "NAdam",
    "NesterovSGD",
    "Optimizer",
    "RMSprop",
    "build_optimizer",
    "make_optimizer",
    "optimizer_defaults",
]


def _momentum(hyper: Hyper) -> bool:
    return bool(hyper["momentum"] != 0.0)


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum μ, dampening τ, Nesterov and L2 weight decay λ.

    # NOTE: torch's momentum buffer u starts as the gradient itself, not (1 − τ)·g; with dampening the
    first step is therefore a full gradient step.
    """

    RULE = (
        L2_DECAY,
        RuleLine("u ← g at the first step, then u ← μ·u + (1 − τ)·g", "momentum μ ≠ 0", _momentum),
        RuleLine("g ← g + μ·u", "nesterov", lambda hyper: bool(hyper["nesterov"])),
        RuleLine("g ← u", "μ ≠ 0 and not nesterov", lambda hyper: _momentum(hyper) and not hyper["nesterov"]),
        RuleLine("θ ← θ − η·g"),
    )
    SYMBOLS: ClassVar[dict[str, str]] = {"momentum_buffer": "u"}

    name = "sgd"
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
    }

    def __init__(self, params: dict[str, np.ndarray], **hyperparameters: Any):
        # Plain SGD (no momentum, no weight decay) takes a fast path: two in-place ufuncs per parameter
        # (or for the whole flat vector, see use_flat) into preallocated scratch, with no state lookups.
        self._plain_slots = [(name, param, np.empty_like(param)) for name, param in params.items()]
        self._flat_scratch: np.ndarray | None = None
        super().__init__(params, **hyperparameters)

    def use_flat(self, params: np.ndarray, grads: np.ndarray) -> None:
        super().use_flat(params, grads)
        self._flat_scratch = np.empty_like(params)

    def set_hyperparameters(self, **changes: Any) -> None:
        super().set_hyperparameters(**changes)
        self._plain = self.hyper["momentum"] == 0.0 and self.hyper["weight_decay"] == 0.0

    def step(self, grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        if not self._plain:
            super().step(grads, lr)
            return
        if lr is None:
            lr = self.hyper["lr"]
        if self.flat is not None and self._flat_scratch is not None:
            flat_params, flat_grads = self.flat
            np.multiply(flat_grads, lr, out=self._flat_scratch)
            np.subtract(flat_params, self._flat_scratch, out=flat_params)
            return
        for name, param, scaled_grad in self._plain_slots:
            np.multiply(grads[name], lr, out=scaled_grad)
            np.subtract(param, scaled_grad, out=param)

    def _check_combination(self, hyper: dict[str, Any]) -> None:
        if hyper["nesterov"] and (hyper["momentum"] <= 0.0 or hyper["dampening"] != 0.0):
            raise ConfigError(
                "optimizer.nesterov", "Nesterov momentum requires a momentum and zero dampening"
            )

    def _new_state(self, param: np.ndarray) -> State:
        return {}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        momentum, weight_decay = self.hyper["momentum"], self.hyper["weight_decay"]
        if weight_decay != 0.0:
            grad = grad + weight_decay * param
        if momentum != 0.0:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = grad.copy()
            else:
                buffer *= momentum
                buffer += (1.0 - self.hyper["dampening"]) * grad
            grad = grad + momentum * buffer if self.hyper["nesterov"] else buffer
        param -= lr * grad


class MomentumSGD(SGD):
    """SGD with momentum 0.9 by default (the lesson's "momentum")."""

    name = "momentum"
    defaults: ClassVar[dict[str, Any]] = {**SGD.defaults, "momentum": 0.9}


class NesterovSGD(SGD):
    """SGD with momentum 0.9 and Nesterov's look-ahead by default (the lesson's "nesterov")."""

    name = "nesterov"
    defaults: ClassVar[dict[str, Any]] = {**SGD.defaults, "momentum": 0.9, "nesterov": True}


class Adagrad(Optimizer):
    """Adagrad: per-parameter steps shrink with the running sum s of squared gradients.

    s starts at initial_accumulator_value; t counts this parameter's updates.

    # NOTE: ε (1e-10) is added after the square root, and the accumulator is created when the optimizer
    is, as torch does, so initial_accumulator_value changed later does not reset it.
    """

    name = "adagrad"
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-2,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    }
    RULE = (
        L2_DECAY,
        RuleLine("ηₜ = η / (1 + (t − 1)·lr_decay)"),
        RuleLine("s ← s + g²"),
        RuleLine("θ ← θ − ηₜ·g / (√s + ε)"),
    )
    SYMBOLS: ClassVar[dict[str, str]] = {"sum": "s", "step": "t"}

    def _new_state(self, param: np.ndarray) -> State:
        return {"step": 0, "sum": np.full_like(param, self.hyper["initial_accumulator_value"])}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        hyper = self.hyper
        state["step"] += 1
        if hyper["weight_decay"] != 0.0:
            grad = grad + hyper["weight_decay"] * param
        decayed_lr = lr / (1 + (state["step"] - 1) * hyper["lr_decay"])
        state["sum"] += grad * grad
        std = np.sqrt(state["sum"])
        std += hyper["eps"]
        param += (-decayed_lr * grad) / std


def _centered(hyper: Hyper) -> bool:
    return bool(hyper["centered"])


def _positive_momentum(hyper: Hyper) -> bool:
    return bool(hyper["momentum"] > 0.0)


class RMSprop(Optimizer):
    """RMSprop: divide by a running root-mean-square v of the gradient (optionally centred, with momentum).

    # NOTE: ε is added after the square root (TensorFlow 1 added it inside); the centred form subtracts the
    squared mean gradient m̄² before the root, so v − m̄² ≥ 0 holds only up to rounding.
    """

    RULE = (
        L2_DECAY,
        RuleLine("v ← α·v + (1 − α)·g²"),
        RuleLine("m̄ ← α·m̄ + (1 − α)·g", "centered", _centered),
        RuleLine("d = √(v − m̄²) + ε", "centered", _centered),
        RuleLine("d = √v + ε", "not centered", lambda hyper: not _centered(hyper)),
        RuleLine("u ← μ·u + g/d", "momentum μ > 0", _positive_momentum),
        RuleLine("θ ← θ − η·u", "μ > 0", _positive_momentum),
        RuleLine("θ ← θ − η·g/d", "μ = 0", lambda hyper: not _positive_momentum(hyper)),
    )
    SYMBOLS: ClassVar[dict[str, str]] = {
        "square_avg": "v",
        "grad_avg": "m̄",
        "momentum_buffer": "u",
        "step": "t",
    }

    name = "rmsprop"
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-2,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
    }

    def _new_state(self, param: np.ndarray) -> State:
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if self.hyper["momentum"] > 0.0:
            state["momentum_buffer"] = np.zeros_like(param)
        if self.hyper["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        hyper = self.hyper
        alpha = hyper["alpha"]
        state["step"] += 1
        if hyper["weight_decay"] != 0.0:
            grad = grad + hyper["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += ((1.0 - alpha) * grad) * grad
        if hyper["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1.0 - alpha)
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += hyper["eps"]
        if hyper["momentum"] > 0.0:
            buffer = state["momentum_buffer"]
            buffer *= hyper["momentum"]
            buffer += grad / avg
            param -= lr * buffer
        else:
            param += (-lr * grad) / avg


def _amsgrad(hyper: Hyper) -> bool:
    return bool(hyper["amsgrad"])


_ADAM_MOMENTS = (RuleLine("m ← β₁·m + (1 − β₁)·g"), RuleLine("v ← β₂·v + (1 − β₂)·g²"))
_ADAM_STEP = (
    RuleLine("vₘₐₓ ← max(vₘₐₓ, v)", "amsgrad", _amsgrad),
    RuleLine("θ ← θ − η/(1 − β₁ᵗ) · m/(√v/√(1 − β₂ᵗ) + ε)", "not amsgrad", lambda hyper: not _amsgrad(hyper)),
    RuleLine("θ ← θ − η/(1 − β₁ᵗ) · m/(√vₘₐₓ/√(1 − β₂ᵗ) + ε)", "amsgrad", _amsgrad),
)
_ADAM_SYMBOLS = {"exp_avg": "m", "exp_avg_sq": "v", "max_exp_avg_sq": "vₘₐₓ", "step": "t"}


class Adam(Optimizer):
    """Adam with L2-style weight decay (added to the gradient) and optional AMSGrad.

    # NOTE: ε is added to √v̂ (the bias-corrected root), not inside the root and not to √v before the
    correction; each placement gives a different trajectory.
    """

    name = "adam"
    decoupled_weight_decay: ClassVar[bool] = False
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    RULE = (L2_DECAY, *_ADAM_MOMENTS, *_ADAM_STEP)
    SYMBOLS: ClassVar[dict[str, str]] = _ADAM_SYMBOLS

    def _new_state(self, param: np.ndarray) -> State:
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if self.hyper["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        hyper = self.hyper
        beta1, beta2 = hyper["betas"]
        weight_decay = hyper["weight_decay"]
        state["step"] += 1
        step = state["step"]
        if weight_decay != 0.0:
            if self.decoupled_weight_decay:
                param *= 1.0 - lr * weight_decay
            else:
                grad = grad + weight_decay * param
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1.0 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1.0 - beta2) * grad) * grad
        step_size = lr / (1.0 - beta1**step)
        bias_correction2_sqrt = (1.0 - beta2**step) ** 0.5
        if hyper["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=state["max_exp_avg_sq"])
            denom = np.sqrt(state["max_exp_avg_sq"])
        else:
            denom = np.sqrt(exp_avg_sq)
        denom /= bias_correction2_sqrt
        denom += hyper["eps"]
        param += (-step_size * exp_avg) / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (λ = 1e-2 by default): θ ← θ(1 − ηλ) before the Adam step.

    # NOTE: the decay uses the step's η (so a schedule scales it too) and never enters m or v.
    """

    name = "adamw"
    decoupled_weight_decay = True
    defaults: ClassVar[dict[str, Any]] = {**Adam.defaults, "weight_decay": 1e-2}
    RULE = (RuleLine("θ ← θ·(1 − ηλ)", "weight_decay λ ≠ 0", weight_decay_on), *_ADAM_MOMENTS, *_ADAM_STEP)


class Adadelta(Optimizer):
    """Adadelta: the step's scale is a running RMS a of past updates over a running RMS v of gradients.

    η is 1 by default.

    # NOTE: here ε sits *inside* both roots (unlike Adam and RMSprop); √(a + ε) is what lets the very
    first update, with a = 0, be non-zero.
    """

    name = "adadelta"
    defaults: ClassVar[dict[str, Any]] = {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}
    RULE = (
        L2_DECAY,
        RuleLine("v ← ρ·v + (1 − ρ)·g²"),
        RuleLine("Δ = √(a + ε)/√(v + ε) · g"),
        RuleLine("a ← ρ·a + (1 − ρ)·Δ²"),
        RuleLine("θ ← θ − η·Δ"),
    )
    SYMBOLS: ClassVar[dict[str, str]] = {"square_avg": "v", "acc_delta": "a", "step": "t"}

    def _new_state(self, param: np.ndarray) -> State:
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        hyper = self.hyper
        rho, eps = hyper["rho"], hyper["eps"]
        state["step"] += 1
        if hyper["weight_decay"] != 0.0:
            grad = grad + hyper["weight_decay"] * param
        square_avg, acc_delta = state["square_avg"], state["acc_delta"]
        square_avg *= rho
        square_avg += ((1.0 - rho) * grad) * grad
        std = np.sqrt(square_avg + eps)
        delta = np.sqrt(acc_delta + eps)
        delta /= std
        delta *= grad
        acc_delta *= rho
        acc_delta += ((1.0 - rho) * delta) * delta
        param -= lr * delta


class NAdam(Optimizer):
    """NAdam (Dozat 2016) with torch's momentum schedule μₜ (ψ = momentum_decay) and L2-style weight decay.

    # NOTE: m itself uses β₁, not μₜ; μ only weights the two terms. Π (``mu_product``) is one number per
    parameter and must be float64 (torch keeps it in the default dtype, float32 unless changed).
    """

    name = "nadam"
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 2e-3,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum_decay": 4e-3,
    }
    RULE = (
        L2_DECAY,
        RuleLine("μₜ = β₁(1 − ½·0.96^(tψ)),  μₜ₊₁ = β₁(1 − ½·0.96^((t + 1)ψ))"),
        RuleLine("Πₜ = Πₜ₋₁·μₜ"),
        *_ADAM_MOMENTS,
        RuleLine("d = √(v/(1 − β₂ᵗ)) + ε"),
        RuleLine("θ ← θ − η(1 − μₜ)/(1 − Πₜ) · g/d − η·μₜ₊₁/(1 − Πₜμₜ₊₁) · m/d"),
    )
    SYMBOLS: ClassVar[dict[str, str]] = {"exp_avg": "m", "exp_avg_sq": "v", "mu_product": "Π", "step": "t"}

    def _new_state(self, param: np.ndarray) -> State:
        return {
            "step": 0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param),
        }

    def _update(self, param: np.ndarray, grad: np.ndarray, state: State, lr: float) -> None:
        hyper = self.hyper
        beta1, beta2 = hyper["betas"]
        momentum_decay = hyper["momentum_decay"]
        state["step"] += 1
        step = state["step"]
        if hyper["weight_decay"] != 0.0:
            grad = grad + hyper["weight_decay"] * param
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
        lerp_(exp_avg, grad, 1.0 - beta1)
        exp_avg_sq *= beta2
        exp_avg_sq += ((1.0 - beta2) * grad) * grad
        denom = np.sqrt(exp_avg_sq / (1.0 - beta2**step))
        denom += hyper["eps"]
        param += ((-lr * (1.0 - mu) / (1.0 - mu_product)) * grad) / denom
        param += (((-lr * mu_next) / (1.0 - mu_product * mu_next)) * exp_avg) / denom


OPTIMIZERS: dict[str, type[Optimizer]] = {
    cls.name: cls for cls in (SGD, MomentumSGD, NesterovSGD, Adagrad, RMSprop, Adam, AdamW, Adadelta, NAdam)
}
OPTIMIZER_NAMES: tuple[str, ...] = tuple(OPTIMIZERS)


def _optimizer_class(name: str) -> type[Optimizer]:
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ConfigError(
            "optimizer.name", f"unknown optimizer {name!r}; choose one of {list(OPTIMIZERS)}"
        ) from None


def make_optimizer(name: str, params: dict[str, np.ndarray], **hyperparameters: Any) -> Optimizer:
    """The optimizer ``name`` updating ``params`` in place; unset hyperparameters take torch's defaults."""
    return _optimizer_class(name)(params, **hyperparameters)


def build_optimizer(config: OptimizerConfig, network: Network) -> Optimizer:
    """The optimizer an :class:`OptimizerConfig` describes, updating ``network``'s parameters in place
    from its gradients (fresh state; whole-vector updates where the rule allows, see use_flat)."""
    optimizer = make_optimizer(config.name, network.params(), **config.hyperparameters())
    optimizer.use_flat(network.flat_params, network.flat_grads)
    return optimizer


def optimizer_defaults(name: str) -> dict[str, Any]:
    """torch's default hyperparameters for ``name`` (a copy), e.g. for a UI to show."""
    return dict(_optimizer_class(name).defaults)
