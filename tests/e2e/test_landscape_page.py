"""The landscape page (landscape.html) in a real browser against the real server (fixtures: conftest.py).

The optimizer race renders paths that move and takes its start from a click; the network panel shows a
contour of the run's loss slice with the training path on it, and the path keeps moving while it trains.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from e2e_harness import WAIT_MS, api, wait_until

# The plot's margins in frontend/src/landscape/contour.js (left, right, top, bottom), in CSS pixels.
MARGIN = (42, 10, 8, 28)


def landscape_ready(page) -> None:
    page.wait_for_selector("#race-panel[data-race-id]", timeout=WAIT_MS)
    page.wait_for_selector("#race-table tbody tr", timeout=WAIT_MS)


@pytest.fixture
def open_landscape(open_page):
    """open_landscape(url, token=None) -> page at 1400×900 (as the identity of ``token``); page.problems
    collects console errors and page errors."""
    return lambda url, token=None: open_page(url, 1400, 900, ready=landscape_ready, token=token)


def canvas_digest(page, selector: str) -> str:
    return page.eval_on_selector(selector, "canvas => canvas.toDataURL()")


def distinct_colours(page, selector: str) -> int:
    """How many distinct colours a canvas shows (a blank or flat plot has one or two)."""
    return page.eval_on_selector(
        selector,
        """canvas => {
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          const seen = new Set();
          for (let i = 0; i < data.length; i += 4 * 97) seen.add(data[i] << 16 | data[i + 1] << 8 | data[i + 2]);
          return seen.size;
        }""",
    )


def test_race_paths_move_and_a_click_sets_the_start(server, open_landscape, screenshot):
    run = api(server, "/api/runs", "POST", {"dataset": {"kind": "xor"}, "model": {"hidden": [6]}})
    api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 400}, token=run["token"])
    page = open_landscape(f"{server.url}/landscape.html?run={run['id']}")  # both panels in the screenshot
    race_id = page.get_attribute("#race-panel", "data-race-id")
    assert page.locator("#race-table tbody tr").count() == 3
    assert distinct_colours(page, "#race-canvas") > 20  # filled contour bands

    page.click("#race-play")
    wait_until(lambda: int(page.get_attribute("#race-panel", "data-steps")) > 30, message="racers to move")
    before = (canvas_digest(page, "#race-canvas"), api(server, f"/api/races/{race_id}")["racers"])
    wait_until(
        lambda: api(server, f"/api/races/{race_id}")["racers"][0]["steps"] > before[1][0]["steps"] + 30
    )
    page.wait_for_timeout(200)
    after = (canvas_digest(page, "#race-canvas"), api(server, f"/api/races/{race_id}")["racers"])
    assert after[0] != before[0], "the drawing did not change while the race played"
    assert all(a["position"] != b["position"] for a, b in zip(after[1], before[1], strict=True))
    assert all(len(racer["path"]) > 30 for racer in after[1])
    page.wait_for_selector("#net-panel[data-path-points]", timeout=WAIT_MS)
    screenshot(page, "landscape_race")

    page.click("#race-play")  # pause
    wait_until(lambda: not api(server, f"/api/races/{race_id}")["playing"], message="the race to pause")
    box = page.locator("#race-canvas").bounding_box()
    left, right, top, bottom = MARGIN
    # Rosenbrock's plot spans x ∈ [−2, 2], y ∈ [−1, 3]; click where (0.5, 2) is drawn.
    x = box["x"] + left + (0.5 + 2) / 4 * (box["width"] - left - right)
    y = box["y"] + top + (3 - 2) / 4 * (box["height"] - top - bottom)
    page.mouse.click(x, y)
    race = wait_until(
        lambda: (race := api(server, f"/api/races/{race_id}"))["start"][0] != -1.2 and race,
        message="the start to move",
    )
    assert race["start"] == pytest.approx([0.5, 2.0], abs=0.03)
    assert all(racer["steps"] == 0 and racer["position"] == race["start"] for racer in race["racers"])

    page.fill(".racer-lr >> nth=2", "0.2")
    page.press(".racer-lr >> nth=2", "Enter")
    wait_until(
        lambda: api(server, f"/api/races/{race_id}")["racers"][2]["hyper"]["lr"] == 0.2, message="live lr"
    )
    assert page.problems == []


def test_a_learning_rate_being_typed_survives_a_change_from_elsewhere(server, open_landscape, token_of):
    """The owner types a racer's learning rate while the race changes from elsewhere (their other tab moves
    the start): the field keeps its text and focus, Enter sends it, and the other fields show the new state."""
    page = open_landscape(f"{server.url}/landscape.html")
    race_id = page.get_attribute("#race-panel", "data-race-id")
    assert page.inner_text("#race-table tbody tr >> nth=0 >> td >> nth=5") == "paused"  # not yet played
    page.fill(".racer-lr >> nth=1", "0.02")  # typed, not yet sent: the field has focus
    before = canvas_digest(page, "#race-canvas")
    api(server, f"/api/races/{race_id}", "PATCH", {"start": [1.0, 1.5]}, token=token_of(page))
    wait_until(
        lambda: canvas_digest(page, "#race-canvas") != before, message="the page to draw the new start"
    )
    assert page.evaluate("() => document.activeElement === document.querySelectorAll('.racer-lr')[1]")
    assert page.input_value(".racer-lr >> nth=1") == "0.02"
    page.press(".racer-lr >> nth=1", "Enter")
    wait_until(
        lambda: api(server, f"/api/races/{race_id}")["racers"][1]["hyper"]["lr"] == 0.02, message="live lr"
    )
    api(
        server,
        f"/api/races/{race_id}",
        "PATCH",
        {"racers": [{"index": 0, "hyper": {"lr": 0.003}}]},
        token=token_of(page),
    )
    wait_until(
        lambda: page.input_value(".racer-lr >> nth=0") == "0.003", message="the field to show the new lr"
    )
    assert page.problems == []


def test_opened_without_a_run_it_shows_the_browsers_newest_run(server, open_landscape):
    """A person who trained on the dashboard and then opens landscape.html by hand sees their run (as the
    Learn page does), not an empty panel; someone with no runs gets the run menu and no new run."""
    older = api(server, "/api/runs", "POST", {"dataset": {"kind": "xor"}})
    token = older["token"]
    newest = api(server, "/api/runs", "POST", {"dataset": {"kind": "circle"}}, token=token)
    api(server, f"/api/runs/{newest['id']}/step", "POST", {"steps": 50}, token=token)
    page = open_landscape(f"{server.url}/landscape.html", token=token)
    wait_until(lambda: page.input_value("#net-run") == newest["id"], message="the newest run chosen")
    assert len(api(server, "/api/runs", token=token)) == 2  # nothing new was made
    stranger = open_landscape(f"{server.url}/landscape.html")
    assert stranger.input_value("#net-run") == ""
    assert page.problems == [] and stranger.problems == []


def test_changing_the_function_and_racers_starts_a_new_race(server, open_landscape):
    page = open_landscape(f"{server.url}/landscape.html")
    first = page.get_attribute("#race-panel", "data-race-id")
    page.select_option("#race-function", "quadratic_bowl")
    wait_until(lambda: page.get_attribute("#race-panel", "data-race-id") != first, message="a new race")
    assert "κ" in page.inner_text("#race-formula")
    assert page.is_visible("#race-condition")
    page.click(".add-racer")
    page.wait_for_function(
        "() => document.querySelectorAll('#race-table tbody tr').length === 4", timeout=WAIT_MS
    )
    race = api(server, f"/api/races/{page.get_attribute('#race-panel', 'data-race-id')}")
    assert race["function"] == "quadratic_bowl" and [r["optimizer"] for r in race["racers"]][-1] == "rmsprop"
    with pytest.raises(urllib.error.HTTPError):
        api(server, f"/api/races/{first}")  # the old race was deleted
    assert page.problems == []


def test_network_landscape_shows_a_contour_with_the_moving_path(server, open_landscape, screenshot):
    run = api(server, "/api/runs", "POST", {"dataset": {"kind": "circle"}, "model": {"hidden": [8, 8]}})
    api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 300}, token=run["token"])
    page = open_landscape(f"{server.url}/landscape.html?run={run['id']}", token=run["token"])
    page.wait_for_selector("#net-panel[data-path-points]", timeout=WAIT_MS)
    page.wait_for_function(
        "() => document.querySelector('#line-note').textContent.length > 0", timeout=WAIT_MS
    )
    assert distinct_colours(page, "#net-canvas") > 20 and distinct_colours(page, "#line-canvas") > 3
    assert "41×41" in page.inner_text("#net-summary")

    page.select_option("#net-directions", "pca")
    page.wait_for_function(
        "() => document.querySelector('#net-summary').textContent.includes('300')", timeout=WAIT_MS
    )
    page.wait_for_selector("#net-panel[data-computing='false']", timeout=WAIT_MS)
    points = int(page.get_attribute("#net-panel", "data-path-points"))
    assert points >= 3
    page.click("#net-play")
    wait_until(
        lambda: int(page.get_attribute("#net-panel", "data-path-points")) > points + 3,
        message="the projected path to grow while training",
    )
    page.click("#net-play")
    wait_until(lambda: api(server, f"/api/runs/{run['id']}")["status"] == "paused", message="pause")
    page.select_option("#net-metric", "log_loss")  # recomputes, coloured by log10 of the loss
    page.wait_for_selector("#net-panel[data-metric='log_loss'][data-computing='false']", timeout=WAIT_MS)
    assert distinct_colours(page, "#net-canvas") > 20
    screenshot(page, "landscape_network")
    assert page.problems == []


def test_dashboard_link_and_chinese_labels(server, browser, screenshot):
    run = api(server, "/api/runs", "POST", {})
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(f"{server.url}/index.html?run={run['id']}")
        page.wait_for_selector("#landscape-link", timeout=WAIT_MS)
        with context.expect_page() as opened:  # the link opens a new tab, as its arrow says
            page.click("#landscape-link")
        page = opened.value
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.wait_for_url(f"**/landscape.html?run={run['id']}*", timeout=WAIT_MS)
        page.wait_for_selector("#net-panel[data-path-points]", timeout=WAIT_MS)
        page.select_option("#language", "zh")
        page.wait_for_function("() => document.querySelector('#race-title').textContent === '优化器竞赛'")
        page.wait_for_selector("#race-table tbody tr", timeout=WAIT_MS)
        assert "已暂停" in page.inner_text("#race-table")  # "paused": the race has not been played
        screenshot(page, "landscape_zh")
        assert problems == []
    finally:
        context.close()


# Every text drawn on #line-canvas since its last clear, with its alignment (the y ticks are right-aligned).
RECORD_LINE_TEXT = """(() => {
  const fill = CanvasRenderingContext2D.prototype.fillText;
  const clear = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    if (this.canvas.id === 'line-canvas') window.lineTexts = [];
    return clear.apply(this, args);
  };
  CanvasRenderingContext2D.prototype.fillText = function (text, ...args) {
    if (this.canvas.id === 'line-canvas') (window.lineTexts ||= []).push([String(text), this.textAlign]);
    return fill.call(this, text, ...args);
  };
})()"""


def test_a_nearly_flat_line_has_distinct_tick_labels(server, browser):
    """A tiny learning rate makes L(θ − α·g) over α ≤ 4·lr nearly flat: its y ticks (0.17440, 0.17445, …)
    once all read "0.1745" or "0.1744". Each tick label must differ from its neighbours."""
    run = api(
        server,
        "/api/runs",
        "POST",
        {"dataset": {"kind": "circle"}, "model": {"hidden": [8, 8]}, "optimizer": {"lr": 1e-4}},
    )
    api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 50}, token=run["token"])
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        context.add_init_script(f"localStorage.setItem('backproplab.token', {json.dumps(run['token'])})")
        context.add_init_script(RECORD_LINE_TEXT)
        page = context.new_page()
        page.goto(f"{server.url}/landscape.html?run={run['id']}")
        page.wait_for_function(
            "() => document.querySelector('#line-note').textContent.length > 0", timeout=WAIT_MS
        )
        texts = page.evaluate("() => window.lineTexts")
        numeric = re.compile(r"^-?\d[\d.]*(e-?\d+)?$")
        y_labels = [text for text, align in texts if align == "right" and numeric.match(text)]
        x_labels = [text for text, align in texts if align == "center" and numeric.match(text)]
        assert len(y_labels) >= 3, texts
        assert len(set(y_labels)) == len(y_labels), f"repeated y tick labels: {y_labels}"
        assert len(set(x_labels)) == len(x_labels), f"repeated x tick labels: {x_labels}"
    finally:
        context.close()
