"""Learning-rate schedules against torch.optim.lr_scheduler (scheduler.step() after each optimizer step).

The engine's schedules are closed forms of (step, base_lr); torch's StepLR, ExponentialLR and
CosineAnnealingLR are recursive, so these tests also bound the drift between the two forms.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from backproplab.engine.config import ScheduleConfig
from backproplab.engine.schedules import CosineSchedule, CyclicSchedule, Schedule, make_schedule

REFERENCE = json.loads((Path(__file__).parents[1] / "fixtures" / "torch_reference.json").read_text())
SETTINGS = {json.dumps(setting["config"], sort_keys=True): setting for setting in REFERENCE["schedules"]}
RTOL = 1e-9


def engine_lrs(config: dict, base_lr: float, steps: int) -> list[float]:
    schedule = make_schedule(ScheduleConfig(**config))
    return [schedule.lr_at(step, base_lr) for step in range(steps)]


@pytest.mark.parametrize("setting_id", SETTINGS)
def test_lrs_match_torch_reference(setting_id):
    setting = SETTINGS[setting_id]
    expected = setting["torch"]
    np.testing.assert_allclose(
        engine_lrs(setting["config"], setting["base_lr"], len(expected)), expected, rtol=RTOL
    )


@pytest.mark.torch
@pytest.mark.parametrize("setting_id", SETTINGS)
def test_lrs_match_live_torch(setting_id, torch_generator):
    setting = SETTINGS[setting_id]
    expected = torch_generator.schedule_lrs(setting["config"], setting["base_lr"], 60)
    np.testing.assert_allclose(engine_lrs(setting["config"], setting["base_lr"], 60), expected, rtol=RTOL)


@pytest.mark.torch
@pytest.mark.parametrize(("t_max", "eta_min"), [(1, 0.0), (3, 0.0), (1000, 0.0), (1000, 1e-4)])
def test_cosine_closed_form_tracks_torch_recursion_over_periods(t_max, eta_min, torch_generator):
    """Three half-periods and more: the closed form agrees with torch's recursion to ~1e-14 relative."""
    config = {"kind": "cosine", "t_max": t_max, "eta_min": eta_min}
    steps = max(3 * t_max, 12)
    expected = torch_generator.schedule_lrs(config, 0.1, steps)
    np.testing.assert_allclose(engine_lrs(config, 0.1, steps), expected, rtol=1e-12, atol=1e-17)


def test_reference_settings_cover_every_kind_but_constant():
    kinds = {setting["config"]["kind"] for setting in REFERENCE["schedules"]}
    assert kinds == {"step", "exponential", "cosine", "cyclic"}


def test_constant_is_the_default():
    schedule = make_schedule(ScheduleConfig())
    assert type(schedule) is Schedule
    assert [schedule.lr_at(step, 0.03) for step in (0, 1, 10**6)] == [0.03, 0.03, 0.03]


def test_every_schedule_starts_at_the_base_lr():
    for kind in ("constant", "step", "exponential", "cosine", "cyclic"):
        assert make_schedule(ScheduleConfig(kind=kind)).lr_at(0, 0.25) == 0.25


def test_closed_forms():
    step = make_schedule(ScheduleConfig(kind="step", step_size=10, gamma=0.5))
    assert [step.lr_at(t, 1.0) for t in (0, 9, 10, 19, 20)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    exponential = make_schedule(ScheduleConfig(kind="exponential", gamma=0.5))
    assert exponential.lr_at(3, 1.0) == 0.125
    cosine = CosineSchedule(t_max=10, eta_min=0.01)
    assert cosine.lr_at(5, 0.1) == pytest.approx(0.055, rel=1e-15)
    assert cosine.lr_at(10, 0.1) == 0.01  # the minimum at T_max ...
    assert cosine.lr_at(20, 0.1) == pytest.approx(0.1, rel=1e-15)  # ... and back up at 2·T_max


def test_cyclic_triangle_and_its_defaults():
    config = ScheduleConfig(kind="cyclic", step_size_up=4)
    schedule = make_schedule(config)
    assert schedule == CyclicSchedule(max_lr=None, step_size_up=4, step_size_down=4)
    lrs = [schedule.lr_at(t, 0.1) for t in range(9)]  # max_lr defaults to 10 · base_lr = 1.0
    np.testing.assert_allclose(lrs, [0.1, 0.325, 0.55, 0.775, 1.0, 0.775, 0.55, 0.325, 0.1], rtol=1e-15)
    lopsided = make_schedule(ScheduleConfig(kind="cyclic", step_size_up=1, step_size_down=3, max_lr=0.5))
    np.testing.assert_allclose(
        [lopsided.lr_at(t, 0.1) for t in range(5)], [0.1, 0.5, 0.5 - 0.4 / 3, 0.1 + 0.4 / 3, 0.1]
    )


@pytest.mark.parametrize(
    "config",
    [
        {"kind": "step", "step_size": 3, "gamma": 0.7},
        {"kind": "exponential", "gamma": 0.9},
        {"kind": "cosine", "t_max": 17, "eta_min": 0.0},
        {"kind": "cyclic", "step_size_up": 5},
    ],
)
def test_a_live_base_lr_change_rescales_the_whole_curve(config):
    """lr_at is a pure function of (step, base_lr): no hidden state, so restarts reproduce it and a new
    base lr takes effect at once (for these settings, proportionally)."""
    schedule = make_schedule(ScheduleConfig(**config))
    for step in (0, 1, 7, 40, 123):
        assert schedule.lr_at(step, 0.3) == pytest.approx(3.0 * schedule.lr_at(step, 0.1), rel=1e-14)
    backwards = [schedule.lr_at(step, 0.1) for step in reversed(range(50))]
    assert backwards[::-1] == [schedule.lr_at(step, 0.1) for step in range(50)]


def test_cosine_handles_huge_steps():
    schedule = CosineSchedule(t_max=10**9, eta_min=0.0)
    assert math.isfinite(schedule.lr_at(10**12, 0.1))
