"""An optimizer race on a 2-D test function: the parameters are the point (x, y) itself.

Every racer owns a params dict ``{"xy": array([x, y])}`` and one of the engine's optimizers (the same
torch-exact rules a network trains with) updating it in place from ``{"xy": ∇f(x, y)}``. All racers start
from the same point; a racer whose point stops being finite or leaves the box |x|, |y| ≤ 1e6 stops with
status ``diverged`` at its last good point.

Paths are kept bounded: a racer records one point every ``stride`` steps, and whenever the record passes
``path_cap`` points every other point is dropped and the stride doubles, so the record stays evenly
spaced in steps. The latest point is always reported.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .errors import ConfigError
from .numbers import finite_list_or_none, json_safe
from .optimizers import make_optimizer
from .surfaces import Surface, get_surface

MAX_RACERS = 8
MAX_STEPS_PER_CALL = 10_000
DEFAULT_PATH_CAP = 2_000
DIVERGENCE_BOUND = 1e6
RUNNING, DIVERGED = "running", "diverged"
# Optimizer state buffers that act as a velocity, in order of preference. Both accumulate gradients, so
# the point moves along −buffer (scaled by the step size); ``last_step`` is the actual displacement.
VELOCITY_KEYS = ("momentum_buffer", "exp_avg")


def _checked_point(x: Any, y: Any, field: str) -> np.ndarray:
    try:
        point = np.array([float(x), float(y)])
    except (TypeError, ValueError):
        raise ConfigError(field, "must be two numbers") from None
    if not (np.isfinite(point).all() and np.abs(point).max() <= DIVERGENCE_BOUND):
        raise ConfigError(field, f"must be finite with |x|, |y| ≤ {DIVERGENCE_BOUND:g}")
    return point


class Racer:
    """One optimizer on the surface: its point, optimizer, step count, status and recorded path."""

    def __init__(
        self, label: str, optimizer: str, hyper: dict[str, Any], surface: Surface, start: np.ndarray
    ):
        self.label = label
        self.surface = surface
        self.params = {"xy": start.copy()}
        self.optimizer = make_optimizer(optimizer, self.params, **hyper)
        self.steps = 0
        self.status, self.message = RUNNING, ""
        self.last_step = np.zeros(2)
        self.grad = self._gradient()
        self.path = [self.params["xy"].copy()]
        self.stride = 1

    @property
    def xy(self) -> np.ndarray:
        return self.params["xy"]

    def _gradient(self) -> np.ndarray:
        grad_x, grad_y = self.surface.gradient(self.xy[0], self.xy[1])
        return np.array([grad_x, grad_y], dtype=np.float64)

    def advance(self, n: int, path_cap: int) -> None:
        """Up to n optimizer steps; stops early (status diverged) when the point or its gradient blows up."""
        for _ in range(n):
            if self.status != RUNNING:
                return
            previous = self.xy.copy()
            # NOTE: a diverging racer overflows to inf/NaN on its last step; that is detected just below,
            # so numpy's overflow warnings would only be noise.
            with np.errstate(over="ignore", invalid="ignore"):
                self.optimizer.step({"xy": self.grad})
                grad = self._gradient()
            if not (np.isfinite(self.xy).all() and np.abs(self.xy).max() <= DIVERGENCE_BOUND):
                self._diverge(previous, "the point left the box |x|, |y| ≤ 1e6")
                return
            if not np.isfinite(grad).all():
                self._diverge(previous, "the gradient overflowed")
                return
            self.grad = grad
            self.last_step = self.xy - previous
            self.steps += 1
            self._record(path_cap)

    def _diverge(self, previous: np.ndarray, reason: str) -> None:
        """Stop at the last good point (so every reported number stays finite) and say why."""
        self.xy[...] = previous
        self.status = DIVERGED
        self.message = f"diverged at step {self.steps + 1}: {reason}"

    def _record(self, path_cap: int) -> None:
        if self.steps % self.stride:
            return
        self.path.append(self.xy.copy())
        if len(self.path) > path_cap:
            self.path = self.path[::2]
            self.stride *= 2

    def velocity(self) -> tuple[str | None, np.ndarray | None]:
        """(state key, buffer) of the optimizer's momentum-like state, or (None, None) when it has none."""
        state = self.optimizer.state.get("xy", {})
        for key in VELOCITY_KEYS:
            if state.get(key) is not None:
                return key, state[key]
        return None, None

    def nearest_minimum(self) -> tuple[list[float] | None, float | None]:
        """The closest known minimum (global or local) and the distance to it; (None, None) if none."""
        minima = self.surface.known_minima()
        if not minima:
            return None, None
        distances = [math.hypot(self.xy[0] - mx, self.xy[1] - my) for mx, my in minima]
        best = int(np.argmin(distances))
        return list(minima[best]), distances[best]

    def path_points(self) -> list[list[float]]:
        """The recorded path plus the current point when the stride skipped it."""
        points = [[float(x), float(y)] for x, y in self.path]
        if self.steps % self.stride:
            points.append([float(self.xy[0]), float(self.xy[1])])
        return points

    def to_dict(self, path: bool = True) -> dict[str, Any]:
        """JSON-safe state; ``path=False`` leaves out the path (streams send only its new points)."""
        kind, buffer = self.velocity()
        nearest, distance = self.nearest_minimum()
        value = float(self.surface.value(self.xy[0], self.xy[1]))
        return {
            "name": self.label,
            "optimizer": self.optimizer.name,
            "hyper": json_safe(self.optimizer.hyper),
            "status": self.status,
            "message": self.message,
            "steps": self.steps,
            "position": finite_list_or_none(self.xy),
            "value": value if math.isfinite(value) else None,
            "gradient": finite_list_or_none(self.grad),
            "velocity": None if buffer is None else finite_list_or_none(buffer),
            "velocity_kind": kind,
            "last_step": finite_list_or_none(self.last_step),
            "nearest_minimum": nearest,
            "distance_to_minimum": distance,
            **({"path": self.path_points(), "path_stride": self.stride} if path else {}),
        }


class Race:
    """Racers on one surface from one start.

    ``racers`` is [{"name": label, "optimizer": name, "hyper": {..}}, ..]; ``start`` None takes the
    surface's suggested start.
    """

    def __init__(
        self,
        surface: Surface,
        start: tuple[float, float] | None,
        racers: list[dict[str, Any]],
        path_cap: int = DEFAULT_PATH_CAP,
    ):
        if not isinstance(racers, list) or not 1 <= len(racers) <= MAX_RACERS:
            raise ConfigError("racers", f"must be a list of 1 to {MAX_RACERS} racers")
        if isinstance(path_cap, bool) or not isinstance(path_cap, int) or path_cap < 2:
            raise ConfigError("path_cap", "must be an integer of at least 2")
        self.surface = surface
        self.path_cap = path_cap
        specs = [self._checked_spec(index, spec) for index, spec in enumerate(racers)]
        self.start = _checked_point(*(surface.start if start is None else start), field="start")
        self.racers = []
        for index, spec in enumerate(specs):
            try:
                self.racers.append(Racer(*spec, surface, self.start))
            except ConfigError as error:
                raise ConfigError(f"racers.{index}.{error.field}", error.reason) from None

    @staticmethod
    def _checked_spec(index: int, spec: Any) -> tuple[str, str, dict[str, Any]]:
        field = f"racers.{index}"
        if not isinstance(spec, dict) or not isinstance(spec.get("optimizer"), str):
            raise ConfigError(field, 'needs {"optimizer": name} and optionally "name" and "hyper"')
        hyper = spec.get("hyper") or {}
        if not isinstance(hyper, dict):
            raise ConfigError(f"{field}.hyper", "must be an object of hyperparameters")
        return str(spec.get("name") or spec["optimizer"]), spec["optimizer"], dict(hyper)

    def step(self, n: int = 1) -> None:
        """Advance every running racer by n steps."""
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_STEPS_PER_CALL:
            raise ConfigError("steps", f"must be an integer from 1 to {MAX_STEPS_PER_CALL}")
        for racer in self.racers:
            racer.advance(n, self.path_cap)

    def set_start(self, x: float, y: float) -> None:
        """Move the start and restart every racer from it with fresh optimizer state (live hyper kept)."""
        self.start = _checked_point(x, y, field="start")
        self.reset()

    def reset(self) -> None:
        """Restart every racer from the start, keeping each one's current hyperparameters."""
        self.racers = [
            Racer(racer.label, racer.optimizer.name, dict(racer.optimizer.hyper), self.surface, self.start)
            for racer in self.racers
        ]

    def set_racer_hyper(self, index: int, **changes: Any) -> None:
        """Change one racer's hyperparameters between steps, keeping its point and optimizer state."""
        self._racer(index).optimizer.set_hyperparameters(**changes)

    def _racer(self, index: int) -> Racer:
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.racers):
            raise ConfigError("racer", f"must be a racer index from 0 to {len(self.racers) - 1}")
        return self.racers[index]

    def to_dict(self) -> dict[str, Any]:
        """The whole race, JSON-safe (no NaN or infinity anywhere)."""
        return {
            "function": self.surface.name,
            "parameters": dict(self.surface.parameters),
            "start": [float(v) for v in self.start],
            "path_cap": self.path_cap,
            "racers": [racer.to_dict() for racer in self.racers],
        }

    def state_dict(self) -> dict[str, Any]:
        """Everything needed to continue the race exactly (numpy arrays inside; see serialize.pack)."""
        return {
            "function": self.surface.name,
            "condition": self.surface.parameters.get("condition"),
            "start": self.start.copy(),
            "path_cap": self.path_cap,
            "racers": [
                {
                    "name": racer.label,
                    "optimizer": racer.optimizer.state_dict(),
                    "xy": racer.xy.copy(),
                    "grad": racer.grad.copy(),
                    "last_step": racer.last_step.copy(),
                    "steps": racer.steps,
                    "status": racer.status,
                    "message": racer.message,
                    "path": np.array(racer.path),
                    "stride": racer.stride,
                }
                for racer in self.racers
            ],
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> Race:
        """The race :meth:`state_dict` described, continuing bit for bit."""
        surface = get_surface(state["function"], state.get("condition"))
        specs = [
            {
                "name": entry["name"],
                "optimizer": entry["optimizer"]["name"],
                "hyper": entry["optimizer"]["hyper"],
            }
            for entry in state["racers"]
        ]
        race = cls(surface, tuple(state["start"]), specs, path_cap=int(state["path_cap"]))
        for racer, entry in zip(race.racers, state["racers"], strict=True):
            racer.xy[...] = entry["xy"]
            racer.optimizer.load_state_dict(entry["optimizer"])
            racer.grad = np.array(entry["grad"], dtype=np.float64)
            racer.last_step = np.array(entry["last_step"], dtype=np.float64)
            racer.steps, racer.stride = int(entry["steps"]), int(entry["stride"])
            racer.status, racer.message = entry["status"], entry["message"]
            racer.path = list(np.array(entry["path"], dtype=np.float64))
        return race
