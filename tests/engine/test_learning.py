"""run.learning: the network stopped learning (dead ReLUs, a loss stuck at chance, vanished gradients),
said in words with a one-click fix that works, and never said of a healthy run."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backproplab.engine.config import RunConfig, merge_config
from backproplab.engine.learning import chance_loss
from backproplab.engine.losses import get_loss
from backproplab.engine.run import Run


def run_of(**config) -> Run:
    return Run(RunConfig.model_validate(config))


def first_issue(run: Run, steps: int, every: int = 100):
    """The first verdict within ``steps`` steps, looked at every ``every`` steps (None if none came)."""
    for _ in range(steps // every):
        run.step(every)
        if run.learning is not None:
            return run.learning
    return None


def apply_fix(run: Run) -> None:
    issue = run.learning
    assert issue is not None and issue.fix is not None
    run.apply_config(merge_config(run.config, issue.fix))
    if issue.reset:
        run.reset()


def test_lr_10_kills_every_relu_and_the_fix_brings_learning_back():
    run = run_of(dataset={"kind": "circle"}, model={"activation": "relu"}, optimizer={"lr": 10.0})
    issue = first_issue(run, 500)
    assert issue is not None and issue.kind == "dead_units" and issue.reset
    assert "ReLU" in issue.message and "smaller learning rate" in issue.message
    assert issue.fix == {"optimizer": {"lr": 0.03}}
    apply_fix(run)
    assert run.learning is None and run.step_count == 0
    assert first_issue(run, 3000) is None
    assert run.evaluate()["train_loss"] < 0.9 * math.log(2)  # learning again: clearly below chance


def test_lr_10_saturates_tanh_and_the_loss_stays_at_chance():
    run = run_of(dataset={"kind": "circle"}, model={"activation": "tanh"}, optimizer={"lr": 10.0})
    issue = first_issue(run, 2000)
    assert issue is not None and issue.kind == "flat_loss" and issue.reset
    assert "saturated" in issue.message and "no better than guessing (0.69" in issue.message
    apply_fix(run)
    assert first_issue(run, 3000) is None
    assert run.evaluate()["train_accuracy"] >= 0.95


def test_lowering_the_learning_rate_afterwards_does_not_take_the_blame_for_saturation():
    """lr 10 saturated the units; lowering it to 0 leaves them so. The verdict blames 10 (used earlier on
    these weights), not 0, and its fix is a learning rate smaller than 10's, after a reset."""
    run = run_of(dataset={"kind": "circle"}, model={"activation": "tanh"}, optimizer={"lr": 10.0})
    assert first_issue(run, 2000) is not None
    run.apply_config(merge_config(run.config, {"optimizer": {"lr": 0.0}}))
    issue = first_issue(run, 2000)
    assert issue is not None and issue.kind == "flat_loss" and issue.reset
    assert "(10, used earlier on these weights; lowering it to 0 cannot undo that)" in issue.message
    assert issue.fix == {"optimizer": {"lr": 0.03}}
    restored = Run.from_bytes(run.to_bytes())  # a restart keeps who is to blame
    restored.step(100)
    assert restored.learning is not None and "used earlier" in restored.learning.message
    run.reset()  # new weights: nothing of the old learning rate is left in them
    run.step(500)
    assert run.learning is None or "used earlier" not in run.learning.message


def heights_and_weights(scaled: bool) -> dict:
    """A CSV a class might upload: height (cm) and weight (kg), labelled tall above 170 cm."""
    rng = np.random.default_rng(0)
    height = rng.normal(170, 10, 200)
    X = np.c_[height, 0.5 * height - 15 + rng.normal(0, 5, 200)]
    if scaled:
        X = (X - X.mean(axis=0)) / X.std(axis=0)
    return {"kind": "custom", "X": X.round(3).tolist(), "y": (height > 170).astype(int).tolist()}


def test_unscaled_inputs_are_blamed_rather_than_the_learning_rate():
    """Inputs of ~170 saturate every tanh unit from the first step: a smaller learning rate cannot help, so
    the verdict names the inputs, offers no config fix, and the same data scaled learns."""
    run = run_of(dataset=heights_and_weights(scaled=False))
    issue = first_issue(run, 3000)
    assert issue is not None and issue.kind == "flat_loss"
    assert "inputs are large (up to 1" in issue.message and "learning rate (" not in issue.message
    assert issue.fix is None and issue.reset is False
    scaled = run_of(dataset=heights_and_weights(scaled=True))
    assert first_issue(scaled, 3000) is None
    assert scaled.evaluate()["train_accuracy"] >= 0.9


def test_a_deep_sigmoid_stack_shows_vanished_gradients():
    run = run_of(model={"hidden": [8] * 8, "activation": "sigmoid", "init": "xavier_normal"})
    issue = first_issue(run, 2000)
    assert issue is not None and issue.kind == "vanished_gradients"
    assert issue.fix == {"model": {"activation": "relu", "init": "he_normal"}} and issue.reset
    apply_fix(run)
    assert first_issue(run, 3000) is None


def test_an_all_zero_start_is_named_for_what_it_is():
    issue = first_issue(run_of(model={"init": "zeros"}), 2000)
    assert issue is not None and issue.kind == "vanished_gradients" and "zero" in issue.message
    assert issue.fix == {"model": {"init": "xavier_uniform"}}


def test_a_tiny_learning_rate_crawls():
    issue = first_issue(run_of(optimizer={"lr": 1e-5}), 2000)
    assert issue is not None and issue.kind == "flat_loss" and not issue.reset
    assert issue.fix == {"optimizer": {"lr": 0.001}}


@pytest.mark.parametrize(
    "config",
    [
        {},
        {
            "dataset": {"kind": "spiral", "noise": 0.1},
            "model": {"hidden": [8, 8], "activation": "relu"},
            "optimizer": {"name": "adam", "lr": 0.01},
        },
        {"dataset": {"kind": "sine"}, "model": {"hidden": [8, 8]}},
        {"dataset": {"kind": "xor"}},
    ],
    ids=["default-circle", "spiral-relu-adam", "sine-regression", "xor"],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_healthy_runs_are_never_said_to_have_stopped(config, seed):
    assert first_issue(run_of(seed=seed, **config), 4000) is None


def test_a_change_starts_the_watch_again_and_divergence_is_not_a_learning_issue():
    run = run_of(dataset={"kind": "circle"}, model={"activation": "tanh"}, optimizer={"lr": 10.0})
    assert first_issue(run, 2000) is not None
    run.apply_config(merge_config(run.config, {"batch_size": 12}))
    assert run.learning is None  # judged afresh, after enough evaluations of the new setting
    diverging = run_of(dataset={"kind": "plane"}, optimizer={"lr": 5.0})
    diverging.step(5000)
    assert diverging.diverged and diverging.learning is None


def test_the_verdict_is_plain_json_and_its_fix_a_valid_patch():
    run = run_of(dataset={"kind": "circle"}, model={"activation": "relu"}, optimizer={"lr": 10.0})
    issue = first_issue(run, 500)
    assert issue is not None
    text = json.dumps(issue.as_dict(), allow_nan=False)
    assert set(json.loads(text)) == {"kind", "message", "fix", "reset"}
    merge_config(run.config, issue.fix)


def test_the_verdict_survives_a_save():
    run = run_of(dataset={"kind": "circle"}, model={"activation": "tanh"}, optimizer={"lr": 10.0})
    issue = first_issue(run, 2000)
    restored = Run.from_bytes(run.to_bytes())
    assert restored.learning == issue
    restored.step(300)
    run.step(300)
    assert restored.learning == run.learning


def test_chance_is_the_loss_of_the_best_constant_prediction():
    assert chance_loss(get_loss("bce"), np.array([[0.0], [1.0], [1.0], [0.0]])) == pytest.approx(math.log(2))
    labels = np.array([0, 1, 2, 0, 1, 2])
    assert chance_loss(get_loss("cross_entropy"), labels) == pytest.approx(math.log(3))
    y = np.array([[1.0], [2.0], [6.0]])
    assert chance_loss(get_loss("mse"), y) == pytest.approx(np.var(y))
    assert chance_loss(get_loss("mae"), y) == pytest.approx(np.mean(np.abs(y - 2.0)))
