"""The training Run: reproducibility, live changes, divergence, persistence and learning targets."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from pydantic import ValidationError

from backproplab.engine.config import RunConfig, merge_config
from backproplab.engine.errors import ConfigError
from backproplab.engine.losses import get_loss
from backproplab.engine.numbers import json_safe
from backproplab.engine.regularization import regularization_penalty
from backproplab.engine.run import Run


def make_run(**overrides) -> Run:
    return Run(RunConfig.model_validate(overrides))


def patch_run(run: Run, patch: dict) -> bool:
    """What the server does with a PATCH: merge it once, then hand the validated config to the run."""
    return run.apply_config(merge_config(run.config, patch))


def weights_of(run: Run) -> list[np.ndarray]:
    return [array.copy() for layer in run.network.layers for array in (layer.W, layer.b)]


def assert_same_weights(first: Run, second: Run) -> None:
    for a, b in zip(weights_of(first), weights_of(second), strict=True):
        np.testing.assert_array_equal(a, b)


def test_same_seed_and_config_reproduce_a_run_exactly():
    first, second = make_run(seed=7), make_run(seed=7)
    first.step(123)
    second.step(123)
    assert_same_weights(first, second)
    np.testing.assert_array_equal(first.metric_history.stored(), second.metric_history.stored())


def test_a_different_seed_gives_different_data_weights_and_batches():
    first, second = make_run(seed=1), make_run(seed=2)
    assert not np.array_equal(first.dataset.X_train, second.dataset.X_train)
    assert not np.array_equal(first.network.layers[0].W, second.network.layers[0].W)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "rmsprop", "nadam", "adadelta"])
def test_saved_run_continues_bit_for_bit(optimizer):
    uninterrupted = make_run(seed=3, optimizer={"name": optimizer, "lr": 0.01}, batch_size=7)
    uninterrupted.step(37)  # mid-epoch: 250 training rows, batch 7
    restored = Run.from_bytes(uninterrupted.to_bytes())
    uninterrupted.step(200)
    restored.step(200)
    assert_same_weights(uninterrupted, restored)
    assert restored.step_count == uninterrupted.step_count == 237
    assert restored.epoch == uninterrupted.epoch
    np.testing.assert_array_equal(restored.metric_history.stored(), uninterrupted.metric_history.stored())


def test_a_saved_runs_health_snapshots_come_back_whole_from_packed_and_from_older_saves():
    from backproplab.engine import serialize

    run = make_run(seed=3)
    run.step(3_000)
    assert len(run.health.snapshots) > 2
    saved = run.to_bytes()
    assert "packed" in serialize.unpack(saved)["health"]  # eight arrays, not an entry per histogram
    older = serialize.unpack(saved)  # as Run.to_bytes wrote it before: one entry per histogram
    older["health"]["snapshots"] = run.health.snapshots
    del older["health"]["packed"]
    for blob in (saved, serialize.pack(older)):
        restored = Run.from_bytes(blob)
        assert json.dumps(restored.health.to_dict()) == json.dumps(run.health.to_dict())


def test_changing_lr_keeps_weights_and_optimizer_state():
    run = make_run(optimizer={"name": "adam", "lr": 0.01})
    run.step(20)
    before_weights = weights_of(run)
    before_state = {name: state["exp_avg"].copy() for name, state in run.optimizer.state.items()}
    optimizer = run.optimizer
    assert patch_run(run, {"optimizer": {"lr": 0.002}}) is False
    assert run.optimizer is optimizer and run.optimizer.hyper["lr"] == 0.002
    for a, b in zip(before_weights, weights_of(run), strict=True):
        np.testing.assert_array_equal(a, b)
    for name, exp_avg in before_state.items():
        np.testing.assert_array_equal(run.optimizer.state[name]["exp_avg"], exp_avg)
    assert run.step_count == 20
    run.step(1)
    assert run.metric_history.recent_since(20)[:, 2].tolist() == [0.002]


def test_changing_the_optimizer_name_keeps_weights_and_starts_fresh_state():
    run = make_run(optimizer={"name": "adam", "lr": 0.01})
    run.step(20)
    before = weights_of(run)
    assert patch_run(run, {"optimizer": {"name": "rmsprop"}}) is False
    assert run.optimizer.name == "rmsprop"
    assert all(not state or state.get("step", 0) == 0 for state in run.optimizer.state.values())
    for a, b in zip(before, weights_of(run), strict=True):
        np.testing.assert_array_equal(a, b)
    assert run.step_count == 20


@pytest.mark.parametrize(
    "patch",
    [{"batch_size": 3}, {"regularization": {"kind": "l2", "rate": 0.01}}, {"schedule": {"kind": "cosine"}}],
)
def test_batch_size_regularization_and_schedule_keep_weights_and_state(patch):
    run = make_run(optimizer={"name": "momentum", "lr": 0.01})
    run.step(15)
    before = weights_of(run)
    buffers = {name: state["momentum_buffer"].copy() for name, state in run.optimizer.state.items()}
    assert patch_run(run, patch) is False
    for a, b in zip(before, weights_of(run), strict=True):
        np.testing.assert_array_equal(a, b)
    for name, buffer in buffers.items():
        np.testing.assert_array_equal(run.optimizer.state[name]["momentum_buffer"], buffer)
    run.step(5)
    assert run.step_count == 20


@pytest.mark.parametrize(
    "patch",
    [
        {"seed": 9},
        {"dataset": {"kind": "xor"}},
        {"features": ["x1", "x2", "x1*x2"]},
        {"model": {"hidden": [3]}},
        {"loss": "mse"},
    ],
)
def test_model_data_features_loss_and_seed_rebuild_the_network(patch):
    run = make_run()
    run.step(10)
    assert patch_run(run, patch) is True
    assert run.step_count == 0
    assert run.metric_history.size == 0


def test_a_bad_patch_changes_nothing():
    run = make_run()
    run.step(5)
    before, config = weights_of(run), run.config
    with pytest.raises(ValidationError):
        patch_run(run, {"optimizer": {"lr": -1}})
    with pytest.raises(ConfigError):
        patch_run(run, {"loss": "bce", "dataset": {"kind": "plane"}})
    assert run.config == config
    for a, b in zip(before, weights_of(run), strict=True):
        np.testing.assert_array_equal(a, b)


def test_divergence_stops_the_run_keeps_finite_weights_and_stays_json_safe():
    run = make_run(dataset={"kind": "plane"}, optimizer={"lr": 5.0})
    done = run.step(1000)
    assert run.diverged and done < 1000
    assert "learning rate" in run.message
    assert all(np.isfinite(array).all() for array in weights_of(run))
    assert run.step(10) == 0
    json.dumps(json_safe({"rows": run.metric_history.stored(), "weights": weights_of(run)}), allow_nan=False)
    assert run.metric_history.first_divergence_step > 0 and run.learning is None
    patch_run(run, {"optimizer": {"lr": 0.001}})
    assert not run.diverged
    run.reset()
    assert run.step(10) == 10 and not run.diverged


@pytest.mark.parametrize(
    ("config", "steps", "accuracy"),
    [
        (
            {
                "dataset": {"kind": "xor"},
                "model": {"hidden": [8, 8]},
                "optimizer": {"name": "adam", "lr": 0.01},
            },
            1500,
            0.95,
        ),
        ({"dataset": {"kind": "circle"}, "model": {"hidden": [4, 2]}, "optimizer": {"lr": 0.03}}, 2000, 0.95),
        (
            {
                "dataset": {"kind": "spiral", "classes": 3, "samples": 600},
                "model": {"hidden": [32, 32], "activation": "relu", "init": "he_normal"},
                "optimizer": {"name": "adam", "lr": 0.01},
                "batch_size": 32,
            },
            4000,
            0.9,
        ),
    ],
    ids=["xor", "circle", "spiral-3-class"],
)
def test_seeded_runs_reach_their_stated_accuracy(config, steps, accuracy):
    run = make_run(seed=0, **config)
    run.step(steps)
    metrics = run.evaluate()
    assert metrics["train_accuracy"] >= accuracy, metrics
    assert metrics["test_accuracy"] >= accuracy - 0.1, metrics


def test_custom_data_with_train_fraction_one_trains_rows_in_the_given_order():
    X = [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0], [-1.0, 0.5]]
    y = [0, 1, 1, 0]
    weights = [{"W": [[0.1], [-0.2]], "b": [0.05]}]
    run = make_run(
        dataset={"kind": "custom", "X": X, "y": y, "train_fraction": 1.0},
        model={"hidden": [], "weights": weights},
        optimizer={"lr": 0.5},
        batch_size=2,
    )
    run.step(1)
    # One SGD step by hand on the first two rows: bce with logits, grad = Xᵀ(σ(z) − y)/n.
    X_batch, y_batch = np.array(X[:2]), np.array(y[:2], dtype=float).reshape(-1, 1)
    W, b = np.array(weights[0]["W"]), np.array(weights[0]["b"])
    error = 1 / (1 + np.exp(-(X_batch @ W + b))) - y_batch
    np.testing.assert_allclose(run.network.layers[0].W, W - 0.5 * X_batch.T @ error / 2, rtol=1e-14)
    np.testing.assert_allclose(run.network.layers[0].b, b - 0.5 * error.sum(axis=0) / 2, rtol=1e-14)


def test_l2_regularization_gradient_is_the_derivative_of_the_penalty():
    run = make_run(regularization={"kind": "l2", "rate": 0.1}, optimizer={"lr": 0.0})
    loss = get_loss(run.loss_name)
    rows = np.arange(10)
    X, target = run.X_train[rows], run.target_train[rows]

    def total_loss() -> float:
        output = run.network.forward(X)
        return loss.evaluate(run.network.output_layer.z, output, target).value + regularization_penalty(
            run.network, "l2", 0.1
        )

    output = run.network.forward(X)
    result = loss.evaluate(run.network.output_layer.z, output, target)
    run.network.backward(result.grad, grad_is_logits=True)
    from backproplab.engine.regularization import add_regularization_gradient

    add_regularization_gradient(run.network, "l2", 0.1)
    W = run.network.layers[0].W
    h = 1e-6
    original = W[0, 0]
    W[0, 0] = original + h
    plus = total_loss()
    W[0, 0] = original - h
    minus = total_loss()
    W[0, 0] = original
    np.testing.assert_allclose(run.network.layers[0].grad_W[0, 0], (plus - minus) / (2 * h), rtol=1e-7)


def test_biases_are_not_regularised():
    run = make_run(regularization={"kind": "l1", "rate": 1.0}, optimizer={"lr": 0.0})
    run.network.layers[0].b[:] = 3.0
    penalty = regularization_penalty(run.network, "l1", 1.0)
    assert penalty == pytest.approx(sum(np.abs(layer.W).sum() for layer in run.network.layers))


def test_editing_a_weight_changes_the_parameters():
    run = make_run()
    run.set_weight(0, 1, 2, 0.75)
    run.set_bias(1, 0, -0.5)
    assert run.network.layers[0].W[1, 2] == 0.75
    assert run.network.layers[1].b[0] == -0.5
    with pytest.raises(ConfigError) as outside:
        run.set_weight(0, 5, 0, 1.0)
    assert outside.value.field == "row"
    with pytest.raises(ConfigError) as outside:
        run.set_weight(0, 0, 99, 1.0)
    assert outside.value.field == "col"
    with pytest.raises(ConfigError):
        run.set_bias(0, 0, float("nan"))


def test_reset_returns_to_the_initial_state():
    run = make_run(seed=5)
    initial = weights_of(run)
    run.step(50)
    run.reset()
    assert run.step_count == 0
    for a, b in zip(initial, weights_of(run), strict=True):
        np.testing.assert_array_equal(a, b)


def test_gradient_health_shows_vanishing_gradients_in_a_deep_sigmoid_network():
    deep = make_run(model={"hidden": [8] * 8, "activation": "sigmoid", "init": "xavier_normal"})
    deep.step(400)
    layers = len(deep.network.layers)
    stats = deep.metric_history.stored()[:, 7 : 7 + layers]
    grad_norms = stats[np.isfinite(stats).all(axis=1)][-1]
    assert grad_norms[0] < 1e-3 * grad_norms[-1]
    snapshots = deep.health.to_dict()["snapshots"]
    steps = [snap["step"] for snap in snapshots]
    every = deep.eval_every()
    assert steps[0] == 1 and len(steps) >= 2 and all(step % every == 0 for step in steps[1:])
    assert sum(snapshots[-1]["layers"][0]["weights"]["counts"]) == deep.network.layers[0].W.size


def test_dead_relu_share_is_measured_per_relu_layer():
    run = make_run(model={"hidden": [6], "activation": "relu"})
    run.network.layers[0].b[:3] = -1e3  # three units that can never fire
    run.step(1)
    share = run.health.to_dict()["snapshots"][0]["layers"][0]["dead_share"]
    assert share == pytest.approx(0.5)
    assert run.health.to_dict()["snapshots"][0]["layers"][1]["dead_share"] is None


def test_apply_config_takes_a_merged_config_and_is_atomic():
    run = make_run(optimizer={"name": "sgd", "lr": 0.1})
    run.step(5)
    config = run.config
    bad = merge_config(run.config, {"optimizer": {"nesterov": True}, "batch_size": 3})  # valid alone ...
    with pytest.raises(ConfigError) as error:  # ... but torch refuses Nesterov without momentum
        run.apply_config(bad)
    assert error.value.field == "optimizer.nesterov"
    assert run.config is config and run.optimizer.hyper["nesterov"] is False


def test_only_the_changed_hyperparameters_reach_the_optimizer():
    run = make_run(optimizer={"name": "momentum", "lr": 0.1})
    run.optimizer.set_hyperparameters(momentum=0.5)  # in force, though the config still says default
    assert patch_run(run, {"optimizer": {"lr": 0.2}}) is False
    assert run.optimizer.hyper["lr"] == 0.2 and run.optimizer.hyper["momentum"] == 0.5


FIXTURES = __import__("pathlib").Path(__file__).parents[1] / "fixtures"


def test_a_run_saved_with_the_old_tanh_gelu_keeps_its_behaviour():
    """tests/fixtures/run_state_v1_gelu.npz was saved (state version 1) by the engine whose "gelu" was the
    tanh approximation, after 30 steps; the expected file holds its weights after 20 more steps."""
    restored = Run.from_bytes((FIXTURES / "run_state_v1_gelu.npz").read_bytes())
    assert restored.config.model.activation == "gelu_tanh"
    assert {layer.activation.name for layer in restored.network.layers[:-1]} == {"gelu_tanh"}
    restored.step(20)
    expected = np.load(FIXTURES / "run_state_v1_gelu_expected.npz")
    assert restored.step_count == int(expected["step_count"]) == 50
    for name, value in restored.network.params().items():
        # As the old engine went on, to rounding (the engine's sigmoid has since changed form).
        np.testing.assert_allclose(value, expected[name], rtol=1e-13, atol=1e-16)
    again = Run.from_bytes(restored.to_bytes())  # saved again: the current version, still gelu_tanh
    assert again.config.model.activation == "gelu_tanh"


def test_an_unknown_state_version_is_a_config_error():
    from backproplab.engine import serialize

    state = serialize.unpack(make_run().to_bytes())
    state["version"] = 99
    with pytest.raises(ConfigError, match="version 99"):
        Run.from_bytes(serialize.pack(state))


# --- divergence bookkeeping: step count, message, epoch and history agree -----------------------------


def _full_batch_diverging_config(lr: float = 2.0) -> RunConfig:
    """Full batch on 20 rows in order: one step is one epoch, so the epoch counts the steps too."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2))
    return RunConfig.model_validate(
        {
            "dataset": {
                "kind": "custom",
                "X": X.tolist(),
                "y": (3 * X[:, 0]).tolist(),
                "train_fraction": 1.0,
            },
            "model": {"hidden": [4], "activation": "relu"},
            "optimizer": {"lr": lr},
            "batch_size": 20,
        }
    )


def test_a_run_that_stops_at_step_s_says_so_everywhere():
    run = Run(_full_batch_diverging_config())
    done = run.step(10_000)
    stopped = run.step_count
    assert run.diverged and done == stopped > 0
    assert f"diverged at step {stopped}:" in run.message
    assert run.epoch == stopped  # full batch: the failed step's batch was taken back
    steps = run.metric_history.stored()[:, 0]
    assert steps[-1] == stopped and (steps <= stopped).all()
    assert run.metric_history.first_divergence_step == stopped
    assert run.metric_history.latest_row()[0] == stopped


def test_diverging_again_at_the_same_step_adds_no_row():
    """Here the loss itself overflowed at the kept weights: no learning rate can help, every retry stops
    at once, and none of them adds a row or moves a counter."""
    run = Run(_full_batch_diverging_config())
    run.step(10_000)
    stopped, rows, epoch = run.step_count, run.metric_history.stored().copy(), run.epoch
    assert "Reset" in run.message
    for lr in (1.0, 0.01):
        patch_run(run, {"optimizer": {"lr": lr}})
        assert not run.diverged
        assert run.step(5) == 0 and run.diverged
        assert run.step_count == stopped and run.epoch == epoch
        assert f"diverged at step {stopped}:" in run.message
        np.testing.assert_array_equal(run.metric_history.stored(), rows)
    run.reset()
    assert run.step(5) == 5


def _overflowing_update_run() -> Run:
    """Three ordinary steps, then a hidden bias of 1e306: the loss stays finite (bce reads the logit
    linearly), but an update at lr 1000 overflows the output weights."""
    run = make_run(model={"hidden": [3], "activation": "relu"}, optimizer={"lr": 0.01}, batch_size=7)
    run.step(3)
    patch_run(run, {"optimizer": {"lr": 1000.0}})
    run.set_bias(0, 0, 1e306)
    run.set_weight(1, 0, 0, 1e-3)
    return run


def test_a_fix_retries_the_exact_failed_step():
    run = _overflowing_update_run()
    assert run.step(10) == 0 and run.diverged and run.step_count == 3
    assert "last finite ones are kept" in run.message and "play on" in run.message
    assert run.network.layers[0].b[0] == 1e306  # the last good weights
    twin = _overflowing_update_run()  # never diverged: the lower lr from this step on
    for each in (run, twin):
        patch_run(each, {"optimizer": {"lr": 1e-6}})
        assert each.step(1) == 1 and each.step_count == 4
    assert_same_weights(run, twin)
    assert run.epoch == twin.epoch
    np.testing.assert_array_equal(run.metric_history.stored()[:, :4], twin.metric_history.stored()[:, :4])


def test_a_pickled_run_continues_bit_for_bit():
    import pickle

    run = make_run(optimizer={"name": "adam", "lr": 0.01}, schedule={"kind": "cosine", "t_max": 50})
    run.step(33)
    copy = pickle.loads(pickle.dumps(run))
    run.step(40)
    copy.step(40)
    assert_same_weights(run, copy)
    np.testing.assert_array_equal(run.metric_history.stored(), copy.metric_history.stored())


def test_evaluate_now_fills_the_newest_row_without_touching_training():
    """A run stepped by hand between two scheduled evaluations shows its current test metrics."""
    stepped, reference = Run(RunConfig(seed=4)), Run(RunConfig(seed=4))
    stepped.step(7)
    reference.step(7)
    assert stepped.eval_every() > 7  # step 7 is between two scheduled evaluations
    before = stepped.metric_history.latest_row().copy()
    assert math.isnan(before[4])  # no test loss recorded at step 7
    assert stepped.evaluate_now() is True and stepped.evaluate_now() is False  # once per step
    row = stepped.metric_history.latest_row()
    assert row[4] == pytest.approx(stepped.evaluate()["test_loss"], rel=1e-12)
    assert stepped.metric_history.stored()[-1][4] == row[4]  # the stored newest row too
    stepped.step(30)
    reference.step(30)
    for mine, theirs in zip(stepped.network.layers, reference.network.layers, strict=True):
        assert np.array_equal(mine.W, theirs.W) and np.array_equal(mine.b, theirs.b)


def test_added_points_train_and_survive_a_save_and_a_change_of_seed():
    extra = {"X": [[0.5, 0.5], [5.0, 5.0]], "y": [0, 1]}
    run = make_run(dataset={"kind": "circle", "samples": 100, "extra": extra}, batch_size=101)
    assert len(run.X_train) == 52 and run.dataset.added == 2
    run.step(3)
    copy = Run.from_bytes(run.to_bytes())
    assert copy.dataset.added == 2 and copy.config.dataset.extra == run.config.dataset.extra
    run.step(2)
    copy.step(2)
    assert_same_weights(run, copy)
    assert patch_run(run, {"seed": 9}) is True
    assert run.dataset.added == 2 and run.X_train[-2:].tolist() == extra["X"]
    assert patch_run(run, {"dataset": {"extra": None}}) is True
    assert run.dataset.added == 0 and len(run.X_train) == 50
