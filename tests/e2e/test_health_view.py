"""The Learn page's gradient-health view as a new user met it: a ReLU run whose gradients were all exactly
zero at one snapshot (numpy's one bin, edges [-0.5, 0.5]) drew that histogram as a triangle across the whole
ridgeline, over the other steps' rows; and the dead-ReLU chart of a fresh run (one snapshot) was empty, its
x axis running 0–2.

Ridges are told apart by their shade: row k of n is the ridge colour at opacity 0.35 + 0.65·k/(n−1) over
white (ridgeline.js), so a pixel of that exact colour is that row's fill and of no other row.
"""

from __future__ import annotations

import pytest
from e2e_harness import WAIT_MS, api

RELU_RUN = {"seed": 0, "dataset": {"kind": "circle"}, "model": {"hidden": [4, 2], "activation": "relu"}}

# The box (CSS px) of a canvas's pixels of each colour ([r, g, b], within a few levels), null for none.
INK_BOXES = """([canvas, colours]) => {
  const ratio = canvas.width / canvas.clientWidth;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  const boxes = colours.map(() => null);
  for (let y = 0; y < canvas.height; y++) {
    for (let x = 0; x < canvas.width; x++) {
      const i = 4 * (y * canvas.width + x);
      if (data[i + 3] < 250) continue;
      colours.forEach(([r, g, b], k) => {
        if (Math.abs(data[i] - r) > 4 || Math.abs(data[i + 1] - g) > 4 || Math.abs(data[i + 2] - b) > 4) return;
        const box = boxes[k] || (boxes[k] = { left: x, right: x, top: y, bottom: y });
        box.left = Math.min(box.left, x); box.right = Math.max(box.right, x);
        box.top = Math.min(box.top, y); box.bottom = Math.max(box.bottom, y);
      });
    }
  }
  return boxes.map((box) => box && Object.fromEntries(Object.entries(box).map(([key, v]) => [key, v / ratio])));
}"""

# drawRidgeline of `rows` in red on a fresh canvas (#ridge-test) of width × height.
DRAW = """async ([rows, width, height]) => {
  const { drawRidgeline } = await import('/src/teach/ridgeline.js');
  document.getElementById('ridge-test')?.remove();
  const canvas = document.createElement('canvas');
  canvas.id = 'ridge-test';
  document.body.prepend(canvas);
  drawRidgeline(canvas, width, height, rows, '#ff0000');
}"""

# "#rrggbb" of any CSS colour.
HEX = "c => { const x = document.createElement('canvas').getContext('2d'); x.fillStyle = c; return x.fillStyle; }"


def _shade(rgb, k, n):
    """Row k of n's fill over white: the ridge colour at its opacity."""
    alpha = 0.35 + 0.65 * (k / (n - 1) if n > 1 else 1)
    return [round(255 * (1 - alpha) + channel * alpha) for channel in rgb]


def _rgb(hex_colour: str):
    return [int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)]


def _bell(step, low, high, bins=10):
    edges = [low + (high - low) * i / bins for i in range(bins + 1)]
    counts = [1 + min(i, bins - 1 - i) * 3 for i in range(bins)]
    return {"step": step, "edges": edges, "counts": counts}


ALL_ZERO = {"step": 126, "edges": [-0.5, 0.5], "counts": [8]}  # numpy's one bin for constant data


@pytest.fixture
def teach(server, open_page):
    return open_page(f"{server.url}/teach.html", ready=lambda page: page.wait_for_selector("#view-step"))


def _ridges(page, rows, width=300, height=170):
    page.evaluate(DRAW, [rows, width, height])
    n = len(rows)
    canvas = page.locator("#ridge-test").element_handle()
    return page.evaluate(INK_BOXES, [canvas, [_shade([255, 0, 0], k, n) for k in range(n)]])


def test_an_all_zero_histogram_is_a_spike_that_does_not_stretch_the_axis(teach):
    (alone,) = _ridges(teach, [ALL_ZERO])
    assert alone["right"] - alone["left"] <= 8, f"drawn {alone['right'] - alone['left']}px wide: {alone}"
    # Among spread histograms it stays a spike at 0, and they keep the whole value axis (it was ±0.5, the
    # zero histogram's padding, which squeezed them into a few pixels); each row sits lower than the last.
    first, zero, last = _ridges(teach, [_bell(1, -0.01, 0.01), ALL_ZERO, _bell(189, -0.008, 0.012)])
    for spread in (first, last):
        assert spread["right"] - spread["left"] > 0.7 * 300, spread
    assert zero["right"] - zero["left"] <= 8, zero
    left, right = min(first["left"], last["left"]), max(first["right"], last["right"])  # -0.01 and 0.012
    assert abs((zero["left"] + zero["right"]) / 2 - (left + (right - left) * 0.01 / 0.022)) <= 4, zero
    assert first["bottom"] < zero["bottom"] < last["bottom"] <= 170 - 22
    assert first["top"] >= 8 and zero["top"] >= first["top"]
    # Unusable rows (non-finite edges come as null, a lone edge) are left out, not drawn across the axis;
    # one whose counts are all 0 is a flat ridge.
    broken = [{"step": 1, "edges": [None, 0, 1], "counts": [1, 1]}, {"step": 2, "edges": [0], "counts": []}]
    flat = {"step": 3, "edges": [-1, 0, 1], "counts": [0, 0]}
    _, spread = _ridges(teach, [*broken, flat, _bell(4, -1, 1)])[2:]
    assert spread["right"] - spread["left"] > 0.7 * 300, spread
    assert teach.problems == []


def test_the_users_relu_run_draws_its_all_zero_snapshot_in_its_own_row(server, open_page, screenshot):
    token = api(server, "/api/identities", "POST", {})["token"]
    run = api(server, "/api/runs", "POST", RELU_RUN, token=token)["id"]
    api(server, f"/api/runs/{run}/step", "POST", {"steps": 200}, token=token)
    snapshots = api(server, f"/api/runs/{run}/health")["snapshots"]
    zero_at = [k for k, snap in enumerate(snapshots) if len(snap["layers"][0]["grads"]["counts"]) == 1]
    assert zero_at, "the run no longer has an all-zero gradient snapshot: the test needs another"
    for width, height in ((390, 844), (1280, 800)):
        page = open_page(
            f"{server.url}/teach.html?run={run}&view=health",
            width,
            height,
            ready=lambda p: p.wait_for_selector('#health-histograms canvas[data-layer="0"]', timeout=WAIT_MS),
        )
        canvas = page.locator('#health-histograms canvas[data-layer="0"]')
        colour = _rgb(
            page.evaluate(HEX, page.evaluate("async () => (await import('/src/colors.js')).layerColor(0, 3)"))
        )
        shades = [_shade(colour, k, len(snapshots)) for k in range(len(snapshots))]
        boxes = page.evaluate(INK_BOXES, [canvas.element_handle(), shades])
        spike = boxes[zero_at[0]]
        assert spike and spike["right"] - spike["left"] <= 8, f"step {snapshots[zero_at[0]]['step']}: {spike}"
        canvas.scroll_into_view_if_needed()
        screenshot(page, f"teach_health_all_zero_{width}")
        assert page.problems == []


def test_a_single_dead_relu_snapshot_shows_as_a_point_over_the_runs_steps(server, open_page):
    token = api(server, "/api/identities", "POST", {})["token"]
    run = api(server, "/api/runs", "POST", RELU_RUN, token=token)["id"]
    api(server, f"/api/runs/{run}/step", "POST", {"steps": 50}, token=token)
    assert [snap["step"] for snap in api(server, f"/api/runs/{run}/health")["snapshots"]] == [1]
    page = open_page(
        f"{server.url}/teach.html?run={run}&view=health",
        ready=lambda p: p.wait_for_function(
            "() => document.querySelectorAll('#view-health .uplot').length === 4"
        ),
    )
    page.wait_for_selector("#health-summary")
    assert "Dead ReLUs now: 0%" in page.inner_text("#health-summary")
    chart = page.locator("#view-health .chart-box").nth(3)
    colours = [
        _rgb(
            page.evaluate(
                HEX, page.evaluate(f"async () => (await import('/src/colors.js')).layerColor({i}, 3)")
            )
        )
        for i in (0, 1)
    ]
    plot = chart.locator("canvas").first
    boxes = [box for box in page.evaluate(INK_BOXES, [plot.element_handle(), colours]) if box]
    assert boxes, "no point of the dead-ReLU share is drawn"
    # Step 1 of a 50-step run sits at the left of the plot, as on the other charts (0–2 put it mid-way).
    width = plot.evaluate("c => c.clientWidth")
    assert min(box["left"] for box in boxes) < 0.3 * width, (boxes, width)
    assert page.problems == []
