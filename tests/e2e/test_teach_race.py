"""The Learn page's optimizer race in a real browser: racers from one run's network and data (its uploaded
rows too) train side by side at one pace the Speed select shows, a live lr change reaches its racer and a
bad one is refused, the cards compare every racer at one common step, and a new race replaces the last.

Uses test_teach_page.py's helpers and tests/e2e/conftest.py's fixtures (``page``: a person's 1280×800 page).
"""

from __future__ import annotations

import re

import httpx
from test_teach_page import _canvas_ink, _close, _open, _page_overflow, _run

from backproplab.server.teaching.schemas import RACE_PACE


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
