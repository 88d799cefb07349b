"""A full disk (a small tmpfs, filled by the test): changes the store cannot take answer 507 with a message
and nothing else (never a 500), reads keep working, /api/health says degraded and why, checkpoints resume
by themselves once space returns, and after kill -9 every answer holds: runs answered 201 exist, runs
refused do not, a DELETE answered 204 is never undone. Skipped where a tmpfs cannot be mounted."""

from __future__ import annotations

import time

import httpx
import pytest
from storage_disks import Tmpfs, wait_for_health

CONFIG = {"seed": 5, "dataset": {"kind": "circle"}, "optimizer": {"name": "adam", "lr": 0.01}}
# A run with enough custom data that storing it needs space a full disk does not have.
BIG = {
    "dataset": {
        "kind": "custom",
        "X": [[(row * 7 + col) % 97 / 97 for col in range(40)] for row in range(2_000)],
        "y": [row % 2 for row in range(2_000)],
    },
    "model": {"hidden": [4]},
}


@pytest.fixture
def disk(tmp_path):
    tmpfs = Tmpfs(tmp_path / "disk", "96m")
    yield tmpfs
    tmpfs.close()


def ok_or_507(response: httpx.Response, what: str) -> bool:
    """True for success; for a 507 check its message; anything else fails the test."""
    if response.status_code < 300:
        return True
    assert response.status_code == 507, f"{what}: {response.status_code} {response.text}"
    assert "full" in response.json()["detail"], response.text
    return False


def test_full_disk_refuses_changes_keeps_reads_and_recovers(make_server, disk, tmp_path):
    def start():
        env = {"BACKPROPLAB_CHECKPOINT_INTERVAL": "0.3"}
        return make_server(disk.mount_point, env=env, prefix=disk.prefix, log=tmp_path / "server.log")

    server = start()
    url, auth = server.url, server.auth  # the identity is stored: the restarted server knows it
    http = httpx.Client(headers=auth, timeout=60)
    ids = [http.post(url + "/api/runs", json=CONFIG).json()["id"] for _ in range(4)]
    for run_id in ids:
        http.post(f"{url}/api/runs/{run_id}/step", json={"steps": 20})
    playing, patched, deleted, kept = ids
    http.post(f"{url}/api/runs/{playing}/play")
    params = http.get(f"{url}/api/runs/{kept}/params").json()

    disk.fill()
    created, refused = [], 0
    for _ in range(60):  # the store runs out of room within a few writes
        response = http.post(url + "/api/runs", json=BIG)
        if ok_or_507(response, "create"):
            created.append(response.json()["id"])
        else:
            refused += 1
            if refused == 3:
                break
    assert refused, "creating runs on a full disk must fail with 507 at some point"
    health = wait_for_health(url, "degraded", timeout=15)
    assert health is not None and "full" in health["reason"], health

    # Reads keep working.
    assert {run["id"] for run in http.get(url + "/api/runs").json()} >= set(ids)
    assert http.get(f"{url}/api/runs/{kept}/params").json() == params
    assert http.get(f"{url}/api/runs/{playing}/history").status_code == 200
    # Changes answer success (then they are durable) or 507 with a message, never 500.
    lr_saved = ok_or_507(http.patch(f"{url}/api/runs/{patched}", json={"optimizer": {"lr": 0.05}}), "patch")
    stepped = ok_or_507(http.post(f"{url}/api/runs/{patched}/step", json={"steps": 7}), "step")
    ok_or_507(http.post(f"{url}/api/runs/{playing}/pause"), "pause")
    ok_or_507(http.post(f"{url}/api/runs/{playing}/play"), "play")
    was_deleted = ok_or_507(http.delete(f"{url}/api/runs/{deleted}"), "delete")
    assert (http.get(f"{url}/api/runs/{deleted}").status_code == 404) == was_deleted

    disk.free()
    assert wait_for_health(url, "ok", timeout=60) is not None, "checkpoints must resume when space returns"
    http.post(f"{url}/api/runs/{playing}/play")
    step_after_recovery = http.get(f"{url}/api/runs/{playing}").json()["step"]
    time.sleep(1.5)  # a few checkpoint intervals of the playing run
    patched_run = http.get(f"{url}/api/runs/{patched}").json()
    server.kill()

    again = start()
    url = again.url
    listed = {run["id"] for run in http.get(url + "/api/runs").json()}
    assert set(created) <= listed
    assert listed == set(created) | set(ids) - ({deleted} if was_deleted else set())
    assert http.get(f"{url}/api/runs/{playing}").json()["step"] >= step_after_recovery
    restored = http.get(f"{url}/api/runs/{patched}").json()
    assert restored["step"] == patched_run["step"] == (27 if stepped else restored["step"])
    assert restored["config"]["optimizer"]["lr"] == patched_run["config"]["optimizer"]["lr"]
    if lr_saved:
        assert restored["config"]["optimizer"]["lr"] == 0.05
    assert http.get(f"{url}/api/runs/{kept}/params").json() == params
    http.close()
    log = (tmp_path / "server.log").read_text()
    assert "Traceback" not in log and " 500 " not in log
