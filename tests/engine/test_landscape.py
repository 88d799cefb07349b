"""The network's loss landscape: batched slices against the engine's own forward pass and loss."""

import copy

import numpy as np
import pytest

from backproplab.engine import landscape
from backproplab.engine.errors import ConfigError
from backproplab.engine.landscape import (
    filter_normalized_direction,
    flatten_params,
    full_gradient,
    gradient_direction,
    grid_axis,
    loss_along_gradient,
    loss_slice,
    pca_directions,
    project_trajectory,
    unflatten_params,
)
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network
from backproplab.engine.trajectory import Trajectory

# (loss, layer sizes, output activation): every loss, fused and not, a softmax output on a non-fused loss.
SETUPS = [
    ("bce", [2, 8, 8, 1], "sigmoid"),
    ("cross_entropy", [3, 6, 4], "softmax"),
    ("mse", [2, 5, 2], "linear"),
    ("mae", [2, 5, 3], "softmax"),
    ("huber", [2, 4, 3, 2], "tanh"),
    ("bce", [2, 1], "sigmoid"),
]


def make_problem(loss_name, sizes, output_activation, seed=0, rows=40):
    rng = np.random.default_rng(seed)
    network = Network.build(sizes, "tanh", output_activation, "xavier_normal", rng)
    network.layers[0].b[...] = rng.normal(0.0, 0.1, sizes[1])
    X = rng.standard_normal((rows, sizes[0]))
    if loss_name == "bce":
        y = (X[:, :1] * X[:, 1:2] > 0).astype(np.float64)
    elif loss_name == "cross_entropy":
        y = rng.integers(0, sizes[-1], rows)
    else:
        y = 3.0 * rng.standard_normal((rows, sizes[-1]))
    return network, get_loss(loss_name), X, y, rng


def reference_loss(network, loss, X, y):
    """The engine's own path: network.forward, then loss.evaluate on the output layer's logits."""
    output = network.forward(X)
    return loss.evaluate(network.output_layer.z, output, y).value


def pointwise_slice(network, loss, X, y, d1, d2, alphas, betas):
    """Li et al.'s loop: for each grid point, load θ + α·d1 + β·d2 into a copy and evaluate it."""
    theta = flatten_params(network.params())
    probe = copy.deepcopy(network)
    values = np.empty((len(betas), len(alphas)))
    for i, beta in enumerate(betas):
        for j, alpha in enumerate(alphas):
            params = unflatten_params(theta + alpha * d1 + beta * d2, network.params())
            probe.load_weights(
                [{"W": params[f"W{k}"], "b": params[f"b{k}"]} for k in range(len(probe.layers))]
            )
            values[i, j] = reference_loss(probe, loss, X, y)
    return values


def snapshot(network):
    return [(layer.W.copy(), layer.b.copy(), layer.a_in, layer.z, layer.a) for layer in network.layers]


def assert_untouched(network, before):
    for layer, (W, b, a_in, z, a) in zip(network.layers, before, strict=True):
        assert np.array_equal(layer.W, W) and np.array_equal(layer.b, b)
        assert layer.a_in is a_in and layer.z is z and layer.a is a


def test_flatten_orders_w0_b0_w1_b1_and_round_trips():
    network, *_ = make_problem(*SETUPS[3])
    params = network.params()
    shuffled = {name: params[name] for name in ("b1", "W1", "b0", "W0")}
    flat = flatten_params(shuffled)
    expected = np.concatenate([params["W0"].ravel(), params["b0"], params["W1"].ravel(), params["b1"]])
    assert flat.tolist() == expected.tolist()
    back = unflatten_params(flat, params)
    assert all(np.array_equal(back[name], params[name]) for name in params)
    assert back["W0"] is not params["W0"]


@pytest.mark.parametrize("setup", SETUPS, ids=[setup[0] for setup in SETUPS])
def test_slice_at_the_origin_is_the_current_loss(setup):
    network, loss, X, y, rng = make_problem(*setup)
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    value = loss_slice(network, loss, X, y, d1, d2, [0.0], [0.0])[0, 0]
    assert value == pytest.approx(reference_loss(network, loss, X, y), rel=1e-14, abs=0.0)


@pytest.mark.parametrize("setup", SETUPS, ids=[setup[0] for setup in SETUPS])
def test_batched_slice_equals_the_point_by_point_loop(setup):
    network, loss, X, y, rng = make_problem(*setup)
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    alphas, betas = np.linspace(-1.5, 1.0, 6), np.linspace(-1.0, 2.0, 5)
    batched = loss_slice(network, loss, X, y, d1, d2, alphas, betas)
    assert batched.shape == (5, 6)
    np.testing.assert_allclose(
        batched, pointwise_slice(network, loss, X, y, d1, d2, alphas, betas), rtol=1e-10
    )


def test_chunking_does_not_change_the_result_and_reports_progress(monkeypatch):
    network, loss, X, y, rng = make_problem(*SETUPS[0])
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    axis = np.linspace(-1.0, 1.0, 9)
    whole = loss_slice(network, loss, X, y, d1, d2, axis, axis)
    monkeypatch.setattr(landscape, "CHUNK_BYTES", 7 * X.shape[0] * 8 * 8)
    calls = []
    chunked = loss_slice(
        network, loss, X, y, d1, d2, axis, axis, progress=lambda done, total: calls.append(done)
    )
    np.testing.assert_allclose(chunked, whole, rtol=1e-14)
    assert calls == [*range(7, 81, 7), 81]


def test_threads_do_not_change_the_result(monkeypatch):
    network, loss, X, y, rng = make_problem(*SETUPS[1])
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    axis = np.linspace(-1.0, 1.0, 13)
    monkeypatch.setattr(landscape, "CHUNK_BYTES", 5 * X.shape[0] * 6 * 8)  # 34 chunks of 5 points
    monkeypatch.setattr(landscape, "available_cpus", lambda: 4)
    threaded = loss_slice(network, loss, X, y, d1, d2, axis, axis)
    monkeypatch.setattr(landscape, "MAX_WORKERS", 1)
    np.testing.assert_allclose(threaded, loss_slice(network, loss, X, y, d1, d2, axis, axis), rtol=1e-14)


@pytest.mark.parametrize("setup", SETUPS, ids=[setup[0] for setup in SETUPS])
def test_full_gradient_matches_central_differences_of_the_slice(setup):
    network, loss, X, y, rng = make_problem(*setup)
    before = snapshot(network)
    grad = flatten_params(full_gradient(network, loss, X, y))
    assert_untouched(network, before)
    direction = rng.standard_normal(grad.size)
    h = 1e-6
    plus, minus = loss_slice(network, loss, X, y, direction, 0 * direction, [h, -h], [0.0])[0]
    assert (plus - minus) / (2 * h) == pytest.approx(grad @ direction, rel=1e-6, abs=1e-9)


def test_landscape_computations_leave_the_network_untouched():
    network, loss, X, y, rng = make_problem(*SETUPS[0])
    reference_loss(network, loss, X, y)
    before = snapshot(network)
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    loss_slice(network, loss, X, y, d1, d2, np.linspace(-1, 1, 11), np.linspace(-1, 1, 11))
    loss_along_gradient(network, loss, X, y, d1, np.linspace(0, 1, 5))
    assert_untouched(network, before)


def test_small_steps_along_the_negative_gradient_lower_the_loss():
    network, loss, X, y, _ = make_problem(*SETUPS[0])
    current = reference_loss(network, loss, X, y)
    network.backward(
        loss.evaluate(network.output_layer.z, network.output_layer.a, y).grad, grad_is_logits=True
    )
    grad = flatten_params(network.grads())
    alphas = np.array([0.0, 1e-4, 1e-3, 1e-2])
    values = loss_along_gradient(network, loss, X, y, grad, alphas)
    assert values[0] == pytest.approx(current, rel=1e-14)
    assert np.all(np.diff(values) < 0.0)
    # first order: L(θ − αg) ≈ L(θ) − α‖g‖²
    assert (values[1] - values[0]) / 1e-4 == pytest.approx(-grad @ grad, rel=1e-3)


def test_filter_normalisation_gives_each_neuron_its_weight_norm():
    network, *_ = make_problem(*SETUPS[4])
    direction = unflatten_params(
        filter_normalized_direction(network, np.random.default_rng(3)), network.params()
    )
    for index, layer in enumerate(network.layers):
        np.testing.assert_allclose(
            np.linalg.norm(direction[f"W{index}"], axis=0), np.linalg.norm(layer.W, axis=0), rtol=1e-14
        )
        assert not direction[f"b{index}"].any()
    again = filter_normalized_direction(network, np.random.default_rng(3))
    assert again.tolist() == flatten_params(direction).tolist()


def test_gradient_direction_has_the_requested_length():
    network, *_ = make_problem(*SETUPS[2])
    grads = {name: np.full_like(value, 0.5) for name, value in network.params().items()}
    direction = gradient_direction(grads, norm=3.0)
    assert np.linalg.norm(direction) == pytest.approx(3.0)
    assert np.all(direction > 0)
    with pytest.raises(ConfigError) as caught:
        gradient_direction({name: np.zeros_like(value) for name, value in grads.items()})
    assert caught.value.field == "directions"


def test_pca_of_a_straight_trajectory_lies_on_the_first_axis():
    rng = np.random.default_rng(5)
    start, velocity = rng.standard_normal(30), rng.standard_normal(30)
    times = np.sort(rng.uniform(0.0, 4.0, 25))
    trajectory = start + times[:, np.newaxis] * velocity
    pca = pca_directions(trajectory)
    assert pca.explained_variance_ratio == pytest.approx([1.0, 0.0], abs=1e-12)
    assert np.abs(pca.coordinates[:, 1]).max() < 1e-12
    expected = (times - times[-1]) * np.linalg.norm(velocity)
    np.testing.assert_allclose(pca.coordinates[:, 0], expected, atol=1e-12)
    assert abs(pca.d1 @ velocity) == pytest.approx(np.linalg.norm(velocity))
    assert pca.d1 @ pca.d2 == pytest.approx(0.0, abs=1e-12)


def test_pca_coordinates_agree_with_least_squares_projection():
    rng = np.random.default_rng(6)
    basis = np.linalg.qr(rng.standard_normal((12, 2)))[0].T
    weights = rng.standard_normal((15, 2)) * [3.0, 1.0]
    trajectory = 1.0 + weights @ basis
    pca = pca_directions(trajectory)
    assert pca.explained_variance_ratio.sum() == pytest.approx(1.0)
    assert pca.explained_variance_ratio[0] > pca.explained_variance_ratio[1] > 0.0
    projected = project_trajectory(trajectory, trajectory[-1], pca.d1, pca.d2)
    np.testing.assert_allclose(projected, pca.coordinates, atol=1e-12)
    assert np.all(pca.coordinates[0] <= 0.0)


def test_project_trajectory_recovers_plane_coordinates_for_oblique_directions():
    rng = np.random.default_rng(8)
    origin, d1 = rng.standard_normal(9), rng.standard_normal(9)
    d2 = 0.6 * d1 + rng.standard_normal(9)
    coordinates = rng.standard_normal((7, 2))
    trajectory = origin + coordinates[:, :1] * d1 + coordinates[:, 1:] * d2
    np.testing.assert_allclose(project_trajectory(trajectory, origin, d1, d2), coordinates, atol=1e-12)


def test_grid_axis_is_symmetric():
    assert grid_axis(2.0, 5).tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: grid_axis(1.0, 0), "resolution"),
        (lambda: grid_axis(1.0, 1), "resolution"),
        (lambda: grid_axis(1.0, 102), "resolution"),
        (lambda: grid_axis(1.0, 10_000), "resolution"),
        (lambda: grid_axis(1.0, True), "resolution"),
        (lambda: grid_axis(float("nan"), 11), "span"),
        (lambda: grid_axis(float("inf"), 11), "span"),
        (lambda: grid_axis(0.0, 11), "span"),
        (lambda: pca_directions(np.ones((1, 5))), "trajectory"),
        (lambda: pca_directions(np.ones((4, 5))), "trajectory"),
    ],
)
def test_bad_parameters_name_the_field(call, field):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"alphas": np.zeros(102)}, "alphas"),
        ({"betas": [0.0, float("nan")]}, "betas"),
        ({"d1": np.zeros(3)}, "d1"),
        ({"d2": "sideways"}, "d2"),
        ({"alphas": [[0.0, 1.0]]}, "alphas"),
        ({"y": np.zeros(40)}, "y"),
        ({"X": np.zeros((40, 3))}, "X"),
    ],
)
def test_bad_slice_arguments_name_the_field(change, field):
    network, loss, X, y, _ = make_problem(*SETUPS[0])
    size = network.parameter_count()
    arguments = {"X": X, "y": y, "d1": np.ones(size), "d2": np.ones(size), "alphas": [0.0], "betas": [0.0]}
    with pytest.raises(ConfigError) as caught:
        loss_slice(network, loss, **{**arguments, **change})
    assert caught.value.field == field


# --- regularisation: the landscape is the loss the run trains on ----------------------------------------


def _regularised_run(kind: str, rate: float):
    """A full-batch plain-SGD run on custom data (every row, in order), with ``kind`` regularisation."""
    from backproplab.engine.config import RunConfig
    from backproplab.engine.run import Run

    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 2))
    config = RunConfig.model_validate(
        {
            "dataset": {
                "kind": "custom",
                "X": X.tolist(),
                "y": (X[:, 0] * X[:, 1] > 0).astype(int).tolist(),
                "train_fraction": 1.0,
            },
            "model": {"hidden": [5], "activation": "tanh"},
            "optimizer": {"name": "sgd", "lr": 0.3},
            "batch_size": 30,
            "regularization": {"kind": kind, "rate": rate},
        }
    )
    return Run(config)


@pytest.mark.parametrize(("kind", "rate"), [("l2", 0.1), ("l1", 0.05), ("none", 0.0)])
def test_the_gradient_line_follows_the_runs_own_training_step(kind, rate):
    """full_gradient is the step's gradient, and α = lr on the line is the loss after the step."""
    from backproplab.engine.regularization import regularization_penalty

    run = _regularised_run(kind, rate)
    run.step(3)
    before = copy.deepcopy(run.network)
    X, y = run.X_train, run.target_train
    grads = full_gradient(before, run.loss, X, y, regularization=(kind, rate))
    line = loss_along_gradient(
        before, run.loss, X, y, flatten_params(grads), np.array([0.0, 0.3]), regularization=(kind, rate)
    )
    run.step(1)  # full batch: the same rows, the same gradient
    for name, grad in run.network.grads().items():
        np.testing.assert_allclose(grads[name], grad, rtol=1e-13, atol=1e-16)
    start = reference_loss(before, run.loss, X, y) + regularization_penalty(before, kind, rate)
    after = run.evaluate()["train_loss"] + regularization_penalty(run.network, kind, rate)
    np.testing.assert_allclose(line, [start, after], rtol=1e-12)


@pytest.mark.parametrize(("kind", "rate"), [("l2", 0.2), ("l1", 0.1)])
def test_a_regularised_slice_adds_the_penalty_at_every_point(kind, rate):
    from backproplab.engine.regularization import regularization_penalty

    network, loss, X, y, rng = make_problem("mse", [2, 5, 2], "linear")
    d1, d2 = (rng.standard_normal(network.parameter_count()) for _ in range(2))
    alphas, betas = np.linspace(-1.0, 1.0, 4), np.linspace(-0.5, 0.5, 3)
    plain = loss_slice(network, loss, X, y, d1, d2, alphas, betas)
    regularised = loss_slice(network, loss, X, y, d1, d2, alphas, betas, regularization=(kind, rate))
    theta = flatten_params(network.params())
    probe = copy.deepcopy(network)
    for i, beta in enumerate(betas):
        for j, alpha in enumerate(alphas):
            probe.load_weights(
                _as_weights(unflatten_params(theta + alpha * d1 + beta * d2, network.params()))
            )
            penalty = regularization_penalty(probe, kind, rate)
            np.testing.assert_allclose(regularised[i, j] - plain[i, j], penalty, rtol=1e-12, atol=1e-14)


def _as_weights(params):
    return [{"W": params[f"W{index}"], "b": params[f"b{index}"]} for index in range(len(params) // 2)]


def test_a_trajectory_sample_is_evenly_spaced_and_keeps_both_ends():
    network = Network.build([2, 4, 1], "tanh", "sigmoid", "xavier_normal", np.random.default_rng(0))
    trajectory = Trajectory(network, every=10)
    for step in range(1, 1001):
        trajectory.record(step, np.full(network.parameter_count(), float(step)))
    steps = trajectory.array()[0]
    assert len(steps) == trajectory.count == 101 and steps[0] == 1 and steps[-1] == 1000
    sampled_steps, sampled = trajectory.array(max_points=11)
    assert sampled_steps.tolist() == [1, *range(100, 1001, 100)]
    np.testing.assert_array_equal(sampled[:, 0], sampled_steps)  # each point travels with its own step
    assert trajectory.array(max_points=500)[0].tolist() == steps.tolist()  # under the cap: every point
