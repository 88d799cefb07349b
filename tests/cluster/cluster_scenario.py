"""The cluster of docker-compose.cluster.yml, run outside containers, and what it must survive.

Run by tests/cluster/test_cluster_ray.py inside a fresh network, PID and mount namespace:

    unshare --net --pid --fork --mount-proc -- python tests/cluster/cluster_scenario.py \
        --database-url postgresql://... --out result.json

It starts the compose file's Ray head, trainer nodes and two web replicas with the compose file's own
commands (adapted to one machine: loopback addresses, free ports), then plays the story of issue 14 and
writes what it observed as JSON; the test asserts on it. Its own process is the namespace's first, so when
it exits every Ray process it started is ended by the kernel, whatever happened.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import shutil
import signal
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import cluster_stages
import httpx
import yaml
from cluster_clients import Watcher, new_identity, retry_until_ok, wait_health
from cluster_harness import (
    COMPOSE_FILE,
    RAY_READY,
    Process,
    Replica,
    children_of,
    free_port,
    kill_tree,
    loopback_up,
)

from backproplab.engine.config import RunConfig
from backproplab.engine.run import Run
from backproplab.server.live.protocol import shard_of
from backproplab.server.runs import encode
from backproplab.server.store.postgres import PostgresStore

CONFIG = {"seed": 11, "dataset": {"kind": "spiral", "classes": 3}, "optimizer": {"name": "adam", "lr": 0.01}}
RAY = str(Path(sys.executable).with_name("ray"))
HEAD = "ray-head:6379"


def reference_params(steps: int) -> dict[str, Any]:
    """The params of an uninterrupted run in this process after ``steps`` steps."""
    run = Run(RunConfig.model_validate(CONFIG))
    run.step(steps)
    params: dict[str, Any] = json.loads(json.dumps(encode.params(run)))
    return params


class Cluster:
    """The compose file's services as local processes (see the module docstring)."""

    def __init__(self, database_url: str, work: Path):
        self.compose = yaml.safe_load(COMPOSE_FILE.read_text())
        self.database_url = database_url
        self.work = work
        self.head_port = free_port()
        self.ray_dir = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's Unix sockets
        self.processes: list[Process] = []
        token = work / "ray-token"
        token.write_text(secrets.token_hex(32))
        self.env = {
            "RAY_AUTH_MODE": "token",
            "RAY_AUTH_TOKEN_PATH": str(token),
            # NOTE: a node waits this long for a lost head before it gives up (default 60 s); short here so
            # the head-loss stage does not wait a minute.
            "RAY_gcs_rpc_server_reconnect_timeout_s": "5",
            "TMPDIR": str(self.ray_dir),  # the replicas' Ray nodes too: removed with it
            # Two small runs' worth per identity, so the budget stage meets it (cluster_stages.budgets).
            "BACKPROPLAB_MEMORY_BUDGET_PER_IDENTITY_MB": "20",
        }

    def command(self, service: str) -> list[str]:
        """The service's compose command for this machine: loopback addresses and ports of our own."""
        words = shlex.split(self.compose["services"][service]["command"])
        address = f"127.0.0.1:{self.head_port}"
        words = [address if word == HEAD else word for word in words]
        if words[0] == "ray":
            if "--head" in words:
                words[words.index("--port") + 1] = str(self.head_port)
            return [RAY, *words[1:], "--node-ip-address", "127.0.0.1", "--temp-dir", str(self.ray_dir)]
        assert words[:2] == ["backproplab", "serve"], words
        words = words[2:]
        words[words.index("--host") + 1] = "127.0.0.1"
        del words[words.index("--port") : words.index("--port") + 2]  # Replica picks a free port
        return words

    def environment(self, service: str) -> dict[str, str]:
        environment = {
            str(k): str(v) for k, v in self.compose["services"][service].get("environment", {}).items()
        }
        environment.pop("RAY_AUTH_TOKEN", None)  # ours is in a file
        if "BACKPROPLAB_DATABASE_URL" in environment:
            environment["BACKPROPLAB_DATABASE_URL"] = self.database_url
        return {**environment, **self.env}

    def start_ray(self) -> None:
        for service in ("ray-head", "trainer-1", "trainer-2"):  # one at a time: nodes pick ports at start
            node = Process(service, self.command(service), self.work, self.environment(service)).start()
            self.processes.append(node)
            node.wait_for_log(RAY_READY, timeout=90)

    def replica(self, service: str) -> Replica:
        replica = Replica(service, self.command(service), self.work, self.environment(service))
        self.processes.append(replica)
        return replica.start(timeout=120)

    def ray_processes(self) -> list[Process]:
        return [process for process in self.processes if not isinstance(process, Replica)]

    def actor_pid(self, index: int) -> int:
        """The pid of trainer actor ``index``, asked of Ray by a short-lived driver."""
        script = (
            "import ray, sys; ray.init(address=sys.argv[1], namespace='backproplab', log_to_driver=False, "
            "logging_level='ERROR'); print(ray.get(ray.get_actor(sys.argv[2]).hello.remote())['pid'])"
        )
        driver = Process("driver", [sys.executable, "-c", script, f"127.0.0.1:{self.head_port}"], self.work)
        driver.command.append(f"backproplab-trainer-{index}")
        driver.env.update(self.env)
        driver.start()
        assert driver.popen is not None
        driver.popen.wait(timeout=60)
        return int(driver.tail().strip().splitlines()[-1])

    def actor_logs(self, characters: int = 3000) -> dict[str, str]:
        """The trainer actors' own log lines (Ray keeps each worker's stderr in its session's logs)."""
        logs = {}
        for path in sorted(self.ray_dir.glob("**/logs/worker-*.err")):
            lines = [
                line
                for line in path.read_text(errors="replace").splitlines(keepends=True)
                if "trainer-" in line
            ]
            if lines:
                logs[f"ray {path.name}"] = "".join(lines)[-characters:]
        return logs

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop(timeout=10)
        shutil.rmtree(self.ray_dir, ignore_errors=True)


def story(cluster: Cluster, result: dict[str, Any]) -> None:
    """Issue 14's faults, one after the other; observations go into ``result``."""
    started = time.monotonic()
    cluster.start_ray()
    a = cluster.replica("web-1")
    b = cluster.replica("web-2")
    result["startup_seconds"] = round(time.monotonic() - started, 1)
    # One identity, minted on A, acts on both replicas: identities live in the shared database too.
    token = httpx.post(f"{a.url}/api/identities", timeout=30).json()["token"]
    http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=60)

    # 1. A run created on A is stepped on B and watched on both.
    run_id = http.post(f"{a.url}/api/runs", json=CONFIG, timeout=60).json()["id"]
    result["stepped_on_b"] = http.post(
        f"{b.url}/api/runs/{run_id}/step", json={"steps": 37}, timeout=60
    ).json()["step"]
    store = PostgresStore(cluster.database_url)  # a REST step answers once its steps are saved
    saved = store.run_record(run_id)
    store.close()
    result["saved_step_when_step_answered"] = saved.summary["step"] if saved and saved.summary else None
    on_a, on_b = Watcher(a.ws_url, run_id), Watcher(b.ws_url, run_id, fallback=a.ws_url)
    result["states_at_37"] = [on_a.wait_for("state", 37), on_b.wait_for("state", 37)]
    http.post(f"{b.url}/api/runs/{run_id}/play", timeout=30)
    time.sleep(1.5)
    paused = http.post(f"{a.url}/api/runs/{run_id}/pause", timeout=30).json()["step"]
    result["paused_at"] = paused
    result["frames_seen_at_pause"] = [on_a.wait_for("frame", paused), on_b.wait_for("frame", paused)]
    result["frames_while_playing"] = [len(on_a.steps("frame")), len(on_b.steps("frame"))]
    reference = reference_params(paused)
    race = http.post(f"{a.url}/api/races", json={}, timeout=60)  # races live in the actors too
    result["race_created_on_a_read_on_b"] = [
        race.status_code,
        http.get(f"{b.url}/api/races/{race.json()['id']}", timeout=60).status_code,
    ]
    result["params_equal_before_kill"] = [
        http.get(f"{replica.url}/api/runs/{run_id}/params", timeout=30).json() == reference
        for replica in (a, b)
    ]
    # What runs share through the database: classes, custom rows by content hash, memory budgets.
    cluster_stages.classes(a, b, result)
    cluster_stages.shared_rows(a, b, cluster.database_url, result)
    cluster_stages.budgets(a, b, result)

    # 2. Its trainer actor is killed: Ray restarts it, the run comes back from its checkpoint.
    shard = shard_of(run_id, 2)
    pid = cluster.actor_pid(shard)
    killed_at = time.monotonic()
    kill_tree(pid)
    response, unavailable = retry_until_ok(http, "POST", f"{b.url}/api/runs/{run_id}/step", {"steps": 50})
    result["step_after_kill"] = response.json().get("step")
    result["unavailable_while_restarting"] = unavailable[:3]
    result["restart_seconds"] = round(time.monotonic() - killed_at, 1)
    result["new_actor_pid_differs"] = cluster.actor_pid(shard) != pid
    described = http.get(f"{a.url}/api/runs/{run_id}", timeout=30).json()
    result["message_after_restart"] = described["message"]
    result["params_equal_after_restart"] = [
        http.get(f"{replica.url}/api/runs/{run_id}/params", timeout=30).json()
        == reference_params(paused + 50)
        for replica in (a, b)
    ]
    # NOTE: a replica whose gateway hears of the new actor after B's step was done gets the restored run's
    # state at paused + 50, not at paused: either is a fresh state from the restored run.
    result["watchers_saw_restored_run"] = [
        watcher.wait_for("state", (paused, paused + 50), since=killed_at)
        or watcher.wait_for("frame", paused + 50, since=killed_at, timeout=1)
        for watcher in (on_a, on_b)
    ]
    result["watchers_reached_step_after_restart"] = [
        watcher.wait_for("frame", paused + 50, since=killed_at)
        or watcher.wait_for("state", paused + 50, since=killed_at)
        for watcher in (on_a, on_b)
    ]
    if not all(
        result["watchers_reached_step_after_restart"]
    ):  # for the failure's report: what came, and logs
        result["watch_trace_after_kill"] = [watcher.trace(since=killed_at) for watcher in (on_a, on_b)]
        result["logs_after_kill"] = {
            **{process.name: process.tail(4000, requests=False) for process in cluster.processes},
            **cluster.actor_logs(),
        }

    # 2b. The other actor's worker process dies on its own: the actor ends with it and Ray restarts both.
    worker_killed(cluster, a, b, 1 - shard, result)

    # 3. Replica B is killed: its watcher reconnects to A and has everything.
    killed_at = time.monotonic()
    b.kill()
    result["b_watcher_cut_off"] = on_b.wait_for("state", paused + 50, since=killed_at, url=a.ws_url)
    result["b_watcher_reconnected_to_a"] = on_b.closed_at is not None and bool(
        on_b.steps("state", killed_at, a.ws_url)
    )
    result["listed_on_a_after_b_died"] = run_id in [
        run["id"] for run in http.get(f"{a.url}/api/runs", timeout=30).json()
    ]

    # 4. The Ray head is lost: A keeps serving reads from PostgreSQL and says training is unavailable.
    lost_at = time.monotonic()
    cluster.ray_processes()[0].kill()
    degraded = wait_health(a.url, "degraded", timeout=90)
    result["degraded_after_seconds"] = round(time.monotonic() - lost_at, 1) if degraded else None
    result["health_problems"] = degraded["problems"][:2] if degraded else None
    result["health_reason"] = degraded["reason"] if degraded else None
    read = http.get(f"{a.url}/api/runs/{run_id}", timeout=30)
    result["read_while_head_lost"] = [read.status_code, read.json().get("step"), read.json().get("message")]
    params = http.get(f"{a.url}/api/runs/{run_id}/params", timeout=30)
    result["params_while_head_lost"] = [params.status_code, params.json() == reference_params(paused + 50)]
    step = http.post(f"{a.url}/api/runs/{run_id}/step", json={"steps": 1}, timeout=30)
    result["step_while_head_lost"] = [step.status_code, step.json().get("reason")]
    listed = http.get(f"{a.url}/api/runs", timeout=30)
    result["list_while_head_lost"] = [listed.status_code, [run["id"] for run in listed.json()] == [run_id]]
    late = Watcher(a.ws_url, run_id)
    result["watch_while_head_lost"] = late.wait_for("state", paused + 50)
    late.stop()

    # 5. The cluster comes back (as `restart: unless-stopped` brings the containers back): training resumes.
    back_at = time.monotonic()
    for process in cluster.ray_processes():
        process.stop(timeout=5)
    cluster.processes = [process for process in cluster.processes if isinstance(process, Replica)]
    cluster.start_ray()
    recovered = wait_health(a.url, "ok", timeout=120)
    result["recovered_after_seconds"] = round(time.monotonic() - back_at, 1) if recovered else None
    response, _ = retry_until_ok(http, "POST", f"{a.url}/api/runs/{run_id}/step", {"steps": 10})
    result["step_after_recovery"] = response.json().get("step")
    result["params_equal_after_recovery"] = http.get(
        f"{a.url}/api/runs/{run_id}/params", timeout=30
    ).json() == reference_params(paused + 60)
    for watcher in (on_a, on_b):
        watcher.stop()

    # 6. PostgreSQL stops taking writes: the actors' checkpoints fail and both replicas (B started again)
    # say so.
    b = cluster.replica("web-2")
    cluster_stages.database_refuses_writes(a, b, cluster.database_url, result)


def worker_killed(cluster: Cluster, a: Replica, b: Replica, shard: int, result: dict[str, Any]) -> None:
    """Trainer actor ``shard`` trains in a worker process of its own (live/ray_actor.py). That process is
    killed, not the actor: the actor must end too, for Ray to restart both, and a run of that shard must
    continue from its checkpoint, bit for bit."""
    http = new_identity(a.url)  # an identity of its own: the story's identity has spent its memory budget
    run_id = None
    for _ in range(16):  # a run on that shard (each identity's budget holds two: delete the misses)
        made = http.post(f"{a.url}/api/runs", json=CONFIG, timeout=60).json()["id"]
        if shard_of(made, 2) == shard:
            run_id = made
            break
        http.delete(f"{a.url}/api/runs/{made}", timeout=60)
    assert run_id is not None, "no run landed on the shard"
    http.post(f"{a.url}/api/runs/{run_id}/step", json={"steps": 20}, timeout=60)
    actor = cluster.actor_pid(shard)
    workers = [
        pid for pid in children_of(actor) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]
    result["actor_has_one_worker"] = len(workers) == 1
    os.kill(workers[0], signal.SIGKILL)
    response, _ = retry_until_ok(http, "POST", f"{b.url}/api/runs/{run_id}/step", {"steps": 20})
    result["worker_killed"] = {
        "step_after": response.json().get("step"),
        "actor_restarted": cluster.actor_pid(shard) != actor,
        "params_equal": http.get(f"{b.url}/api/runs/{run_id}/params", timeout=30).json()
        == reference_params(40),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    loopback_up()
    work = Path(args.out).parent
    result: dict[str, Any] = {}
    cluster = Cluster(args.database_url, work)
    started = time.monotonic()
    try:
        story(cluster, result)
    except Exception:
        result["error"] = traceback.format_exc()
        result["logs"] = {process.name: process.tail(4000) for process in cluster.processes}
    finally:
        cluster.stop()
        result["seconds"] = round(time.monotonic() - started, 1)
        Path(args.out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
