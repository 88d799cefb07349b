"""Many runs training at once: every run advances, the server keeps answering, and shares are fair.

Speed itself is measured in bench/bench_live.py; these tests assert behaviour only.
"""

from __future__ import annotations

import statistics
import time

import httpx


def test_twenty_playing_runs_all_advance_while_the_server_answers(server):
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth) as http:
        run_ids = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(20)]
        for run_id in run_ids:
            http.post(f"/api/runs/{run_id}/play")
        time.sleep(0.5)
        start_steps = {run_id: http.get(f"/api/runs/{run_id}").json()["step"] for run_id in run_ids}
        answered = 0
        started = time.monotonic()
        while time.monotonic() - started < 2.0:
            assert http.get("/api/health").status_code == 200
            answered += 1
        paused = http.post(f"/api/runs/{run_ids[0]}/pause").json()
        progress = [
            http.get(f"/api/runs/{run_id}").json()["step"] - start_steps[run_id] for run_id in run_ids[1:]
        ]
        for run_id in run_ids:
            http.delete(f"/api/runs/{run_id}")
    assert answered > 1 and paused["status"] == "paused"
    assert min(progress) > 0, progress  # every run trained
    # Fair shares: runs on the same trainer take turns, so none falls far behind the others.
    assert min(progress) > 0.25 * statistics.median(progress), progress
