"""Helpers of the browser tests (fixtures are in conftest.py; import these by this module's name, never
from conftest).

Waits are generous: the machine may be loaded, and a wait only lasts this long when something is wrong.
"""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

WAIT_MS = 30_000  # Playwright waits, in milliseconds


def api(server, path: str, method: str = "GET", body: dict | None = None, token: str | None = None) -> Any:
    """A REST call; ``token``: as that identity (a change needs the owner's token). JSON answers are
    parsed; anything else (a CSV export) comes back as bytes."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{server.url}{path}", data=data, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        text = response.read()
        if response.headers.get_content_type() == "application/json" or not text:
            return json.loads(text or b"null")
        return text


def run_id(page) -> str:
    """The id of the run the dashboard shows."""
    return page.evaluate("() => window.backproplab.app.state.run.id")


def wait_until(predicate, timeout: float = WAIT_MS / 1000, message: str = "condition"):
    """Poll ``predicate`` until it returns something truthy (returned), or fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {message}")
