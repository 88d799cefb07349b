"""Server benchmarks (issue 3), printed as a markdown table. Not a timed test: run it by hand.

    python bench/bench_server.py [--quick]

1. steps/s of one run while one client streams at 30 fps, as a ratio to the same run with no client;
2. latency from a ``set`` of the learning rate to the first frame carrying it (20 runs, 20 clients);
3. frames per second each of 100 clients gets while watching 20 training runs;
4. server memory (RSS) with 200 idle runs.

Each scenario starts a fresh ``python -m backproplab`` on a free port with a temporary data directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from websockets.asyncio.client import connect


@contextmanager
def server_process():
    """A server in a subprocess; yields (base url, pid)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory() as data_dir:
        command = [sys.executable, "-m", "backproplab", "--port", str(port), "--data-dir", data_dir]
        log = open(Path(data_dir) / "server.log", "wb")  # noqa: SIM115 (closed below)
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(200):
                try:
                    if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.05)
            yield url, process.pid
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
            log.close()


def ws(url: str, run_id: str):
    return connect(
        url.replace("http", "ws") + f"/ws/runs/{run_id}", proxy=None, max_size=None, compression=None
    )


def create_runs(url: str, count: int, play: bool) -> list[str]:
    with httpx.Client(base_url=url, timeout=30) as http:
        ids = [http.post("/api/runs", json={"seed": seed}).json()["id"] for seed in range(count)]
        if play:
            for run_id in ids:
                http.post(f"/api/runs/{run_id}/play")
    return ids


def steps_per_second(url: str, run_id: str, seconds: float) -> float:
    with httpx.Client(base_url=url) as http:
        first = http.get(f"/api/runs/{run_id}").json()["step"]
        start = time.perf_counter()
        time.sleep(seconds)
        last = http.get(f"/api/runs/{run_id}").json()["step"]
    return (last - first) / (time.perf_counter() - start)


def bench_stream_overhead(seconds: float, rounds: int = 3) -> dict[str, float]:
    """Alternate windows without and with a 30 fps client (medians), so drifting machine load cancels out."""
    with server_process() as (url, _):
        (run_id,) = create_runs(url, 1, play=True)
        time.sleep(0.5)

        async def watched_window() -> tuple[float, float]:
            async with ws(url, run_id) as client:
                await client.recv()  # state
                rate = asyncio.create_task(asyncio.to_thread(steps_per_second, url, run_id, seconds))
                frames = 0
                while not rate.done():
                    try:
                        message = json.loads(await asyncio.wait_for(client.recv(), 0.5))
                    except TimeoutError:
                        continue
                    frames += message["type"] == "frame"
                return await rate, frames / seconds

        alone, watched, fps = [], [], []
        for _ in range(rounds):
            alone.append(steps_per_second(url, run_id, seconds))
            steps, rate = asyncio.run(watched_window())
            watched.append(steps)
            fps.append(rate)
    alone_rate, watched_rate = statistics.median(alone), statistics.median(watched)
    return {
        "alone": alone_rate,
        "watched": watched_rate,
        "ratio": watched_rate / alone_rate,
        "fps": statistics.median(fps),
    }


def bench_set_latency(rounds: int) -> dict[str, float]:
    with server_process() as (url, _):
        ids = create_runs(url, 20, play=True)

        async def one_client(run_id: str, index: int) -> list[float]:
            latencies = []
            async with ws(url, run_id) as client:
                while json.loads(await client.recv())["type"] != "state":
                    pass
                for round_index in range(rounds):
                    lr = round(0.01 + 0.001 * index + 0.00001 * round_index, 6)
                    sent = time.perf_counter()
                    await client.send(json.dumps({"type": "set", "config": {"optimizer": {"lr": lr}}}))
                    while True:
                        message = json.loads(await client.recv())
                        if message["type"] == "frame" and message["lr"] == lr:
                            latencies.append(time.perf_counter() - sent)
                            break
                    await asyncio.sleep(0.1)
            return latencies

        async def all_clients() -> list[float]:
            results = await asyncio.gather(*(one_client(run_id, i) for i, run_id in enumerate(ids)))
            return [value for values in results for value in values]

        latencies = sorted(asyncio.run(all_clients()))
    return {
        "p50_ms": 1000 * latencies[len(latencies) // 2],
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "samples": len(latencies),
    }


def bench_many_clients(clients: int, runs: int, seconds: float) -> dict[str, float]:
    with server_process() as (url, _):
        ids = create_runs(url, runs, play=True)

        async def one_client(run_id: str) -> tuple[int, int]:
            frames = errors = 0
            async with ws(url, run_id) as client:
                await client.recv()  # state
                deadline = time.monotonic() + seconds
                while (left := deadline - time.monotonic()) > 0:
                    try:
                        message = json.loads(await asyncio.wait_for(client.recv(), left))
                    except TimeoutError:
                        break
                    frames += message["type"] == "frame"
                    errors += message["type"] == "error"
            return frames, errors

        async def all_clients() -> list[tuple[int, int]]:
            return await asyncio.gather(*(one_client(ids[i % len(ids)]) for i in range(clients)))

        results = asyncio.run(all_clients())
        total_steps = sum(steps_per_second(url, run_id, 1.0) for run_id in ids[:3]) / 3
    rates = sorted(frames / seconds for frames, _ in results)
    return {
        "min_fps": rates[0],
        "median_fps": statistics.median(rates),
        "errors": sum(errors for _, errors in results),
        "steps_per_run": total_steps,
    }


def bench_idle_memory(runs: int) -> dict[str, float]:
    with server_process() as (url, pid):
        before = _rss_mb(pid)
        create_runs(url, runs, play=False)
        time.sleep(0.5)
        after = _rss_mb(pid)
    return {"empty_mb": before, "loaded_mb": after, "per_run_mb": (after - before) / runs}


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs")
    args = parser.parse_args()
    seconds = 3.0 if args.quick else 6.0
    overhead = bench_stream_overhead(seconds / 2)
    latency = bench_set_latency(5 if args.quick else 15)
    many = bench_many_clients(100, 20, seconds)
    memory = bench_idle_memory(200)
    load = os.getloadavg()[0]
    print(
        f"Server benchmarks on {os.cpu_count()} CPUs, load average {load:.1f} (python {sys.version.split()[0]})\n"
    )
    print("| benchmark | result | target |")
    print("| --- | --- | --- |")
    print(
        f"| 1 run, 30 fps client vs none: steps/s | {overhead['watched']:,.0f} vs {overhead['alone']:,.0f} "
        f"(ratio {overhead['ratio']:.2f}, {overhead['fps']:.1f} fps) | ratio >= 0.8 |"
    )
    print(
        f"| set lr -> first frame with it, 20 runs x 20 clients | p50 {latency['p50_ms']:.1f} ms, "
        f"p99 {latency['p99_ms']:.1f} ms ({latency['samples']} sets) | p50 <= 20 ms, p99 <= 100 ms |"
    )
    print(
        f"| 100 clients x 20 runs: fps per client | min {many['min_fps']:.1f}, median {many['median_fps']:.1f}, "
        f"{many['errors']} errors; {many['steps_per_run']:,.0f} steps/s per run | >= 20 fps, no errors |"
    )
    print(
        f"| memory, 200 idle runs | {memory['loaded_mb']:.0f} MB RSS ({memory['empty_mb']:.0f} MB empty, "
        f"{memory['per_run_mb']:.2f} MB per run) | report |"
    )


if __name__ == "__main__":
    main()
