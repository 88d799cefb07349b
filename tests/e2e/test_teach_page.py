"""The teaching page in a real browser: the step-through's numbers on screen are the API's (and its graph
readable on a phone), every view draws (gradient check verdicts, health charts, a
learning-rate sweep; the optimizer race is test_teach_race.py's), and a view with nothing to draw yet says what it is for and which button starts it.

Screenshots of each view go to docs/screenshots/teach_*.png. Uses tests/e2e/conftest.py's server, browser
and screenshot fixtures (and its skip when chromium is missing, unless CI is set).
"""

from __future__ import annotations

import re

import httpx
import pytest

RUN_CONFIG = {
    "seed": 3,
    "dataset": {"kind": "circle", "samples": 200, "noise": 0.1},
    "model": {"hidden": [3, 2]},
}
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$")


def _run(page, server, steps=20, config=None) -> str:
    """A run of the page's person, trained ``steps`` steps (none: a new run)."""
    auth = {"Authorization": f"Bearer {page.token}"}
    run_id = httpx.post(f"{server.url}/api/runs", json=config or RUN_CONFIG, headers=auth).json()["id"]
    if steps:
        httpx.post(f"{server.url}/api/runs/{run_id}/step", json={"steps": steps}, headers=auth)
    return run_id


def _page_overflow(page) -> float:
    """How far the page is wider than the screen (it scrolls sideways when > 0)."""
    return page.evaluate("() => document.documentElement.scrollWidth - innerWidth")


def _open(page, server, run_id, view):
    page.goto(f"{server.url}/teach.html?run={run_id}&view={view}")
    page.wait_for_selector(f"#view-{view}:not([hidden])")


def _shown(page, selector) -> float:
    """The number at the end of an element's text (formatted to 4 significant digits on screen)."""
    text = page.locator(selector).text_content().strip()
    match = NUMBER.search(text)
    assert match, f"no number at the end of {text!r} ({selector})"
    return float(match.group())


def _details(page) -> str:
    """The stage's explanation list, with runs of spaces collapsed as the browser renders them."""
    return " ".join(page.locator("#stage-details").inner_text().split())


def _squash(text: str) -> str:
    return " ".join(text.split())


def _close(shown: float, exact: float):
    assert shown == pytest.approx(exact, rel=2e-3, abs=1e-9), (shown, exact)


def _check_stage(page, stage, sample=0):
    if stage["kind"] == "forward":
        for neuron in stage["neurons"]:
            node = f'[data-node="{neuron["id"]}"]'
            _close(_shown(page, f"{node} .z"), neuron["z"][sample])
            _close(_shown(page, f"{node} .a"), neuron["a"][sample])
            assert float(page.get_attribute(f"{node} .z", "data-value")) == neuron["z"][sample]
    elif stage["kind"] == "loss":
        _close(_shown(page, '[data-node="loss"] .loss-value'), stage["total"])
    elif stage["kind"] == "backward":
        for neuron in stage["neurons"]:
            node = f'[data-node="{neuron["id"]}"]'
            _close(_shown(page, f"{node} .gz"), neuron["grad_z"][sample])
            if neuron["local"] is not None:  # upstream × local = product, with the engine's numbers
                chain = page.locator(f"{node} .chain")
                assert float(chain.get_attribute("data-upstream")) == neuron["upstream"][sample]
                assert float(chain.get_attribute("data-local")) == neuron["local"][sample]
        for weight in stage["weights"][:3]:
            assert _squash(weight["chain"]) in _details(page)
    else:
        details = _details(page)
        assert _squash(stage["rule"]) in details and _squash(stage["parameters"][0]["formula"]) in details


def test_step_through_walks_forward_and_back_with_the_api_numbers(page, server, screenshot):
    run_id = _run(page, server)
    trace = httpx.get(f"{server.url}/api/runs/{run_id}/stepthrough", params={"sample": 0, "batch": 1}).json()
    _open(page, server, run_id, "step")
    page.wait_for_selector('#stage-label[data-stage-index="0"]')
    stages = trace["stages"]
    for index, stage in enumerate(stages, start=1):
        page.click("#step-forward")
        page.wait_for_selector(f'#stage-label[data-stage-index="{index}"]')
        assert page.get_attribute("#stage-label", "data-stage-kind") == stage["kind"]
        _check_stage(page, stage)
        if stage["kind"] == "backward" and stage["layer"] == len(trace["sizes"]) - 2:
            screenshot(page, "teach_step")
    assert page.is_disabled("#step-forward")
    for index in range(len(stages) - 1, -1, -1):
        page.click("#step-back")
        page.wait_for_selector(f'#stage-label[data-stage-index="{index}"]')
        if index:
            _check_stage(page, stages[index - 1])
    assert page.locator('[data-node="0-0"] .gz').text_content() == ""  # nothing computed before Forward
    assert page.is_disabled("#step-back")
    assert page.problems == []


def test_textbook_expression_graph_gives_the_chain_rule(page, server, screenshot):
    _open(page, server, _run(page, server, steps=1), "step")
    page.wait_for_selector('#stage-label[data-stage-index="0"]')
    page.select_option("#step-source", "expression")
    page.wait_for_selector('#stage-label[data-stage-kind="expression"]')
    for _ in range(9):
        page.click("#step-forward")
    page.wait_for_selector('#stage-label[data-stage-index="9"]')
    grads = {name: _shown(page, f'[data-node="{name}"] .grad') for name in "abc"}
    assert grads == {"a": 3.0, "b": 6.0, "c": 9.0}  # a, b, c = 5, 3, 2: dJ/da = 3, dJ/db = 3c, dJ/dc = 3b
    assert _shown(page, '[data-node="J"] .value') == 33.0
    screenshot(page, "teach_expression")
    assert page.problems == []


# The smallest text of the step-through graph as drawn on screen, in CSS px: font size × the SVG's scale.
GRAPH_TEXT_PX = """() => {
  const root = document.querySelector('.graph-box svg');
  const scale = root.getBoundingClientRect().width / root.viewBox.baseVal.width;
  const sizes = [...root.querySelectorAll('text')].filter((text) => text.textContent)
    .map((text) => parseFloat(getComputedStyle(text).fontSize) * scale);
  return Math.min(...sizes);
}"""
# Whether the loss node lies wholly inside the graph's box (the part of the graph one can see).
LOSS_IN_VIEW = """() => {
  const box = document.querySelector('.graph-box').getBoundingClientRect();
  const node = document.querySelector('.graph-box [data-node="loss"]').getBoundingClientRect();
  return node.left >= box.left - 1 && node.right <= box.right + 1;
}"""


def test_step_through_graph_on_a_phone_is_readable_and_scrolls_only_in_its_box(page, server):
    """At 390x844 the graph keeps the text size it has on a laptop (shrunk to the phone's width, its text
    was 4 px high); it is wider than the screen, so its own box scrolls sideways, says so, and follows the
    stage: the page itself never scrolls sideways."""
    page.set_viewport_size({"width": 390, "height": 844})
    _open(page, server, _run(page, server), "step")
    page.wait_for_selector('#stage-label[data-stage-index="0"]')
    page.wait_for_selector(".graph-box svg")
    box = page.locator(".graph-box").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390 and box["y"] < 844 and box["height"] > 100
    assert _page_overflow(page) <= 0, "the page scrolls sideways"
    assert page.evaluate(GRAPH_TEXT_PX) >= 10, "the graph's text is too small to read"
    assert page.locator(".graph-scroll-hint").is_visible()
    assert page.locator(".graph-box").evaluate("box => box.scrollWidth > box.clientWidth")
    assert not page.evaluate(LOSS_IN_VIEW)  # the loss is at the far right, out of view at the start
    for _ in range(10):
        if page.get_attribute("#stage-label", "data-stage-kind") == "loss":
            break
        page.click("#step-forward")
    assert page.get_attribute("#stage-label", "data-stage-kind") == "loss"
    page.wait_for_function(LOSS_IN_VIEW)  # the box scrolled to the stage's node
    assert _page_overflow(page) <= 0, "the page scrolls sideways"
    assert page.problems == []


# Where the graph's box and the input nodes are on the screen, and whether each input lies wholly inside the
# part of the box one sees, and the box inside the screen.
INPUTS_SHOWN = """() => {
  const box = document.querySelector('.graph-box').getBoundingClientRect();
  const inputs = [...document.querySelectorAll('.graph-box [data-node^="in-"]')].map((node) => node.getBoundingClientRect());
  const inside = (r) => r.top >= box.top - 1 && r.bottom <= box.bottom + 1 && r.left >= box.left - 1 && r.right <= box.right + 1;
  return { count: inputs.length, shown: inputs.filter(inside).length, boxBottom: box.bottom, boxTop: box.top,
    emptyAbove: Math.min(...inputs.map((r) => r.top)) - box.top, screen: innerHeight };
}"""


@pytest.mark.parametrize("hidden", [[4, 2], [8, 8]])
def test_step_through_stage_one_on_a_phone_shows_every_input(page, server, hidden):
    """At 390x844 stage 1 showed the top of a tall graph: an empty box, x₁ at its bottom and x₂ cut off
    (the box, 62vh high below the toolbars, also ran past the bottom of the screen)."""
    page.set_viewport_size({"width": 390, "height": 844})
    run_id = _run(page, server, config={**RUN_CONFIG, "model": {"hidden": hidden}})
    _open(page, server, run_id, "step")
    page.wait_for_selector('#stage-label[data-stage-index="0"]')
    page.wait_for_selector(".graph-box svg")
    page.wait_for_function(f"() => ({INPUTS_SHOWN})().shown === 2", timeout=10_000)
    shown = page.evaluate(INPUTS_SHOWN)
    assert shown["count"] == shown["shown"] == 2, shown
    assert shown["boxBottom"] <= shown["screen"], f"the graph's box runs past the screen: {shown}"
    assert shown["boxBottom"] - shown["boxTop"] >= 240, shown
    assert _page_overflow(page) <= 0, "the page scrolls sideways"
    # Forward and back to the start: the inputs are shown again.
    page.click("#step-forward")
    page.click("#step-back")
    page.wait_for_function(f"() => ({INPUTS_SHOWN})().shown === 2", timeout=10_000)
    assert page.problems == []


# Each view that shows nothing until a button starts it, and that button.
START_BUTTONS = {"health": "#health-train", "race": "#race-start", "sweep": "#sweep-run"}


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800), (1920, 1080)])
@pytest.mark.parametrize("view", sorted(START_BUTTONS))
def test_a_view_without_results_says_what_it_shows_and_what_to_press(page, server, view, width, height):
    """Before its first result (a new run: no statistics yet, no race, no sweep) a view is not a blank
    panel: a text in the screen says what the view shows and names the button that starts it."""
    page.set_viewport_size({"width": width, "height": height})
    _open(page, server, _run(page, server, steps=0), view)
    hint = page.locator(f"#view-{view} .empty-hint")
    hint.wait_for()
    text = hint.inner_text()
    assert len(text) > 100, text
    assert page.locator(START_BUTTONS[view]).inner_text() in text
    box = hint.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width and box["y"] < height
    assert _page_overflow(page) <= 0, "the page scrolls sideways"
    assert page.problems == []


def test_health_view_trades_its_explanation_for_charts_once_the_run_trains(page, server):
    _open(page, server, _run(page, server, steps=0), "health")
    page.wait_for_selector("#health-empty")
    page.click("#health-train")
    page.wait_for_selector("#health-empty", state="hidden")
    page.wait_for_function("() => document.querySelectorAll('#view-health .uplot').length === 4")
    assert page.locator("#health-summary").is_visible()
    assert page.problems == []


def test_gradient_check_table_shows_verdicts(page, server, screenshot):
    run_id = _run(page, server)
    _open(page, server, run_id, "gradcheck")
    page.wait_for_selector("#gc-table .layer-row")
    verdicts = page.locator("#gc-table .layer-row").evaluate_all("rows => rows.map(r => r.dataset.verdict)")
    assert verdicts == ["ok", "ok", "ok"]
    assert page.locator("#gc-overall [data-verdict]").get_attribute("data-verdict") == "ok"
    assert page.locator("#gc-table .param-row").count() == 2 * 3 + 3 + 3 * 2 + 2 + 2 * 1 + 1
    page.wait_for_selector("#gc-sweep .uplot canvas")
    screenshot(page, "teach_gradcheck")
    # Rows over the limit: the server's reason (not "a whole number": 1e9 is one), and the last check's
    # results go rather than pass for these inputs.
    page.fill("#gc-samples", "1e9")
    page.click("#gc-run")
    page.wait_for_selector(".toast.error", timeout=30_000)
    assert "at most" in page.inner_text(".toast.error")
    assert page.locator("#gc-table .layer-row").count() == 0 and page.locator("#gc-overall *").count() == 0
    page.problems.clear()  # the console's note of that 422
    page.click('[data-help="teach_gradcheck"]')  # the view's "?" explains it for a student
    assert "2h" in page.locator("#help-popover:not([hidden]) #help-text").inner_text()
    assert page.problems == []


def _canvas_ink(page, selector) -> int:
    """How many pixels of a canvas are not transparent."""
    return page.locator(selector).evaluate(
        "c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )


def test_health_view_draws_the_vanishing_preset(page, server, screenshot):
    _open(page, server, _run(page, server), "health")
    page.wait_for_selector("#health-histograms canvas")
    page.click('[data-preset="vanishing"]')
    page.wait_for_function("() => document.querySelectorAll('#health-histograms canvas').length === 7")
    page.wait_for_selector("#health-summary strong.warn")  # the vanishing-gradient warning
    for layer in (0, 6):
        assert _canvas_ink(page, f'#health-histograms canvas[data-layer="{layer}"]') > 500
    assert page.locator("#view-health .uplot").count() == 4
    screenshot(page, "teach_health")
    page.click('[data-preset="fixed"]')
    page.wait_for_function("() => !document.querySelector('#health-summary strong.warn')")
    assert page.problems == []


def test_learning_rate_sweep_colours_by_status(page, server, screenshot):
    _open(page, server, _run(page, server, steps=1), "sweep")
    page.fill("#sweep-max", "1e309")  # Infinity: JSON cannot carry it, so the page says so itself
    page.click("#sweep-run")
    page.wait_for_selector(".toast.error", timeout=30_000)
    assert page.inner_text(".toast.error").startswith("lr to must be a finite number.")
    page.fill("#sweep-min", "0.000001")
    page.fill("#sweep-max", "1000")
    page.fill("#sweep-count", "4")
    assert page.locator("#sweep-empty").is_visible()
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-table tr[data-status]", timeout=30_000)
    assert page.locator("#sweep-empty").is_hidden()
    statuses = page.locator("#sweep-table tr[data-status]").evaluate_all(
        "rows => rows.map(r => r.dataset.status)"
    )
    assert statuses[0] == "stalled" and statuses[-1] == "diverged"
    screenshot(page, "teach_sweep")
    assert page.problems == []


def test_chinese_labels(page, server, screenshot):
    _open(page, server, _run(page, server), "step")
    page.select_option("#language", "zh")
    assert page.locator('[data-view="step"]').inner_text() == "逐步反向传播"
    page.wait_for_selector('#stage-label[data-stage-index="0"]')
    page.click("#step-forward")
    assert "第 2 阶段" in page.locator("#stage-label").inner_text()
    assert "lang=zh" in page.url
    assert page.problems == []
