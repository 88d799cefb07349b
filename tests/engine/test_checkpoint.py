"""Incremental checkpoints: a constant-size core and appended log chunks rebuild a run that continues bit
for bit, through compactions, rebuilds and resets; the bytes per checkpoint do not grow with age."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from backproplab.engine import serialize
from backproplab.engine.checkpoint import LOG_NAMES
from backproplab.engine.config import RunConfig, merge_config
from backproplab.engine.custom_data import CustomData
from backproplab.engine.errors import ConfigError
from backproplab.engine.health import histogram, packed_snapshots, unpacked_snapshots
from backproplab.engine.history import MetricHistory
from backproplab.engine.run import Run


class Store:
    """What a server keeps: the last core, and every chunk of each log in order."""

    def __init__(self) -> None:
        self.core = b""
        self.logs: dict[str, list[bytes]] = {name: [] for name in LOG_NAMES}
        self.mark = None

    def save(self, run: Run) -> int:
        checkpoint = run.checkpoint(self.mark)
        self.core = checkpoint.core
        for name in checkpoint.replace:
            self.logs[name] = []
        for name, chunk in checkpoint.logs.items():
            self.logs[name].append(chunk)
        self.mark = pickle.loads(pickle.dumps(checkpoint.mark))  # opaque and picklable
        return len(checkpoint.core) + sum(len(chunk) for chunk in checkpoint.logs.values())


def small_logs(run: Run) -> Run:
    """Tiny log capacities, so a short test compacts every log several times."""
    run.metric_history = MetricHistory(len(run.network.layers), capacity=64, recent_capacity=16)
    run._row = np.full(run.metric_history.width, np.nan)
    run.trajectory.capacity = 16
    run.health.capacity = 4
    return run


def checkpointed_xor() -> tuple[Run, Store]:
    """A small-log xor run checkpointed after each of four uneven stretches of steps, and its store."""
    run = small_logs(Run(RunConfig.model_validate({"dataset": {"kind": "xor"}, "eval_every": 15})))
    store = Store()
    for steps in (40, 333, 1, 250):
        run.step(steps)
        store.save(run)
    return run, store


def assert_same_state(restored: Run, original: Run) -> None:
    np.testing.assert_array_equal(restored.network.flat_params, original.network.flat_params)
    np.testing.assert_array_equal(restored.metric_history.stored(), original.metric_history.stored())
    np.testing.assert_array_equal(restored.trajectory.array()[1], original.trajectory.array()[1])
    np.testing.assert_array_equal(restored.trajectory.array()[0], original.trajectory.array()[0])
    assert [snap["step"] for snap in restored.health.snapshots] == [
        snap["step"] for snap in original.health.snapshots
    ]
    for mine, theirs in zip(restored.health.snapshots, original.health.snapshots, strict=True):
        for a, b in zip(mine["layers"], theirs["layers"], strict=True):
            np.testing.assert_array_equal(a["weights"]["counts"], b["weights"]["counts"])
            assert a["dead_share"] == b["dead_share"]
    assert (restored.step_count, restored.epoch, restored.lr) == (
        original.step_count,
        original.epoch,
        original.lr,
    )
    assert restored.learning == original.learning and restored.diverged == original.diverged


def test_restores_at_every_checkpoint_continue_bit_for_bit_through_compactions_and_changes():
    config = RunConfig.model_validate(
        {
            "dataset": {"kind": "spiral", "samples": 200},
            "model": {"hidden": [6, 4], "activation": "relu"},
            "optimizer": {"name": "adam", "lr": 0.01},
            "schedule": {"kind": "cyclic", "step_size_up": 30},
            "batch_size": 7,
            "eval_every": 20,
        }
    )
    run = small_logs(Run(config))
    store = Store()
    rng = np.random.default_rng(0)
    restored: list[tuple[Run, int]] = []
    compactions = []
    for index in range(24):
        run.step(int(rng.integers(1, 90)))
        if index == 9:  # a live change keeps the logs growing
            run.apply_config(merge_config(run.config, {"optimizer": {"lr": 0.003}, "batch_size": 5}))
        if index == 15:  # a rebuild starts them over
            run.apply_config(merge_config(run.config, {"model": {"hidden": [5]}}))
            small_logs(run)
        store.save(run)
        copy = Run.restore(store.core, store.logs)
        assert_same_state(copy, run)
        restored.append((copy, run.step_count))
        compactions.append(
            (run.metric_history.compactions, run.trajectory.compactions, run.health.compactions)
        )
    assert (
        compactions[14][0] >= 2 and compactions[14][1] >= 2 and compactions[14][2] >= 2
    )  # before the rebuild
    run.step(150)
    for copy, at in restored[16:]:  # those taken after the rebuild continue to the original's state
        copy.step(run.step_count - at)
        assert_same_state(copy, run)


def test_a_restore_continues_like_the_original_before_a_rebuild_too():
    run, store = checkpointed_xor()
    copy = Run.restore(store.core, store.logs)
    run.step(400)
    copy.step(400)
    assert_same_state(copy, run)


def test_reset_and_divergence_are_checkpointed():
    run = Run(RunConfig.model_validate({"dataset": {"kind": "plane"}, "optimizer": {"lr": 5.0}}))
    store = Store()
    run.step(10_000)
    assert run.diverged
    store.save(run)
    copy = Run.restore(store.core, store.logs)
    assert copy.diverged and copy.message == run.message and copy.step(5) == 0
    run.reset()
    checkpoint = run.checkpoint(store.mark)
    assert checkpoint.replace == frozenset(LOG_NAMES)  # a new build: every log starts over
    store.save(run)
    run.step(50)
    store.save(run)
    copy = Run.restore(store.core, store.logs)
    assert_same_state(copy, run)


def test_a_custom_run_restores_with_its_shared_data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    data = CustomData.from_values(X, (X[:, 0] > 0).astype(float))
    config = RunConfig.model_validate({"dataset": {"kind": "custom", "content_hash": data.content_hash}})
    run = Run(config, data)
    run.step(30)
    store = Store()
    store.save(run)
    assert X.tobytes() not in store.core  # the core names the data, it does not carry it
    with pytest.raises(ConfigError) as error:
        Run.restore(store.core, store.logs)
    assert error.value.field == "dataset.content_hash"
    copy = Run.restore(store.core, store.logs, data)
    run.step(20)
    copy.step(20)
    assert_same_state(copy, run)


def test_a_full_state_is_not_a_core():
    run = Run()
    with pytest.raises(ConfigError):
        Run.restore(run.to_bytes(), {})


def test_checkpoint_bytes_do_not_grow_with_the_runs_age():
    """Checkpoints every 100 steps for 50,000 steps: the bytes written per checkpoint late in the run
    (compactions included) are no more than early on, while the full state grows."""
    run = Run()
    store = Store()
    written: list[tuple[int, int]] = []
    full_early = 0
    for _ in range(500):
        run.step(100)
        written.append((run.step_count, store.save(run)))
        if run.step_count == 1_000:
            full_early = len(run.to_bytes())
    early = sum(size for step, size in written if 1_000 < step <= 11_000)
    late = sum(size for step, size in written if 40_000 < step <= 50_000)
    assert late <= 1.1 * early, (early, late)
    cores = [len(run.checkpoint(None).core)]
    assert cores[0] < 20_000
    assert len(run.to_bytes()) > 5 * full_early  # what writing everything each time would cost
    assert run.trajectory.compactions >= 2 and run.health.compactions >= 1


def test_health_snapshots_pack_into_a_few_arrays_and_back_exactly():
    """A checkpoint's health chunk: every histogram (an empty one too), dead share (None too) and step
    comes back equal and of the same type."""
    run = Run(RunConfig.model_validate({"model": {"hidden": [5, 3], "activation": "relu"}, "eval_every": 10}))
    run.step(300)
    snapshots = run.health.snapshots
    snapshots[1]["layers"][0]["grads"] = histogram(np.array([np.nan, np.inf]))  # nothing finite: empty
    assert any(layer["dead_share"] is None for layer in snapshots[0]["layers"])  # the output layer's
    packed = packed_snapshots(snapshots)
    assert len(packed) == 8
    back = unpacked_snapshots(serialize.unpack(serialize.pack({"packed": packed}))["packed"])
    assert [snap["step"] for snap in back] == [snap["step"] for snap in snapshots]
    for mine, theirs in zip(back, snapshots, strict=True):
        assert type(mine["step"]) is type(theirs["step"])
        for a, b in zip(mine["layers"], theirs["layers"], strict=True):
            assert a["dead_share"] == b["dead_share"]
            for part in ("weights", "grads"):
                for key in ("edges", "counts"):
                    assert a[part][key].dtype == b[part][key].dtype
                    np.testing.assert_array_equal(a[part][key], b[part][key])
    assert back[1]["layers"][0]["grads"]["edges"].size == 0


def test_health_chunks_saved_before_packing_still_restore():
    run, store = checkpointed_xor()
    old = [serialize.unpack(chunk) for chunk in store.logs["health"]]
    store.logs["health"] = [
        serialize.pack({"snapshots": unpacked_snapshots(chunk["packed"])}) for chunk in old
    ]  # as they were written before
    assert_same_state(Run.restore(store.core, store.logs), run)
