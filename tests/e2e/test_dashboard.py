"""The dashboard in a real browser against the real server (see conftest.py)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import WAIT_MS, api, run_id, wait_until

from backproplab.server.runs.item import STOPPED


def step_count(page) -> int:
    return int(page.get_attribute("#step-counter", "data-count") or 0)  # the text is compact past 99,999


def pause(page) -> None:
    if page.get_attribute("#play", "data-running") == "true":
        page.click("#play")
    page.wait_for_selector('#play[data-running="false"]')


def test_page_loads_without_console_errors(server, open_page, screenshot):
    page = open_page(f"{server.url}/")
    page.click("#play")
    page.wait_for_function(
        "() => Number(document.getElementById('step-counter').dataset.count) > 200", timeout=WAIT_MS
    )
    pause(page)
    page.hover("#network-canvas", position={"x": 200, "y": 150})
    page.wait_for_timeout(300)
    assert page.problems == []
    screenshot(page, "dashboard-1280x800")


def test_play_advances_step_counter_and_loss_chart(server, open_page):
    page = open_page(f"{server.url}/")
    chart = "() => document.querySelector('#chart-loss canvas').toDataURL()"
    before_image = page.evaluate(chart)
    page.keyboard.press("Space")
    page.wait_for_selector('#play[data-running="true"]')
    first = wait_until(lambda: step_count(page) or None, message="the step counter to move")
    wait_until(lambda: step_count(page) > first + 50, message="the step counter to keep moving")
    assert page.evaluate(chart) != before_image, "the loss chart did not change while playing"
    page.keyboard.press("Space")
    page.wait_for_selector('#play[data-running="false"]')
    stopped = step_count(page)
    page.keyboard.press("s")
    wait_until(lambda: step_count(page) >= stopped + 1, message="the s key to take one step")


def test_changing_lr_mid_run_shows_in_next_frames_without_reset(server, open_page):
    page = open_page(f"{server.url}/")
    page.click("#play")
    wait_until(lambda: step_count(page) > 100, message="training to start")
    before = step_count(page)
    page.fill("#field-lr_value", "0.3")
    page.press("#field-lr_value", "Enter")
    page.wait_for_function(
        "() => document.querySelector('.lr-current').textContent.includes('0.3')", timeout=WAIT_MS
    )
    after = step_count(page)
    assert after >= before, "the run was reset"
    run = api(server, f"/api/runs/{run_id(page)}")
    assert run["resolved"]["optimizer"]["lr"] == pytest.approx(0.3)
    assert run["step"] >= before
    pause(page)


def test_switching_optimizer_keeps_the_weights(server, open_page):
    page = open_page(f"{server.url}/")
    page.click("#step-epoch")
    wait_until(lambda: step_count(page) > 0, message="one epoch of steps")
    identifier = run_id(page)
    before = api(server, f"/api/runs/{identifier}/params")
    page.select_option("#field-optimizer", "adam")
    wait_until(
        lambda: api(server, f"/api/runs/{identifier}")["config"]["optimizer"]["name"] == "adam",
        message="the optimizer change",
    )
    after = api(server, f"/api/runs/{identifier}/params")
    assert [layer["W"] for layer in after["layers"]] == [layer["W"] for layer in before["layers"]]
    assert [layer["b"] for layer in after["layers"]] == [layer["b"] for layer in before["layers"]]
    # Adam's own hyperparameters are there, in the folded "Optimizer settings" section.
    page.wait_for_selector("#field-beta1", state="attached")
    page.click('[data-section="optimizer"] > summary')
    page.wait_for_selector("#field-beta1", state="visible")


def test_editing_a_weight_by_clicking_changes_the_params(server, open_page):
    page = open_page(f"{server.url}/")
    identifier = run_id(page)
    point = page.evaluate(
        "() => window.backproplab.network.pointOf({kind: 'edge', layer: 1, row: 0, col: 1})"
    )
    box = page.locator("#network-canvas").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#network-tooltip:not([hidden])")
    assert "∂L/∂W" in page.inner_text("#network-tooltip")
    page.mouse.click(box["x"] + point["x"], box["y"] + point["y"])
    page.fill(".value-editor input", "1.2345")
    page.press(".value-editor input", "Enter")
    wait_until(
        lambda: api(server, f"/api/runs/{identifier}/params")["layers"][1]["W"][0][1] == 1.2345,
        message="the weight to change",
    )

    bias = page.evaluate("() => window.backproplab.network.pointOf({kind: 'bias', layer: 0, index: 2})")
    page.mouse.click(box["x"] + bias["x"], box["y"] + bias["y"])
    page.fill(".value-editor input", "-0.5")
    page.press(".value-editor input", "Enter")
    wait_until(
        lambda: api(server, f"/api/runs/{identifier}/params")["layers"][0]["b"][2] == -0.5,
        message="the bias to change",
    )


def test_adding_a_layer_rebuilds_the_drawing(server, open_page):
    page = open_page(f"{server.url}/")
    identifier = run_id(page)
    assert page.locator(".column-controls").count() == 2
    image = "() => document.getElementById('network-canvas').toDataURL()"
    before = page.evaluate(image)
    page.click("#add-layer")
    page.wait_for_function(
        "() => document.querySelectorAll('.column-controls').length === 3", timeout=WAIT_MS
    )
    assert api(server, f"/api/runs/{identifier}")["config"]["model"]["hidden"] == [4, 2, 2]
    assert page.evaluate(image) != before
    page.locator(".column-controls").nth(0).get_by_role("button").first.click()  # + a neuron
    page.wait_for_function("() => document.querySelector('.neuron-count').textContent.includes('5')")
    assert api(server, f"/api/runs/{identifier}")["config"]["model"]["hidden"] == [5, 2, 2]


def test_url_round_trips_a_configuration(server, open_page):
    query = (
        "seed=7&dataset.kind=xor&dataset.noise=0.2&features=x1,x2,x1*x2&model.hidden=3"
        "&model.activation=relu&optimizer.name=adam&optimizer.lr=0.005&batch_size=16"
        "&regularization.kind=l2&regularization.rate=0.001"
    )
    page = open_page(f"{server.url}/?{query}")
    first = api(server, f"/api/runs/{run_id(page)}")["config"]
    assert first["seed"] == 7 and first["dataset"]["kind"] == "xor" and first["dataset"]["noise"] == 0.2
    assert first["features"] == ["x1", "x2", "x1*x2"] and first["model"]["hidden"] == [3]
    assert first["optimizer"]["name"] == "adam" and first["optimizer"]["lr"] == 0.005
    assert first["batch_size"] == 16 and first["regularization"] == {"kind": "l2", "rate": 0.001}

    # The URL the page wrote, without the run id, makes a new run with the same configuration ...
    params = parse_qs(urlsplit(page.url).query)
    params.pop("run")
    link = "&".join(f"{key}={value[0]}" for key, value in params.items())
    copy = open_page(f"{server.url}/?{link}")
    assert run_id(copy) != run_id(page)
    assert api(server, f"/api/runs/{run_id(copy)}")["config"] == first
    # ... and with the run id reopens the same run.
    same = open_page(page.url)
    assert run_id(same) == run_id(page)
    assert same.input_value("#field-optimizer") == "adam"


def test_classroom_link_hides_controls(server, open_page):
    page = open_page(f"{server.url}/?hide=optimizer,lr,layers")
    assert not page.is_visible("#field-optimizer")
    assert not page.is_visible("#field-lr")
    assert not page.is_visible("#add-layer")
    assert page.is_visible("#field-batch")
    assert "hide=optimizer,lr,layers" in page.url


def test_reconnects_after_a_server_restart(own_server, open_page):
    server = own_server
    page = open_page(f"{server.url}/")
    identifier = run_id(page)
    page.click("#step-epoch")
    wait_until(lambda: step_count(page) > 0, message="a step")
    steps = step_count(page)
    server.stop()
    page.wait_for_selector('#connection[data-state="reconnecting"]', timeout=WAIT_MS)
    server.start()
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert run_id(page) == identifier
    assert api(server, f"/api/runs/{identifier}")["step"] == steps
    assert step_count(page) == steps
    page.keyboard.press("s")
    wait_until(lambda: step_count(page) == steps + 1, message="a step after reconnecting")


def test_a_run_playing_when_the_server_stopped_says_so_until_it_plays_again(
    own_server, open_page, screenshot
):
    server = own_server
    page = open_page(f"{server.url}/")
    identifier = run_id(page)
    page.click("#play")
    wait_until(lambda: step_count(page) > 0, message="a step")
    assert page.is_hidden("#notice-banner")
    server.stop()
    server.start()
    page.wait_for_selector("#notice-banner:not([hidden])", timeout=WAIT_MS)
    step = api(server, f"/api/runs/{identifier}")["step"]
    assert page.inner_text("#notice-text") == STOPPED.format(step=step)
    screenshot(page, "notice-banner")
    page.click("#play")
    page.wait_for_selector("#notice-banner", state="hidden", timeout=WAIT_MS)
    page.click("#play")  # pause


def test_divergent_learning_rate_shows_the_banner(server, open_page, screenshot):
    page = open_page(
        f"{server.url}/?dataset.kind=plane&model.hidden=8,8&model.activation=relu&optimizer.lr=50"
    )
    page.click("#play")
    page.wait_for_selector("#diverged-banner:not([hidden])", timeout=WAIT_MS)
    assert "learning rate" in page.inner_text("#diverged-banner")
    screenshot(page, "diverged-banner")
    page.click("#diverged-fix")
    page.wait_for_selector("#diverged-banner", state="hidden", timeout=WAIT_MS)
    assert api(server, f"/api/runs/{run_id(page)}")["config"]["optimizer"]["lr"] == 5


def test_language_switches_to_chinese_and_stays_in_the_url(server, open_page):
    page = open_page(f"{server.url}/")
    assert page.inner_text(".topbar h1") == "Backprop Lab"
    page.select_option("#language", "zh")
    page.wait_for_function("() => document.querySelector('.topbar h1').textContent === '反向传播实验室'")
    assert "lang=zh" in page.url
    assert page.inner_text("#data-title") == "数据"
    page.reload()
    page.wait_for_selector('#connection[data-state="open"]')
    assert page.inner_text("#controls-title") == "训练"
    assert page.problems == []


def test_screenshots_of_main_states(server, open_page, screenshot):
    page = open_page(
        f"{server.url}/?lang=zh&dataset.kind=spiral&dataset.classes=3&dataset.noise=0.1&model.hidden=8,8,6"
        "&model.activation=relu&optimizer.name=adam&optimizer.lr=0.01",
        1920,
        1080,
    )
    page.click("#play")
    wait_until(lambda: step_count(page) > 3000, timeout=30, message="training")
    pause(page)
    page.check("#show-test")
    screenshot(page, "spiral-zh-1920x1080")

    page = open_page(f"{server.url}/?dataset.kind=xor&model.hidden=6,4&features=x1,x2,x1*x2")
    page.click("#play")
    wait_until(lambda: step_count(page) > 1500, message="training")
    pause(page)
    page.check("#show-gradients")
    point = page.evaluate(
        "() => window.backproplab.network.pointOf({kind: 'edge', layer: 0, row: 2, col: 1})"
    )
    box = page.locator("#network-canvas").bounding_box()
    page.mouse.move(box["x"] + point["x"], box["y"] + point["y"])
    page.wait_for_selector("#network-tooltip:not([hidden])")
    screenshot(page, "gradients-and-tooltip")

    page = open_page(f"{server.url}/?dataset.kind=sine&model.hidden=8,8&features=x1,x2,sin(x1),sin(x2)")
    page.click("#play")
    wait_until(lambda: step_count(page) > 1500, message="training")
    pause(page)
    screenshot(page, "regression-sine")
    page.click('[data-help="network"]')
    page.wait_for_selector("#help-popover:not([hidden])")
    screenshot(page, "help-network")
    assert page.problems == []


def test_clicking_the_output_adds_points_of_either_class(server, open_page):
    page = open_page(f"{server.url}/?dataset.kind=moons&dataset.samples=100")
    page.check("#edit-points")
    canvas = page.locator("#output-canvas")
    canvas.click(position={"x": 40, "y": 40})
    canvas.click(position={"x": 60, "y": 40}, modifiers=["Shift"])
    identifier = run_id(page)
    points = wait_until(
        lambda: (lambda p: p if p["added"] == 2 else None)(api(server, f"/api/runs/{identifier}/points")),
        message="two added points",
    )
    assert api(server, f"/api/runs/{identifier}")["config"]["dataset"]["kind"] == "moons"
    assert sorted(points["train"]["y"][-2:]) == [0, 1]
    labels = points["train"]["y"] + points["test"]["y"]
    assert labels.count(0) == 51 and labels.count(1) == 51


def test_csv_with_three_inputs_shows_a_confusion_matrix(server, open_page, tmp_path):
    rows = ["a,b,c,label"] + [
        f"{k + 0.1 * i % 3},{k - 0.2},{0.3 * i % 5},{k}" for i in range(60) for k in (0, 1, 2)
    ]
    good = tmp_path / "three.csv"
    good.write_text("\n".join(rows) + "\n")
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2,0\n3,x,1\n")
    page = open_page(f"{server.url}/")
    page.set_input_files("#csv-upload", str(bad))
    page.wait_for_selector(".toast.error")
    assert "row 3" in page.inner_text(".toast.error")
    page.set_input_files("#csv-upload", str(good))
    page.wait_for_selector("#output-message:not([hidden])", timeout=WAIT_MS)
    assert "3 inputs" in page.inner_text("#output-message")
    page.click("#step-epoch")
    page.wait_for_selector("#confusion:not([hidden])", timeout=WAIT_MS)
    assert page.locator("#confusion td").count() == 9


def test_a_smaller_network_is_never_drawn_with_the_bigger_ones_params(server, open_page, token_of):
    """Removing a layer, or opening a run with fewer layers from My runs, drew the new layout with the old
    network's params until the new state arrived ("Cannot read properties of undefined (reading 'nodes')"
    in the edges). Every `run` event must see params of the network it announces, or none."""
    page = open_page(f"{server.url}/?model.hidden=4,4,4")
    small = api(server, "/api/runs", "POST", {"model": {"hidden": [3]}}, token=token_of(page))
    page.evaluate(
        """() => { const app = window.backproplab.app; window.misfits = [];
          app.on('run', (run) => { const params = app.state.params;
            if (params && params.layers.length !== run.resolved.sizes.length - 1) window.misfits.push(run.id); }); }"""
    )
    page.click("#step-epoch")
    page.wait_for_function("() => window.backproplab.app.state.history.length > 10", timeout=WAIT_MS)
    page.click("#remove-layer")
    page.wait_for_function(
        "() => document.querySelectorAll('.column-controls').length === 2", timeout=WAIT_MS
    )
    page.click("#runs-menu summary")
    page.click("#my-runs")
    page.click(f'#runs-rows tr[data-run="{small["id"]}"] .open-run')
    page.wait_for_function(
        """(id) => { const { run, params } = window.backproplab.app.state;
          return run.id === id && params && params.layers.length === 2; }""",
        arg=small["id"],
        timeout=WAIT_MS,
    )
    page.wait_for_function("() => document.querySelectorAll('.column-controls').length === 1")
    assert page.evaluate("() => window.misfits") == []
    assert page.problems == [], page.problems
