"""Every page at a phone's, a laptop's and a projector's size: nothing wider than the screen, no panel of
zero size, no labels on top of each other, the top bar intact when the server is gone, projector mode and
the panels menu. Screenshots go to docs/screenshots/ (look at them: a test cannot see everything)."""

from __future__ import annotations

import math

import pytest
from e2e_harness import STOPPED_LEARNING, WAIT_MS, dark_rows

VIEWPORTS = [(390, 844), (1280, 800), (1920, 1080)]

# [x, y, width, height] of every visible element matching the selector.
BOXES = """(selector) => [...document.querySelectorAll(selector)]
  .filter((node) => node.offsetParent !== null)
  .map((node) => { const r = node.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, node.className]; })"""
OVERFLOW = "() => document.scrollingElement.scrollWidth - window.innerWidth"
# Whether a select cuts its chosen option's text short (20 px for its arrow and padding).
SELECT_CUT = """(select) => {
  const ctx = document.createElement('canvas').getContext('2d');
  ctx.font = getComputedStyle(select).font;
  return ctx.measureText(select.selectedOptions[0].textContent).width + 20 > select.clientWidth; }"""
# "id: text" of each visible select matching the selector that cuts its chosen option short.
CUT_SELECTS = f"""(selector) => [...document.querySelectorAll(selector)]
  .filter((select) => select.offsetParent !== null && ({SELECT_CUT})(select))
  .map((select) => `${{select.id}}: ${{select.selectedOptions[0].textContent}}`)"""
OPEN_SECTIONS = (
    "() => document.querySelectorAll('details.section').forEach((section) => (section.open = true))"
)


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


SHADE_PX = 12  # the height of a scroll shade (app.css .scroll-shade)
# Marks every visible part of the panels that may scroll (data-scroller: its index); their names.
SCROLLERS = """() => [...document.querySelectorAll('.layout *')]
  .filter((node) => node.offsetParent !== null && ['auto', 'scroll'].includes(getComputedStyle(node).overflowY))
  .map((node, index) => { node.dataset.scroller = index; return node.id || node.classList[1]; })"""
# Scrolls the page (on a phone) to put one edge of the node in view; then the node's scrolling box on screen.
EDGE_IN_VIEW = """(node, edge) => {
  const inner = () => { const box = node.getBoundingClientRect();
    return { x: box.x + node.clientLeft, y: box.y + node.clientTop, width: node.clientWidth, height: node.clientHeight }; };
  const box = inner();
  window.scrollBy(0, (edge === 'top' ? box.y : box.y + box.height) - window.innerHeight / 2);
  return inner();
}"""


def edge_shades(page, node) -> tuple[float, float]:
    """The share of the most shaded row in the top and in the bottom SHADE_PX of what ``node`` scrolls (0:
    none, 1: a whole row), looked at with its content hidden: only its own background is left."""
    node.evaluate("(node) => { for (const child of node.children) child.style.visibility = 'hidden'; }")
    shades = []
    for edge in ("top", "bottom"):
        box = node.evaluate(EDGE_IN_VIEW, edge)
        y = math.ceil(box["y"]) if edge == "top" else math.floor(box["y"] + box["height"]) - SHADE_PX
        width = round(box["width"] / 2)
        rows = dark_rows(
            page, {"x": round(box["x"] + box["width"] / 4), "y": y, "width": width, "height": SHADE_PX}
        )
        shades.append(max(rows) / width)
    node.evaluate("(node) => { for (const child of node.children) child.style.visibility = ''; }")
    return shades[0], shades[1]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_what_a_panel_hides_shows_as_a_shade(server, open_page, screenshot, width, height):
    """Under a banner at 1280x800 the Data panel's "Click the output to add points" was cut mid-line and
    the hint under it hidden, with no sign that the panel scrolls (headless Chromium, like overlay-scrollbar
    systems, shows no scrollbar); the curves scroll there too. Whatever scrolls inside a panel shades the
    edge beyond which it has more to show, and no other edge."""
    page = open_page(f"{server.url}/", width, height)
    page.evaluate(STOPPED_LEARNING)
    page.wait_for_selector("#learning-banner:not([hidden])")
    page.wait_for_selector("#curves-grid:not(.empty)")
    page.evaluate(OPEN_SECTIONS)
    assert page.evaluate(OVERFLOW) <= 0, "the page is wider than the screen"
    if width == 1280:
        screenshot(page, "banner-1280x800")
    scrolling = {}
    for index, name in enumerate(page.evaluate(SCROLLERS)):
        node = page.locator(f'[data-scroller="{index}"]')
        hidden = node.evaluate("(node) => node.scrollHeight - node.clientHeight")
        top, bottom = edge_shades(page, node)
        if hidden < 2:
            assert (top, bottom) == (0, 0), f"{name} is shaded with nothing more to show"
            continue
        scrolling[name] = hidden
        assert top == 0 and bottom > 0.9, f"{name} hides {hidden} px with no shade below: {top, bottom}"
        node.evaluate("(node) => (node.scrollTop = node.scrollHeight)")
        top, bottom = edge_shades(page, node)
        assert top > 0.9 and bottom == 0, (
            f"{name}, scrolled to its end, is not shaded above only: {top, bottom}"
        )
    if (width, height) == (1280, 800):
        assert {"data-body", "controls-panel", "curves-grid"} <= set(scrolling), scrolling
        hint, body = page.locator("#edit-hint").bounding_box(), page.locator("#data-body").bounding_box()
        assert hint["y"] + hint["height"] <= body["y"] + body["height"] + 0.5, (
            "the data panel's hint is out of reach"
        )
    assert page.problems == []


# Every option of every select of the Training panel, chosen in turn: those whose text is cut short.
EVERY_CHOICE_CUT = f"""() => [...document.querySelectorAll('.controls-panel select')].flatMap((select) => {{
  const was = select.value;
  const cut = [...select.options].filter((option) => {{ select.value = option.value; return ({SELECT_CUT})(select); }})
    .map((option) => `${{select.id}}: ${{option.textContent}}`);
  select.value = was;
  return cut;
}})"""


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_training_selects_show_their_whole_choice(server, open_page, screenshot, width, height):
    """At 1280x800 the Training panel's selects cut their text: "automatic (r…" for the loss and the output
    activation, "Xavier / Glo…" for the initialisation. A select whose choice does not fit beside its label
    goes under it and takes the row's width; no option of any select is cut, in either language, and
    nothing is wider than the panel."""
    page = open_page(f"{server.url}/", width, height)
    page.evaluate(OPEN_SECTIONS)
    for language in ["en", "zh"]:
        page.select_option("#language", language)
        assert page.evaluate(EVERY_CHOICE_CUT) == [], (
            f"a select cuts its text at {width}x{height} ({language})"
        )
        assert page.evaluate(OVERFLOW) <= 0, "the page is wider than the screen"
        panel = page.locator(".controls-panel").bounding_box()
        for x, _y, w, _h, name in page.evaluate(BOXES, ".controls-panel .field"):
            assert x >= panel["x"] and x + w <= panel["x"] + panel["width"] + 0.5, (
                f"{name} runs out of the panel"
            )
        choices = page.evaluate(
            BOXES, ".controls-panel .field.choice > label, .controls-panel .choice-control"
        )
        assert overlaps(choices) == [], "a select covers its label"
    page.select_option("#language", "en")
    page.locator("#field-init").scroll_into_view_if_needed()
    screenshot(page, f"training-choices-{width}x{height}")
    assert page.problems == []


# Only the step-through graph's arrowheads are left to see (boxes, labels and edges' lines hidden), every
# edge `stroke` units wide.
ARROWHEADS_ONLY = """(stroke) => {
  const root = document.querySelector('.graph-box svg');
  root.querySelectorAll('.nodes, .labels').forEach((group) => (group.style.visibility = 'hidden'));
  root.querySelectorAll('line.edge').forEach((line) => {
    line.style.stroke = 'transparent';
    line.style.strokeWidth = String(stroke);
  });
  return root.querySelectorAll('line.edge').length;
}"""


def test_learn_page_arrowheads_keep_one_size(server, open_page):
    """The step-through graph's arrowheads grew with their edge's width (a weight of 2 drew an edge 5 units
    wide and a head 35 units long) and piled over the boxes: every head is one readable size."""
    page = open_page(f"{server.url}/teach.html", 1280, 800, ready=teach_ready)
    page.click("#step-forward")
    page.wait_for_selector(".graph-box svg .edges line")
    box = page.locator(".graph-box").bounding_box()
    clip = {key: round(box[key]) for key in ("x", "y", "width", "height")}
    ink = {}
    for stroke in (1, 5):
        heads = page.evaluate(ARROWHEADS_ONLY, stroke)
        ink[stroke] = sum(dark_rows(page, clip, below=235))
    assert ink[5] <= ink[1] * 1.1, f"thick edges have bigger arrowheads: {ink}"
    assert ink[1] >= heads * 20, f"the arrowheads are too small to read: {ink} for {heads}"
    assert page.problems == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_landscape_page_fits(server, open_page, screenshot, width, height):
    page = open_page(f"{server.url}/landscape.html", width, height, ready=landscape_ready)
    assert_fits(page, ".panel")
    panel = page.locator("#race-panel").bounding_box()
    for selector in ["#race-table", "#race-racers select"]:
        for x, _y, w, _h, _name in page.evaluate(BOXES, selector):
            assert x >= panel["x"] and x + w <= panel["x"] + panel["width"] + 0.5, f"{selector} is cut off"
    assert page.evaluate(CUT_SELECTS, "#race-racers select") == [], "a racer's optimizer name is cut off"
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
