"""Charts that never freeze and always say what they show: the lr = 10 ReLU lesson, zero, denormal, huge
and non-finite values on log axes, axis labels that fit, the exported PNG, the lr sweep, the regression
and confusion views, and the loss landscape's age."""

from __future__ import annotations

import re
import struct

import pytest
from e2e_harness import STOPPED_LEARNING, WAIT_MS, api


def test_learning_rate_ten_relu_lesson_runs_twenty_seconds_without_errors(server, open_page, screenshot):
    page = open_page(f"{server.url}/?dataset.kind=circle&model.activation=relu&optimizer.lr=10")
    page.check("#curves-log")
    page.click("#play")
    page.wait_for_timeout(20_000)
    assert page.problems == [], page.problems
    drawn = page.evaluate("() => window.backproplab.stats.draws")
    page.wait_for_timeout(1000)
    assert page.evaluate("() => window.backproplab.stats.draws") > drawn, "the page stopped drawing"
    steps = page.evaluate("() => window.backproplab.app.state.history.length")
    assert steps > 100
    screenshot(page, "lesson-lr10-relu")


def test_log_axes_take_zero_denormal_huge_and_non_finite_values(server, open_page):
    page = open_page(f"{server.url}/")
    page.check("#curves-log")
    page.evaluate(
        """() => {
          const app = window.backproplab.app;
          const weird = [0, 5e-324, 1e-310, 1e308, -1, 1e-30, 2, 3];
          app.state.history.append({ step: weird.map((_, k) => k + 1), train_loss: weird, lr: weird,
            test_loss: weird, grad_norm: weird.map((v) => [v, v, v]) });
          app.emit("frame", { metrics: {} });
        }"""
    )
    page.wait_for_timeout(500)
    assert page.problems == [], page.problems
    ranges = page.evaluate(
        "() => ['loss', 'grad'].map((name) => { const s = window.backproplab.charts[name].scales.y; return [s.min, s.max]; })"
    )
    for low, high in ranges:
        assert 0 < low < high < 1e300
    crowded = page.evaluate(
        """() => ['loss', 'grad'].filter((name) => { const chart = window.backproplab.charts[name];
          const labels = chart.axes[1]._values.filter(Boolean).length;
          return labels * 14 > chart.bbox.height / devicePixelRatio; })"""
    )
    assert crowded == [], "log-axis labels are written on top of each other"


def test_axis_labels_fit_and_small_learning_rates_read_as_numbers(server, open_page):
    page = open_page(f"{server.url}/?optimizer.lr=0.0001&model.hidden=4,4,4&model.activation=sigmoid")
    page.click("#step-epoch")
    page.click("#step-epoch")
    page.wait_for_function("() => window.backproplab.app.state.history.length > 40")
    page.wait_for_timeout(500)
    axes = page.evaluate(
        """() => Object.entries(window.backproplab.charts).map(([name, chart]) => {
          const axis = chart.axes[1];
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = axis.font[0];
          const widest = Math.max(0, ...axis._values.map((text) => ctx.measureText(String(text)).width));
          return { name, size: axis._size, widest, values: axis._values };
        })"""
    )
    for axis in axes:
        assert axis["size"] >= axis["widest"] + 4, f"{axis['name']} y labels are clipped: {axis}"
    lr = next(axis for axis in axes if axis["name"] == "lr")
    assert "1e-4" in lr["values"], lr["values"]


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as file:
        header = file.read(24)
    return struct.unpack(">II", header[16:24])


def test_exported_loss_png_has_title_and_legend(server, open_page, tmp_path):
    page = open_page(f"{server.url}/")
    page.click("#step-epoch")
    page.wait_for_function("() => window.backproplab.app.state.history.length > 10")
    with page.expect_download() as download:
        page.click('[data-chart-png="loss"]')
    path = tmp_path / "loss.png"
    download.value.save_as(path)
    width, height = png_size(path)
    chart = page.evaluate(
        "() => { const c = window.backproplab.charts.loss.ctx.canvas; return [c.width, c.height]; }"
    )
    assert width == chart[0]
    assert height > chart[1] + 40, "no room for a title and a legend"


def test_regression_shows_predictions_against_targets(server, open_page, screenshot):
    page = open_page(f"{server.url}/?dataset.kind=sine&model.hidden=8,8&features=x1,x2,sin(x1),sin(x2)")
    page.click("#step-epoch")
    page.select_option("#output-view", "fit")
    page.wait_for_selector("#eval-canvas:not([hidden])")
    page.wait_for_timeout(1200)
    page.click("#step")
    page.wait_for_timeout(500)
    colours = page.eval_on_selector(
        "#eval-canvas",
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; const s = new Set();
                  for (let i = 0; i < d.length; i += 4 * 7) s.add(d[i] + ',' + d[i + 1] + ',' + d[i + 2]); return s.size; }""",
    )
    assert colours > 3, "the predicted-against-true plot is empty"
    assert "confusion" not in page.inner_text(".output-panel").lower()
    screenshot(page, "regression-fit")


def test_one_input_regression_shows_the_fitted_curve(server, open_page, tmp_path):
    rows = ["x,y"] + [f"{k / 10},{(k / 10) ** 2 / 10}" for k in range(-30, 31)]
    path = tmp_path / "curve.csv"
    path.write_text("\n".join(rows) + "\n")
    page = open_page(f"{server.url}/")
    page.set_input_files("#csv-upload", str(path))
    page.wait_for_selector("#eval-canvas:not([hidden])", timeout=WAIT_MS)
    assert page.is_hidden("#output-canvas")
    assert page.is_hidden("#confusion")


def test_ten_classes_confusion_matrix_is_not_cut_off(server, open_page, screenshot, tmp_path):
    rows = ["a;b;c;digit"] + [
        f"{k + 0.1 * (i % 3)};{i % 7};{k * 2 - i % 5};{k}" for i in range(20) for k in range(10)
    ]
    path = tmp_path / "ten.csv"
    path.write_text("\n".join(rows) + "\n")
    page = open_page(f"{server.url}/")
    page.set_input_files("#csv-upload", str(path))
    page.wait_for_selector("#output-message:not([hidden])", timeout=WAIT_MS)
    page.click("#step-epoch")
    page.wait_for_selector("#confusion:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#confusion td").count() == 100
    table = page.locator("#confusion").bounding_box()
    box = page.locator("#output-box").bounding_box()
    assert table["x"] >= box["x"] and table["x"] + table["width"] <= box["x"] + box["width"] + 0.5
    assert table["y"] + table["height"] <= box["y"] + box["height"] + 0.5, "the last rows are cut off"
    screenshot(page, "confusion-10-classes")


def test_learning_rate_sweep_has_log_axis_colours_and_final_loss(server, open_page, screenshot):
    page = open_page(f"{server.url}/teach.html?view=sweep", ready=lambda p: p.wait_for_selector("#sweep-run"))
    page.fill("#sweep-count", "5")
    page.fill("#sweep-steps", "150")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-table tr[data-status]", timeout=60_000)
    curves = page.evaluate(
        """() => { const root = document.querySelector('#sweep-curves .uplot');
                   return [...root.querySelectorAll('.u-legend .u-series')].slice(1).map((node) =>
                     getComputedStyle(node.querySelector('.u-marker')).borderColor); }"""
    )
    assert len(curves) == 5 and len(set(curves)) == 5, "each learning rate needs its own colour"
    assert page.locator("#sweep-final canvas").count() >= 1
    assert page.problems == []
    screenshot(page, "teach_sweep")


def test_learning_rate_sweep_plots_the_final_losses_the_table_gives(server, open_page):
    """The final-loss chart cut diverged runs at 10x the starting loss without saying so (the table said
    37.67 at lr 100, the chart ~7): its log axis has room for every finite final loss as it is."""
    page = open_page(f"{server.url}/teach.html?view=sweep", ready=lambda p: p.wait_for_selector("#sweep-run"))
    page.fill("#sweep-min", "0.01")
    page.fill("#sweep-max", "100")
    page.fill("#sweep-count", "3")
    page.fill("#sweep-steps", "150")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-table tr[data-status]", timeout=60_000)
    plotted = page.evaluate(
        """() => { const chart = window.backproplabTeach.sweepFinal;
          return { data: chart.data[1], top: chart.scales.y.max }; }"""
    )
    sweep = page.evaluate(
        """async () => { const { api, reusableConfig } = await import('/src/core/api.js');
          const run = await api.getRun(window.backproplabTeach.runId);
          return api.sweep({ config: reusableConfig(run), lrs: { min: 0.01, max: 100, count: 3 }, steps: 150 }); }"""
    )
    finals = [item["final_loss"] for item in sorted(sweep["results"], key=lambda item: item["lr"])]
    for final, drawn in zip(finals, plotted["data"], strict=True):
        if final is not None and final > 0:
            assert drawn == pytest.approx(final), f"the chart shows {drawn} for a final loss of {final}"
    assert plotted["top"] >= max(value for value in finals if value is not None)
    assert page.problems == [], page.problems


def test_loss_landscape_says_its_age(server, open_page, screenshot):
    run = api(server, "/api/runs", "POST", {"model": {"hidden": [3]}})
    page = open_page(
        f"{server.url}/landscape.html?run={run['id']}",
        1400,
        900,
        ready=lambda p: p.wait_for_selector("#net-age:not(:empty)", timeout=60_000),
    )
    assert "step 0" in page.inner_text("#net-age")
    api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 5}, token=run["token"])
    page.wait_for_function(
        "() => document.getElementById('net-panel').dataset.stale === 'true'", timeout=WAIT_MS
    )
    assert "now step" in page.inner_text("#net-age")
    page.click("#net-compute")
    page.wait_for_function(
        "() => document.getElementById('net-panel').dataset.stale === 'false'", timeout=60_000
    )
    screenshot(page, "landscape_age")


def test_phone_charts_have_room_for_their_plots(server, open_page, screenshot):
    """At 390 px the stacked charts used to share one panel's height: the loss plot was ~40 px tall with a
    single y label ("0") and the lr strip as cramped. Each plot area must be tall enough to read."""
    page = open_page(f"{server.url}/?dataset.kind=circle", 390, 844)
    page.click("#step-epoch")
    page.click("#step-epoch")
    page.wait_for_function("() => window.backproplab.app.state.history.length > 40")
    page.wait_for_timeout(500)
    plots = page.evaluate(
        """() => Object.fromEntries(Object.entries(window.backproplab.charts).map(([name, chart]) => [name, {
          height: chart.root.querySelector('.u-over').getBoundingClientRect().height,
          labels: chart.axes[1]._values.filter((text) => text !== '' && text != null).length,
        }]))"""
    )
    for name in ["loss", "accuracy", "grad"]:
        assert plots[name]["height"] >= 150, f"the {name} plot is squashed: {plots}"
        assert plots[name]["labels"] >= 3, f"the {name} y axis has too few labels: {plots}"
    assert plots["lr"]["height"] >= 60, f"the lr strip is squashed: {plots}"
    page.locator("#chart-loss").scroll_into_view_if_needed()
    screenshot(page, "curves-390x844")
    assert page.problems == [], page.problems


def test_tick_labels_of_one_axis_share_one_form(server, open_page):
    """Huge and tiny ticks all in exponent form (a step axis once read 1e5, 2.00e+5, 3.00e+5), ordinary ones
    plain, and a nearly flat axis's ticks distinct."""
    page = open_page(f"{server.url}/")
    labels = page.evaluate(
        """async () => {
          const { tickLabels } = await import('/src/charts/safe.js');
          return [[1e5, 2e5, 3e5], [1e-4, 2e-4, 3e-4], [0, 0.5, 1], [0.17445, 0.1745, 0.17455], [0, 1e5, 2e5]]
            .map((ticks) => tickLabels(ticks));
        }"""
    )
    assert labels[0] == ["1e5", "2e5", "3e5"]
    assert labels[1] == ["1e-4", "2e-4", "3e-4"]
    assert labels[2] == ["0", "0.5", "1"]
    assert len(set(labels[3])) == 3
    assert labels[4] == ["0", "1e5", "2e5"]
    assert page.problems == []


LABEL_ROOM_JS = """() => Object.fromEntries(Object.entries(window.backproplab.charts).map(([name, chart]) => {
  const ratio = devicePixelRatio;
  const ctx = document.createElement('canvas').getContext('2d');
  const room = (index, scale) => {
    const axis = chart.axes[index];
    ctx.font = axis.font[0];
    const shown = axis._splits.map((split, k) => [split, axis._values[k]]).filter(([, text]) => text !== '' && text != null);
    return shown.map(([split, text]) => ({ text: String(text), at: chart.valToPos(split, scale),
      width: ctx.measureText(String(text)).width / ratio, height: axis.font[2] }));
  };
  return [name, { plot: chart.bbox.height / ratio, x: room(0, 'x'), y: room(1, 'y') }];
}))"""


def assert_labels_apart(charts) -> None:
    """Neighbouring tick labels never touch: along x by their widths, along y by their font's height."""
    for name, chart in charts.items():
        for first, second in zip(chart["x"], chart["x"][1:], strict=False):
            gap = abs(second["at"] - first["at"]) - (first["width"] + second["width"]) / 2
            assert gap >= 4, (
                f"{name} x labels {first['text']} and {second['text']} run together: {chart['x']}"
            )
        for first, second in zip(chart["y"], chart["y"][1:], strict=False):
            assert abs(second["at"] - first["at"]) >= first["height"], (
                f"{name} y labels overlap: {chart['y']}"
            )


def test_a_large_loss_under_a_banner_gets_a_labelled_y_axis(server, open_page):
    """At 1280x800 with the stopped-learning banner, a loss of ~40 showed a ~35 px plot whose y axis said
    only "0". The plot keeps room for several labels that span the loss (the panel scrolls instead)."""
    page = open_page(f"{server.url}/?optimizer.lr=50")
    page.evaluate(STOPPED_LEARNING)
    page.wait_for_selector("#learning-banner:not([hidden])")
    page.wait_for_function(
        "() => Math.max(...window.backproplab.charts.loss.axes[1]._splits) >= 20", timeout=WAIT_MS
    )
    charts = page.evaluate(LABEL_ROOM_JS)
    loss = charts["loss"]
    assert len(loss["y"]) >= 2, f"the loss axis has too few labels: {loss}"
    assert max(float(label["text"]) for label in loss["y"]) >= 30, loss["y"]
    assert loss["plot"] >= 70, f"the loss plot is squashed: {loss}"
    assert_labels_apart(charts)
    assert page.problems == [], page.problems


def test_a_diverged_runs_loss_axis_keeps_its_labels(server, open_page):
    """A loss that reached 1e306 before the run diverged took the linear axis past uPlot's largest tick step,
    and the loss chart had no y labels at all; values beyond it are a gap, and the axis is labelled."""
    page = open_page(
        f"{server.url}/?dataset.kind=plane&model.hidden=8,8&model.activation=relu&optimizer.lr=50"
    )
    page.click("#play")
    page.wait_for_selector("#diverged-banner:not([hidden])", timeout=WAIT_MS)
    page.wait_for_function(
        """() => (window.backproplab.charts.loss.axes[1]._values || [])
            .filter((text) => text !== '' && text != null).length >= 2""",
        timeout=WAIT_MS,
    )
    assert page.problems == [], page.problems


def test_a_diverged_runs_gradient_norm_axis_keeps_its_labels(server, open_page):
    """Gradient norms of ~1e145 before the run diverged gave the log axis a range of 1e130..1e146: uPlot
    measures a log axis' span as max - min, found no tick step for it (its steps stop at 5e31), and the
    gradient-norm chart had no y ticks, grid or labels at all. Log axes have decade ticks of their own."""
    page = open_page(
        f"{server.url}/?dataset.kind=plane&model.hidden=8,8&model.activation=relu&optimizer.lr=50"
    )
    page.click("#play")
    page.wait_for_selector("#diverged-banner:not([hidden])", timeout=WAIT_MS)
    page.wait_for_function("() => window.backproplab.charts.grad.scales.y.max > 1e40", timeout=WAIT_MS)
    axis = page.evaluate(
        """() => { const chart = window.backproplab.charts.grad;
          return { min: chart.scales.y.min, max: chart.scales.y.max,
            labels: (chart.axes[1]._values || []).filter((text) => text !== '' && text != null) }; }"""
    )
    assert len(axis["labels"]) >= 2, f"the gradient-norm axis has too few labels: {axis}"
    for label in axis["labels"]:
        assert re.fullmatch(r"1e\d+", label), axis
        assert axis["min"] <= float(label) <= axis["max"], axis
    assert page.problems == [], page.problems


@pytest.mark.parametrize("width,height", [(1280, 800), (1920, 1080)])
def test_projector_charts_are_readable(server, open_page, screenshot, width, height):
    """Projector mode at 1280x800 left the loss plot ~15 px tall with no y numbers and x labels running
    together ("1000015000"); the lr strip's "0.03" sat on its "0" (at 1920x1080 too)."""
    page = open_page(f"{server.url}/?projector=1", width, height)
    page.evaluate(
        """() => { const app = window.backproplab.app;
          const steps = Array.from({ length: 400 }, (_, k) => 60 * (k + 1));
          const losses = steps.map((_, k) => 0.7 / (1 + k / 50));
          app.state.history.append({ step: steps, train_loss: losses, test_loss: losses, lr: steps.map(() => 0.03),
            train_accuracy: losses.map((v) => 1 - v), test_accuracy: losses.map((v) => 1 - v),
            grad_norm: losses.map((v) => [v, v, v]) });
          app.emit("frame", { metrics: {} }); }"""
    )
    page.wait_for_function(
        "() => (window.backproplab.charts.loss.axes[0]._splits || []).some((step) => step >= 10000)",
        timeout=WAIT_MS,
    )
    page.wait_for_timeout(300)  # the charts' sizes settle over a few animation frames
    charts = page.evaluate(LABEL_ROOM_JS)
    for name in ["loss", "accuracy", "grad"]:
        assert len(charts[name]["y"]) >= 3, f"the {name} y axis has too few labels: {charts[name]}"
    assert len(charts["lr"]["y"]) == 2, charts["lr"]
    assert_labels_apart(charts)
    page.locator("#chart-loss").scroll_into_view_if_needed()
    screenshot(page, f"projector-curves-{width}x{height}")
    assert page.problems == [], page.problems
