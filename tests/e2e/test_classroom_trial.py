"""What a new-user trial of the classroom found, in real browsers: a class page opened by anyone but its
teacher says so in a class's words (it said "someone else's run … Fork it" over the start form); the
spotlight's toolbar fits a phone; a wrong join code reads as a sentence, and every field the class routes
name has a label in both languages; the spotlight's loss chart grows for a projector; an accuracy axis
never passes 1; a toast leaves the class page's buttons free.
"""

from __future__ import annotations

import contextlib

import pytest
from e2e_harness import WAIT_MS, api
from playwright.sync_api import TimeoutError as PlaywrightTimeout

SIZES = [(390, 844), (1280, 800), (1920, 1080)]
VIEWS = "#class-create:not([hidden]), #class-unavailable:not([hidden]), #class-live:not([hidden])"


def any_view(page) -> None:
    page.wait_for_selector(VIEWS, timeout=WAIT_MS)


def a_class(server, steps: int = 0) -> tuple[dict, dict]:
    """A class of two students, Ada and Grace, and Ada (whose run took ``steps`` steps)."""
    group = api(server, "/api/classes", "POST", {"name": "Trial", "config": {"dataset": {"kind": "xor"}}})
    student, _ = [
        api(server, f"/api/classes/{group['code']}/join", "POST", {"name": name}) for name in ["Ada", "Grace"]
    ]
    if steps:
        api(server, f"/api/runs/{student['id']}/step", "POST", {"steps": steps}, token=student["token"])
    return group, student


def open_spotlight(open_page, server, group, student, width, height, projector=False):
    url = f"{server.url}/class.html?class={group['id']}{'&projector=1' if projector else ''}"
    page = open_page(url, width, height, ready=any_view, token=group["teacher_token"], touch=width < 900)
    card = f'.student-card[data-run="{student["id"]}"]'
    page.wait_for_selector(card, timeout=WAIT_MS)
    page.tap(card) if width < 900 else page.click(card)
    page.wait_for_selector("#spotlight:not([hidden])")
    page.wait_for_function(
        "() => Number(document.getElementById('spotlight-loss-chart').getAttribute('width')) > 100",
        timeout=WAIT_MS,
    )
    return page


@pytest.mark.parametrize("who", ["student", "second browser"])
def test_a_class_page_opened_by_anyone_but_its_teacher_says_why(server, open_page, who):
    """The class page in a browser without the teacher's token toasted "This is someone else's run … Fork
    it" over the "Start a class" form, as if the ?class= link had not been followed."""
    group, student = a_class(server)
    token = student["token"] if who == "student" else None
    page = open_page(f"{server.url}/class.html?class={group['id']}", ready=any_view, token=token)
    assert page.is_hidden("#class-create"), "the start form under a ?class= link"
    assert page.is_visible("#class-unavailable") and page.is_hidden("#class-live")
    text = page.inner_text("#unavailable-text")
    assert text.startswith("Only the class's teacher can open this page"), text
    assert "another computer" in text and "class code" in text, text
    assert "run" not in text.split() and "Fork" not in text, text
    assert page.locator(".toast").count() == 0, page.locator(".toast").all_inner_texts()
    assert page.get_attribute("#unavailable-start", "href") == "class.html"
    assert page.get_attribute("#unavailable-join", "href") == "index.html?join="
    page.select_option("#language", "zh")
    assert "老师" in page.inner_text("#unavailable-text")
    page.problems.clear()  # the console's note of that 403
    # A class that does not exist is no start form either.
    page = open_page(f"{server.url}/class.html?class=no-such-class", ready=any_view)
    assert page.is_visible("#class-unavailable")
    assert page.inner_text("#unavailable-text") == "Class: no class with id 'no-such-class'"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_spotlight_toolbar_stays_on_the_screen(server, open_page, width, height):
    """At 390x844 the toolbar ran off the screen: "Open in the dashboard" cut, the close × at x≈505."""
    group, student = a_class(server, steps=50)
    page = open_spotlight(open_page, server, group, student, width, height)
    for tool in page.locator(".spotlight-tools > *").all():
        box = tool.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width, (
            f"{tool.inner_text()} is cut off at {width}"
        )
    name = page.locator("#spotlight-name").bounding_box()
    close = page.locator("#spotlight-close").bounding_box()
    assert close["y"] < name["y"] + name["height"], "the close button is not in the header's first row"
    page.tap("#spotlight-close") if width < 900 else page.click("#spotlight-close")
    page.wait_for_selector("#spotlight", state="hidden")
    assert page.problems == [], page.problems


# Every field the class routes name in a refusal (POST /api/classes, PATCH, join, GET), and a reason of
# each kind: the server's own sentence, and one the page words itself.
CLASS_FIELD_ERRORS = [
    (
        {
            "field": "code",
            "reason": "no class has the code 'zzzzzz'; check it against the one the teacher shows",
        },
        "Class code: no class has the code 'zzzzzz'; check it against the one the teacher shows",
    ),
    ({"field": "class_id", "reason": "no class with id 'abc'"}, "Class: no class with id 'abc'"),
    (
        {"field": "name", "reason": "String should have at most 80 characters"},
        "Name may have at most 80 characters.",
    ),
    (
        {"field": "allowed", "reason": "Value error, 'foo' is not a RunConfig setting (e.g. optimizer.lr)"},
        "What students may change: 'foo' is not a RunConfig setting (e.g. optimizer.lr)",
    ),
    (
        {"field": "config.optimizer.lr", "reason": "Input should be greater than or equal to 0"},
        "Learning rate must be at least 0.",
    ),
    (  # a seed of 1e30 in the form: pydantic's words for an integer too large to parse
        {
            "field": "config.seed",
            "reason": "Unable to parse input string as an integer, exceeded maximum size",
        },
        "Seed must be a whole number.",
    ),
    (  # one error per hidden layer over the limit, all alike: said once
        {
            "field": "config.model.hidden.0",
            "reason": "Input should be less than or equal to 512",
            "errors": [
                {"field": f"config.model.hidden.{i}", "reason": "Input should be less than or equal to 512"}
                for i in range(2)
            ],
        },
        "Hidden layers must be at most 512.",
    ),
]
IN_WORDS = """async ([bodies, lang]) => {
  const { describeError } = await import('/src/core/errors.js');
  const { setLanguage } = await import('/src/i18n/index.js');
  setLanguage(lang);
  return bodies.map((body) => describeError(body, 422));
}"""


def test_a_wrong_join_code_reads_as_a_sentence(server, open_page):
    """It said "code no class has the code 'zzzzzz'; …": no label for `code`, and the server's own sentence
    run on after the field's name."""
    page = open_page(
        f"{server.url}/index.html?join=zzzzzz", ready=lambda p: p.wait_for_selector("#join-dialog[open]")
    )
    page.fill("#join-name", "Ada")
    page.click("#join-submit")
    page.wait_for_selector("#join-error:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("#join-error") == CLASS_FIELD_ERRORS[0][1]
    page.problems.clear()  # the console's note of that 404
    bodies = [body for body, _ in CLASS_FIELD_ERRORS]
    assert page.evaluate(IN_WORDS, [bodies, "en"]) == [words for _, words in CLASS_FIELD_ERRORS]
    for words, body in zip(page.evaluate(IN_WORDS, [bodies, "zh"]), bodies, strict=True):
        assert not words.startswith(body["field"]), words  # a Chinese label, not the field's name
    assert page.problems == [], page.problems


# The spotlight loss chart's canvas font (its labels' type, the last one set) and how much of the chart
# column's height under its heading the canvas takes.
CHART_FILL = """() => { const canvas = document.getElementById('spotlight-loss-chart');
  const column = document.querySelector('.spotlight-chart');
  const room = column.clientHeight - column.querySelector('h3').offsetHeight;
  return { font: canvas.getContext('2d').font, fill: canvas.getBoundingClientRect().height / room }; }"""


@pytest.mark.parametrize(
    ("width", "height", "projector", "font_px"), [(1280, 800, False, 12), (1920, 1080, True, 17)]
)
def test_the_spotlight_loss_chart_reads_on_a_projector(server, open_page, width, height, projector, font_px):
    """Its labels were 12 px in projector mode too, and on 1920x1080 the chart kept a 4:3 box with empty
    space above and below it."""
    group, student = a_class(server, steps=300)
    page = open_spotlight(open_page, server, group, student, width, height, projector=projector)
    # The first drawing may be the placeholder (no history yet, no labels); the curve comes with the state.
    with contextlib.suppress(PlaywrightTimeout):  # the assertions say what was drawn instead
        page.wait_for_function(f"() => ({CHART_FILL})().font.startsWith('{font_px}px')", timeout=10_000)
    drawn = page.evaluate(CHART_FILL)
    assert drawn["font"].startswith(f"{font_px}px"), drawn
    assert drawn["fill"] >= 0.9, drawn
    assert page.problems == [], page.problems


def test_an_accuracy_axis_never_passes_one(server, open_page):
    """A watch link of a run at 100% accuracy had an accuracy axis of 0 to 2 (1.25, 1.5, 1.75, 2)."""
    run = api(server, "/api/runs", "POST", {"dataset": {"kind": "gauss"}})
    latest = api(server, f"/api/runs/{run['id']}/step", "POST", {"steps": 200}, token=run["token"])["latest"]
    assert latest["train_accuracy"] == latest["test_accuracy"] == 1.0
    page = open_page(f"{server.url}/index.html?run={run['id']}")
    page.wait_for_function("() => window.backproplab.charts.accuracy.data[0].length > 100", timeout=WAIT_MS)
    page.wait_for_timeout(300)  # the axis labels come with the next redraw
    axis = page.evaluate(
        """() => { const chart = window.backproplab.charts.accuracy;
          return { min: chart.scales.y.min, max: chart.scales.y.max, labels: chart.axes[1]._values }; }"""
    )
    assert 0 <= axis["min"] < axis["max"] <= 1, axis
    assert axis["labels"] and all(0 <= float(label) <= 1 for label in axis["labels"]), axis
    assert page.problems == [], page.problems


# Each button, link or field of the live class page that a toast overlaps.
UNDER_TOASTS = """() => {
  const toasts = [...document.querySelectorAll('.toast')].map((toast) => toast.getBoundingClientRect());
  return [...document.querySelectorAll('#class-live :is(button, a[href], input, select, summary)')]
    .filter((node) => { const box = node.getBoundingClientRect();
      return box.width > 0 && toasts.some((toast) => box.left < toast.right && toast.left < box.right
        && box.top < toast.bottom && toast.top < box.bottom); })
    .map((node) => node.id || node.textContent.trim());
}"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_a_toast_leaves_the_class_pages_buttons_free(server, open_page, width, height):
    """After "Push to every student" the notice sat over "Export results (CSV)" and "End the class"."""
    group, _ = a_class(server)
    page = open_page(
        f"{server.url}/class.html?class={group['id']}",
        width,
        height,
        ready=any_view,
        token=group["teacher_token"],
    )
    page.wait_for_selector(".student-card", timeout=WAIT_MS)
    page.click("#push-summary")
    page.fill("#push-lr", "0.1")
    page.locator("#class-actions").scroll_into_view_if_needed()
    page.click("#push-form button[type=submit]")
    page.wait_for_selector(".toast.notice", timeout=WAIT_MS)
    assert "took the new setup" in page.inner_text(".toast.notice")
    assert page.is_visible("#export-csv") and page.is_visible("#end-class")
    assert page.evaluate(UNDER_TOASTS) == [], f"a toast covers buttons at {width}x{height}"
    assert page.problems == [], page.problems
