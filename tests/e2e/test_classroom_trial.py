"""What a new-user trial of the classroom found, in real browsers: a class page opened by anyone but its
teacher says so in a class's words (it said "someone else's run … Fork it" over the start form); the
spotlight's toolbar fits a phone; a wrong join code reads as a sentence, and every field the class routes
name has a label in both languages; the spotlight's loss chart grows for a projector; an accuracy axis
never passes 1; a toast leaves the class page's buttons free. A second trial: the leaderboard fits its
panel (its Accuracy column was cut off on a projector); a push beyond the server's limits is refused in the
form (50 hidden layers went out as 10); a student in the field the teacher's push changes sees the new
value and a notice (Enter sent the old value back); the class page says when the server is gone.
"""

from __future__ import annotations

import contextlib

import pytest
from e2e_harness import WAIT_MS, api, wait_until
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
    (  # a hyperparameter without a label of its own is named by its control's
        {"field": "optimizer.momentum", "reason": "Input should be less than or equal to 1"},
        "Momentum must be at most 1.",
    ),
    ({"field": "lrs.min", "reason": "Input should be greater than 0"}, "lr from must be more than 0."),
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
    page.fill("#join-name", "   ")  # `required` lets spaces through; the teacher would see no name
    page.click("#join-submit")
    page.wait_for_selector("#join-error:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("#join-error") == "Your name is required."
    page.fill("#join-name", "Ada")
    page.click("#join-submit")
    page.wait_for_function(
        "words => document.querySelector('#join-error').textContent === words",
        arg=CLASS_FIELD_ERRORS[0][1],
        timeout=WAIT_MS,
    )
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


# Long names and every kind of number: a step count past 10,000, one diverged run, fresh runs (no loss yet).
BOARD_NAMES = [
    "Ada",
    "Grace Hopper",
    "Alexandria Ocasio-Longname",
    "Kai",
    "Bartholomew",
    "Zhang Wei",
    "Li",
    "Mohammed Abdullah",
    "Sam",
    "Jo",
    "Fatima",
    "Ø",
]
BOARD_STEPS = [10_000, 500, 1200, 50, 0, 300, 20, 7000, 100, 0, 30, 2000]
# The widest texts each column's cells can hold: compact steps, three significant digits, a full accuracy.
WIDEST_BOARD_CELLS = ["12", "Alexandria Ocasio-Longname", "65.3K", "0.00114", "100%"]
# Every cell of the leaderboard whose text is cut, and how far the table runs past its panel's content.
BOARD_CUT = """() => {
  const table = document.getElementById('leaderboard');
  const box = table.parentElement;
  const right = box.getBoundingClientRect().right - parseFloat(getComputedStyle(box).paddingRight);
  const cut = [...table.querySelectorAll('th, td:not(.name)')]
    .filter((cell) => cell.scrollWidth > cell.clientWidth + 0.5 || cell.getBoundingClientRect().right > right + 0.5)
    .map((cell) => `${cell.textContent} (${cell.clientWidth}px)`);
  const names = [...table.querySelectorAll('td.name')];
  return { cut, overflow: table.getBoundingClientRect().right - right, sideways: box.scrollWidth - box.clientWidth,
    nameWidth: Math.min(...names.map((cell) => cell.clientWidth)),
    titled: names.every((cell) => cell.title === cell.textContent),
    ellipsis: names.filter((cell) => cell.scrollWidth > cell.clientWidth).map((cell) => cell.textContent) };
}"""


@pytest.fixture(scope="module")
def full_class(server):
    """A class of twelve students with long names, runs at every stage, and one diverged run."""
    config = {"dataset": {"kind": "xor"}}
    group = api(server, "/api/classes", "POST", {"name": "Board", "config": config, "allowed": None})
    students = [
        api(server, f"/api/classes/{group['code']}/join", "POST", {"name": name}) for name in BOARD_NAMES
    ]
    for student, steps in zip(students, BOARD_STEPS, strict=True):
        if steps:
            api(server, f"/api/runs/{student['id']}/step", "POST", {"steps": steps}, token=student["token"])
    wild = students[4]  # Bartholomew: a linear network at an lr that diverges (the class allows anything)
    patch = {"model": {"activation": "linear"}, "optimizer": {"lr": 10_000}}
    api(server, f"/api/runs/{wild['id']}", "PATCH", patch, token=wild["token"])
    api(server, f"/api/runs/{wild['id']}/step", "POST", {"steps": 200}, token=wild["token"])
    assert api(server, f"/api/runs/{wild['id']}")["status"] == "diverged"
    return group


@pytest.mark.parametrize(
    ("width", "height", "projector"),
    [(390, 844, False), (1280, 800, False), (1366, 768, False), (1280, 720, True), (1920, 1080, True)],
)
def test_the_leaderboard_fits_its_panel(server, open_page, full_class, width, height, projector):
    """The table was wider than its panel (533 vs 478 px at 1920x1080 in projector mode, 468 vs 368 at
    1280x720, 409 vs 368 at 1366x768): the Accuracy column read "Acc" and scrolled sideways inside it."""
    url = f"{server.url}/class.html?class={full_class['id']}{'&projector=1' if projector else ''}"
    page = open_page(url, width, height, ready=any_view, token=full_class["teacher_token"])
    page.wait_for_function(
        "() => document.querySelectorAll('#leaderboard tbody tr').length === 12", timeout=WAIT_MS
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('#leaderboard td.num')].some((cell) => cell.textContent === 'diverged')",
        timeout=WAIT_MS,
    )
    page.locator("#leaderboard").scroll_into_view_if_needed()
    for sort in ["test_loss", "accuracy", "step", "name"]:  # each heading with its sort arrow
        page.click(f'#leaderboard th[data-sort="{sort}"] button')
        board = page.evaluate(BOARD_CUT)
        assert board["cut"] == [] and board["overflow"] <= 0.5 and board["sideways"] <= 0, (sort, board)
    assert board["nameWidth"] >= 95, f"names get {board['nameWidth']} px"
    assert board["titled"], "a name's full text is not in its title"
    assert "Alexandria Ocasio-Longname" in board["ellipsis"]
    steps = {
        row.get_attribute("title"): row.inner_text()
        for row in page.locator("#leaderboard td:nth-child(3)").all()
    }
    assert steps["10000"] == "10K"
    # The widest texts each cell can hold, in the first row, measured before the next redraw.
    board = page.evaluate(
        f"""(texts) => {{
          const row = document.querySelector('#leaderboard tbody tr');
          texts.forEach((text, column) => (row.cells[column].textContent = text));
          return ({BOARD_CUT})();
        }}""",
        WIDEST_BOARD_CELLS,
    )
    assert board["cut"] == [] and board["overflow"] <= 0.5, board
    page.select_option("#language", "zh")
    page.wait_for_timeout(1200)  # the next redraw, in Chinese
    board = page.evaluate(BOARD_CUT)
    assert board["cut"] == [] and board["overflow"] <= 0.5 and board["sideways"] <= 0, board
    assert page.problems == [], page.problems


def test_a_push_beyond_the_servers_limits_is_refused_in_the_form(server, open_page):
    """50 hidden layers of 64 went out as 10 ({"hidden": [64 x10]}), "12 students' runs took the new setup"
    was said, and the field was rewritten to ten 64s without a word why."""
    group, student = a_class(server)
    limits = api(server, "/api/choices")["limits"]
    page = open_page(
        f"{server.url}/class.html?class={group['id']}", ready=any_view, token=group["teacher_token"]
    )
    page.wait_for_selector(".student-card", timeout=WAIT_MS)
    sent = []
    page.on("request", lambda request: request.method == "PATCH" and sent.append(request.url))
    page.click("#push-summary")
    too_many = ", ".join(["64"] * 50)
    cases = [
        ("#push-hidden", too_many, f"may have at most {limits['max_hidden_layers']} layers; this has 50."),
        ("#push-hidden", "8, 600", f"may have 1 to {limits['max_neurons']} neurons in a layer, not 600."),
        ("#push-hidden", "4 2", "must be whole numbers separated by commas (e.g. 4, 2)."),
        ("#push-lr", "-1", "must be at least 0."),
        ("#push-batch", "2.5", "must be a whole number."),
    ]
    for selector, text, reason in cases:
        page.fill(selector, text)
        page.click("#push-form button[type=submit]")
        message = f"{selector}-error"
        page.wait_for_selector(f"{message}:not([hidden])", timeout=WAIT_MS)
        assert page.inner_text(message) == reason
        assert page.get_attribute(selector, "aria-invalid") == "true"
        assert page.evaluate("() => document.activeElement.id") == selector[1:]
        assert page.input_value(selector) == text, "the field was rewritten"
        page.fill(selector, {"#push-hidden": "4, 2", "#push-lr": "0.03", "#push-batch": "10"}[selector])
        assert page.is_hidden(message), "the message stays after the value is put right"
    page.wait_for_timeout(500)
    assert sent == [], f"a refused setup was sent: {sent}"
    assert page.locator(".toast").count() == 0, page.locator(".toast").all_inner_texts()
    assert api(server, f"/api/runs/{student['id']}")["config"]["model"]["hidden"] == [4, 2]
    # At the limit it goes through.
    page.fill("#push-hidden", ", ".join(["4"] * limits["max_hidden_layers"]))
    page.click("#push-form button[type=submit]")
    page.wait_for_selector(".toast.notice", timeout=WAIT_MS)
    assert "took the new setup" in page.inner_text(".toast.notice")
    assert (
        api(server, f"/api/runs/{student['id']}")["config"]["model"]["hidden"]
        == [4] * limits["max_hidden_layers"]
    )
    assert page.problems == [], page.problems


def student_page(open_page, server, student, context_of=None):
    """The student's dashboard on their run (a second tab of the same browser with ``context_of``)."""
    url = f"{server.url}/index.html?run={student['id']}"
    if context_of is None:
        return open_page(url, token=student["token"])
    page = context_of.context.new_page()
    page.goto(url)
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    return page


def test_a_push_reaches_a_student_who_is_editing_that_field(server, open_page):
    """A student in the lr field kept seeing 0.3 (and "in force: 0.05" under it) after the teacher pushed
    0.05; Enter then sent 0.3 back over the push. No student page said the teacher had changed anything."""
    group, student = a_class(server)
    page = student_page(open_page, server, student)
    lr = lambda: api(server, f"/api/runs/{student['id']}")["config"]["optimizer"]["lr"]  # noqa: E731
    notices = lambda tab: tab.locator(".toast.notice span").all_inner_texts()  # noqa: E731
    field_shows = "(value) => document.getElementById('field-lr_value').value === value"
    page.fill("#field-lr_value", "0.3")
    page.press("#field-lr_value", "Enter")
    wait_until(lambda: lr() == 0.3, message="the student's own lr")
    # Another tab of the student's changes it while this one is still in the field: the field follows (it
    # would have sent 0.3 back), and says why; that was no teacher.
    sibling = student_page(open_page, server, student, context_of=page)
    sibling.fill("#field-lr_value", "0.2")
    sibling.press("#field-lr_value", "Enter")
    page.wait_for_function(field_shows, arg="0.2", timeout=WAIT_MS)
    page.wait_for_selector(".toast.notice", timeout=WAIT_MS)
    assert notices(page) == ["This run's setup was changed elsewhere: Learning rate 0.3 → 0.2."]
    page.fill("#field-lr_value", "0.3")
    page.press("#field-lr_value", "Enter")
    wait_until(lambda: lr() == 0.3, message="the student's own lr again")
    page.evaluate("() => document.querySelectorAll('.toast').forEach((toast) => toast.remove())")
    # In the field, a new value typed but not sent yet: the teacher pushes.
    page.click("#field-lr_value")
    page.keyboard.press("Control+A")
    page.keyboard.type("0.7")
    body = {"config": {"optimizer": {"lr": 0.05}}}
    api(server, f"/api/classes/{group['id']}", "PATCH", body, token=group["teacher_token"])
    page.wait_for_selector(".toast.notice", timeout=WAIT_MS)
    assert notices(page) == ["Your teacher changed the setup: Learning rate 0.3 → 0.05."]
    page.wait_for_function(field_shows, arg="0.05", timeout=WAIT_MS)
    assert page.evaluate("() => document.activeElement.id") != "field-lr_value", "the field kept the focus"
    slider = page.input_value("#field-lr")
    assert float(slider) == pytest.approx(-1.30103, abs=0.01), slider  # log10(0.05)
    page.keyboard.press("Enter")
    page.focus("#field-lr_value")
    page.keyboard.press("Enter")  # Enter on the value shown sends that value: the teacher's
    page.wait_for_timeout(800)
    assert lr() == 0.05, "the student's page undid the push"
    # Every tab of the student says so; none took the other tab's change for the teacher's.
    sibling.wait_for_function(
        "() => [...document.querySelectorAll('.toast.notice')].some((toast) => toast.textContent.includes('0.05'))",
        timeout=WAIT_MS,
    )
    teacher_said = [text for text in notices(sibling) if "teacher" in text]
    assert teacher_said == ["Your teacher changed the setup: Learning rate 0.3 → 0.05."], notices(sibling)
    assert page.problems == [], page.problems


def test_the_class_page_says_when_the_server_is_gone(own_server, open_page):
    """A "Cannot reach the server." toast covered "N students joined", and every card kept its green ▶ as
    if the class were still playing."""
    server = own_server
    group, student = a_class(server)
    api(server, f"/api/runs/{student['id']}/play", "POST", {}, token=student["token"])
    page = open_page(
        f"{server.url}/class.html?class={group['id']}", ready=any_view, token=group["teacher_token"]
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('.status-badge')].some((badge) => badge.textContent === '▶')",
        timeout=WAIT_MS,
    )
    assert page.is_hidden("#offline-banner")
    server.stop()
    page.wait_for_selector("#offline-banner:not([hidden])", timeout=WAIT_MS)
    assert page.inner_text("#offline-banner").startswith("Cannot reach the server since")
    badges = page.locator(".status-badge").all_inner_texts()
    assert badges == ["?", "?"], badges
    assert page.locator(".student-card.stale").count() == 2
    assert page.get_attribute(".status-badge", "title") == "Status unknown: the server cannot be reached"
    banner = page.locator("#offline-banner").bounding_box()
    for selector in ["#student-count", "#class-code", ".gallery-panel", ".side-panel"]:
        box = page.locator(selector).bounding_box()
        assert box["y"] >= banner["y"] + banner["height"] - 0.5, f"the banner covers {selector}"
    page.wait_for_timeout(3000)  # a poll or two more: still no toast over the page
    assert page.locator(".toast").count() == 0, page.locator(".toast").all_inner_texts()
    page.select_option("#language", "zh")
    assert "无法连接服务器" in page.inner_text("#offline-banner")
    page.select_option("#language", "en")
    # The spotlight, over the whole page, says so in its own header.
    page.click(".student-card")
    page.wait_for_function(
        "() => document.getElementById('spotlight-status').textContent === 'The server is lost: reconnecting…'",
        timeout=WAIT_MS,
    )
    page.keyboard.press("Escape")
    server.start()
    page.wait_for_selector("#offline-banner", state="hidden", timeout=WAIT_MS)
    assert page.get_attribute("#class-live", "data-offline") == "false"
    page.wait_for_function("() => !document.querySelector('.student-card.stale')", timeout=WAIT_MS)
    assert "?" not in page.locator(".status-badge").all_inner_texts()
    page.problems[:] = [problem for problem in page.problems if "ERR_CONNECTION_REFUSED" not in problem]
    assert page.problems == [], page.problems
