"""Heavy reads against a real server: their own pool with a per-caller limit (429 with Retry-After), work
that stops when its client disconnects (a read's compute process is killed, a `step`'s steps are dropped),
and controls answered while heavy work runs."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from server_harness import descendants, wait_for

# A run whose loss landscape at resolution 101 takes minutes: 10,000 training rows through 2-64-64-1.
BIG = {"dataset": {"kind": "circle", "samples": 20000}, "model": {"hidden": [64, 64]}}
SLOW_LANDSCAPE = "landscape?resolution=101"
ENV = {
    "BACKPROPLAB_TRAINERS": "1",
    "BACKPROPLAB_MAX_REQUEST_WORK": "1e13",
    "BACKPROPLAB_MAX_HEAVY_PER_CALLER": "1",
}


def compute_pids(server) -> set[int]:
    """The server's compute processes: its only descendants that run at a lowered priority."""
    pids = set()
    for pid in descendants(server.process.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[16]) > 0:  # state, nice
            pids.add(pid)
    return pids


def busy(pid: int) -> float:
    """CPU seconds the process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_background(function) -> threading.Thread:
    thread = threading.Thread(target=function, daemon=True)
    thread.start()
    return thread


@pytest.fixture
def heavy_server(make_server):
    server = make_server(env=ENV)
    http = httpx.Client(base_url=server.url, timeout=60, headers=server.auth)
    run_id = http.post("/api/runs", json=BIG).json()["id"]
    yield server, http, run_id
    http.close()


def test_a_caller_over_its_heavy_limit_gets_429_with_retry_after_until_its_read_ends(heavy_server):
    server, http, run_id = heavy_server

    def slow_read():
        with (
            httpx.Client(base_url=server.url, timeout=60, headers=server.auth) as client,
            client.stream("GET", f"/api/runs/{run_id}/{SLOW_LANDSCAPE}&progress=true") as stream,
        ):
            assert stream.status_code == 200
            admitted.set()
            with contextlib.suppress(httpx.HTTPError):
                for _ in stream.iter_lines():
                    if stop.is_set():
                        return

    admitted, stop = threading.Event(), threading.Event()
    reader = in_background(slow_read)
    assert admitted.wait(30), "the first heavy read was admitted"
    refused = http.get(f"/api/runs/{run_id}/gradcheck?samples=1")
    assert refused.status_code == 429, refused.text
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["reason"]
    bad = http.get(f"/api/runs/{run_id}/gradcheck?samples=1000")  # its own problem first, whatever runs
    assert bad.status_code == 422 and bad.json()["field"] == "samples", bad.text
    assert http.post(f"/api/runs/{run_id}/step", json={"steps": 2}).status_code == 200  # controls go on
    stop.set()
    reader.join(timeout=60)  # the stream ends at its next line; its lane is released
    wait_for(lambda: http.get(f"/api/runs/{run_id}/gradcheck?samples=1").status_code == 200, what="admission")


def test_a_heavy_read_whose_client_disconnects_stops_computing(heavy_server):
    server, http, run_id = heavy_server
    in_background(lambda: _give_up_after(server.url + f"/api/runs/{run_id}/{SLOW_LANDSCAPE}", 3.0))
    worker = wait_for(lambda: next(iter(compute_pids(server)), None), what="a compute process")
    wait_for(lambda: busy(worker) > 0.5, what="the compute process to be busy")
    wait_for(
        lambda: worker not in compute_pids(server), seconds=30, what="the abandoned read's process to stop"
    )
    # The next read computes at once (not behind the abandoned one) and the pool still works.
    assert http.get(f"/api/runs/{run_id}/landscape?resolution=3").status_code == 200


def test_a_step_call_whose_client_disconnects_stops_stepping(heavy_server):
    server, http, run_id = heavy_server
    http.patch(f"/api/runs/{run_id}", json={"batch_size": 1000})  # 10,000 steps take minutes, not seconds
    in_background(
        lambda: _give_up_after(server.url + f"/api/runs/{run_id}/step", 2.0, {"steps": 10_000}, server.auth)
    )
    wait_for(lambda: http.get(f"/api/runs/{run_id}").json()["step"] > 0, what="the steps to start")

    def settled() -> int | None:
        before = http.get(f"/api/runs/{run_id}").json()["step"]
        time.sleep(1.0)
        after = http.get(f"/api/runs/{run_id}").json()["step"]
        return after if after == before else None

    assert wait_for(settled, seconds=60, what="stepping to stop") < 10_000


def test_controls_answer_while_heavy_work_runs(heavy_server):
    server, http, run_id = heavy_server
    other = http.post("/api/runs", json={"seed": 1}).json()["id"]
    finished = threading.Event()

    def long_step():
        with (
            httpx.Client(base_url=server.url, timeout=120, headers=server.auth) as client,
            contextlib.suppress(httpx.HTTPError),
        ):
            client.post(f"/api/runs/{run_id}/step", json={"steps": 10_000})
        finished.set()

    in_background(long_step)
    in_background(lambda: _give_up_after(server.url + f"/api/runs/{run_id}/{SLOW_LANDSCAPE}", 60.0))
    wait_for(lambda: http.get(f"/api/runs/{run_id}").json()["step"] > 0, what="the long step to start")
    wait_for(lambda: compute_pids(server), what="the heavy read to start")
    for action in ("play", "pause", "reset"):
        assert http.post(f"/api/runs/{other}/{action}").status_code == 200
    assert http.patch(f"/api/runs/{other}", json={"optimizer": {"lr": 0.1}}).status_code == 200
    assert http.get(f"/api/runs/{other}").json()["config"]["optimizer"]["lr"] == 0.1
    assert not finished.is_set(), "the controls were answered while the long step was still running"
    assert compute_pids(server), "... and while the heavy read was still computing"


def _give_up_after(url: str, seconds: float, body: dict | None = None, headers: dict | None = None) -> None:
    """A client that sends a request and hangs up after ``seconds`` without waiting for the answer."""
    with contextlib.suppress(httpx.HTTPError):  # the timeout, or the server stopping at the test's end
        if body is None:
            httpx.get(url, timeout=seconds, headers=headers)
        else:
            httpx.post(url, json=body, timeout=seconds, headers=headers)
