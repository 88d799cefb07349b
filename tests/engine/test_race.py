"""Optimizer races on 2-D test functions: known minima reached, live controls, divergence, bounded paths."""

import json
import math

import numpy as np
import pytest

from backproplab.engine.errors import ConfigError
from backproplab.engine.optimizers import make_optimizer
from backproplab.engine.race import Race
from backproplab.engine.serialize import pack, unpack
from backproplab.engine.surfaces import SURFACES, get_surface


def racer_dicts(race):
    return json.loads(json.dumps(race.to_dict(), allow_nan=False))["racers"]


def test_tuned_adam_reaches_rosenbrocks_minimum():
    race = Race(SURFACES["rosenbrock"], (-1.2, 1.0), [{"optimizer": "adam", "hyper": {"lr": 0.02}}])
    race.step(5000)
    (racer,) = racer_dicts(race)
    assert racer["distance_to_minimum"] < 1e-6
    assert racer["nearest_minimum"] == [1.0, 1.0]
    assert racer["value"] < 1e-12


def test_tuned_adam_reaches_a_himmelblau_minimum():
    race = Race(SURFACES["himmelblau"], None, [{"optimizer": "adam", "hyper": {"lr": 0.05}}])
    race.step(2000)
    (racer,) = racer_dicts(race)
    assert racer["distance_to_minimum"] < 1e-9
    assert racer["nearest_minimum"] in [list(point) for point in SURFACES["himmelblau"].minima]


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov"])
def test_sgd_reaches_the_bowls_minimum(optimizer):
    race = Race(
        get_surface("quadratic_bowl", condition=10.0), None, [{"optimizer": optimizer, "hyper": {"lr": 0.05}}]
    )
    race.step(1000)
    (racer,) = racer_dicts(race)
    assert racer["status"] == "running"
    assert racer["distance_to_minimum"] < 1e-10


def test_race_follows_the_engines_optimizer_exactly():
    surface = SURFACES["beale"]
    race = Race(surface, (1.0, 1.5), [{"optimizer": "nadam", "hyper": {"lr": 0.01}}])
    race.step(25)
    params = {"xy": np.array([1.0, 1.5])}
    optimizer = make_optimizer("nadam", params, lr=0.01)
    for _ in range(25):
        optimizer.step({"xy": np.array(surface.gradient(*params["xy"]))})
    (racer,) = race.racers
    assert racer.xy.tolist() == params["xy"].tolist()
    assert racer.steps == 25


def test_racer_reports_gradient_velocity_and_last_step():
    surface = SURFACES["booth"]
    race = Race(
        surface,
        (-8.0, -6.0),
        [
            {"name": "plain", "optimizer": "sgd", "hyper": {"lr": 0.01}},
            {"optimizer": "momentum", "hyper": {"lr": 0.01}},
            {"optimizer": "adam", "hyper": {"lr": 0.1}},
        ],
    )
    race.step(3)
    plain, momentum, adam = racer_dicts(race)
    assert plain["name"] == "plain" and momentum["name"] == "momentum"
    for entry in (plain, momentum, adam):
        assert entry["gradient"] == pytest.approx(list(surface.gradient(*entry["position"])), rel=1e-12)
        assert entry["steps"] == 3
    assert plain["velocity"] is None and plain["velocity_kind"] is None
    assert momentum["velocity_kind"] == "momentum_buffer"
    assert momentum["velocity"] == race.racers[1].optimizer.state["xy"]["momentum_buffer"].tolist()
    assert adam["velocity_kind"] == "exp_avg"
    # plain SGD: the last displacement is −lr·(gradient at the previous point)
    previous = np.array(plain["position"]) - np.array(plain["last_step"])
    assert plain["last_step"] == pytest.approx((-0.01 * np.array(surface.gradient(*previous))).tolist())


def test_diverging_racer_stops_and_the_others_continue():
    race = Race(
        SURFACES["quadratic_bowl"],
        None,
        [{"optimizer": "sgd", "hyper": {"lr": 0.5}}, {"optimizer": "sgd", "hyper": {"lr": 0.05}}],
    )
    race.step(500)
    wild, calm = racer_dicts(race)
    assert wild["status"] == "diverged" and "diverged at step" in wild["message"]
    assert wild["steps"] < 500
    assert max(abs(v) for v in wild["position"]) <= 1e6
    assert calm["status"] == "running" and calm["steps"] == 500


def test_overflowing_racer_never_puts_nan_in_json():
    race = Race(SURFACES["rosenbrock"], (-1.2, 1.0), [{"optimizer": "sgd", "hyper": {"lr": 5.0}}])
    race.step(100)
    (racer,) = racer_dicts(race)
    assert racer["status"] == "diverged"
    assert all(math.isfinite(v) for v in racer["position"])


def test_saddle_has_no_distance_to_a_minimum():
    race = Race(SURFACES["saddle"], None, [{"optimizer": "sgd", "hyper": {"lr": 0.1}}])
    race.step(10)
    (racer,) = racer_dicts(race)
    assert racer["distance_to_minimum"] is None and racer["nearest_minimum"] is None


def test_set_start_resets_every_racer():
    race = Race(SURFACES["himmelblau"], None, [{"optimizer": "adam", "hyper": {"lr": 0.05}}])
    race.set_racer_hyper(0, lr=0.01)
    race.step(50)
    race.set_start(1.0, -2.0)
    (racer,) = race.racers
    assert racer.steps == 0 and racer.xy.tolist() == [1.0, -2.0]
    assert racer.optimizer.hyper["lr"] == 0.01
    assert not racer.optimizer.state["xy"]["exp_avg"].any()
    assert racer_dicts(race)[0]["path"] == [[1.0, -2.0]]


def test_live_hyperparameter_change_keeps_point_and_state():
    race = Race(SURFACES["booth"], None, [{"optimizer": "momentum", "hyper": {"lr": 0.01}}])
    race.step(10)
    racer = race.racers[0]
    point, buffer = racer.xy.copy(), racer.optimizer.state["xy"]["momentum_buffer"].copy()
    race.set_racer_hyper(0, lr=0.001)
    assert racer.xy.tolist() == point.tolist()
    assert racer.optimizer.state["xy"]["momentum_buffer"].tolist() == buffer.tolist()
    race.step(1)
    expected_buffer = 0.9 * buffer + np.array(SURFACES["booth"].gradient(*point))
    assert racer.xy == pytest.approx(point - 0.001 * expected_buffer, rel=1e-14)


def test_path_is_bounded_evenly_spaced_and_ends_at_the_current_point():
    race = Race(SURFACES["booth"], (-8.0, -6.0), [{"optimizer": "sgd", "hyper": {"lr": 0.001}}], path_cap=10)
    race.step(101)
    (racer,) = racer_dicts(race)
    stride = racer["path_stride"]
    assert stride == 16
    assert len(racer["path"]) <= 11
    assert racer["path"][0] == [-8.0, -6.0]
    assert racer["path"][-1] == racer["position"]
    replay = Race(SURFACES["booth"], (-8.0, -6.0), [{"optimizer": "sgd", "hyper": {"lr": 0.001}}])
    replay.step(stride)
    assert racer["path"][1] == racer_dicts(replay)[0]["position"]


def test_state_round_trip_continues_bit_for_bit():
    specs = [{"optimizer": "adam", "hyper": {"lr": 0.05, "amsgrad": True}}, {"optimizer": "nesterov"}]
    race = Race(get_surface("quadratic_bowl", condition=50.0), (1.5, -1.0), specs, path_cap=20)
    race.step(37)
    restored = Race.from_state(unpack(pack(race.state_dict())))
    race.step(13)
    restored.step(13)
    assert restored.to_dict() == race.to_dict()


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: Race(SURFACES["booth"], None, []), "racers"),
        (lambda: Race(SURFACES["booth"], None, [{"name": "x"}]), "racers.0"),
        (lambda: Race(SURFACES["booth"], None, [{"optimizer": "lbfgs"}]), "racers.0.optimizer.name"),
        (
            lambda: Race(SURFACES["booth"], None, [{"optimizer": "sgd", "hyper": {"lr": -1}}]),
            "racers.0.optimizer.lr",
        ),
        (lambda: Race(SURFACES["booth"], (float("nan"), 0.0), [{"optimizer": "sgd"}]), "start"),
        (lambda: Race(SURFACES["booth"], None, [{"optimizer": "sgd"}]).step(0), "steps"),
        (lambda: Race(SURFACES["booth"], None, [{"optimizer": "sgd"}]).set_start("a", 1), "start"),
        (lambda: Race(SURFACES["booth"], None, [{"optimizer": "sgd"}]).set_racer_hyper(3, lr=0.1), "racer"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.field == field
