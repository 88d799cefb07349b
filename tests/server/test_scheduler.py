"""The run manager: twenty runs train flat out while the server answers promptly and shares the CPU fairly."""

from __future__ import annotations

import statistics
import time

import httpx


def test_health_is_prompt_while_twenty_runs_train(server):
    with httpx.Client(base_url=server.url) as http:
        run_ids = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(20)]
        for run_id in run_ids:
            http.post(f"/api/runs/{run_id}/play")
        time.sleep(0.5)
        start_steps = {run_id: http.get(f"/api/runs/{run_id}").json()["step"] for run_id in run_ids}
        latencies = []
        started = time.monotonic()
        while time.monotonic() - started < 3.0:
            tick = time.perf_counter()
            assert http.get("/api/health").status_code == 200
            latencies.append(time.perf_counter() - tick)
            time.sleep(0.02)
        control = time.perf_counter()
        http.post(f"/api/runs/{run_ids[0]}/pause")
        control = time.perf_counter() - control
        progress = [
            http.get(f"/api/runs/{run_id}").json()["step"] - start_steps[run_id] for run_id in run_ids[1:]
        ]
        for run_id in run_ids:
            http.delete(f"/api/runs/{run_id}")
    latencies.sort()
    assert latencies[len(latencies) // 2] < 0.02, latencies
    assert latencies[int(len(latencies) * 0.99)] < 0.1, latencies
    assert control < 0.1
    assert min(progress) > 0.5 * statistics.median(progress), progress  # fair shares


def test_a_lone_run_trains_at_engine_speed(server):
    from backproplab.engine.run import Run

    engine = Run()
    tick = time.perf_counter()
    engine.step(3000)
    engine_rate = 3000 / (time.perf_counter() - tick)
    with httpx.Client(base_url=server.url) as http:
        run_id = http.post("/api/runs", json={}).json()["id"]
        http.post(f"/api/runs/{run_id}/play")
        time.sleep(0.3)
        first = http.get(f"/api/runs/{run_id}").json()["step"]
        tick = time.perf_counter()
        time.sleep(1.5)
        last = http.post(f"/api/runs/{run_id}/pause").json()["step"]
        server_rate = (last - first) / (time.perf_counter() - tick)
        http.delete(f"/api/runs/{run_id}")
    assert server_rate > 0.7 * engine_rate, (server_rate, engine_rate)
