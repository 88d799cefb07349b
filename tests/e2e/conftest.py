"""Browser tests: the real server (uvicorn, ``create_app``) on a free port with a temporary data dir, and
Debian's chromium driven by Playwright's sync API.

Without /usr/bin/chromium (or without Playwright) the tests skip with the reason, unless the environment
sets CI, in which case they fail: CI must run them.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import httpx
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "docs" / "screenshots"
STARTUP_SECONDS = 20.0


def _browser_missing_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no chromium at {CHROMIUM} (install Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install playwright)"
    return None


def pytest_collection_modifyitems(config, items):
    reason = _browser_missing_reason()
    for item in items:
        if "tests/e2e" not in str(item.fspath).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.e2e)
        if reason is not None and not os.environ.get("CI"):
            item.add_marker(pytest.mark.skip(reason=reason))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """``uvicorn --factory backproplab.server.app:create_app`` in a subprocess; stop and start it again
    on the same port and data dir to simulate a server restart."""

    def __init__(self, data_dir: Path, port: int | None = None):
        self.data_dir = data_dir
        self.port = port or free_port()
        self.process: subprocess.Popen | None = None
        self.log_path = data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {
            **os.environ,
            "BACKPROPLAB_DATA_DIR": str(self.data_dir),
            "BACKPROPLAB_PORT": str(self.port),
            "BACKPROPLAB_TRAINERS": "2",  # the browser tests run against a server with two trainer workers
        }
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "backproplab.server.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )
        deadline = time.monotonic() + STARTUP_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"server exited with {self.process.returncode}: {self.log_path.read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/api/health", timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start within {STARTUP_SECONDS}s: {self.log_path.read_text()}")

    def stop(self) -> None:
        """SIGTERM, so the server checkpoints its runs on the way out, as a real restart would."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = ServerProcess(tmp_path_factory.mktemp("backproplab-data"))
    process.start()
    yield process
    process.stop()


@pytest.fixture
def own_server(tmp_path):
    """A server of the test's own (started), for tests that stop and restart it."""
    process = ServerProcess(tmp_path)
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser():
    reason = _browser_missing_reason()
    if reason is not None:
        pytest.fail(f"CI is set but the browser tests cannot run: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


TOKEN_KEY = "backproplab.token"  # frontend/src/core/identity.js


def _as_identity(context, token: str) -> None:
    """Every page of this browser context starts as the identity of ``token`` (a create response's), as a
    person whose browser made that run would; the frontend keeps its token in localStorage."""
    context.add_init_script(f"localStorage.setItem({json.dumps(TOKEN_KEY)}, {json.dumps(token)})")


def _token_of(page) -> str | None:
    """The bearer token this page's browser context holds (None before it has one)."""
    return page.evaluate(f"() => localStorage.getItem({json.dumps(TOKEN_KEY)})")


@pytest.fixture
def token_of():
    """token_of(page) -> the bearer token of the person at that page (their browser's localStorage)."""
    return _token_of


@pytest.fixture
def as_identity():
    """as_identity(context, token): pages of that browser context start as that identity."""
    return _as_identity


@pytest.fixture
def open_page(browser):
    """open_page(url, width=1280, height=800, ready=..., touch=False, token=None) -> page in a browser
    context of its own (another person); page.problems collects console errors and page errors.
    ready(page) waits for the page to be usable; by default, the dashboard's: its run socket is
    authenticated (the connection badge says "open" only after the auth ack). ``token``: the identity the
    context starts as (else the page mints its own)."""
    contexts = []

    def dashboard_ready(page) -> None:
        page.wait_for_selector('#connection[data-state="open"]', timeout=15_000)
        page.wait_for_function("() => window.backproplab && document.querySelector('.column-controls')")

    def open_(
        url: str,
        width: int = 1280,
        height: int = 800,
        ready=dashboard_ready,
        touch: bool = False,
        token: str | None = None,
    ):
        context = browser.new_context(viewport={"width": width, "height": height}, has_touch=touch)
        contexts.append(context)
        if token is not None:
            _as_identity(context, token)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda message: message.type == "error" and page.problems.append(message.text))
        page.on("pageerror", lambda error: page.problems.append(str(error)))
        page.goto(url)
        ready(page)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(browser, server, as_identity):
    """A 1280×800 page for the Learn page's tests (test_teach_*.py), not yet opened; ``page.problems``
    collects console errors and uncaught exceptions. Its person (``page.token``, in the context's
    localStorage) owns the runs their ``_run`` makes, so the page may step them."""
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


@pytest.fixture
def screenshot():
    """screenshot(page, name, full_page=False) saves docs/screenshots/<name>.png."""

    def save(page, name: str, full_page: bool = False) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

    return save
