"""The optimizer machinery every update rule shares: hyperparameters checked as torch checks them, state
keyed by parameter name, the step loop, (de)serialisation, and each rule written once as equations.

The rules themselves (SGD, Adam, …) live in optimizers.py.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .errors import ConfigError

State = dict[str, Any]
Hyper = Mapping[str, Any]

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


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
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


def _always(hyper: Hyper) -> bool:
    return True


@dataclass(frozen=True)
class RuleLine:
    """One equation of an update rule, and the hyperparameter setting under which it applies."""

    equation: str
    condition: str = ""
    applies: Callable[[Hyper], bool] = _always


def weight_decay_on(hyper: Hyper) -> bool:
    return bool(hyper["weight_decay"] != 0.0)


L2_DECAY = RuleLine("g ← g + λθ", "weight_decay λ ≠ 0", weight_decay_on)


class Optimizer:
    """Base class: hyperparameters, state keyed by parameter name, the step loop and (de)serialisation.

    ``defaults`` are torch's defaults for this optimizer; ``hyper`` the values in force, where
    ``hyper["lr"]`` is the base learning rate a schedule scales. Subclasses implement
    :meth:`_new_state` (the buffers a parameter needs under the current hyperparameters) and
    :meth:`_update` (one update of one parameter).
    """

    name: ClassVar[str]
    defaults: ClassVar[dict[str, Any]]
    # The update rule, one equation per line, each under the setting it applies to: the one source of
    # the formulas the class docstring lists and the step-through view shows (:meth:`rule`).
    RULE: ClassVar[tuple[RuleLine, ...]] = ()
    # The symbol each state buffer has in RULE (``exp_avg`` is m), for showing a state's numbers.
    SYMBOLS: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Append the rendered RULE to each optimizer's docstring, so the docs state the rule in force."""
        super().__init_subclass__(**kwargs)
        if cls.RULE and cls.__doc__:
            width = max(len(line.equation) for line in cls.RULE)
            lines = [
                f"    {line.equation.ljust(width)}    {('if ' + line.condition) if line.condition else ''}".rstrip()
                for line in cls.RULE
            ]
            cls.__doc__ = (
                cls.__doc__.rstrip() + "\n\n    Update rule, per parameter:\n\n" + "\n".join(lines) + "\n"
            )

    def __init__(self, params: dict[str, np.ndarray], **hyperparameters: Any):
        self.params = params
        self.flat: tuple[np.ndarray, np.ndarray] | None = None
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

    def use_flat(self, params: np.ndarray, grads: np.ndarray) -> None:
        """Declare that every parameter is a view into ``params`` and every gradient passed to
        :meth:`step` a view into ``grads`` (a Network's flat vectors), at the same offsets.

        An elementwise rule may then update the whole vector at once (plain SGD does: 2 ufunc calls per
        step instead of 2 per parameter); the result is the same, element by element.
        """
        self.flat = (params, grads)

    @classmethod
    def has_momentum(cls) -> bool:
        """Whether a cyclic schedule can cycle this optimizer's momentum (torch: "momentum" or "betas")."""
        return "momentum" in cls.defaults or "betas" in cls.defaults

    def set_momentum(self, momentum: float) -> None:
        """Set the momentum a cyclic schedule cycles: β₁ for optimizers with betas, else ``momentum``."""
        if "betas" in self.defaults:
            self.set_hyperparameters(betas=(momentum, self.hyper["betas"][1]))
        else:
            self.set_hyperparameters(momentum=momentum)

    def rule(self) -> list[str]:
        """The equations of one update under the hyperparameters in force, in order."""
        return [line.equation for line in self.RULE if line.applies(self.hyper)]

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
