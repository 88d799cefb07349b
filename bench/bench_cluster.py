"""Cluster benchmark (issue 14): trainers on Ray against local worker processes, 60 watched runs.

    python bench/bench_cluster.py [--quick] [--seconds 15] [--rounds 3]

For 1 and 2 trainers, a fresh server trains 60 playing runs, each watched by one WebSocket client at
30 fps, and we count total steps/s (from the runs' step counters) and frames/s per client: once with
``--trainers N`` (local worker processes) and once with ``--trainers ray --ray-trainers N`` (trainer actors
on a private Ray on this machine, through the replica's gateway process), both on the same PostgreSQL.
Configurations alternate within each round, and each ratio compares figures of the same round (the same
minutes of a shared machine); the median ratio over the rounds counts. Printed as a markdown table; exits
non-zero if Ray trains below ``TARGET`` × the local workers at equal count (issue 14: overhead at most
15%).

Ray needs a loopback-only namespace here (tests/cluster/cluster_harness.py says why): the script enters
one itself (``unshare``), so run it as root or where unprivileged namespaces are allowed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from cluster_harness import Postgres, Replica, in_namespace, loopback_up  # noqa: E402

RUNS = 60
FPS = 30
TARGET = 0.85
INSIDE = "BACKPROPLAB_BENCH_INSIDE_NAMESPACE"
FRAME_PREFIX = b'{"type":"frame"'


async def watch(url: str, run_id: str, seconds: float, frames: list[int]) -> None:
    """One client at FPS: count the frames it gets in ``seconds``."""
    address = url.replace("http", "ws") + f"/ws/runs/{run_id}"
    async with connect(address, proxy=None, max_size=None, compression=None) as socket:
        await socket.send(json.dumps({"type": "fps", "fps": FPS}))
        count = 0
        # NOTE: the clients stand in for students' laptops but share the server's cores here, so they cost
        # as little as they can: frames undecoded, one timeout for the whole window (not a task per recv).
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                while True:
                    count += (await socket.recv(decode=False)).startswith(FRAME_PREFIX)
        frames.append(count)


def total_steps(url: str, auth: dict[str, str]) -> int:
    return sum(run["step"] for run in httpx.get(url + "/api/runs", headers=auth, timeout=60).json())


def measure(replica: Replica, warmup: float, seconds: float) -> dict[str, float]:
    """Total steps/s and mean frames/s per client of RUNS watched, playing runs."""
    url = replica.url
    token = httpx.post(url + "/api/identities", timeout=60).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    ids = [
        httpx.post(url + "/api/runs", json={"seed": index}, headers=auth, timeout=60).json()["id"]
        for index in range(RUNS)
    ]
    for run_id in ids:
        httpx.post(f"{url}/api/runs/{run_id}/play", headers=auth, timeout=60)
    frames: list[int] = []
    result: dict[str, float] = {}

    async def clients() -> None:
        watching = [asyncio.create_task(watch(url, run_id, warmup + seconds, frames)) for run_id in ids]
        await asyncio.sleep(warmup)
        first, started = await asyncio.to_thread(total_steps, url, auth), time.monotonic()
        await asyncio.sleep(seconds)
        last, ended = await asyncio.to_thread(total_steps, url, auth), time.monotonic()
        result["steps_per_second"] = (last - first) / (ended - started)
        await asyncio.gather(*watching)

    asyncio.run(clients())
    result["frames_per_client"] = sum(frames) / len(frames) / (warmup + seconds)
    return result


def one(
    kind: str, trainers: int, database: Postgres, work: Path, warmup: float, seconds: float
) -> dict[str, float]:
    url = database.create_database(f"bench_{secrets.token_hex(4)}")
    args = ["--database-url", url, "--data-dir", str(work)]
    args += (
        ["--trainers", str(trainers)]
        if kind == "local"
        else ["--trainers", "ray", "--ray-trainers", str(trainers)]
    )
    env = {"BACKPROPLAB_MAX_RUNS_PER_IDENTITY": str(RUNS)}  # the benchmark's one identity owns every run
    replica = Replica(f"{kind}-{trainers}", args, work, env).start(timeout=120)
    try:
        return measure(replica, warmup, seconds)
    finally:
        replica.stop(timeout=30)


def inside(args: argparse.Namespace) -> None:
    loopback_up()
    work = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's Unix sockets live under it
    token = work / "ray-token"
    token.write_text(secrets.token_hex(32))
    os.environ.update({"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token), "TMPDIR": str(work)})
    database = Postgres().start()
    rounds: list[dict[str, dict[str, float]]] = []
    try:
        for round_ in range(args.rounds):
            figures: dict[str, dict[str, float]] = {}
            for trainers in (1, 2):
                for kind in ("local", "ray") if round_ % 2 == 0 else ("ray", "local"):
                    figures[f"{kind}-{trainers}"] = one(
                        kind, trainers, database, work, args.warmup, args.seconds
                    )
                    print(
                        f"round {round_ + 1} {kind} x{trainers}: {figures[f'{kind}-{trainers}']}",
                        file=sys.stderr,
                    )
            rounds.append(figures)
    finally:
        database.stop()
        shutil.rmtree(work, ignore_errors=True)
    Path(args.out).write_text(json.dumps(rounds))


def report(rounds: list[dict[str, dict[str, float]]]) -> bool:
    """Ratios within each round (the same minutes), their median across rounds, against the target."""
    print(
        f"{RUNS} playing runs, each watched by one WebSocket client at {FPS} fps; one machine, PostgreSQL store\n"
    )
    print(
        "| round | trainers | local steps/s | Ray steps/s | Ray / local | frames/s per client (local / Ray) |"
    )
    print("|---|---|---|---|---|---|")
    ratios: dict[int, list[float]] = {1: [], 2: []}
    for number, figures in enumerate(rounds, 1):
        for count in (1, 2):
            local, ray = figures[f"local-{count}"], figures[f"ray-{count}"]
            ratios[count].append(ray["steps_per_second"] / local["steps_per_second"])
            print(
                f"| {number} | {count} | {local['steps_per_second']:,.0f} | {ray['steps_per_second']:,.0f} "
                f"| {ratios[count][-1]:.2f} | {local['frames_per_client']:.1f} / {ray['frames_per_client']:.1f} |"
            )
    passed = True
    for count in (1, 2):
        median = statistics.median(ratios[count])
        passed &= median >= TARGET
        print(f"\n{count} trainer(s): Ray / local, median of {len(rounds)} round(s): {median:.2f}")
    print(f"target: Ray / local >= {TARGET:.2f} at equal count: {'met' if passed else 'MISSED'}")
    return passed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one round of 8 s windows")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.seconds, args.warmup, args.rounds = 8.0, 3.0, 1
    if os.environ.get(INSIDE):
        inside(args)
        return
    with tempfile.TemporaryDirectory() as directory:
        out = Path(directory) / "results.json"
        command = [sys.executable, __file__, "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
        command += ["--rounds", str(args.rounds), "--out", str(out)]
        completed = subprocess.run(in_namespace(command), env={**os.environ, INSIDE: "1"}, cwd=ROOT)
        if completed.returncode != 0 or not out.exists():
            sys.exit(f"the benchmark failed (exit {completed.returncode})")
        passed = report(json.loads(out.read_text()))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
