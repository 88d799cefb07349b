"""A classroom in real browsers: each browser context is one person (their own localStorage, so their own
identity token). Runs belong to someone: a watch link is read-only and live, a fork trains on its own,
reopening the dashboard reuses the person's last run, My runs renames and deletes. A teacher and three
students: joining with the code, the class page's live gallery and leaderboard, pushing a setup, locked
controls disabled in the students' pages and refused by the server, the spotlight and the CSV export.
Screenshots: class page at 1920×1080 and 1280×800, watch mode, My runs, a student's locked controls.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_harness import WAIT_MS, api, run_id, wait_until


def step_count(page) -> int:
    return int(page.get_attribute("#step-counter", "data-count") or 0)  # the text is compact past 99,999


def class_ready(page) -> None:
    page.wait_for_selector("#class-create:not([hidden]), #class-live:not([hidden])", timeout=WAIT_MS)


def join_ready(page) -> None:
    page.wait_for_selector("#join-dialog[open]", timeout=WAIT_MS)


def join(open_page, server, code: str, name: str, width: int = 1280, height: int = 800):
    """A student opens the join link, types their name and lands on their own run."""
    page = open_page(f"{server.url}/index.html?join={code}", width, height, ready=join_ready)
    assert page.input_value("#join-code") == code
    page.fill("#join-name", name)
    page.click("#join-submit")
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    page.wait_for_selector("#class-chip:not([hidden])", timeout=WAIT_MS)
    assert page.is_hidden("#access-banner")  # a class run is the student's own: no watch banner
    return page


def test_reopening_the_dashboard_reuses_the_last_run(server, open_page, token_of):
    page = open_page(f"{server.url}/")
    first = run_id(page)
    page.goto(f"{server.url}/")
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert run_id(page) == first, "a page load made a new run"
    page.goto(f"{server.url}/teach.html")
    page.wait_for_function("() => window.backproplabTeach && window.backproplabTeach.runId", timeout=WAIT_MS)
    assert page.evaluate("() => window.backproplabTeach.runId") == first
    token = token_of(page)
    assert [run["id"] for run in api(server, "/api/runs", token=token)] == [first]
    assert api(server, "/api/identities/me", token=token)["runs"] == 1
    # A setup link is the exception: it asks for a new run with that setup.
    page.goto(f"{server.url}/?dataset.kind=xor&seed=4")
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert run_id(page) != first
    assert api(server, f"/api/runs/{run_id(page)}")["config"]["dataset"]["kind"] == "xor"


def test_a_watch_link_is_read_only_and_live(server, open_page, token_of, screenshot):
    owner = open_page(
        f"{server.url}/?dataset.kind=spiral&model.hidden=8,8&optimizer.name=adam&optimizer.lr=0.01"
    )
    source = run_id(owner)
    owner.evaluate(f"() => window.backproplab.app.setConfig({{ name: {json.dumps('Ada')} }})")
    watcher = open_page(f"{server.url}/index.html?run={source}")
    watcher.wait_for_selector('#access-banner[data-kind="watch"]', timeout=WAIT_MS)
    assert "Ada" in watcher.inner_text("#access-text")
    assert watcher.get_attribute("body", "data-role") == "watcher"
    for control in [
        "#play",
        "#step",
        "#reset",
        "#field-lr_value",
        "#field-optimizer",
        "#field-batch",
        "#add-layer",
    ]:
        assert watcher.is_disabled(control), f"{control} is enabled in watch mode"
    assert watcher.locator("#dataset-picker button").evaluate_all(
        "tiles => tiles.every((tile) => tile.disabled)"
    )
    watcher.keyboard.press("Space")  # the shortcut does nothing either
    # A message forced past the disabled controls is refused by the server, and the page says why.
    watcher.evaluate("() => window.backproplab.app.socket.send({ type: 'play' })")
    watcher.wait_for_selector(".toast.error", timeout=WAIT_MS)
    assert "someone else's run" in watcher.inner_text(".toast.error")
    refused = watcher.evaluate(
        """async (id) => (await fetch(`/api/runs/${id}`, { method: 'PATCH',
             headers: { 'Content-Type': 'application/json',
                        Authorization: `Bearer ${localStorage.getItem('backproplab.token')}` },
             body: JSON.stringify({ optimizer: { lr: 5 } }) })).status""",
        source,
    )
    assert refused == 403
    watcher.problems.clear()  # the console's note of that forced 403
    run = api(server, f"/api/runs/{source}")
    assert run["status"] == "paused" and run["config"]["optimizer"]["lr"] == 0.01 and run["step"] == 0
    # Live: the owner trains, the watcher's page follows.
    owner.click("#play")
    wait_until(lambda: step_count(watcher) > 200, message="the watch page to follow the training")
    owner.click("#play")
    owner.wait_for_selector('#play[data-running="false"]')
    watcher.wait_for_timeout(600)
    screenshot(watcher, "watch-mode-1280x800")
    assert token_of(watcher) != token_of(owner)
    assert watcher.problems == []


def test_a_fork_trains_independently(server, open_page):
    owner = open_page(f"{server.url}/?dataset.kind=circle")
    source = run_id(owner)
    owner.click("#step-epoch")
    wait_until(lambda: step_count(owner) > 0, message="an epoch")
    at_fork = api(server, f"/api/runs/{source}")["step"]
    watcher = open_page(f"{server.url}/index.html?run={source}")
    watcher.wait_for_selector('#access-banner[data-kind="watch"]')
    watcher.click("#fork")
    watcher.wait_for_function(f"() => window.backproplab.app.state.run.id !== {json.dumps(source)}")
    watcher.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    watcher.wait_for_selector("#access-banner", state="hidden", timeout=WAIT_MS)
    copy = run_id(watcher)
    assert parse_qs(urlsplit(watcher.url).query)["run"] == [copy]
    assert api(server, f"/api/runs/{copy}")["step"] == at_fork  # the copy starts where the source was
    assert not watcher.is_disabled("#play")
    watcher.fill("#field-lr_value", "0.3")
    watcher.press("#field-lr_value", "Enter")
    watcher.click("#play")
    wait_until(lambda: api(server, f"/api/runs/{copy}")["step"] > at_fork + 100, message="the fork to train")
    watcher.click("#play")
    source_run = api(server, f"/api/runs/{source}")
    assert source_run["step"] == at_fork and source_run["config"]["optimizer"]["lr"] == 0.03
    assert api(server, f"/api/runs/{copy}")["config"]["optimizer"]["lr"] == 0.3
    assert watcher.problems == []


def test_my_runs_renames_and_deletes(server, open_page, token_of, screenshot):
    page = open_page(f"{server.url}/")
    first = run_id(page)
    token = token_of(page)
    page.click("#step-epoch")
    wait_until(
        lambda: api(server, f"/api/runs/{first}")["latest"]["test_loss"] is not None, message="an epoch"
    )
    page.click("#runs-menu summary")
    page.click("#new-run")
    page.wait_for_function(f"() => window.backproplab.app.state.run.id !== {json.dumps(first)}")
    second = run_id(page)
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    page.click("#runs-menu summary")
    page.click("#my-runs")
    page.wait_for_selector(f'#runs-rows tr[data-run="{first}"]', timeout=WAIT_MS)
    assert page.locator("#runs-rows tr").count() == 2
    assert page.inner_text("#runs-quota") == "2 of 20 runs"
    page.fill(f'#runs-rows tr[data-run="{first}"] .run-name', "first try")
    page.press(f'#runs-rows tr[data-run="{first}"] .run-name', "Tab")
    wait_until(lambda: api(server, f"/api/runs/{first}")["name"] == "first try", message="the rename")
    name_box = page.locator(f'#runs-rows tr[data-run="{first}"] .run-name')
    name_box.fill("bad\u202ename")  # refused: the box goes back to the name the run has
    name_box.press("Tab")
    page.wait_for_function(
        f"""() => document.querySelector('#runs-rows tr[data-run="{first}"] .run-name').value === 'first try'"""
    )
    assert api(server, f"/api/runs/{first}")["name"] == "first try"
    page.problems.clear()  # the console's note of that 422
    page.check(f'#runs-rows tr[data-run="{first}"] input[type="checkbox"]')
    wait_until(lambda: api(server, f"/api/runs/{first}")["keep_training"], message="keep training")
    screenshot(page, "my-runs-1280x800")
    # Deleting the open run asks once more, then the page moves to the other run.
    delete = page.locator(f'#runs-rows tr[data-run="{second}"] .delete-run')
    delete.click()
    assert "Really" in delete.inner_text()
    delete.click()
    wait_until(
        lambda: [run["id"] for run in api(server, "/api/runs", token=token)] == [first], message="delete"
    )
    page.wait_for_function(f"() => window.backproplab.app.state.run.id === {json.dumps(first)}")
    page.wait_for_selector(f'#runs-rows tr[data-run="{first}"].current', timeout=WAIT_MS)
    assert page.locator("#runs-rows tr").count() == 1
    # Forget me: the next person at this computer starts with a new identity and a run of their own.
    page.click("#forget-me")
    page.click("#forget-me")
    page.wait_for_function(
        f"() => window.backproplab && window.backproplab.app.state.run && window.backproplab.app.state.run.id !== {json.dumps(first)}",
        timeout=WAIT_MS,
    )
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)
    assert token_of(page) != token
    assert api(server, f"/api/runs/{first}")["name"] == "first try"  # the old run stays on the server
    assert page.problems == []


def test_a_class_with_a_teacher_and_three_students(server, open_page, token_of, screenshot, tmp_path):
    teacher = open_page(
        f"{server.url}/class.html?dataset.kind=spiral&model.hidden=8,8&model.activation=relu"
        "&optimizer.name=adam&optimizer.lr=0.01",
        1920,
        1080,
        ready=class_ready,
    )
    assert (
        teacher.input_value("#create-dataset") == "spiral" and teacher.input_value("#create-hidden") == "8, 8"
    )
    assert teacher.is_checked("#create-allow-lr") and teacher.is_checked("#create-allow-optimizer")
    assert not teacher.is_checked("#create-allow-batch_size")
    screenshot(teacher, "class-start-1920x1080")
    teacher.fill("#create-name", "Period 3")
    teacher.click("#create-submit")
    teacher.wait_for_selector("#class-live:not([hidden])", timeout=WAIT_MS)
    code = teacher.inner_text("#class-code")
    assert len(code) == 6 and f"join={code}" in teacher.inner_text("#join-link")
    assert int(teacher.get_attribute("#join-qr", "data-modules")) >= 21
    class_id = parse_qs(urlsplit(teacher.url).query)["class"][0]
    assert "token" not in teacher.url

    names = ["Ada", "Grace", "Alan"]
    students = [join(open_page, server, code, name) for name in names]
    runs = [run_id(student) for student in students]
    assert len(set(runs)) == 3
    for student in students:
        assert student.get_attribute("body", "data-role") == "owner"
        assert not student.is_disabled("#field-lr_value") and not student.is_disabled("#field-optimizer")
        assert student.is_disabled("#field-batch") and student.is_disabled("#add-layer")
        assert "locked" in student.get_attribute('[data-control="batch"]', "class")
        assert student.locator("#dataset-picker button").evaluate_all(
            "tiles => tiles.every((tile) => tile.disabled)"
        )
    # A student's own run in the class: a locked setting forced past the UI is refused, and marked.
    students[0].evaluate("() => window.backproplab.app.setConfig({ batch_size: 25 }).catch(() => null)")
    students[0].wait_for_selector('[data-control="batch"] .lock-note:not([hidden])', timeout=WAIT_MS)
    assert "locked by your teacher" in students[0].inner_text(".toast.error")
    assert api(server, f"/api/runs/{runs[0]}")["config"]["batch_size"] == 10
    students[0].problems.clear()  # the console's note of that refused (403) change
    screenshot(students[0], "class-student-locked-1280x800")
    # ... and a student cannot change another student's run (the server says no).
    other = students[1].evaluate(
        """async (id) => (await fetch(`/api/runs/${id}/play`, { method: 'POST',
             headers: { Authorization: `Bearer ${localStorage.getItem('backproplab.token')}` } })).status""",
        runs[0],
    )
    assert other == 403
    students[1].problems.clear()  # the console's note of that forced 403

    # The gallery shows every student's run, live.
    teacher.wait_for_function(
        "() => document.querySelectorAll('.student-card').length === 3", timeout=WAIT_MS
    )
    for student, steps in zip(students, ["100", "20", "5"], strict=True):
        student.select_option("#speed", steps)  # steps per tick: different paces, a leaderboard to order
        student.click("#play")
    wait_until(
        lambda: all(
            int(teacher.get_attribute(f'.student-card[data-run="{run}"]', "data-step") or 0) > 100
            for run in runs
        ),
        timeout=30,
        message="every card to show its run training",
    )
    before = {
        run: int(teacher.get_attribute(f'.student-card[data-run="{run}"]', "data-step")) for run in runs
    }
    wait_until(
        lambda: all(
            int(teacher.get_attribute(f'.student-card[data-run="{run}"]', "data-step")) > before[run]
            for run in runs
        ),
        message="the cards to keep moving",
    )
    assert teacher.locator(".student-card .student-name").all_inner_texts() == names
    # The leaderboard ranks by test loss, lowest first; by step, most first.
    teacher.wait_for_function(
        "() => [...document.querySelectorAll('#leaderboard tbody tr')].every((row) => row.cells[3].textContent !== '—')",
        timeout=30_000,
    )
    losses = [float(text) for text in teacher.locator("#leaderboard tbody td:nth-child(4)").all_inner_texts()]
    assert losses == sorted(losses) and len(losses) == 3
    teacher.click('#leaderboard th[data-sort="step"] button')
    # The exact step is the cell's title (its text is compact from 10,000: 12.3K).
    steps = [
        int(cell.get_attribute("title"))
        for cell in teacher.locator("#leaderboard tbody td:nth-child(3)").all()
    ]
    assert steps == sorted(steps, reverse=True)
    teacher.wait_for_timeout(1000)
    screenshot(teacher, "class-1920x1080")
    teacher.set_viewport_size({"width": 1280, "height": 800})
    teacher.wait_for_timeout(1200)
    screenshot(teacher, "class-1280x800")

    # Push a new learning rate to the whole class: every student's page shows it.
    teacher.click("#push-summary")
    teacher.fill("#push-lr", "0.1")
    teacher.click("#push-form button[type=submit]")
    teacher.wait_for_selector(".toast.notice", timeout=WAIT_MS)
    assert "3 students" in teacher.inner_text(".toast.notice")
    for student in students:
        student.wait_for_function(
            "() => document.getElementById('field-lr_value').value === '0.1'", timeout=WAIT_MS
        )
    # Open the batch size to students: their control unlocks at once.
    teacher.click("#locks-summary")
    teacher.check("#push-allow-batch_size")
    teacher.click("#locks-form button[type=submit]")
    for student in students:
        student.wait_for_function("() => !document.getElementById('field-batch').disabled", timeout=WAIT_MS)
    students[2].fill("#field-batch", "20")
    students[2].press("#field-batch", "Enter")
    wait_until(
        lambda: api(server, f"/api/runs/{runs[2]}")["config"]["batch_size"] == 20, message="an allowed change"
    )

    # Spotlight: one student's run full screen; as their teacher, this page may play and pause it.
    teacher.click(f'.student-card[data-run="{runs[1]}"]')
    teacher.wait_for_selector("#spotlight:not([hidden])")
    assert teacher.inner_text("#spotlight-name") == "Grace"
    first_step = int(teacher.get_attribute("#spotlight", "data-step") or 0)
    teacher.wait_for_function(
        f"() => Number(document.getElementById('spotlight').dataset.step) > {first_step}"
    )
    teacher.wait_for_timeout(800)
    screenshot(teacher, "class-spotlight-1280x800")
    # Grace plays at her pace: her run is running for everyone, so the spotlight offers Pause.
    teacher.wait_for_function("() => document.getElementById('spotlight-play').textContent === 'Pause'")
    teacher.click("#spotlight-play")
    wait_until(
        lambda: api(server, f"/api/runs/{runs[1]}")["status"] == "paused", message="the teacher's pause"
    )
    teacher.wait_for_function("() => document.getElementById('spotlight-play').textContent === 'Play'")
    teacher.click("#spotlight-play")
    wait_until(
        lambda: api(server, f"/api/runs/{runs[1]}")["status"] == "running", message="the teacher's play"
    )
    teacher.keyboard.press("Escape")
    teacher.wait_for_selector("#spotlight", state="hidden")

    # End of class: the CSV, fetched with the teacher's token.
    with teacher.expect_download() as download:
        teacher.click("#export-csv")
    path = tmp_path / "class.csv"
    download.value.save_as(path)
    rows = path.read_text().strip().splitlines()
    assert rows[0].startswith("run_id,name,status,step") and len(rows) == 4
    assert sorted(row.split(",")[1] for row in rows[1:]) == sorted(names)
    assert api(server, f"/api/classes/{class_id}", token=token_of(teacher))["code"] == code
    for student in students:
        if student.get_attribute("#play", "data-running") == "true":
            student.click("#play")
    problems = teacher.problems + [problem for student in students for problem in student.problems]
    assert problems == []


def test_a_wrong_join_code_says_so(server, open_page):
    page = open_page(f"{server.url}/index.html?join=ZZZZZZ", ready=join_ready)
    page.fill("#join-name", "Ada")
    page.click("#join-submit")
    page.wait_for_selector("#join-error:not([hidden])", timeout=WAIT_MS)
    assert "ZZZZZZ" in page.inner_text("#join-error")
    page.problems.clear()  # the console's note of that 404
    page.click("#join-cancel")
    page.wait_for_selector('#connection[data-state="open"]', timeout=WAIT_MS)  # a run of their own instead
    assert page.get_attribute("body", "data-role") == "owner"
    assert page.problems == []


@pytest.mark.parametrize(("width", "height"), [(390, 844), (1280, 800), (1920, 1080)])
def test_the_class_page_fits_every_screen(server, open_page, screenshot, width, height):
    group = api(server, "/api/classes", "POST", {"name": "Layout", "config": {"dataset": {"kind": "xor"}}})
    for name in ["Ada", "Grace"]:
        api(server, f"/api/classes/{group['code']}/join", "POST", {"name": name})
    page = open_page(
        f"{server.url}/class.html?class={group['id']}",
        width,
        height,
        ready=class_ready,
        token=group["teacher_token"],
    )
    page.wait_for_function(
        "() => document.querySelectorAll('.student-card canvas.boundary[width]').length === 2"
    )
    assert page.evaluate("() => document.scrollingElement.scrollWidth - window.innerWidth") <= 0
    for box in page.locator(".panel:visible").all():
        size = box.bounding_box()
        assert size["width"] > 20 and size["height"] > 20
    for selector in ["#class-code", "#join-qr", "#join-link", "#leaderboard"]:
        page.locator(selector).scroll_into_view_if_needed()
        size = page.locator(selector).bounding_box()
        assert size["x"] >= 0 and size["x"] + size["width"] <= width, f"{selector} is cut off"
    if width >= 1280:  # a projector's page shows the code, the QR code and the link without scrolling
        for selector in ["#class-code", "#join-qr", "#join-link"]:
            size = page.locator(selector).bounding_box()
            assert size["y"] >= 0 and size["y"] + size["height"] <= height, f"{selector} is below the fold"
        assert page.locator("#join-qr").bounding_box()["width"] >= 200
    else:
        page.evaluate("() => window.scrollTo(0, 0)")
        screenshot(page, f"class-{width}x{height}", full_page=True)
    assert page.problems == []


# The widest texts a card's numbers can have: compact steps (12.3K, 1.23M), three-digit losses and their
# exponent form for the tiny and huge, and a full accuracy.
WIDEST_CARD_NUMBERS = {"step": "65.3K", "test_loss": "0.00114", "accuracy": "100%"}
CARD_NUMBERS_CUT = """() => [...document.querySelectorAll('.student-card')].flatMap((card) => {
  const right = card.getBoundingClientRect().right;
  return [...card.querySelectorAll('.stats dt, .stats dd')]
    .filter((node) => node.scrollWidth > node.clientWidth + 0.5 || node.getBoundingClientRect().right > right + 0.5)
    .map((node) => `${node.className || node.tagName}: ${node.textContent} (${card.clientWidth}px card)`);
})"""
# Text nodes of the join link drawn over more than one line: the link broke inside a word.
JOIN_LINK_SPLIT_WORDS = """() => {
  const walker = document.createTreeWalker(document.getElementById('join-link'), NodeFilter.SHOW_TEXT);
  const split = [];
  while (walker.nextNode()) {
    const range = document.createRange();
    range.selectNodeContents(walker.currentNode);
    if (new Set([...range.getClientRects()].map((rect) => Math.round(rect.top))).size > 1) split.push(walker.currentNode.textContent);
  }
  return split;
}"""


def test_the_class_page_reads_well_before_and_after_a_student_joins(server, open_page, screenshot):
    """The empty gallery's hint clear of its header, the join link wrapped between words, "1 student
    joined" in the singular, and a card's step, test loss and accuracy shown in full on every screen."""
    group = api(server, "/api/classes", "POST", {"name": "Words", "config": {"dataset": {"kind": "circle"}}})

    def teacher_page(width: int, height: int):
        url = f"{server.url}/class.html?class={group['id']}"
        return open_page(url, width, height, ready=class_ready, token=group["teacher_token"])

    for width, height in [(390, 844), (1280, 800), (1920, 1080)]:
        page = teacher_page(width, height)
        page.wait_for_selector("#gallery-empty:not([hidden])", timeout=WAIT_MS)
        assert page.inner_text("#student-count") == "0 students joined"
        hint = page.locator("#gallery-empty").bounding_box()
        header = page.locator(".gallery-panel > header").bounding_box()
        assert hint["y"] >= header["y"] + header["height"] - 0.5, (
            f"the empty hint sits on the header at {width}"
        )
        assert page.evaluate(JOIN_LINK_SPLIT_WORDS) == [], f"the join link breaks inside a word at {width}"
        assert page.inner_text("#join-link").replace("\n", "").endswith(f"?join={group['code']}")
    student = api(server, f"/api/classes/{group['code']}/join", "POST", {"name": "Ada"})
    for steps in [10_000, 2_000]:  # 10,000 is the most one request may ask for
        api(server, f"/api/runs/{student['id']}/step", "POST", {"steps": steps}, token=student["token"])
    for width, height in [(390, 844), (1280, 800), (1920, 1080)]:
        page = teacher_page(width, height)
        page.wait_for_function("() => document.querySelector('.student-card dd.step')?.title === '12000'")
        assert page.inner_text("#student-count") == "1 student joined"
        assert page.inner_text(".student-card dd.step") == "12K"
        assert page.evaluate(CARD_NUMBERS_CUT) == [], f"card numbers cut at {width}"
        card = page.locator(".student-card").bounding_box()
        assert card["width"] >= 300, (
            f"a lone card is {card['width']} px wide at {width}: the gallery has room"
        )
        # The widest numbers on the narrowest card (a full class: MIN_CARD_PX in gallery.js), measured at
        # once, before the gallery's next redraw.
        cut = page.evaluate(
            f"""(texts) => {{
              document.getElementById('gallery').style.gridTemplateColumns = 'repeat(auto-fill, 160px)';
              for (const [key, text] of Object.entries(texts))
                document.querySelector(`.student-card dd.${{key}}`).textContent = text;
              return ({CARD_NUMBERS_CUT})();
            }}""",
            WIDEST_CARD_NUMBERS,
        )
        assert cut == [], f"the widest numbers are cut on a narrow card at {width}"
        page.wait_for_function("() => document.querySelector('.student-card').offsetWidth >= 300")
        page.wait_for_function("() => document.querySelector('.student-card canvas.boundary[width]')")
        screenshot(page, f"class-one-student-{width}x{height}", full_page=width < 900)
        assert page.problems == [], page.problems


def test_the_start_form_on_a_phone_stays_inside_its_card(server, open_page, screenshot):
    """At 390x844 the card kept a height of 680 px (its width in a row became its height in a column): the
    "What students may change" box ran past the card's border and "Start the class" sat outside it."""
    page = open_page(f"{server.url}/class.html", 390, 844, ready=class_ready)
    card = page.locator(".create-panel").bounding_box()
    for selector in ["#create-allowed", "#create-submit"]:
        box = page.locator(selector).bounding_box()
        assert box["y"] + box["height"] <= card["y"] + card["height"], f"{selector} runs past the card"
    page.locator("#create-submit").scroll_into_view_if_needed()
    screenshot(page, "class-start-390x844")
    assert page.problems == [], page.problems
