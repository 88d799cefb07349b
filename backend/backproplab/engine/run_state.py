"""A run's saved state: what :meth:`Run.to_bytes` writes and :meth:`Run.from_bytes` reads back.

Everything needed to continue exactly: config, weights, last gradients, optimizer state, the batch
generator and sampler, counters and the bounded logs (history, trajectory, health). Saved states carry a
version; :func:`migrate` brings an older one up to date, so a run saved before a change keeps its
behaviour:

- version 1 → 2: "gelu" became the exact z·Φ(z) (torch's default); version 1's "gelu" was the tanh
  approximation, now called "gelu_tanh", so its activations are renamed. Schedules became torch's
  stateful schedulers: version 1 had none saved and never cycled momentum, so the schedule is taken as
  attached at step 0 at the config's lr (replayed to the saved step, as torch would have run it) with
  cycle_momentum off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .batches import BatchSampler
from .config import RunConfig
from .custom_data import CustomData
from .errors import ConfigError
from .history import MetricHistory

if TYPE_CHECKING:
    from .run import Run

STATE_VERSION = 2


def run_state(run: Run) -> dict[str, Any]:
    """The whole run as a tree of JSON values and numpy arrays (see serialize.pack): its core, its custom
    data and its logs (history with the recent ring, trajectory, health)."""
    return {
        **core_state(run),
        "custom_data": None if run.custom_data is None else {"X": run.custom_data.X, "y": run.custom_data.y},
        "history": run.metric_history.state_dict(),
        "trajectory": run.trajectory.state_dict(),
        "health": run.health.state_dict(),
    }


def core_state(run: Run) -> dict[str, Any]:
    """Everything but the growing logs and the custom data (named by its hash in the config)."""
    return {
        "version": STATE_VERSION,
        "config": run.config.model_dump(mode="json", exclude={"dataset": {"X", "y"}}),
        "weights": [{"W": layer.W, "b": layer.b} for layer in run.network.layers],
        "grads": [{"W": layer.grad_W, "b": layer.grad_b} for layer in run.network.layers],
        "optimizer": run.optimizer.state_dict(),
        "scheduler": run.scheduler.state_dict(),
        "batch_rng": run.batch_rng.bit_generator.state,
        "sampler": sampler_state(run.sampler),
        "step_count": run.step_count,
        "diverged": run.diverged,
        "message": run.message,
        "learning": run._learning.state_dict(),
        "changed_at": run._changed_at,
        "generation": run._generation,
    }


def migrate(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` brought up to STATE_VERSION in place, one version at a time (ConfigError if unknown)."""
    version = state.get("version")
    if version == 1:
        model = state["config"]["model"]
        for key in ("activation", "output_activation"):
            if model.get(key) == "gelu":
                model[key] = "gelu_tanh"
        state["config"]["schedule"]["cycle_momentum"] = False
        state["scheduler"] = None  # replayed from step 0 by load_run_state
        state["version"] = version = 2
    if version != STATE_VERSION:
        raise ConfigError("state", f"saved run has version {version}, expected {STATE_VERSION}")
    return state


def saved_config(state: dict[str, Any]) -> tuple[RunConfig, CustomData | None]:
    """The RunConfig of a saved state (migrated to this version) and its custom data, if any."""
    config = migrate(state)["config"]
    data = None
    if state["custom_data"] is not None:
        data = CustomData.from_values(state["custom_data"]["X"], state["custom_data"]["y"])
        config["dataset"]["content_hash"] = data.content_hash  # version 1 named none
    return RunConfig.model_validate(config), data


def load_run_state(run: Run, state: dict[str, Any]) -> None:
    """Put a freshly built run (from :func:`saved_config`) into the saved state."""
    load_core_state(run, state)
    run.metric_history = MetricHistory.from_state_dict(len(run.network.layers), state["history"])
    run.trajectory.load_state_dict(state["trajectory"])
    run.health.load_state_dict(state["health"])


def load_core_state(run: Run, state: dict[str, Any]) -> None:
    """Put a freshly built run into the state of :func:`core_state` (the logs are left empty)."""
    run.network.load_weights(state["weights"])
    for layer, grads in zip(run.network.layers, state["grads"], strict=True):
        layer.grad_W[...] = grads["W"]
        layer.grad_b[...] = grads["b"]
    run.optimizer.load_state_dict(state["optimizer"])
    if state["scheduler"] is None:  # a version-1 state: the schedule as torch would have run it
        for _ in range(int(state["step_count"])):
            run.scheduler.step()
    else:
        run.scheduler.load_state_dict(state["scheduler"])
    run.scheduler.apply(run.optimizer)
    run.batch_rng.bit_generator.state = state["batch_rng"]
    run.sampler.load_state_dict(state["sampler"])
    run.step_count = int(state["step_count"])
    run.diverged = bool(state["diverged"])
    run.message = state["message"]
    run._generation = int(state.get("generation", 0))
    if "learning" in state:
        run._learning.load_state_dict(state["learning"])
        run._changed_at = int(state["changed_at"])
    else:  # a version-1 state: watch from here on
        run._changed_at = run.step_count


def sampler_state(sampler: BatchSampler) -> dict[str, Any]:
    """The sampler's state with its permutation as an int64 array (compact, exact)."""
    state = sampler.state_dict()
    if state["permutation"] is not None:
        state["permutation"] = np.asarray(state["permutation"], dtype=np.int64)
    return state
