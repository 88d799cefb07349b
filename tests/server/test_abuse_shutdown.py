"""Graceful shutdown finishes within ``shutdown_timeout`` (10 s) whatever is running, also when SIGTERM
reaches the whole process group (systemd, `timeout`): runs are checkpointed, nothing is restarted, no
process is left behind."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from server_harness import ServerProcess, free_port
from test_abuse_pool import BIG, SLOW_LANDSCAPE, wait_for
from test_ws_live import receive_type, ws_connect

SHUTDOWN_SECONDS = 10.0
SLACK = 3.0  # the interpreter's own exit, on a machine other tests keep busy
ENV = {"BACKPROPLAB_TRAINERS": "1", "BACKPROPLAB_MAX_REQUEST_WORK": "1e13"}


def busy_server(server: ServerProcess) -> tuple[httpx.Client, list[str]]:
    """Playing runs, a long `step`, a slow landscape and a watcher, all in progress."""
    http = httpx.Client(base_url=server.url, timeout=60, headers=server.auth)
    big = http.post("/api/runs", json=BIG).json()["id"]
    playing = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(3)]
    for run_id in playing:
        http.post(f"/api/runs/{run_id}/play")

    def hold(method: str, path: str, **kwargs) -> None:
        with contextlib.suppress(httpx.HTTPError):
            httpx.request(method, server.url + path, timeout=120, headers=server.auth, **kwargs)

    threading.Thread(
        target=hold, args=("POST", f"/api/runs/{big}/step"), kwargs={"json": {"steps": 10_000}}
    ).start()
    threading.Thread(target=hold, args=("GET", f"/api/runs/{big}/{SLOW_LANDSCAPE}"), daemon=True).start()

    async def watch() -> None:
        with contextlib.suppress(Exception):
            async with ws_connect(server, playing[0]) as ws:
                await receive_type(ws, "state")
                while True:
                    await ws.recv()

    threading.Thread(target=lambda: asyncio.run(watch()), daemon=True).start()
    wait_for(lambda: http.get(f"/api/runs/{big}").json()["step"] > 0, what="the long step to start")
    time.sleep(1.0)  # the landscape is computing, the watcher streaming
    return http, [big, *playing]


def stopped_within(process: subprocess.Popen, seconds: float) -> float:
    started = time.monotonic()
    process.wait(timeout=seconds)
    return time.monotonic() - started


def test_sigterm_stops_a_busy_server_within_the_shutdown_timeout(make_server, tmp_path):
    server = make_server(env=ENV)
    http, run_ids = busy_server(server)
    steps = {run_id: http.get(f"/api/runs/{run_id}").json()["step"] for run_id in run_ids}
    assert server.process is not None
    server.process.send_signal(signal.SIGTERM)
    took = stopped_within(server.process, SHUTDOWN_SECONDS + SLACK)
    assert took <= SHUTDOWN_SECONDS + SLACK
    log = server.log.read_text()
    assert "Traceback" not in log and "restarting it" not in log, log[-3000:]

    again = make_server(env=ENV)  # the same data directory: every run was checkpointed
    with httpx.Client(base_url=again.url, timeout=60) as client:
        for run_id in run_ids:
            assert client.get(f"/api/runs/{run_id}").json()["step"] >= steps[run_id]


def test_sigterm_to_the_whole_process_group_stops_cleanly_without_restarts(tmp_path):
    port, log = free_port(), tmp_path / "server.log"
    command = [sys.executable, "-m", "backproplab", "--port", str(port), "--data-dir", str(tmp_path)]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **ENV},
            start_new_session=True,
        )
    try:
        server = ServerProcess(tmp_path)
        server.port, server.process = port, process
        server._wait_until_up()
        busy_server(server)
        os.killpg(process.pid, signal.SIGTERM)  # as systemd and `timeout` do
        took = stopped_within(process, SHUTDOWN_SECONDS + SLACK)
        assert took <= SHUTDOWN_SECONDS + SLACK
        wait_for(
            lambda: not _group_alive(process.pid), seconds=SLACK, what="every process of the group to end"
        )
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    text = log.read_text()
    assert "restarting it" not in text and "exit code 255" not in text, text[-3000:]
    assert "checkpointed every run" in text


def _group_alive(pgid: int) -> bool:
    """True while a process of the group is alive (zombies do not count: their parent is gone)."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False
