"""Carrying an identity to another browser by hand (frontend/src/panels/key.js): a teacher who started a
class on a laptop copies their key from "Use on another computer" and, on the projector's computer, opens
the class with "I have a key". A key the server does not know changes nothing; replacing a key that owns
runs warns first and can show that key; the key never travels in a URL; the dialogs fit a phone and a
laptop.
"""

from __future__ import annotations

import json

import pytest
from e2e_harness import WAIT_MS, api

SIZES = [(390, 844), (1280, 800)]
UNKNOWN_KEY = "bpl_" + "A" * 43  # well formed, as the server's tokens are, but no identity's
# Each visible part of a dialog, as [x, y, width, height, what], and how far the dialog scrolls sideways.
PARTS = """(selector) => { const dialog = document.querySelector(selector);
  const parts = [...dialog.querySelectorAll('button, input, label, p, h2')].filter((node) => node.offsetParent !== null)
    .map((node) => { const r = node.getBoundingClientRect(); return [r.x, r.y, r.width, r.height, node.id || node.textContent.slice(0, 30)]; });
  return { parts, sideways: dialog.scrollWidth - dialog.clientWidth }; }"""


@pytest.fixture
def person(browser):
    """person(url, width, height) -> a page in a browser context of its own (another computer), whose
    request and WebSocket URLs, from the first, are recorded in ``page.urls``."""
    contexts = []

    def open_(url: str, width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=width < 900)
        contexts.append(context)
        page = context.new_page()
        page.urls = []
        context.on("request", lambda request: page.urls.append(request.url))
        page.on("websocket", lambda socket: page.urls.append(socket.url))
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()


def assert_fits(page, selector: str, width: int, height: int) -> None:
    """The open dialog is inside the viewport, and every visible part of it inside the dialog."""
    box = page.locator(selector).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} is {box} at {width}x{height}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, f"{selector} is {box} at {width}x{height}"
    seen = page.evaluate(PARTS, selector)
    assert seen["sideways"] <= 0, f"{selector} scrolls sideways by {seen['sideways']} px"
    for x, y, w, h, what in seen["parts"]:
        assert w > 0 and h > 0, what
        assert x >= box["x"] and x + w <= box["x"] + box["width"] + 0.5, f"{what} sticks out of {selector}"
        assert y >= box["y"] and y + h <= box["y"] + box["height"] + 0.5, f"{what} sticks out of {selector}"


def start_class(page) -> str:
    """The class page of ``page`` starts a class from its form; its id (from the address bar)."""
    page.wait_for_selector("#class-create:not([hidden])", timeout=WAIT_MS)
    page.fill("#create-name", "Projector")
    page.click("#create-submit")
    page.wait_for_selector("#class-live:not([hidden])", timeout=WAIT_MS)
    return page.evaluate("() => new URLSearchParams(location.search).get('class')")


def copy_key(page, width: int, height: int, screenshot) -> str:
    """The key as "Use on another computer" shows it, read from its field."""
    page.click("#show-key")
    page.wait_for_selector("#key-dialog[open]")
    assert page.get_attribute("#my-key", "type") == "password", "the key shows before asked to"
    assert page.get_attribute("#my-key", "readonly") is not None
    warning = page.inner_text(".key-warning")
    assert "Anyone who has this key can change and delete your runs and classes" in warning, warning
    assert "never in a link" in warning, warning
    page.click("#reveal-key")
    assert page.get_attribute("#my-key", "type") == "text"
    assert page.inner_text("#reveal-key") == "Hide"
    key = page.input_value("#my-key")
    page.click("#reveal-key")  # hidden again: the screenshot in docs/ shows no key, not even a test one
    assert page.get_attribute("#my-key", "type") == "password"
    page.click("#copy-key")
    page.wait_for_selector("#key-copy-note:not([hidden])")
    assert page.inner_text("#key-copy-note").startswith("Key copied"), page.inner_text("#key-copy-note")
    assert page.evaluate("() => navigator.clipboard.readText()") == key
    assert_fits(page, "#key-dialog", width, height)
    screenshot(page, f"key-show-{width}x{height}")
    page.click("#key-dialog .round")
    page.wait_for_selector("#key-dialog", state="hidden")
    page.wait_for_function("() => document.getElementById('my-key').value === ''")  # not left in the page
    return key


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_teacher_opens_their_class_on_another_computer(server, person, token_of, screenshot, width, height):
    laptop = person(f"{server.url}/class.html", width, height)
    laptop.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    class_id = start_class(laptop)
    code = laptop.inner_text("#class-code")
    key = copy_key(laptop, width, height, screenshot)
    assert key.startswith("bpl_") and key == token_of(laptop)

    projector = person(f"{server.url}/class.html?class={class_id}", width, height)
    projector.wait_for_selector("#class-unavailable:not([hidden])", timeout=WAIT_MS)
    text = projector.inner_text("#unavailable-text")
    assert "I have a key" in text and "Use on another computer" in text and "no way yet" not in text, text
    assert token_of(projector) is None
    button = projector.locator("#unavailable-key").bounding_box()
    assert (
        button["x"] >= 0
        and button["x"] + button["width"] <= width
        and button["y"] + button["height"] <= height
    )
    screenshot(projector, f"key-class-unavailable-{width}x{height}")
    projector.click("#unavailable-key")
    projector.wait_for_selector("#use-key-dialog[open]")
    assert projector.get_attribute("#key-input", "type") == "password", "a pasted key shows on the projector"
    # A key the server does not know: said so, and nothing kept.
    projector.fill("#key-input", UNKNOWN_KEY)
    projector.click("#key-submit")
    projector.wait_for_selector("#key-error:not([hidden])", timeout=WAIT_MS)
    assert projector.inner_text("#key-error").startswith("This server does not know this key")
    assert token_of(projector) is None
    assert projector.is_visible("#class-unavailable")
    assert_fits(projector, "#use-key-dialog", width, height)
    screenshot(projector, f"key-unknown-{width}x{height}")
    # The teacher's key (a paste may bring a line break): the page opens again, as the teacher.
    projector.fill("#key-input", f"{key}\n")
    projector.click("#key-submit")
    projector.wait_for_selector("#class-live:not([hidden])", timeout=WAIT_MS)
    assert projector.inner_text("#class-code") == code
    assert token_of(projector) == key
    assert projector.evaluate("() => new URLSearchParams(location.search).get('class')") == class_id

    for page in (laptop, projector):
        assert page.urls, "no requests recorded"
        assert not [url for url in page.urls if key in url], "the key travelled in a URL"
    assert key not in server.log_path.read_text()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_replacing_a_key_that_owns_runs_warns_and_shows_it_first(
    server, person, token_of, screenshot, width, height
):
    teacher_key = api(server, "/api/classes", "POST", {"name": "Elsewhere"})["teacher_token"]
    page = person(f"{server.url}/", width, height)
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    own_key = token_of(page)
    own_run = page.evaluate("() => window.backproplab.app.state.run.id")
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    page.click("#runs-menu summary")
    page.click("#my-runs")
    page.wait_for_selector("#runs-rows tr", timeout=WAIT_MS)
    assert_fits(page, "#runs-dialog", width, height)
    screenshot(page, f"key-my-runs-{width}x{height}")
    page.click("#use-key")
    page.wait_for_selector("#use-key-dialog[open]")
    # An unknown key keeps this browser as it was.
    page.fill("#key-input", UNKNOWN_KEY)
    page.click("#key-submit")
    page.wait_for_selector("#key-error:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("#key-error").startswith("This server does not know this key")
    assert token_of(page) == own_key
    # A good key, while this browser's own owns a run: a warning, and the way to keep the own key first.
    page.fill("#key-input", teacher_key)
    assert page.is_hidden("#key-error")
    page.click("#key-submit")
    page.wait_for_selector("#key-replace:not([hidden])", timeout=WAIT_MS)
    warning = page.inner_text("#key-replace-text")
    assert "which owns 1 run." in warning and "moves nothing to the new key" in warning, warning
    assert page.inner_text("#key-submit") == "Replace it with the new key"
    assert token_of(page) == own_key, "replaced before the person confirmed"
    assert_fits(page, "#use-key-dialog", width, height)
    screenshot(page, f"key-replace-{width}x{height}")
    page.select_option("#language", "zh")  # the warning follows the language menu
    assert "它拥有1 个训练任务。" in page.inner_text("#key-replace-text")
    assert page.inner_text("#key-submit") == "用新密钥替换"
    page.click("#show-old-key")
    page.wait_for_selector("#key-dialog[open]")
    assert page.input_value("#my-key") == own_key
    page.click("#key-dialog .round")
    page.wait_for_selector("#key-dialog", state="hidden")
    page.click("#key-submit")
    page.wait_for_function(
        f"() => window.backproplab && window.backproplab.app.state.run && window.backproplab.app.state.run.id !== {json.dumps(own_run)}",
        timeout=WAIT_MS,
    )
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert token_of(page) == teacher_key
    assert page.evaluate("() => new URLSearchParams(location.search).get('lang')") == "zh"
    assert [run["id"] for run in api(server, "/api/runs", token=own_key)] == [own_run], (
        "the old key lost its run"
    )
    assert not [url for url in page.urls if own_key in url or teacher_key in url], "a key travelled in a URL"
