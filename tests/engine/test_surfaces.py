"""2-D test functions: values at known minima, gradients against central differences, the registry."""

import json

import numpy as np
import pytest

from backproplab.engine.errors import ConfigError
from backproplab.engine.surfaces import SURFACES, get_surface, quadratic_bowl, value_grid

# Published global minimum values (Surjanovic & Bingham's library; six-hump camel and Styblinski–Tang to
# the digits given there, the latter as 2 × −39.16616570377142 for two dimensions).
KNOWN_MIN_VALUES = {
    "quadratic_bowl": 0.0,
    "rosenbrock": 0.0,
    "beale": 0.0,
    "himmelblau": 0.0,
    "rastrigin": 0.0,
    "ackley": 0.0,
    "booth": 0.0,
    "six_hump_camel": -1.0316284534898774,
    "styblinski_tang": -78.33233140754282,
}
H = 1e-6


def central_gradient(surface, x, y):
    """(f(x+h) − f(x−h)) / 2h in each coordinate."""
    grad_x = (surface.value(x + H, y) - surface.value(x - H, y)) / (2 * H)
    grad_y = (surface.value(x, y + H) - surface.value(x, y - H)) / (2 * H)
    return np.array([grad_x, grad_y])


def hessian(surface, x, y):
    """Central differences of the analytic gradient."""
    columns = []
    for dx, dy in ((H, 0.0), (0.0, H)):
        plus = np.array(surface.gradient(x + dx, y + dy))
        minus = np.array(surface.gradient(x - dx, y - dy))
        columns.append((plus - minus) / (2 * H))
    matrix = np.stack(columns, axis=1)
    return 0.5 * (matrix + matrix.T)


@pytest.mark.parametrize("name", sorted(KNOWN_MIN_VALUES))
def test_value_at_every_global_minimum_is_the_published_one(name):
    surface = SURFACES[name]
    for x, y in surface.minima:
        assert surface.value(np.float64(x), np.float64(y)) == pytest.approx(KNOWN_MIN_VALUES[name], abs=1e-12)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_listed_minima_are_stationary_with_positive_definite_hessian(name):
    surface = SURFACES[name]
    for x, y in surface.known_minima():
        grad = np.array(surface.gradient(np.float64(x), np.float64(y)))
        assert np.abs(grad).max() < 1e-9, (x, y, grad)
        if name != "ackley":  # the cone tip has no Hessian
            assert np.linalg.eigvalsh(hessian(surface, x, y)).min() > 0.0


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_global_minima_are_below_local_ones_and_share_one_value(name):
    surface = SURFACES[name]
    values = [float(surface.value(x, y)) for x, y in surface.minima]
    assert (
        values == pytest.approx([values[0]] * len(values), abs=1e-12) if values else surface.min_value is None
    )
    for x, y in surface.local_minima:
        assert surface.value(x, y) > surface.min_value


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_gradient_matches_central_differences(name):
    surface = SURFACES[name]
    rng = np.random.default_rng(7)
    xs = rng.uniform(*surface.x_range, size=40)
    ys = rng.uniform(*surface.y_range, size=40)
    analytic = np.array(surface.gradient(xs, ys))
    numeric = central_gradient(surface, xs, ys)
    scale = np.maximum(1.0, np.abs(analytic))
    assert np.abs(analytic - numeric).max(initial=0.0) <= 1e-5 * scale.max()
    assert np.all(np.abs(analytic - numeric) <= 1e-5 * scale)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_value_and_gradient_are_vectorised(name):
    surface = SURFACES[name]
    xs, ys, grid = value_grid(surface, 7)
    assert grid.shape == (7, 7)
    assert grid[2, 5] == surface.value(xs[5], ys[2])
    grad_x, grad_y = surface.gradient(xs[np.newaxis, :], ys[:, np.newaxis])
    assert grad_x.shape == grad_y.shape == (7, 7)
    assert grad_y[2, 5] == surface.gradient(xs[5], ys[2])[1]


def test_known_point_values():
    assert SURFACES["rosenbrock"].value(0.0, 0.0) == 1.0
    assert SURFACES["beale"].value(0.0, 0.0) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert SURFACES["himmelblau"].value(0.0, 0.0) == 170.0
    assert SURFACES["rastrigin"].value(1.0, 1.0) == pytest.approx(2.0)
    assert SURFACES["booth"].value(0.0, 0.0) == 74.0
    assert SURFACES["ackley"].value(0.0, 0.0) == pytest.approx(0.0, abs=1e-15)
    assert np.array(SURFACES["ackley"].gradient(0.0, 0.0)).tolist() == [0.0, 0.0]


def test_saddle_has_no_minimum_and_an_indefinite_hessian():
    saddle = SURFACES["saddle"]
    assert saddle.minima == () and saddle.min_value is None
    assert "No minimum" in saddle.note
    assert sorted(np.linalg.eigvalsh(hessian(saddle, 0.0, 0.0))) == pytest.approx([-2.0, 2.0])


def test_two_basins_surface_has_a_shallow_and_a_deep_minimum():
    surface = SURFACES["local_minima"]
    (deep,), (shallow,) = surface.minima, surface.local_minima
    assert surface.value(*deep) < surface.value(*shallow) - 0.5
    assert deep[0] > 0 > shallow[0]


def test_bowl_condition_number_is_the_hessians():
    bowl = get_surface("quadratic_bowl", condition=100.0)
    eigenvalues = np.linalg.eigvalsh(hessian(bowl, 0.3, -0.2))
    assert eigenvalues.max() / eigenvalues.min() == pytest.approx(100.0)
    assert bowl.parameters == {"condition": 100.0}
    assert get_surface("quadratic_bowl") is SURFACES["quadratic_bowl"]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: get_surface("himalaya"), "function"),
        (lambda: get_surface("rosenbrock", condition=10.0), "condition"),
        (lambda: quadratic_bowl(float("nan")), "condition"),
        (lambda: quadratic_bowl(0.5), "condition"),
        (lambda: quadratic_bowl("steep"), "condition"),
        (lambda: value_grid(SURFACES["booth"], 1), "resolution"),
        (lambda: value_grid(SURFACES["booth"], 10_000), "resolution"),
        (lambda: value_grid(SURFACES["booth"], 20.5), "resolution"),
    ],
)
def test_bad_input_names_the_field(call, field):
    with pytest.raises(ConfigError) as caught:
        call()
    assert caught.value.field == field


def test_descriptions_are_json_safe():
    for surface in SURFACES.values():
        described = json.loads(json.dumps(surface.to_dict(), allow_nan=False))
        assert described["name"] == surface.name
        assert len(described["x_range"]) == 2
