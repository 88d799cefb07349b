"""Two-dimensional test functions for the optimizer race: f(x, y), its analytic gradient and what is known.

Each :class:`Surface` carries the value and the gradient (both vectorised: x and y may be arrays that
broadcast), the usual plotting domain, the known global minima (and local ones where there are few
enough to list), a suggested start and whether the contour plot wants a log colour scale because the
function spans many orders of magnitude.

The parameters an optimizer moves are the point (x, y) itself, so these are the textbook pictures of
gradient descent: Rosenbrock's curved valley, Beale's flat plateaus, Himmelblau's four minima,
Rastrigin's and Ackley's egg-crate of local minima, the saddle x² − y² that has no minimum at all.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import ConfigError

Point = tuple[float, float]
Field2D = Callable[[np.ndarray, np.ndarray], np.ndarray]
Gradient2D = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]

DEFAULT_CONDITION = 10.0
MAX_CONDITION = 1e4
MAX_GRID_RESOLUTION = 501


@dataclass(frozen=True)
class Surface:
    """A test function f(x, y) with ∇f, its domain, known minima and a start that makes a good race."""

    name: str
    title: str
    formula: str
    value: Field2D
    gradient: Gradient2D
    x_range: Point
    y_range: Point
    minima: tuple[Point, ...]
    start: Point
    local_minima: tuple[Point, ...] = ()
    log_scale: bool = False
    note: str = ""
    parameters: dict[str, float] = field(default_factory=dict)

    @property
    def min_value(self) -> float | None:
        """f at the global minimum, or None when f has none (the saddle)."""
        if not self.minima:
            return None
        x, y = self.minima[0]
        return float(self.value(np.array(x), np.array(y)))

    def known_minima(self) -> tuple[Point, ...]:
        """Global then local minima: the points a racer's distance-to-minimum is measured against."""
        return self.minima + self.local_minima

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (no callables)."""
        return {
            "name": self.name,
            "title": self.title,
            "formula": self.formula,
            "x_range": list(self.x_range),
            "y_range": list(self.y_range),
            "minima": [list(point) for point in self.minima],
            "local_minima": [list(point) for point in self.local_minima],
            "min_value": self.min_value,
            "start": list(self.start),
            "log_scale": self.log_scale,
            "note": self.note,
            "parameters": dict(self.parameters),
        }


def _broadcast(grad_x: np.ndarray | float, grad_y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Both components at the broadcast shape of x and y (separable gradients depend on one each)."""
    grad_x, grad_y = np.broadcast_arrays(grad_x, grad_y)
    return grad_x, grad_y


def quadratic_bowl(condition: float = DEFAULT_CONDITION) -> Surface:
    """f = ½(x² + κy²), ∇f = (x, κy). The Hessian is diag(1, κ), so κ is its condition number.

    Gradient descent with step η contracts y by |1 − ηκ| and x by |1 − η| per step: it is stable only for
    η < 2/κ, and then crawls along x at rate 1 − η ≈ 1 − 2/κ. That is the zig-zag a large κ shows.
    """
    try:
        kappa = float(condition)
    except (TypeError, ValueError):
        raise ConfigError("condition", "must be a number") from None
    if not (math.isfinite(kappa) and 1.0 <= kappa <= MAX_CONDITION):
        raise ConfigError("condition", f"must be a finite number between 1 and {MAX_CONDITION:g}")
    return Surface(
        name="quadratic_bowl",
        title=f"Quadratic bowl (κ = {kappa:g})",
        formula="f = ½(x² + κ·y²)",
        value=lambda x, y: 0.5 * (x * x + kappa * y * y),
        gradient=lambda x, y: _broadcast(x, kappa * y),
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=((0.0, 0.0),),
        start=(-1.8, 1.2),
        parameters={"condition": kappa},
    )


def _rosenbrock_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = (1 − x)² + 100(y − x²)²: ∂f/∂x = −2(1 − x) − 400x(y − x²), ∂f/∂y = 200(y − x²)."""
    return -2.0 * (1.0 - x) - 400.0 * x * (y - x * x), 200.0 * (y - x * x)


def _beale_terms(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The three residuals t_k = c_k − x + x·y^k (c = 1.5, 2.25, 2.625) whose squares Beale sums."""
    return 1.5 - x + x * y, 2.25 - x + x * y * y, 2.625 - x + x * y**3


def _beale_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    t1, t2, t3 = _beale_terms(x, y)
    value: np.ndarray = t1 * t1 + t2 * t2 + t3 * t3
    return value


def _beale_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂f/∂x = Σ 2t_k(y^k − 1), ∂f/∂y = Σ 2t_k·k·x·y^(k−1)."""
    t1, t2, t3 = _beale_terms(x, y)
    grad_x = 2.0 * (t1 * (y - 1.0) + t2 * (y * y - 1.0) + t3 * (y**3 - 1.0))
    grad_y = 2.0 * x * (t1 + 2.0 * t2 * y + 3.0 * t3 * y * y)
    return grad_x, grad_y


def _himmelblau_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = (x² + y − 11)² + (x + y² − 7)²: ∂f/∂x = 4x·u + 2v, ∂f/∂y = 2u + 4y·v (u, v the residuals)."""
    u, v = x * x + y - 11.0, x + y * y - 7.0
    return 4.0 * x * u + 2.0 * v, 2.0 * u + 4.0 * y * v


def _rastrigin_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    value: np.ndarray = 20.0 + x * x - 10.0 * np.cos(2.0 * np.pi * x) + y * y - 10.0 * np.cos(2.0 * np.pi * y)
    return value


def _rastrigin_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂/∂x [x² − 10 cos 2πx] = 2x + 20π sin 2πx, the same in y."""
    return _broadcast(
        2.0 * x + 20.0 * np.pi * np.sin(2.0 * np.pi * x), 2.0 * y + 20.0 * np.pi * np.sin(2.0 * np.pi * y)
    )


def _ackley_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    r = np.sqrt(0.5 * (x * x + y * y))
    waves = 0.5 * (np.cos(2.0 * np.pi * x) + np.cos(2.0 * np.pi * y))
    value: np.ndarray = -20.0 * np.exp(-0.2 * r) - np.exp(waves) + math.e + 20.0
    return value


def _ackley_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """With r = √(½(x² + y²)), ∂r/∂x = x/(2r), so ∂/∂x[−20e^(−0.2r)] = 2e^(−0.2r)·x/r;
    with c = ½(cos 2πx + cos 2πy), ∂/∂x[−e^c] = π e^c sin 2πx.

    # NOTE: x/r has no limit at the origin (the envelope is a cone); we return the subgradient 0 there.
    """
    r = np.sqrt(0.5 * (x * x + y * y))
    cone = np.where(r > 0.0, 2.0 * np.exp(-0.2 * r) / np.where(r > 0.0, r, 1.0), 0.0)
    waves = np.pi * np.exp(0.5 * (np.cos(2.0 * np.pi * x) + np.cos(2.0 * np.pi * y)))
    return cone * x + waves * np.sin(2.0 * np.pi * x), cone * y + waves * np.sin(2.0 * np.pi * y)


def _booth_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = (x + 2y − 7)² + (2x + y − 5)²: ∂f/∂x = 2u + 4v, ∂f/∂y = 4u + 2v."""
    u, v = x + 2.0 * y - 7.0, 2.0 * x + y - 5.0
    return 2.0 * u + 4.0 * v, 4.0 * u + 2.0 * v


def _camel_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    value: np.ndarray = (4.0 - 2.1 * x * x + x**4 / 3.0) * x * x + x * y + (-4.0 + 4.0 * y * y) * y * y
    return value


def _camel_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂f/∂x = 8x − 8.4x³ + 2x⁵ + y, ∂f/∂y = x − 8y + 16y³."""
    return 8.0 * x - 8.4 * x**3 + 2.0 * x**5 + y, x - 8.0 * y + 16.0 * y**3


def _styblinski_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    value: np.ndarray = 0.5 * (x**4 - 16.0 * x * x + 5.0 * x + y**4 - 16.0 * y * y + 5.0 * y)
    return value


def _styblinski_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∂f/∂x = ½(4x³ − 32x + 5), the same in y."""
    return _broadcast(0.5 * (4.0 * x**3 - 32.0 * x + 5.0), 0.5 * (4.0 * y**3 - 32.0 * y + 5.0))


# The two-well surface: a weak bowl plus two Gaussian wells, shallow at SHALLOW_CENTER, deep at DEEP_CENTER.
BOWL_WEIGHT = 0.05
WELL_WIDTH = 0.7
SHALLOW_CENTER, SHALLOW_DEPTH = (-1.5, 1.0), 1.0
DEEP_CENTER, DEEP_DEPTH = (1.5, -1.0), 2.0


def _well(
    x: np.ndarray, y: np.ndarray, center: Point, depth: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A Gaussian well −d·exp(−|p − c|²/(2s²)) and its gradient d·exp(·)·(p − c)/s²."""
    dx, dy = x - center[0], y - center[1]
    g = -depth * np.exp(-(dx * dx + dy * dy) / (2.0 * WELL_WIDTH**2))
    return g, -g * dx / WELL_WIDTH**2, -g * dy / WELL_WIDTH**2


def _two_wells_value(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    shallow, _, _ = _well(x, y, SHALLOW_CENTER, SHALLOW_DEPTH)
    deep, _, _ = _well(x, y, DEEP_CENTER, DEEP_DEPTH)
    value: np.ndarray = BOWL_WEIGHT * (x * x + y * y) + shallow + deep
    return value


def _two_wells_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """∇[w(x² + y²)] = 2w·(x, y), plus each well's gradient."""
    _, shallow_x, shallow_y = _well(x, y, SHALLOW_CENTER, SHALLOW_DEPTH)
    _, deep_x, deep_y = _well(x, y, DEEP_CENTER, DEEP_DEPTH)
    return 2.0 * BOWL_WEIGHT * x + shallow_x + deep_x, 2.0 * BOWL_WEIGHT * y + shallow_y + deep_y


def _saddle_gradient(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f = x² − y²: ∇f = (2x, −2y)."""
    return _broadcast(2.0 * x, -2.0 * y)


# Minima not at round numbers were found by Newton's method on the analytic gradient (|∇f| < 1e-12 there;
# tests/engine/test_surfaces.py checks that and that each Hessian is positive definite).
_SURFACE_LIST = (
    quadratic_bowl(),
    Surface(
        name="rosenbrock",
        title="Rosenbrock",
        formula="f = (1 − x)² + 100(y − x²)²",
        value=lambda x, y: (1.0 - x) ** 2 + 100.0 * (y - x * x) ** 2,
        gradient=_rosenbrock_gradient,
        x_range=(-2.0, 2.0),
        y_range=(-1.0, 3.0),
        minima=((1.0, 1.0),),
        start=(-1.2, 1.0),
        log_scale=True,
        note="A curved, flat-bottomed valley: finding it is easy, following it to (1, 1) is hard.",
    ),
    Surface(
        name="beale",
        title="Beale",
        formula="f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²",
        value=_beale_value,
        gradient=_beale_gradient,
        x_range=(-4.5, 4.5),
        y_range=(-4.5, 4.5),
        minima=((3.0, 0.5),),
        start=(1.0, 1.5),
        log_scale=True,
        note="Flat plateaus and sharp ridges; the gradient's scale varies by orders of magnitude.",
    ),
    Surface(
        name="himmelblau",
        title="Himmelblau",
        formula="f = (x² + y − 11)² + (x + y² − 7)²",
        value=lambda x, y: (x * x + y - 11.0) ** 2 + (x + y * y - 7.0) ** 2,
        gradient=_himmelblau_gradient,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=(
            (3.0, 2.0),
            (-2.805118086952745, 3.131312518250573),
            (-3.779310253377747, -3.283185991286169),
            (3.5844283403304917, -1.8481265269644036),
        ),
        start=(-0.3, -0.9),
        log_scale=True,
        note="Four global minima, all f = 0; which one a racer finds depends on the start and the optimizer.",
    ),
    Surface(
        name="rastrigin",
        title="Rastrigin",
        formula="f = 20 + x² − 10cos(2πx) + y² − 10cos(2πy)",
        value=_rastrigin_value,
        gradient=_rastrigin_gradient,
        x_range=(-5.12, 5.12),
        y_range=(-5.12, 5.12),
        minima=((0.0, 0.0),),
        start=(-3.2, 2.7),
        note="A local minimum near every integer point (too many to list); descent stops in the nearest.",
    ),
    Surface(
        name="ackley",
        title="Ackley",
        formula="f = −20·exp(−0.2·√(½(x² + y²))) − exp(½(cos 2πx + cos 2πy)) + e + 20",
        value=_ackley_value,
        gradient=_ackley_gradient,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=((0.0, 0.0),),
        start=(-3.3, 2.6),
        note="Ripples on a cone: many local minima (not listed), a sharp global one at the origin.",
    ),
    Surface(
        name="booth",
        title="Booth",
        formula="f = (x + 2y − 7)² + (2x + y − 5)²",
        value=lambda x, y: (x + 2.0 * y - 7.0) ** 2 + (2.0 * x + y - 5.0) ** 2,
        gradient=_booth_gradient,
        x_range=(-10.0, 10.0),
        y_range=(-10.0, 10.0),
        minima=((1.0, 3.0),),
        start=(-8.0, -6.0),
        log_scale=True,
        note="A tilted quadratic (Hessian [[10, 8], [8, 10]], condition number 9).",
    ),
    Surface(
        name="six_hump_camel",
        title="Six-hump camel",
        formula="f = (4 − 2.1x² + x⁴/3)x² + xy + (−4 + 4y²)y²",
        value=_camel_value,
        gradient=_camel_gradient,
        x_range=(-3.0, 3.0),
        y_range=(-2.0, 2.0),
        minima=((0.08984201310031807, -0.7126564030207396), (-0.08984201310031807, 0.7126564030207396)),
        local_minima=(
            (-1.7036067149699805, 0.7960835686726251),
            (1.7036067149699805, -0.7960835686726251),
            (-1.6071047529201976, -0.5686514548841313),
            (1.6071047529201976, 0.5686514548841313),
        ),
        start=(-2.2, -1.2),
        note="Two global minima (f ≈ −1.0316) and four local ones.",
    ),
    Surface(
        name="styblinski_tang",
        title="Styblinski–Tang",
        formula="f = ½(x⁴ − 16x² + 5x + y⁴ − 16y² + 5y)",
        value=_styblinski_value,
        gradient=_styblinski_gradient,
        x_range=(-5.0, 5.0),
        y_range=(-5.0, 5.0),
        minima=((-2.903534027771177, -2.903534027771177),),
        local_minima=(
            (2.746802770990837, 2.746802770990837),
            (-2.903534027771177, 2.746802770990837),
            (2.746802770990837, -2.903534027771177),
        ),
        start=(0.3, 0.2),
        note="Separable: each coordinate has a deeper well at −2.9035 and a shallower one at 2.7468.",
    ),
    Surface(
        name="saddle",
        title="Saddle",
        formula="f = x² − y²",
        value=lambda x, y: x * x - y * y,
        gradient=_saddle_gradient,
        x_range=(-2.0, 2.0),
        y_range=(-2.0, 2.0),
        minima=(),
        start=(-1.8, 0.01),
        note="No minimum: (0, 0) is a saddle point and f → −∞ along y. Plain gradient descent lingers near "
        "the saddle; every racer eventually leaves along y.",
    ),
    Surface(
        name="local_minima",
        title="Two basins",
        formula="f = 0.05(x² + y²) − exp(−|p − (−1.5, 1)|²/0.98) − 2·exp(−|p − (1.5, −1)|²/0.98)",
        value=_two_wells_value,
        gradient=_two_wells_gradient,
        x_range=(-3.5, 3.5),
        y_range=(-3.5, 3.5),
        minima=((1.4640586720960358, -0.9760391147306905),),
        local_minima=((-1.4294231840897553, 0.9529487893931702),),
        start=(-0.4, 1.6),
        note="A shallow basin (upper left) and a deep one (lower right) on a weak bowl: from the default "
        "start plain gradient descent settles in the shallow one.",
    ),
)

SURFACES: dict[str, Surface] = {surface.name: surface for surface in _SURFACE_LIST}


def get_surface(name: str, condition: float | None = None) -> Surface:
    """A surface by name; ``condition`` (κ) rebuilds the quadratic bowl and is refused for the others."""
    if name not in SURFACES:
        raise ConfigError("function", f"unknown function {name!r}; choose one of {sorted(SURFACES)}")
    if condition is None:
        return SURFACES[name]
    if name != "quadratic_bowl":
        raise ConfigError("condition", "only the quadratic bowl takes a condition number")
    return quadratic_bowl(condition)


def value_grid(surface: Surface, resolution: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(xs, ys, values) over the surface's domain, ``values[i, j] = f(xs[j], ys[i])``.

    Row i is one y, column j one x: the row-major layout contour libraries (d3-contour) expect.
    """
    if isinstance(resolution, bool) or not isinstance(resolution, int | np.integer):
        raise ConfigError("resolution", "must be an integer")
    if not 2 <= resolution <= MAX_GRID_RESOLUTION:
        raise ConfigError("resolution", f"must be between 2 and {MAX_GRID_RESOLUTION}")
    xs = np.linspace(*surface.x_range, resolution)
    ys = np.linspace(*surface.y_range, resolution)
    return xs, ys, surface.value(xs[np.newaxis, :], ys[:, np.newaxis])
