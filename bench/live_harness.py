"""The live benchmarks' harness: a `python -m backproplab` of their own, the CPU its processes use, and
WebSocket watchers standing in for the dashboards of a class (bench_live.py, bench_soak.py).

The clients are asyncio WebSockets in the benchmark's process; they count frames without parsing them
(except to read an lr after a `set`), so the client side costs as little as it can.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

FRAME_PREFIX = b'{"type":"frame"'


@dataclass
class Server:
    url: str
    pid: int
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """The bench's identity: it owns every run it creates."""
        return {"Authorization": f"Bearer {self.token}"}

    def client(self, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=timeout, headers=self.headers)

    def rss_mb(self) -> float:
        """Resident memory of the server and every process under it (trainers, compute pool)."""
        return sum(rss_kb(pid) for pid in [self.pid, *descendants(self.pid)]) / 1024


@contextlib.contextmanager
def server(trainers: int | str = "auto") -> Iterator[Server]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        command = [sys.executable, "-m", "backproplab", "--port", str(port), "--data-dir", data_dir]
        command += ["--trainers", str(trainers)]
        env = {
            **os.environ,
            "BACKPROPLAB_UNWATCHED_PAUSE": "3600",
            "BACKPROPLAB_MAX_RUNS_PER_IDENTITY": "1000",
            "BACKPROPLAB_MAX_RUNS": "1000",
        }
        with open(Path(data_dir) / "server.log", "wb") as log:
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
            url = f"http://127.0.0.1:{port}"
            try:
                for _ in range(400):
                    with contextlib.suppress(httpx.HTTPError):
                        health = httpx.get(url + "/api/health", timeout=1).json()
                        if all(trainer["alive"] for trainer in health["trainers"]):
                            break
                    time.sleep(0.05)
                token = httpx.post(url + "/api/identities", timeout=30).json()["token"]
                yield Server(url, process.pid, token)
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 once it is gone)."""
    with contextlib.suppress(OSError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


@dataclass
class Usage:
    """Percent of a core used over a window by the web process, the processes under it (trainers, idle
    compute pool) and this process (the clients)."""

    web: float
    trainers: float
    clients: float

    @classmethod
    def during(cls, srv: Server, measure: Callable[[], float]) -> tuple[float, Usage]:
        """``measure()``'s value and the usage while it ran."""
        under = descendants(srv.pid)
        groups = ([srv.pid], under, [os.getpid()])
        before = [sum(map(cpu_seconds, pids)) for pids in groups]
        start = time.perf_counter()
        value = measure()
        seconds = time.perf_counter() - start
        used = [
            100 * (sum(map(cpu_seconds, pids)) - then) / seconds
            for pids, then in zip(groups, before, strict=True)
        ]
        return value, cls(*used)


def rss_kb(pid: int) -> int:
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def create_runs(srv: Server, count: int, play: bool, config: dict | None = None) -> list[str]:
    with srv.client() as http:
        ids = [
            http.post("/api/runs", json={"seed": seed, **(config or {})}).json()["id"]
            for seed in range(count)
        ]
        if play:
            for run_id in ids:
                http.post(f"/api/runs/{run_id}/play")
    return ids


def steps(srv: Server, ids: list[str]) -> int:
    with srv.client() as http:
        return sum(http.get(f"/api/runs/{run_id}").json()["step"] for run_id in ids)


def rate(srv: Server, ids: list[str], seconds: float) -> float:
    """Total steps per second of ``ids`` over a window."""
    first, start = steps(srv, ids), time.perf_counter()
    time.sleep(seconds)
    return (steps(srv, ids) - first) / (time.perf_counter() - start)


# ---------------------------------------------------------------- clients


@dataclass
class Watcher:
    """A WebSocket client at 30 fps counting frames; optionally it changes the lr now and then and times
    how long until a frame shows it."""

    srv: Server
    run_id: str
    frames: int = 0
    latencies: list[float] = field(default_factory=list)
    counting: bool = False

    async def watch(self, stop: asyncio.Event, set_every: float | None = None, index: int = 0) -> None:
        uri = self.srv.url.replace("http", "ws") + f"/ws/runs/{self.run_id}"
        async with connect(uri, proxy=None, max_size=None, compression=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": self.srv.token}))
            await ws.send(json.dumps({"type": "view", "grid": False, "params": True}))
            await ws.send(json.dumps({"type": "fps", "fps": 30}))
            next_set = time.monotonic() + (set_every or 0) * (1 + index % 7 / 7)
            pending: tuple[float, float] | None = None
            closing = asyncio.create_task(close_on(stop, ws))
            while True:
                # NOTE: the clients stand in for students' laptops but share the server's cores here, so
                # they cost as little as they can: frames arrive whole, undecoded (no UTF-8 check, no
                # JSON), and no timer per message (asyncio.wait_for made a task per recv).
                try:
                    data = await ws.recv(decode=False)
                except ConnectionClosed:
                    break
                if not data.startswith(FRAME_PREFIX):
                    continue
                if self.counting:
                    self.frames += 1
                if pending is not None and f'"lr":{pending[0]}'.encode() in data:
                    self.latencies.append(time.perf_counter() - pending[1])
                    pending = None
                if set_every and pending is None and time.monotonic() >= next_set:
                    lr = round(0.01 + 0.0001 * (len(self.latencies) % 50) + 0.000001 * index, 7)
                    pending = (lr, time.perf_counter())
                    await ws.send(json.dumps({"type": "set", "config": {"optimizer": {"lr": lr}}}))
                    next_set = time.monotonic() + set_every
            closing.cancel()


async def close_on(stop: asyncio.Event, ws: ClientConnection) -> None:
    """Close ``ws`` once ``stop`` is set (its reader then ends)."""
    await stop.wait()
    await ws.close()


class Crowd:
    """Watchers running in a background event loop, so the measuring code stays simple."""

    def __init__(self, watchers: list[Watcher], set_every: float | None = None):
        self.watchers = watchers
        self.set_every = set_every
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)

        async def main() -> None:
            tasks = [w.watch(self.stop, self.set_every, i) for i, w in enumerate(self.watchers)]
            await asyncio.gather(*tasks, return_exceptions=True)

        self.loop.run_until_complete(main())

    def __enter__(self) -> Crowd:
        self.thread.start()
        time.sleep(2.0)  # connect and settle
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(timeout=30)

    def count(self, on: bool, since: float = 0.0) -> float:
        """Start counting frames (returns the time), or stop (returns the seconds counted since ``since``:
        the window includes the REST calls that read the step counts around it)."""
        for watcher in self.watchers:
            if on:
                watcher.frames = 0
            watcher.counting = on
        now = time.perf_counter()
        return now if on else now - since


def alternate(measure_alone, measure_watched, rounds: int = 2) -> tuple[float, float]:
    """Medians of alternating windows, so drifting machine load hits both sides alike."""
    alone, watched = [], []
    for _ in range(rounds):
        alone.append(measure_alone())
        watched.append(measure_watched())
    return statistics.median(alone), statistics.median(watched)
