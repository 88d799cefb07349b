"""Every page at a phone's, a laptop's and a projector's size: nothing wider than the screen, no panel of
zero size, no labels on top of each other, the top bar intact when the server is gone, projector mode and
the panels menu. Screenshots go to docs/screenshots/ (look at them: a test cannot see everything)."""

from __future__ import annotations

import pytest
from e2e_harness import WAIT_MS

VIEWPORTS = [(390, 844), (1280, 800), (1920, 1080)]

# [x, y, width, height] of every visible element matching the selector.
BOXES = """(selector) => [...document.querySelectorAll(selector)]
  .filter((node) => node.offsetParent !== null)
  .map((node) => { const r = node.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, node.className]; })"""
OVERFLOW = "() => document.scrollingElement.scrollWidth - window.innerWidth"


def overlaps(boxes) -> list[tuple]:
    clashes = []
    for i, (x1, y1, w1, h1, n1) in enumerate(boxes):
        for x2, y2, w2, h2, n2 in boxes[i + 1 :]:
            if x1 < x2 + w2 - 0.5 and x2 < x1 + w1 - 0.5 and y1 < y2 + h2 - 0.5 and y2 < y1 + h1 - 0.5:
                clashes.append((n1, n2))
    return clashes


def teach_ready(page) -> None:
    page.wait_for_selector("#stage-label:not(:empty)", timeout=WAIT_MS)


def landscape_ready(page) -> None:
    page.wait_for_selector("#race-table tbody tr", timeout=WAIT_MS)


def assert_fits(page, panels: str) -> None:
    assert page.evaluate(OVERFLOW) <= 0, "the page is wider than the screen"
    sizes = page.evaluate(BOXES, panels)
    assert sizes, f"no {panels} on the page"
    for _x, _y, width, height, name in sizes:
        assert width > 20 and height > 20, f"{name} is {width}x{height}"


def test_a_long_runs_counters_do_not_widen_the_top_bar(server, open_page):
    """Past 99,999 steps the counters turn compact ("118K", "12.3M"), the exact figure in a tooltip: a
    six-character step count ("100000", and "118.5K" too) wrapped the top bar at 1280x800 and pushed the
    panels' last rows out of view."""
    page = open_page(f"{server.url}/", 1280, 800)
    height = page.locator(".topbar").bounding_box()["height"]
    # (steps, epochs): the default 250 training rows in batches of 10 (25 steps an epoch), and a batch of
    # the whole set (an epoch a step)
    counts = [(n, n // 25) for n in (99999, 100000, 118453, 999499, 1234567, 12345678, 987654321)]
    counts += [(99999, 99999), (999499, 999499)]
    shown = page.evaluate(
        """async (counts) => {
          const { formatCount } = await import('/src/dom.js');
          const heights = [];
          for (const [count, epochs] of counts) {
            document.getElementById('step-counter').textContent = formatCount(count);
            document.getElementById('epoch-counter').textContent = formatCount(epochs);
            heights.push(document.querySelector('.topbar').getBoundingClientRect().height);
          }
          return [counts.map(([count]) => formatCount(count)), heights];
        }""",
        counts,
    )
    assert shown[0] == ["99999", "100K", "118K", "999K", "1.23M", "12.3M", "988M", "99999", "999K"]
    assert shown[1] == [height] * len(counts)
    assert page.problems == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_dashboard_fits(server, open_page, screenshot, width, height):
    page = open_page(f"{server.url}/?dataset.kind=spiral&dataset.classes=3&model.hidden=8,8,6", width, height)
    page.click("#play")
    page.wait_for_function("() => Number(document.getElementById('step-counter').dataset.count) > 300")
    page.click("#play")
    page.wait_for_timeout(500)
    assert_fits(page, ".panel")
    assert overlaps(page.evaluate(BOXES, ".column-controls, .column-label")) == []
    topbar = page.locator(".topbar").bounding_box()
    language = page.locator("#language").bounding_box()
    assert language["x"] + language["width"] <= width and language["y"] < topbar["y"] + topbar["height"]
    for panel in [".network-panel", ".output-panel"]:  # grids are computed for panels on screen only
        page.locator(panel).scroll_into_view_if_needed()
        page.wait_for_function("() => window.backproplab.app.state.grid !== null")
        page.wait_for_timeout(300)
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, f"dashboard-{width}x{height}", full_page=width < 900)
    assert page.problems == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_learn_page_fits(server, open_page, screenshot, width, height):
    page = open_page(f"{server.url}/teach.html", width, height, ready=teach_ready)
    page.click("#step-forward")
    page.click("#step-forward")
    assert_fits(page, ".view:not([hidden]), .tabs")
    tabs = page.evaluate(BOXES, ".tabs button")
    assert all(box[2] > 30 for box in tabs), "a tab is squeezed"
    assert overlaps(tabs) == []
    screenshot(page, f"learn-{width}x{height}", full_page=width < 900)
    assert page.problems == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_landscape_page_fits(server, open_page, screenshot, width, height):
    page = open_page(f"{server.url}/landscape.html", width, height, ready=landscape_ready)
    assert_fits(page, ".panel")
    panel = page.locator("#race-panel").bounding_box()
    for selector in ["#race-table", "#race-racers select"]:
        for x, _y, w, _h, _name in page.evaluate(BOXES, selector):
            assert x >= panel["x"] and x + w <= panel["x"] + panel["width"] + 0.5, f"{selector} is cut off"
    cut = page.evaluate(
        """() => [...document.querySelectorAll('#race-racers select')].filter((select) => {
          const ctx = document.createElement('canvas').getContext('2d');
          ctx.font = getComputedStyle(select).font;
          return ctx.measureText(select.selectedOptions[0].textContent).width + 20 > select.clientWidth; }).length"""
    )
    assert cut == 0, "a racer's optimizer name is cut off"
    screenshot(page, f"landscape-{width}x{height}", full_page=width < 900)
    assert page.problems == []


def test_eight_hidden_layers_labels_do_not_collide(server, open_page, screenshot):
    for width, height in [(1280, 800), (390, 844)]:
        page = open_page(f"{server.url}/?model.hidden=8,8,8,8,8,8,8,8", width, height)
        boxes = page.evaluate(BOXES, ".column-controls, .column-label")
        assert len(boxes) == 10
        assert overlaps(boxes) == [], f"labels overlap at {width}px"
        for x, _y, w, _h, name in boxes:
            assert x >= 0 and x + w <= width, f"{name} runs off the screen at {width}px"
    page.locator(".network-panel").scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    screenshot(page, "eight-layers-390x844")


def test_a_wide_layer_is_summarised(server, open_page):
    page = open_page(f"{server.url}/?model.hidden=64,4")
    column = page.evaluate("() => window.backproplab.network.layout().columns[1]")
    assert column["summary"]["count"] == 64 and column["nodes"] == []
    assert page.evaluate("() => window.backproplab.network.layout().columns[2].nodes.length") == 4


# Each connection state's label, in each language, written into the top bar's slot: those cut short.
CONNECTION_CUT = """async () => {
  const { setLanguage, t, language } = await import('/src/i18n/index.js');
  const text = document.querySelector('#connection .connection-text');
  const [was, before] = [language(), text.textContent];
  const cut = [];
  for (const lang of ['en', 'zh']) {
    setLanguage(lang);
    for (const state of ['connecting', 'open', 'reconnecting']) {
      text.textContent = t(`status.${state}`);
      if (text.scrollWidth > text.clientWidth) cut.push(`${lang} ${state}: ${text.textContent}`);
    }
  }
  setLanguage(was);
  text.textContent = before;
  return cut;
}"""


def test_server_gone_keeps_the_top_bar_and_play_stopped(own_server, open_page, screenshot):
    page = open_page(f"{own_server.url}/")
    page.click("#play")
    page.wait_for_selector('#play[data-running="true"]')
    before = page.locator(".topbar").bounding_box()
    own_server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=WAIT_MS)
    assert page.get_attribute("#play", "data-running") == "false"
    assert page.is_disabled("#play") and page.is_disabled("#step")
    topbar = page.locator(".topbar").bounding_box()
    language = page.locator("#language").bounding_box()
    assert language["x"] + language["width"] <= 1280
    assert topbar["y"] <= language["y"] <= topbar["y"] + topbar["height"]
    assert topbar["height"] == before["height"], "the reconnect message changed the top bar's height"
    assert topbar["height"] < 60, "the top bar does not fit one line at 1280 px"
    assert page.evaluate(CONNECTION_CUT) == [], "the connection status is cut at 1280 px"
    assert "reconnecting" in page.get_attribute("#connection", "title")
    screenshot(page, "server-lost-1280x800")
    own_server.start()
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert not page.is_disabled("#play")


def test_projector_mode_scales_up_and_panels_reflow(server, open_page, screenshot):
    page = open_page(f"{server.url}/", 1920, 1080)
    before = page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)")
    page.click("#projector")
    assert "projector=1" in page.url
    assert page.evaluate("() => parseFloat(getComputedStyle(document.body).fontSize)") > before
    output_before = page.locator(".output-panel").bounding_box()
    page.click(".panels-menu summary")
    page.uncheck('#panel-list input[data-panel="data"]')
    page.uncheck('#panel-list input[data-panel="training"]')
    assert "hide=data,training" in page.url
    page.wait_for_timeout(300)
    network = page.locator(".network-panel").bounding_box()
    assert network["x"] < 20, "the network panel did not move into the hidden panels' room"
    assert page.locator(".output-panel").bounding_box()["width"] >= output_before["width"] - 1
    page.click(".panels-menu summary")
    screenshot(page, "projector-1920x1080")
    same = open_page(page.url, 1920, 1080)
    assert same.evaluate("() => document.body.classList.contains('projector')")
    assert not same.is_visible(".data-panel")


def test_classroom_hide_form_still_hides_controls_and_panels(server, open_page):
    page = open_page(f"{server.url}/?hide=optimizer,lr,curves")
    assert not page.is_visible("#field-optimizer")
    assert not page.is_visible(".curves-panel")
    assert page.is_visible("#field-batch")
    box = page.locator(".network-panel").bounding_box()
    assert box["height"] > 500, "the grid did not reflow into the curves' row"


def test_my_runs_on_a_phone_keeps_every_column_on_screen(server, open_page, screenshot):
    """At 390 px the My runs table ran off to the right: Keep training, Open and Delete were off-screen."""
    page = open_page(f"{server.url}/", 390, 844)
    page.click("#runs-menu summary")
    page.click("#my-runs")
    page.wait_for_selector("#runs-rows tr", timeout=WAIT_MS)
    dialog = page.locator("#runs-dialog").bounding_box()
    for x, _y, width, height, name in page.evaluate(
        BOXES, "#runs-rows td, #runs-rows button, #runs-rows input"
    ):
        assert width > 0 and height > 0, name
        assert x >= dialog["x"] and x + width <= dialog["x"] + dialog["width"] + 0.5, f"{name} is off-screen"
    named = page.evaluate(
        """() => [...document.querySelectorAll('#runs-rows td.num, #runs-rows td.center')]
          .map((td) => getComputedStyle(td, '::before').content)"""
    )
    assert any("Keep training" in text for text in named), f"a phone's run must name its columns: {named}"
    screenshot(page, "my-runs-390x844")
