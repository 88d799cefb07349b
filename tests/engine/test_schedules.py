"""Learning-rate schedules against torch.optim.lr_scheduler, scheduler.step() after each optimizer step.

The engine's schedulers are torch's recursions operation for operation, so fresh schedules agree to the
last bit. Runs that type a learning rate mid-run, attach a schedule mid-run, or cycle the momentum
follow torch's trajectory (fixtures from scripts/generate_torch_fixtures.py; live when torch imports).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from backproplab.engine import serialize
from backproplab.engine.config import SCHEDULE_FIELDS, RunConfig, ScheduleConfig, merge_config
from backproplab.engine.errors import ConfigError
from backproplab.engine.run import Run
from backproplab.engine.schedules import LRScheduler, make_scheduler

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "torch_reference.json").read_text())
SETTINGS = {json.dumps(setting["config"], sort_keys=True): setting for setting in REFERENCE["schedules"]}
RUNS = {scenario["id"]: scenario for scenario in REFERENCE["schedule_runs"]}
RTOL, ATOL = 1e-9, 1e-12


def engine_lrs(config: dict, base_lr: float, steps: int) -> list[float]:
    return make_scheduler(ScheduleConfig(**config), base_lr).upcoming(steps)


@pytest.mark.parametrize("setting_id", SETTINGS)
def test_lrs_match_torch_reference_to_the_bit(setting_id):
    setting = SETTINGS[setting_id]
    expected = setting["torch"]
    assert engine_lrs(setting["config"], setting["base_lr"], len(expected)) == expected


@pytest.mark.torch
@pytest.mark.parametrize("setting_id", SETTINGS)
def test_lrs_match_live_torch(setting_id, torch_generator):
    setting = SETTINGS[setting_id]
    expected = torch_generator.schedule_lrs(setting["config"], setting["base_lr"], 60)
    assert engine_lrs(setting["config"], setting["base_lr"], 60) == expected


@pytest.mark.torch
@pytest.mark.parametrize(("t_max", "eta_min"), [(1, 0.0), (3, 0.0), (1000, 0.0), (1000, 1e-4)])
def test_cosine_follows_torch_over_several_periods(t_max, eta_min, torch_generator):
    config = {"kind": "cosine", "t_max": t_max, "eta_min": eta_min}
    steps = max(3 * t_max, 12)
    assert engine_lrs(config, 0.1, steps) == torch_generator.schedule_lrs(config, 0.1, steps)


def test_reference_covers_every_kind_and_every_kind_lists_its_fields():
    assert {setting["config"]["kind"] for setting in REFERENCE["schedules"]} == {
        "step",
        "exponential",
        "cosine",
        "cyclic",
    }
    assert set(SCHEDULE_FIELDS) == {"constant", "step", "exponential", "cosine", "cyclic"}
    assert {field for fields in SCHEDULE_FIELDS.values() for field in fields} == set(
        ScheduleConfig.model_fields
    ) - {"kind"}


# --- runs: a typed lr, a schedule attached mid-run, cycled momentum ------------------------------------


def scenario_run(scenario: dict) -> Run:
    """The reference network and cross-entropy problem as a Run: every row in order, one full batch."""
    network, problem = REFERENCE["network"], REFERENCE["problems"]["cross_entropy"]
    config = RunConfig.model_validate(
        {
            "dataset": {
                "kind": "custom",
                "X": problem["X"],
                "y": problem["target"],
                "train_fraction": 1.0,
                "task": "classification",
            },
            "model": {"hidden": [4], "activation": network["activation"], "weights": network["weights"]},
            "loss": "cross_entropy",
            "optimizer": {"name": scenario["optimizer"], **scenario["hyper"]},
            "batch_size": len(problem["X"]),
            "schedule": scenario["schedule"],
        }
    )
    return Run(config)


def train_scenario(scenario: dict) -> tuple[Run, list[float | None]]:
    """Run the scenario's steps, typing lrs and attaching schedules where it says (as a PATCH would)."""
    run = scenario_run(scenario)
    momenta: list[float | None] = []
    changes = {at: (kind, value) for at, kind, value in scenario["changes"]}
    for step in range(scenario["steps"]):
        if step in changes:
            kind, value = changes[step]
            patch = {"optimizer": {"lr": value}} if kind == "lr" else {"schedule": value}
            # As the server does: a patch that names optimizer.lr sets the lr in force.
            assert run.apply_config(merge_config(run.config, patch), set_lr=kind == "lr") is False
        hyper = run.optimizer.hyper
        momenta.append(hyper["betas"][0] if "betas" in hyper else hyper.get("momentum"))
        assert run.step(1) == 1
    return run, momenta


def assert_follows_torch(scenario: dict, expected: dict) -> None:
    run, momenta = train_scenario(scenario)
    rows = run.metric_history.recent_since(0)
    assert rows[:, 2].tolist() == expected["lrs"], "the lr of every step, to the bit"
    assert momenta == expected["momenta"], "the momentum (or β₁) of every step, to the bit"
    np.testing.assert_allclose(rows[:, 3], expected["losses"], rtol=RTOL, atol=ATOL)
    for name, value in run.network.params().items():
        np.testing.assert_allclose(value, expected["params"][name], rtol=RTOL, atol=ATOL, err_msg=name)


@pytest.mark.parametrize("scenario_id", RUNS)
def test_runs_follow_torch_reference(scenario_id):
    assert_follows_torch(RUNS[scenario_id], RUNS[scenario_id]["torch"])


@pytest.mark.torch
@pytest.mark.parametrize("scenario_id", RUNS)
def test_runs_follow_live_torch(scenario_id, torch_generator):
    scenario = RUNS[scenario_id]
    expected = torch_generator.schedule_run(
        scenario, REFERENCE["network"], REFERENCE["problems"]["cross_entropy"]
    )
    assert_follows_torch(scenario, expected)


# A typed lr equal to the config's own: torch's param_group["lr"] = lr puts it back in force all the same.
RETYPED = {
    "exponential-same-lr-retyped": (
        "sgd",
        {"lr": 0.5},
        {"kind": "exponential", "gamma": 0.9},
        [(6, "lr", 0.5), (12, "lr", 0.5)],
    ),
    "step-same-lr-retyped": (
        "momentum",
        {"lr": 0.2},
        {"kind": "step", "step_size": 3, "gamma": 0.5},
        [(10, "lr", 0.2)],
    ),
    "cosine-same-lr-retyped": ("adam", {"lr": 0.05}, {"kind": "cosine", "t_max": 8}, [(5, "lr", 0.05)]),
}


def retyped_scenario(scenario_id: str) -> dict:
    name, hyper, schedule, changes = RETYPED[scenario_id]
    return {"optimizer": name, "hyper": hyper, "schedule": schedule, "changes": changes, "steps": 16}


@pytest.mark.torch
@pytest.mark.parametrize("scenario_id", RETYPED)
def test_retyping_the_configs_own_lr_follows_live_torch(scenario_id, torch_generator):
    scenario = retyped_scenario(scenario_id)
    expected = torch_generator.schedule_run(
        scenario, REFERENCE["network"], REFERENCE["problems"]["cross_entropy"]
    )
    assert_follows_torch(scenario, expected)


def test_retyping_the_configs_own_lr_puts_it_back_in_force():
    """The bug this guards: a merged config with an unchanged lr looked like no change at all."""
    run = Run(
        RunConfig.model_validate(
            {"optimizer": {"lr": 0.4}, "schedule": {"kind": "exponential", "gamma": 0.5}}
        )
    )
    run.step(2)
    assert run.lr == 0.1
    same = merge_config(run.config, {"optimizer": {"lr": 0.4}})
    run.apply_config(same)
    assert run.lr == 0.1, "a merged config alone cannot tell a typed lr from none"
    run.apply_config(same, set_lr=True)
    assert run.lr == 0.4 and run.scheduler.steps == 2  # in force; the schedule continues from it
    run.step(1)
    assert run.metric_history.latest_row()[2] == 0.4 and run.lr == 0.2


def test_a_typed_lr_is_in_force_at_once_and_the_schedule_continues_from_it():
    scheduler = make_scheduler(ScheduleConfig(kind="exponential", gamma=0.5), 0.8)
    scheduler.step()
    scheduler.step()
    assert scheduler.lr == 0.2
    scheduler.set_lr(1.0)
    assert scheduler.upcoming(3) == [1.0, 0.5, 0.25]


def test_a_schedule_attached_mid_run_starts_from_the_lr_in_force_counting_from_zero():
    run = Run(
        RunConfig.model_validate(
            {"optimizer": {"lr": 0.4}, "schedule": {"kind": "exponential", "gamma": 0.5}}
        )
    )
    run.step(3)
    assert run.lr == 0.05
    run.apply_config(merge_config(run.config, {"schedule": {"kind": "step", "step_size": 2, "gamma": 0.1}}))
    assert run.scheduler.steps == 0 and run.scheduler.base_lr == 0.05
    assert run.scheduler.upcoming(4) == [0.05, 0.05, 0.05 * 0.1, 0.05 * 0.1]


def test_the_typed_lr_is_the_one_a_patch_changes():
    """A patch that leaves optimizer.lr alone leaves the scheduled lr in force alone."""
    run = Run(
        RunConfig.model_validate(
            {"optimizer": {"lr": 0.4}, "schedule": {"kind": "exponential", "gamma": 0.5}}
        )
    )
    run.step(2)
    run.apply_config(merge_config(run.config, {"batch_size": 5, "optimizer": {"momentum": 0.5}}))
    assert run.lr == 0.1
    run.apply_config(merge_config(run.config, {"optimizer": {"lr": 0.3}}))
    assert run.lr == 0.3
    run.step(1)
    assert run.metric_history.latest_row()[2] == 0.3 and run.lr == 0.15


def test_cyclic_momentum_needs_an_optimizer_with_momentum_or_betas():
    config = RunConfig.model_validate({"optimizer": {"name": "adagrad"}, "schedule": {"kind": "cyclic"}})
    with pytest.raises(ConfigError) as error:
        Run(config)
    assert error.value.field == "schedule.cycle_momentum"
    run = Run(RunConfig.model_validate({"optimizer": {"name": "sgd"}, "schedule": {"kind": "cyclic"}}))
    assert run.optimizer.hyper["momentum"] == 0.9  # torch's max_momentum, set when attached
    before = run.config
    with pytest.raises(ConfigError) as error:
        run.apply_config(merge_config(run.config, {"optimizer": {"name": "adadelta"}}))
    assert error.value.field == "schedule.cycle_momentum" and run.config is before
    run.apply_config(
        merge_config(run.config, {"optimizer": {"name": "adadelta"}, "schedule": {"cycle_momentum": False}})
    )
    assert run.optimizer.name == "adadelta"


@pytest.mark.torch
def test_torch_refuses_cyclic_momentum_for_adagrad_too(torch_generator):
    import torch

    optimizer = torch.optim.Adagrad([torch.zeros(1, requires_grad=True)])
    with pytest.raises(ValueError, match="momentum"):
        torch_generator._torch_scheduler(optimizer, {"kind": "cyclic", "step_size_up": 2})


def test_the_constant_schedule_keeps_the_lr():
    scheduler = make_scheduler(ScheduleConfig(), 0.03)
    assert type(scheduler) is LRScheduler and scheduler.upcoming(3) == [0.03] * 3


def test_cyclic_triangle_and_its_defaults():
    lrs = engine_lrs({"kind": "cyclic", "step_size_up": 4}, 0.1, 9)  # max_lr defaults to 10 · the lr
    np.testing.assert_allclose(lrs, [0.1, 0.325, 0.55, 0.775, 1.0, 0.775, 0.55, 0.325, 0.1], rtol=1e-15)


def test_scheduler_state_round_trips_and_cosine_survives_huge_steps():
    scheduler = make_scheduler(ScheduleConfig(kind="cosine", t_max=10**9), 0.1)
    scheduler.steps = 10**12
    scheduler.step()
    assert math.isfinite(scheduler.lr)
    copy = make_scheduler(scheduler.config, 1.0)
    copy.load_state_dict(scheduler.state_dict())
    assert copy.upcoming(5) == scheduler.upcoming(5)


def test_a_version_1_state_replays_its_schedule_as_torch_would():
    """Version 1 saved no scheduler and never cycled momentum: the schedule is replayed from step 0."""
    config = {"optimizer": {"name": "sgd", "lr": 0.5}, "schedule": {"kind": "cyclic", "step_size_up": 3}}
    run = Run(RunConfig.model_validate(config))
    run.step(7)
    state = serialize.unpack(run.to_bytes())
    state["version"] = 1
    del state["scheduler"], state["config"]["schedule"]["cycle_momentum"]
    restored = Run.from_bytes(serialize.pack(state))
    assert restored.config.schedule.cycle_momentum is False
    expected = make_scheduler(restored.config.schedule, 0.5)
    for _ in range(7):
        expected.step()
    assert restored.lr == expected.lr and restored.scheduler.steps == 7
