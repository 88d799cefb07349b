"""Learning-rate schedules as torch.optim.lr_scheduler runs them: state that moves the lr in force.

A scheduler is *attached* at the lr in force (its ``base_lr``, torch's ``initial_lr``) and counts its own
steps from 0 (torch's ``last_epoch``). After every optimizer step, :meth:`LRScheduler.step` computes the
next lr from the current one with torch's own recursive ("chainable") formulas, operation for operation,
so the values agree with torch to the last bit:

- constant: no scheduler at all; the lr stays;
- step (StepLR): lr·γ whenever t is a positive multiple of step_size;
- exponential (ExponentialLR): lr·γ at every step;
- cosine (CosineAnnealingLR): η_min + (lr − η_min)·(1 + cos(πt/T))/(1 + cos(π(t − 1)/T)); where that
  ratio's denominator is 0 (t − 1 − T a multiple of 2T) torch adds (base_lr − η_min)(1 − cos(π/T))/2;
- cyclic (CyclicLR, triangular): torch's one non-chainable form, base_lr + (max_lr − base_lr)·s(t) with s
  the triangle wave, and with ``cycle_momentum`` the momentum (β₁ for optimizers with betas) cycled
  the other way, max_momentum − (max_momentum − base_momentum)·s(t).

A learning rate typed mid-run (:meth:`LRScheduler.set_lr`) is torch's ``param_group["lr"] = lr``: in force
at once, and the chainable schedules continue from it; CyclicLR overwrites it after that one step, as torch
does. A schedule attached mid-run starts from the lr in force and counts from 0 again.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from .config import ScheduleConfig
from .errors import ConfigError
from .optimizer_base import Optimizer


class LRScheduler:
    """The constant schedule, and the base of the others: the lr in force stays until it is typed anew.

    ``lr`` is the learning rate of the next optimizer step, ``steps`` the scheduler steps since it was
    attached, ``momentum`` the cycled momentum to apply (None unless a cyclic schedule cycles it).
    """

    def __init__(self, config: ScheduleConfig, lr: float):
        self.config = config
        self.base_lr = float(lr)
        self.lr = float(lr)
        self.steps = 0
        self.momentum: float | None = None

    def step(self) -> None:
        """After an optimizer step: count it and move the lr (torch's ``scheduler.step()``)."""
        self.steps += 1
        self.lr = self._next_lr()

    def _next_lr(self) -> float:
        return self.lr

    def set_lr(self, lr: float) -> None:
        """A typed learning rate: in force for the next step (torch's ``param_group["lr"] = lr``)."""
        self.lr = float(lr)

    def check(self, optimizer: type[Optimizer] | Optimizer) -> None:
        """Raise a ConfigError if this schedule cannot drive ``optimizer`` (only cyclic momentum can fail)."""

    def apply(self, optimizer: Optimizer) -> None:
        """Write what the schedule sets besides the lr (the cycled momentum) into ``optimizer``."""

    def upcoming(self, count: int) -> list[float]:
        """The learning rates of the next ``count`` steps if nothing is typed meanwhile (for a preview)."""
        probe = copy.copy(self)
        lrs = []
        for _ in range(count):
            lrs.append(probe.lr)
            probe.step()
        return lrs

    def state_dict(self) -> dict[str, Any]:
        return {"base_lr": self.base_lr, "lr": self.lr, "steps": self.steps, "momentum": self.momentum}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.base_lr = float(state["base_lr"])
        self.lr = float(state["lr"])
        self.steps = int(state["steps"])
        self.momentum = None if state["momentum"] is None else float(state["momentum"])


class StepLR(LRScheduler):
    """torch's StepLR: lr ← lr·γ when t > 0 is a multiple of step_size."""

    def _next_lr(self) -> float:
        if self.steps == 0 or self.steps % self.config.step_size != 0:
            return self.lr
        return self.lr * self.config.gamma


class ExponentialLR(LRScheduler):
    """torch's ExponentialLR: lr ← lr·γ at every step."""

    def _next_lr(self) -> float:
        return self.lr * self.config.gamma


class CosineAnnealingLR(LRScheduler):
    """torch's CosineAnnealingLR, recursive: it follows η_min + (base_lr − η_min)(1 + cos(πt/T))/2 while the
    lr is left alone, and carries a typed lr along the same curve's ratios.

    Beyond T the cosine keeps going, so the lr climbs back at 2T (torch's form does the same; it is not a
    warm restart).

    # NOTE: the ratio's denominator 1 + cos(π(t − 1)/T) is 0 exactly when t − 1 − T is a multiple of 2T;
    torch switches to an additive step there, and so does this, in torch's order of operations.
    """

    def _next_lr(self) -> float:
        t, t_max, eta_min = self.steps, self.config.t_max, self.config.eta_min
        if (t - 1 - t_max) % (2 * t_max) == 0:
            return self.lr + (self.base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        return (1 + math.cos(math.pi * t / t_max)) / (1 + math.cos(math.pi * (t - 1) / t_max)) * (
            self.lr - eta_min
        ) + eta_min


class CyclicLR(LRScheduler):
    """torch's CyclicLR, triangular mode: the lr climbs linearly from base_lr to max_lr over step_size_up
    steps, falls back over step_size_down steps (default the same), and repeats; max_lr None means
    10·base_lr. With cycle_momentum (torch's default) the momentum — β₁ for optimizers with betas — goes the
    other way, from max_momentum down to base_momentum at the peak.

    With c = up + down the cycle length, x = t/c − ⌊t/c⌋ the position in the cycle and r = up/c:
    s(t) = x/r if x ≤ r else (1 − x)/(1 − r); lr = base_lr + (max_lr − base_lr)·s(t).
    """

    def __init__(self, config: ScheduleConfig, lr: float):
        super().__init__(config, lr)
        self.max_lr = 10.0 * self.base_lr if config.max_lr is None else config.max_lr
        # Same float operations as torch's CyclicLR, so the values agree to the last bit.
        step_size_up = float(config.step_size_up)
        step_size_down = step_size_up if config.step_size_down is None else float(config.step_size_down)
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        self.lr = self._next_lr()  # torch's constructor evaluates step 0 (and sets max_momentum)

    def _next_lr(self) -> float:
        cycle = math.floor(1 + self.steps / self.total_size)
        x = 1.0 + self.steps / self.total_size - cycle
        scale = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        if self.config.cycle_momentum:
            high, low = self.config.max_momentum, self.config.base_momentum
            self.momentum = high - (high - low) * scale
        return self.base_lr + (self.max_lr - self.base_lr) * scale

    def check(self, optimizer: type[Optimizer] | Optimizer) -> None:
        if self.config.cycle_momentum and not optimizer.has_momentum():
            raise ConfigError(
                "schedule.cycle_momentum",
                f"{optimizer.name} has neither momentum nor betas to cycle (torch's CyclicLR refuses it); "
                "set cycle_momentum to false or choose sgd, rmsprop or an Adam",
            )

    def apply(self, optimizer: Optimizer) -> None:
        self.check(optimizer)
        if self.momentum is not None:
            optimizer.set_momentum(self.momentum)


SCHEDULERS: dict[str, type[LRScheduler]] = {
    "constant": LRScheduler,
    "step": StepLR,
    "exponential": ExponentialLR,
    "cosine": CosineAnnealingLR,
    "cyclic": CyclicLR,
}


def make_scheduler(config: ScheduleConfig, lr: float) -> LRScheduler:
    """The scheduler a :class:`ScheduleConfig` describes, attached at the lr in force ``lr`` (step 0)."""
    return SCHEDULERS[config.kind](config, lr)
