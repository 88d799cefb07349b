"""The scenario's clients: a WebSocket watcher that keeps every message, and HTTP helpers that wait."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from websockets.sync.client import connect


class Watcher:
    """A WebSocket client in a thread that keeps every message; reconnects to ``fallback`` if cut off."""

    def __init__(self, url: str, run_id: str, fallback: str | None = None):
        self.urls = [url, *([fallback] if fallback else [])]
        self.run_id = run_id
        self.messages: list[tuple[float, str, dict[str, Any]]] = []  # (time, url, message)
        self.closed_at: float | None = None
        self.stopping = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for url in self.urls:
            try:
                with connect(f"{url}/ws/runs/{self.run_id}", open_timeout=30) as socket:
                    while not self.stopping:
                        try:
                            text = socket.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        self.messages.append((time.monotonic(), url, json.loads(text)))
            except Exception:  # cut off: a replica died
                self.closed_at = time.monotonic()
            if self.stopping:
                return

    def steps(self, kind: str, since: float = 0.0, url: str | None = None) -> list[int]:
        found = []
        for at, where, message in list(self.messages):
            if at >= since and message.get("type") == kind and (url is None or where == url):
                found.append(message["run"]["step"] if kind == "state" else message["step"])
        return found

    def trace(self, since: float, most: int = 40) -> list[str]:
        """What arrived since ``since``, one line a message: seconds after it, replica, type, step."""
        lines = []
        for at, where, message in list(self.messages):
            if at >= since:
                step = message["run"]["step"] if message.get("type") == "state" else message.get("step")
                lines.append(f"+{at - since:.2f}s {where} {message.get('type')} {step}")
        return lines[:most]

    def wait_for(
        self,
        kind: str,
        step: int | tuple[int, ...],
        since: float = 0.0,
        url: str | None = None,
        timeout: float = 30,
    ) -> bool:
        """Wait until a ``kind`` message at ``step`` (or at any of several steps) arrived since ``since``."""
        wanted = {step} if isinstance(step, int) else set(step)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if wanted.intersection(self.steps(kind, since, url)):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        self.stopping = True
        self.thread.join(timeout=5)


def retry_until_ok(
    http: httpx.Client, method: str, url: str, json_body: Any = None, timeout: float = 60
) -> tuple[httpx.Response, list[str]]:
    """Repeat a request while it answers 503 (a trainer restarting); the answer and the 503 reasons seen."""
    unavailable: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        response = http.request(method, url, json=json_body, timeout=60)
        if response.status_code != 503 or time.monotonic() > deadline:
            return response, unavailable
        unavailable.append(response.json()["reason"])
        time.sleep(0.2)


def wait_health(url: str, status: str, timeout: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health: dict[str, Any] = httpx.get(f"{url}/api/health", timeout=5).json()
            if health["status"] == status:
                return health
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return None


def new_identity(url: str) -> httpx.Client:
    """An HTTP client acting as a new identity, minted on the replica at ``url`` (good on every replica:
    identities are in the shared database)."""
    token = httpx.post(f"{url}/api/identities", timeout=30).json()["token"]
    return httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)


def wait_for_problem(url: str, where: str, kind: str, timeout: float) -> dict[str, Any] | None:
    """Poll /api/health until it lists a problem of ``kind`` at a place starting with ``where``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            health: dict[str, Any] = httpx.get(f"{url}/api/health", timeout=5).json()
            for problem in health["problems"]:
                if problem["where"].startswith(where) and problem["kind"] == kind:
                    return problem
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return None
