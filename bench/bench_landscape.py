"""Benchmark: batched loss-landscape slices against point-by-point loops, measured in the same run.

A 2-8-8-1 tanh network with binary cross-entropy on 500 points, sliced along two filter-normalised
directions. Three ways to fill a 51×51 grid:

- batched: :func:`loss_slice` on the whole grid (what the product does);
- per point, same code: :func:`loss_slice` called once for each (α, β);
- per point, engine loop: load θ + α·d1 + β·d2 into a copy of the network, ``forward`` and
  ``Loss.evaluate`` (how tomgoldstein/loss-landscape fills its grid).

Targets: batched ≥ 20× faster than the per-point loop, under 100 ms for 51×51, under 1 s for 101×101.
Run: ``python bench/bench_landscape.py``. Times are the best of several repeats.

Why the ratio stays near 8× on one thread: each grid point already does 500-row numpy work (two tanh
layers of 500 × 8 values dominate), so a per-point call spends most of its time in the same arithmetic
and batching only removes the per-call overhead. The batched path also spreads its chunks over up to
``landscape.MAX_WORKERS`` threads (numpy releases the GIL), which the per-point loops cannot use; the
one-thread row shows the batched time without that.
"""

from __future__ import annotations

import copy
import os
import time

import numpy as np

from backproplab.engine import landscape
from backproplab.engine.landscape import (
    filter_normalized_direction,
    flatten_params,
    grid_axis,
    loss_slice,
    unflatten_params,
)
from backproplab.engine.losses import get_loss
from backproplab.engine.network import Network

ROWS = 500
SPAN = 1.0


def best_time(function, repeats: int) -> tuple[float, np.ndarray]:
    """(fastest wall time in seconds, last result) over ``repeats`` calls."""
    best, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return best, result


def per_point_same_code(network, loss, X, y, d1, d2, axis):
    return np.array([[loss_slice(network, loss, X, y, d1, d2, [a], [b])[0, 0] for a in axis] for b in axis])


def per_point_engine_loop(network, loss, X, y, d1, d2, axis):
    theta = flatten_params(network.params())
    probe = copy.deepcopy(network)
    values = np.empty((axis.size, axis.size))
    for i, beta in enumerate(axis):
        for j, alpha in enumerate(axis):
            params = unflatten_params(theta + alpha * d1 + beta * d2, network.params())
            probe.load_weights(
                [{"W": params[f"W{k}"], "b": params[f"b{k}"]} for k in range(len(probe.layers))]
            )
            output = probe.forward(X)
            values[i, j] = loss.evaluate(probe.output_layer.z, output, y).value
    return values


def main() -> None:
    rng = np.random.default_rng(0)
    network = Network.build([2, 8, 8, 1], "tanh", "sigmoid", "xavier_uniform", rng)
    X = rng.uniform(-5.0, 5.0, (ROWS, 2))
    y = (np.hypot(X[:, 0], X[:, 1]) < 2.5).astype(np.float64)[:, np.newaxis]
    loss = get_loss("bce")
    d1, d2 = filter_normalized_direction(network, rng), filter_normalized_direction(network, rng)
    axis51, axis101 = grid_axis(SPAN, 51), grid_axis(SPAN, 101)

    batched, values = best_time(lambda: loss_slice(network, loss, X, y, d1, d2, axis51, axis51), 20)
    threads, landscape.MAX_WORKERS = landscape.MAX_WORKERS, 1
    one_thread, _ = best_time(lambda: loss_slice(network, loss, X, y, d1, d2, axis51, axis51), 20)
    landscape.MAX_WORKERS = threads
    same_code, same_values = best_time(lambda: per_point_same_code(network, loss, X, y, d1, d2, axis51), 2)
    engine, engine_values = best_time(lambda: per_point_engine_loop(network, loss, X, y, d1, d2, axis51), 2)
    large, _ = best_time(lambda: loss_slice(network, loss, X, y, d1, d2, axis101, axis101), 5)
    agreement = max(
        np.max(np.abs(values - same_values) / np.abs(same_values)),
        np.max(np.abs(values - engine_values) / np.abs(engine_values)),
    )

    print(f"2-8-8-1 tanh, bce, {ROWS} points, filter-normalised directions, span ±{SPAN}, ", end="")
    print(f"up to {min(landscape.MAX_WORKERS, landscape.available_cpus())} threads; ", end="")
    print("load average {:.1f} {:.1f} {:.1f}\n".format(*os.getloadavg()))
    print("| measurement | time (ms) | vs batched | target |")
    print("| --- | ---: | ---: | --- |")
    print(f"| 51×51 batched `loss_slice` | {batched * 1e3:.1f} | 1× | < 100 ms |")
    print(f"| 51×51 batched, one thread | {one_thread * 1e3:.1f} | {one_thread / batched:.1f}× | |")
    print(f"| 51×51 per point, same code | {same_code * 1e3:.1f} | {same_code / batched:.1f}× | ≥ 20× |")
    print(
        f"| 51×51 per point, engine forward + loss | {engine * 1e3:.1f} | {engine / batched:.1f}× | ≥ 20× |"
    )
    print(f"| 101×101 batched `loss_slice` | {large * 1e3:.1f} | | < 1000 ms |")
    print(f"\nlargest relative difference between the three 51×51 grids: {agreement:.1e}")


if __name__ == "__main__":
    main()
