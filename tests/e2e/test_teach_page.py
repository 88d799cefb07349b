"""The teaching page in a real browser: the step-through's numbers on screen are the API's (and its graph
readable on a phone), every view draws (gradient check verdicts, health charts, a live optimizer race, a
learning-rate sweep), and a view with nothing to draw yet says what it is for and which button starts it.

Screenshots of each view go to docs/screenshots/teach_*.png. Uses tests/e2e/conftest.py's server, browser
and screenshot fixtures (and its skip when chromium is missing, unless CI is set).
"""

from __future__ import annotations

import re

import httpx
import pytest

from backproplab.server.teaching.schemas import RACE_PACE

RUN_CONFIG = {
    "seed": 3,
    "dataset": {"kind": "circle", "samples": 200, "noise": 0.1},
    "model": {"hidden": [3, 2]},
}
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?$")


@pytest.fixture
def page(browser, server, as_identity):
    """A 1280×800 page; ``page.problems`` collects console errors and uncaught exceptions. Its person
    (``page.token``, in the context's localStorage) owns the runs ``_run`` makes, so the page may step them."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    token = httpx.post(f"{server.url}/api/identities").json()["token"]
    as_identity(context, token)
    page = context.new_page()
    page.token = token
    page.problems = []
    page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
    page.on("pageerror", lambda error: page.problems.append(str(error)))
    yield page
    context.close()


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


def test_comparison_runs_advance_side_by_side(page, server, screenshot):
    _open(page, server, _run(page, server, steps=1), "race")
    assert page.locator("#race-empty").is_visible()
    page.click("#race-start")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.race-card')].filter(c => Number(c.dataset.step) > 50).length >= 2",
        timeout=20_000,
    )
    # A card whose run has not streamed yet has no data-step: it counts as step 0 (not NaN, which no step exceeds).
    steps = page.locator(".race-card").evaluate_all("cards => cards.map(c => Number(c.dataset.step || 0))")
    page.wait_for_function(
        "before => [...document.querySelectorAll('.race-card')].every((c, i) => Number(c.dataset.step) > before[i])",
        arg=steps,
        timeout=20_000,
    )
    # Every racer plays at the one pace the select shows; choosing another changes it for all of them.
    racer_ids = page.locator(".race-card").evaluate_all("cards => cards.map(c => c.dataset.run)")

    def paces() -> set:
        return {httpx.get(f"{server.url}/api/runs/{racer}").json()["steps_per_second"] for racer in racer_ids}

    assert page.locator("#race-speed").input_value() == str(RACE_PACE)
    assert paces() == {RACE_PACE}
    page.select_option("#race-speed", "1000")
    page.wait_for_function(
        "ids => Promise.all(ids.map(id => fetch(`/api/runs/${id}`).then(r => r.json())))"
        ".then(runs => runs.every(run => run.steps_per_second === 1000))",
        arg=racer_ids,
    )
    assert page.locator("#race-speed").input_value() == "1000"
    first = page.locator(".race-card").first
    run_id = first.get_attribute("data-run")
    before = httpx.get(f"{server.url}/api/runs/{run_id}").json()["config"]["optimizer"]["lr"]
    for refused, reason in (("-5", "must be at least 0"), ("", "must be a number")):
        first.locator(".racer-live-lr").fill(refused)
        first.locator(".racer-live-lr").dispatch_event("change")
        page.wait_for_function(
            "reason => [...document.querySelectorAll('.toast.error')].some(t => t.textContent.includes(reason))",
            arg=reason,
        )
        assert first.locator(".racer-live-lr").input_value() == str(before), "the box shows the lr in force"
    assert httpx.get(f"{server.url}/api/runs/{run_id}").json()["config"]["optimizer"]["lr"] == before
    first.locator(".racer-live-lr").fill("0.5")
    first.locator(".racer-live-lr").dispatch_event("change")
    page.wait_for_function(
        "id => fetch(`/api/runs/${id}`).then(r => r.json()).then(run => run.config.optimizer.lr === 0.5)",
        arg=run_id,
    )
    assert _canvas_ink(page, ".race-card:first-child canvas.boundary") > 1000
    assert page.locator("#race-empty").is_hidden()
    page.wait_for_timeout(600)
    screenshot(page, "teach_race")
    page.click("#race-play")  # pause: the runs stay on the server for the rest of the module
    assert page.problems == []


def test_a_race_started_again_replaces_the_last_one_and_its_runs(page, server):
    """Each race's racers are runs of the person: starting a new race deletes the last one's, so racing
    again and again never uses up the identity's runs, and the runs it has are named after their racer."""
    auth = {"Authorization": f"Bearer {page.token}"}

    def my_runs() -> list[str]:
        return sorted(run["name"] or "" for run in httpx.get(f"{server.url}/api/runs", headers=auth).json())

    own = _run(page, server, steps=1)
    _open(page, server, own, "race")
    racers = page.locator(".racer-row").count()
    last = None
    for _ in range(3):
        page.click("#race-start")
        page.wait_for_function(
            """([last, racers]) => {
                const race = document.querySelector('[data-comparison]');
                return race && race.dataset.comparison !== last
                    && document.querySelectorAll('.race-card').length === racers;
            }""",
            arg=[last, racers],
        )
        last = page.locator("[data-comparison]").get_attribute("data-comparison")
        assert page.locator("#race-empty").is_hidden()
    races = [name for name in my_runs() if name.startswith("Race · ")]
    assert len(races) == racers and len(my_runs()) == racers + 1, my_runs()
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


def _csv_run(page, server) -> dict:
    """A run of the page's person on an uploaded CSV: two inputs, three classes (the dashboard's upload)."""
    auth = {"Authorization": f"Bearer {page.token}"}
    run_id = _run(page, server, steps=0)
    rows = ["width,length,kind"] + [
        f"{0.1 * (i % 9) - 0.4 + k * 0.9},{0.2 * (i % 5) - 0.3 - k * 0.7},{name}"
        for i in range(40)
        for k, name in enumerate(["reed", "sedge", "rush"])
    ]
    files = {"file": ("plants.csv", "\n".join(rows) + "\n", "text/csv")}
    response = httpx.patch(f"{server.url}/api/runs/{run_id}", files=files, headers=auth)
    assert response.status_code == 200, response.text
    assert response.json()["resolved"]["num_classes"] == 3
    return response.json()


def _posted(page, path: str) -> list[dict]:
    """The JSON bodies the page sends to ``POST path`` from now on."""
    bodies: list[dict] = []
    page.on(
        "request",
        lambda request: (
            request.method == "POST" and request.url.endswith(path) and bodies.append(request.post_data_json)
        ),
    )
    return bodies


def test_race_and_sweep_of_a_csv_run_train_on_its_data(page, server, screenshot):
    """'Each racer trains this run's network on the same data': for a run on uploaded rows, the racers'
    runs and the sweep name those rows by their content hash (they fell back to the circle before)."""
    run = _csv_run(page, server)
    digest = run["config"]["dataset"]["content_hash"]
    points = httpx.get(f"{server.url}/api/runs/{run['id']}/points").json()
    races, sweeps = _posted(page, "/api/comparisons"), _posted(page, "/api/sweeps")
    _open(page, server, run["id"], "race")
    page.click("#race-start")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.race-card')].filter(c => Number(c.dataset.atStep) > 20).length === 4",
        timeout=20_000,
    )
    assert [body["base"]["dataset"]["kind"] for body in races] == ["custom"]
    assert races[0]["base"]["dataset"]["content_hash"] == digest
    for racer in page.locator(".race-card").evaluate_all("cards => cards.map(c => c.dataset.run)"):
        racer_run = httpx.get(f"{server.url}/api/runs/{racer}").json()
        assert racer_run["config"]["dataset"]["content_hash"] == digest
        assert racer_run["resolved"]["num_classes"] == 3
        assert httpx.get(f"{server.url}/api/runs/{racer}/points").json() == points
    page.wait_for_timeout(600)
    screenshot(page, "teach_race_custom_1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#race-cards").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    screenshot(page, "teach_race_custom_390")
    assert _page_overflow(page) <= 0, "the page scrolls sideways"
    page.click("#race-play")  # pause
    page.set_viewport_size({"width": 1280, "height": 800})
    page.click('[data-view="sweep"]')
    page.fill("#sweep-count", "3")
    page.fill("#sweep-steps", "50")
    page.click("#sweep-run")
    page.wait_for_selector("#sweep-table tr[data-status]", timeout=30_000)
    assert len(sweeps) == 1 and sweeps[0]["config"]["dataset"]["kind"] == "custom"
    assert sweeps[0]["config"]["dataset"]["content_hash"] == digest
    assert page.locator("#sweep-table tr[data-status]").count() == 3
    assert page.problems == []


def test_race_cards_compare_every_racer_at_one_step(page, server, screenshot):
    """Racers train at their own speeds (and may train in different processes): the cards show every
    racer's loss at the largest step all of them have reached, each the value its history has there, and
    not at wherever each racer has got to."""
    auth = {"Authorization": f"Bearer {page.token}"}
    _open(page, server, _run(page, server, steps=1), "race")
    page.click("#race-start")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.race-card')].filter(c => Number(c.dataset.step) > 50).length === 4",
        timeout=20_000,
    )
    page.click("#race-play")  # pause
    page.wait_for_function("() => document.querySelector('#race-play').textContent === 'Play'")
    cards = page.locator(".race-card")
    racers = cards.evaluate_all("cards => cards.map(c => c.dataset.run)")
    # One racer moves on alone: the others stay where they are, so the racers are at different steps.
    fast = httpx.post(f"{server.url}/api/runs/{racers[0]}/step", json={"steps": 500}, headers=auth)
    assert fast.status_code == 200, fast.text
    steps = [httpx.get(f"{server.url}/api/runs/{racer}").json()["step"] for racer in racers]
    page.wait_for_function(
        "steps => [...document.querySelectorAll('.race-card')].every((c, i) => Number(c.dataset.step) === steps[i])",
        arg=steps,
        timeout=20_000,
    )
    common = min(steps)
    assert steps[0] >= common + 500
    page.wait_for_function(
        "n => [...document.querySelectorAll('.race-card')].every(c => c.dataset.atStep === String(n))",
        arg=common,
    )
    for index, racer in enumerate(racers):
        card = cards.nth(index)
        assert f"At step {common} (all racers):" in card.inner_text()
        history = httpx.get(f"{server.url}/api/runs/{racer}/history", params={"format": "json"}).json()
        loss = history["train_loss"][history["step"].index(common)]
        assert float(card.get_attribute("data-loss")) == loss
        shown = re.match(r"loss (\S+)", card.locator(".racer-loss").inner_text())
        assert shown, card.locator(".racer-loss").inner_text()
        _close(float(shown.group(1)), loss)
    screenshot(page, "teach_race_common_step")
    assert page.problems == []
