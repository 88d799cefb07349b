"""Optimizers with torch.optim's update rules, operation order and default hyperparameters.

Each optimizer updates the parameter arrays it was given *in place* from a dict of gradients keyed by
parameter name (``W0``, ``b0``, …) and keeps its state in ``state[name]`` under torch's own names
(``exp_avg``, ``momentum_buffer``, …), so a state is easy to show, serialise and compare with torch.

Notation in the docstrings: θ parameter, g gradient, η learning rate, λ weight_decay, t the 1-based step
count. Every update mirrors torch's ``_single_tensor_*`` function (the CPU path) operation by operation,
so float64 results agree with torch to a few ulps; ``tests/engine/test_optimizers.py`` holds them to
rtol 1e-9 over 50 steps.
"""

from __future__ import annotations

import copy
import math
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError

# Every hyperparameter any optimizer knows, with the range torch accepts. A key known here but not to the
# chosen optimizer (``betas`` given to sgd) is ignored; a key known nowhere is an error.
_FLOAT_RANGES: dict[str, tuple[float, float]] = {
    "lr": (0.0, math.inf),
    "momentum": (0.0, math.inf),
    "dampening": (-math.inf, math.inf),
    "eps": (0.0, math.inf),
    "alpha": (0.0, math.inf),
    "rho": (0.0, 1.0),
    "weight_decay": (0.0, math.inf),
    "lr_decay": (0.0, math.inf),
    "momentum_decay": (0.0, math.inf),
    "initial_accumulator_value": (0.0, math.inf),
}
_BOOL_KEYS = ("nesterov", "centered", "amsgrad")
_BETAS_KEY = "betas"
HYPERPARAMETER_NAMES = (*_FLOAT_RANGES, *_BOOL_KEYS, _BETAS_KEY)


def _lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """start ← start + weight·(end − start), in place, as torch's ``lerp_``.

    # NOTE: torch switches formula at weight 0.5 (end − (end − start)(1 − weight) above it) to stay
    accurate near weight 1; mirroring both branches keeps Adam's first moment within an ulp of torch's
    for any beta1.
    """
    if abs(weight) < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1.0 - weight)


def _checked_value(key: str, value: Any) -> Any:
    """A hyperparameter value as the type the updates use, or a ConfigError naming the field."""
    field = f"optimizer.{key}"
    if key in _BOOL_KEYS:
        if not isinstance(value, bool | np.bool_):
            raise ConfigError(field, f"must be true or false, got {value!r}")
        return bool(value)
    if key == _BETAS_KEY:
        try:
            betas = tuple(float(beta) for beta in value)
        except (TypeError, ValueError):
            raise ConfigError(field, f"must be two numbers, got {value!r}") from None
        if len(betas) != 2 or not all(0.0 <= beta < 1.0 for beta in betas):
            raise ConfigError(field, f"must be two numbers in [0, 1), got {value!r}")
        return betas
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise ConfigError(field, f"must be a number, got {value!r}")
    low, high = _FLOAT_RANGES[key]
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(field, f"must be a finite number in [{low}, {high}], got {value!r}")
    return float(value)


class Optimizer:
    """Base class: hyperparameters, state keyed by parameter name, the step loop and (de)serialisation.

    ``defaults`` are torch's defaults for this optimizer; ``hyper`` the values in force, where
    ``hyper["lr"]`` is the base learning rate a schedule scales. Subclasses implement
    :meth:`_new_state` (the buffers a parameter needs under the current hyperparameters) and
    :meth:`_update` (one update of one parameter).
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]

    def __init__(self, params: dict[str, np.ndarray], **hyperparameters: Any):
        self.params = params
        self.hyper: dict[str, Any] = dict(self.defaults)
        self.state: dict[str, dict[str, Any]] = {}
        self.set_hyperparameters(**hyperparameters)

    def set_hyperparameters(self, **changes: Any) -> None:
        """Change hyperparameters between steps, keeping the state (as editing a torch param_group).

        ``None`` restores this optimizer's default for that key. Buffers a new setting needs (amsgrad
        switched on, say) start at zero.
        """
        hyper = dict(self.hyper)
        for key, value in changes.items():
            if key not in HYPERPARAMETER_NAMES:
                known = ", ".join(HYPERPARAMETER_NAMES)
                raise ConfigError(f"optimizer.{key}", f"unknown hyperparameter; known ones: {known}")
            if key in self.defaults:
                hyper[key] = self.defaults[key] if value is None else _checked_value(key, value)
        self._check_combination(hyper)
        self.hyper = hyper
        self._add_missing_state()

    def step(self, grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        """One update of every parameter from ``grads``; ``lr`` (a schedule's value) overrides hyper["lr"]."""
        lr = self.hyper["lr"] if lr is None else float(lr)
        for name, param in self.params.items():
            self._update(param, grads[name], self.state[name], lr)

    def state_dict(self) -> dict[str, Any]:
        """{"name", "hyper", "state"}: deep copies, numpy arrays included."""
        return {"name": self.name, "hyper": dict(self.hyper), "state": copy.deepcopy(self.state)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned (for this optimizer and parameters of the same shapes)."""
        if state.get("name") != self.name:
            raise ConfigError("optimizer.name", f"state is for {state.get('name')!r}, not {self.name!r}")
        loaded: dict[str, dict[str, Any]] = {}
        for name, param in self.params.items():
            entry = {}
            for key, value in state["state"].get(name, {}).items():
                if isinstance(value, np.ndarray | list):
                    value = np.array(value, dtype=np.float64)
                    if value.shape != param.shape:
                        raise ConfigError(
                            "optimizer.state", f"{name}.{key} has shape {value.shape}, not {param.shape}"
                        )
                elif key == "step":
                    value = int(value)  # JSON may bring 3.0
                entry[key] = value
            loaded[name] = entry
        self.set_hyperparameters(**state["hyper"])
        self.state = loaded
        self._add_missing_state()

    def _add_missing_state(self) -> None:
        """Create, at their initial values, the buffers the current hyperparameters need and lack."""
        for name, param in self.params.items():
            entry = self.state.setdefault(name, {})
            for key, value in self._new_state(param).items():
                entry.setdefault(key, value)

    def _check_combination(self, hyper: dict[str, Any]) -> None:
        """Raise ConfigError for settings torch rejects together (only SGD has any)."""

    def _new_state(self, param: np.ndarray) -> dict[str, Any]:
        raise NotImplementedError

    def _update(self, param: np.ndarray, grad: np.ndarray, state: dict[str, Any], lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening, Nesterov and L2 weight decay.

    g ← g + λθ
    b ← g on the first step, else b ← μ·b + (1 − dampening)·g
    g ← g + μ·b if nesterov else b
    θ ← θ − η·g

    # NOTE: torch's momentum buffer starts as the gradient itself, not (1 − dampening)·g; with dampening
    the first step is therefore a full gradient step.
    """

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
        # into these preallocated scratch arrays, with no state lookups and no temporaries.
        self._plain_slots = [(name, param, np.empty_like(param)) for name, param in params.items()]
        super().__init__(params, **hyperparameters)

    def set_hyperparameters(self, **changes: Any) -> None:
        super().set_hyperparameters(**changes)
        self._plain = self.hyper["momentum"] == 0.0 and self.hyper["weight_decay"] == 0.0

    def step(self, grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        if not self._plain:
            super().step(grads, lr)
            return
        if lr is None:
            lr = self.hyper["lr"]
        for name, param, scaled_grad in self._plain_slots:
            np.multiply(grads[name], lr, out=scaled_grad)
            np.subtract(param, scaled_grad, out=param)

    def _check_combination(self, hyper):
        if hyper["nesterov"] and (hyper["momentum"] <= 0.0 or hyper["dampening"] != 0.0):
            raise ConfigError(
                "optimizer.nesterov", "Nesterov momentum requires a momentum and zero dampening"
            )

    def _new_state(self, param):
        return {}

    def _update(self, param, grad, state, lr):
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
    """Adagrad: per-parameter steps shrink with the running sum of squared gradients.

    g ← g + λθ
    η_t = η / (1 + (t − 1)·lr_decay)
    s ← s + g²                       (s starts at initial_accumulator_value)
    θ ← θ − η_t·g / (√s + ε)

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

    def _new_state(self, param):
        return {"step": 0, "sum": np.full_like(param, self.hyper["initial_accumulator_value"])}

    def _update(self, param, grad, state, lr):
        hyper = self.hyper
        state["step"] += 1
        if hyper["weight_decay"] != 0.0:
            grad = grad + hyper["weight_decay"] * param
        decayed_lr = lr / (1 + (state["step"] - 1) * hyper["lr_decay"])
        state["sum"] += grad * grad
        std = np.sqrt(state["sum"])
        std += hyper["eps"]
        param += (-decayed_lr * grad) / std


class RMSprop(Optimizer):
    """RMSprop: divide by a running root-mean-square of the gradient (optionally centred, with momentum).

    g ← g + λθ
    v ← α·v + (1 − α)·g²
    centred: m ← m + (1 − α)(g − m);  d = √(v − m²) + ε,  else d = √v + ε
    momentum μ > 0: b ← μ·b + g/d;  θ ← θ − η·b,  else θ ← θ − η·g/d

    # NOTE: ε is added after the square root (TensorFlow 1 added it inside); the centred form subtracts the
    squared mean gradient before the root, so v − m² ≥ 0 holds only up to rounding.
    """

    name = "rmsprop"
    defaults: ClassVar[dict[str, Any]] = {
        "lr": 1e-2,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
    }

    def _new_state(self, param):
        state = {"step": 0, "square_avg": np.zeros_like(param)}
        if self.hyper["momentum"] > 0.0:
            state["momentum_buffer"] = np.zeros_like(param)
        if self.hyper["centered"]:
            state["grad_avg"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
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
            _lerp_(grad_avg, grad, 1.0 - alpha)
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


class Adam(Optimizer):
    """Adam with L2-style weight decay (added to the gradient) and optional AMSGrad.

    g ← g + λθ                                   (AdamW instead: θ ← θ(1 − ηλ))
    m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
    AMSGrad: v_max ← max(v_max, v) and v_max replaces v below
    θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)

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

    def _new_state(self, param):
        state = {"step": 0, "exp_avg": np.zeros_like(param), "exp_avg_sq": np.zeros_like(param)}
        if self.hyper["amsgrad"]:
            state["max_exp_avg_sq"] = np.zeros_like(param)
        return state

    def _update(self, param, grad, state, lr):
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
        _lerp_(exp_avg, grad, 1.0 - beta1)
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


class Adadelta(Optimizer):
    """Adadelta: the step's scale is a running RMS of past updates over a running RMS of gradients.

    g ← g + λθ
    v ← ρ·v + (1 − ρ)·g²
    Δ = √(u + ε) / √(v + ε) · g
    u ← ρ·u + (1 − ρ)·Δ²
    θ ← θ − η·Δ                      (η = 1 by default)

    # NOTE: here ε sits *inside* both roots (unlike Adam and RMSprop); √(u + ε) is what lets the very
    first update, with u = 0, be non-zero.
    """

    name = "adadelta"
    defaults: ClassVar[dict[str, Any]] = {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}

    def _new_state(self, param):
        return {"step": 0, "square_avg": np.zeros_like(param), "acc_delta": np.zeros_like(param)}

    def _update(self, param, grad, state, lr):
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
    """NAdam (Dozat 2016) with torch's momentum schedule μ_t and L2-style weight decay.

    g ← g + λθ
    μ_t = β₁(1 − ½·0.96^(t·ψ)),  μ_{t+1} likewise,  Π_t = Π_{t−1}·μ_t   (ψ = momentum_decay)
    m ← β₁·m + (1 − β₁)·g;   v ← β₂·v + (1 − β₂)·g²
    d = √(v / (1 − β₂ᵗ)) + ε
    θ ← θ − η(1 − μ_t)/(1 − Π_t) · g/d − η·μ_{t+1}/(1 − Π_t·μ_{t+1}) · m/d

    # NOTE: m itself uses β₁, not μ_t; μ only weights the two terms. Π (``mu_product``) is one number per
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

    def _new_state(self, param):
        return {
            "step": 0,
            "mu_product": 1.0,
            "exp_avg": np.zeros_like(param),
            "exp_avg_sq": np.zeros_like(param),
        }

    def _update(self, param, grad, state, lr):
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
        _lerp_(exp_avg, grad, 1.0 - beta1)
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


def optimizer_defaults(name: str) -> dict[str, Any]:
    """torch's default hyperparameters for ``name`` (a copy), e.g. for a UI to show."""
    return dict(_optimizer_class(name).defaults)
