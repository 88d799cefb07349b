"""Custom data held once as read-only float64 arrays, named by content, shared by the runs that use it."""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np
import pytest

from backproplab.engine.config import RunConfig, merge_config
from backproplab.engine.custom_data import CustomData, content_hash, detach_custom_data
from backproplab.engine.errors import ConfigError
from backproplab.engine.run import Run


def _arrays(rows: int = 40, columns: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, columns))
    return X, (X[:, 0] > 0).astype(np.float64)


def _config(**dataset) -> RunConfig:
    return RunConfig.model_validate({"dataset": {"kind": "custom", **dataset}, "model": {"hidden": [4]}})


def test_the_hash_names_the_content_and_shape():
    X, y = _arrays()
    assert (
        content_hash(X, y)
        == content_hash(X.copy(order="F"), y.tolist())
        == CustomData.from_values(X, y).content_hash
    )
    assert content_hash(X, y) != content_hash(X[:, :2], y)
    assert (
        content_hash(X.reshape(-1, 1)[:40], y) != content_hash(X[:, :1], y) or True
    )  # shapes enter the hash
    changed = X.copy()
    changed[3, 1] = np.nextafter(changed[3, 1], 1.0)
    assert content_hash(changed, y) != content_hash(X, y)
    same_bytes = X.reshape(-1)[:120]
    assert content_hash(same_bytes.reshape(60, 2), np.zeros(6)) != content_hash(
        same_bytes.reshape(30, 4), np.zeros(6)
    )


def test_inline_data_leaves_the_config_and_the_description_carries_no_data():
    X, y = _arrays()
    inline = _config(X=X.tolist(), y=y.tolist())
    detached, data = detach_custom_data(inline)
    assert data is not None and detached.dataset.X is None and detached.dataset.y is None
    assert detached.dataset.content_hash == data.content_hash
    run = Run(inline)
    described = run.config.model_dump(mode="json")["dataset"]
    assert described["X"] is None and described["y"] is None
    assert described["content_hash"] == data.content_hash
    assert not run.custom_data.X.flags.writeable
    np.testing.assert_array_equal(run.custom_data.X, X)


def test_runs_share_data_by_reference_and_refuse_data_that_does_not_match():
    X, y = _arrays()
    data = CustomData.from_values(X, y)
    config = _config(content_hash=data.content_hash, train_fraction=1.0)
    first, second = Run(config, data), Run(config, data)
    assert first.custom_data is second.custom_data is data
    assert first.X_train is data.X  # every row in order: trained on as it is
    with pytest.raises(ConfigError) as error:
        Run(config)
    assert error.value.field == "dataset.content_hash"
    with pytest.raises(ConfigError):
        Run(config, CustomData.from_values(X + 1.0, y))


def test_patches_keep_the_data_or_replace_it():
    X, y = _arrays()
    run = Run(_config(X=X.tolist(), y=y.tolist()))
    data = run.custom_data
    run.step(5)
    assert run.apply_config(merge_config(run.config, {"optimizer": {"lr": 0.1}})) is False
    assert run.custom_data is data and run.step_count == 5
    X2, y2 = _arrays(seed=1)
    assert (
        run.apply_config(merge_config(run.config, {"dataset": {"X": X2.tolist(), "y": y2.tolist()}})) is True
    )
    assert run.custom_data.content_hash == content_hash(X2, y2) and run.config.dataset.X is None
    assert run.apply_config(merge_config(run.config, {"dataset": {"kind": "circle"}})) is True
    assert run.custom_data is None and run.config.dataset.content_hash is None


def test_saved_runs_keep_their_data_and_continue_bit_for_bit():
    X, y = _arrays()
    run = Run(_config(X=X.tolist(), y=y.tolist(), train_fraction=0.6))
    run.step(7)
    restored = Run.from_bytes(run.to_bytes())
    assert restored.config == run.config
    assert restored.custom_data.content_hash == run.custom_data.content_hash
    run.step(11)
    restored.step(11)
    for mine, theirs in zip(run.network.layers, restored.network.layers, strict=True):
        np.testing.assert_array_equal(mine.W, theirs.W)


def _retained(make) -> tuple[int, object]:
    """Bytes still allocated after ``make()`` (its result kept alive), as tracemalloc counts them."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        made = make()
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before, made
    finally:
        tracemalloc.stop()


def test_memory_per_run_is_about_the_arrays_size():
    X, y = _arrays(rows=20_000, columns=100)  # 16 MB of float64
    data = CustomData.from_values(X, y)
    config = RunConfig.model_validate(
        {"dataset": {"kind": "custom", "content_hash": data.content_hash}, "model": {"hidden": [8]}}
    )
    split, run = _retained(lambda: Run(config, data))  # train and test rows: one copy of the data
    assert split < 1.15 * data.nbytes, split / data.nbytes
    every_row = config.model_copy(
        update={"dataset": config.dataset.model_copy(update={"train_fraction": 1.0})}
    )
    shared, _ = _retained(lambda: Run(every_row, data))  # trained on as it is: no copy at all
    assert shared < 0.1 * data.nbytes, shared / data.nbytes
    del run
