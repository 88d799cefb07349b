"""A read-only data dir: the server starts, serves every run it holds, answers changes with 507 saying
why (nothing changes), and /api/health says degraded with the reason. Runs wherever the tests run (as
root the server runs as an unprivileged user, since root writes regardless of mode)."""

from __future__ import annotations

import httpx
import pytest
from storage_disks import ReadOnlyDir, wait_for_health

CONFIG = {"seed": 3, "dataset": {"kind": "xor"}, "optimizer": {"name": "adam", "lr": 0.01}}


@pytest.fixture
def read_only_dir(tmp_path):
    directory = ReadOnlyDir(tmp_path / "data")
    yield directory
    directory.thaw()


def assert_507(response: httpx.Response, path: str) -> None:
    assert response.status_code == 507, f"{path}: {response.status_code} {response.text}"
    body = response.json()
    assert "read-only" in body["detail"] and "not made" in body["detail"], body


def test_read_only_data_dir_serves_reads_and_refuses_changes(make_server, read_only_dir, tmp_path):
    writable = make_server(read_only_dir.path, log=tmp_path / "first.log")
    auth = writable.auth  # the identity is stored: the read-only server knows it
    stepped = httpx.post(writable.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
    httpx.post(f"{writable.url}/api/runs/{stepped}/step", json={"steps": 25}, headers=auth)
    other = httpx.post(writable.url + "/api/runs", json=CONFIG, headers=auth).json()["id"]
    params = httpx.get(f"{writable.url}/api/runs/{stepped}/params").json()
    writable.stop()
    read_only_dir.freeze()

    server = make_server(read_only_dir.path, prefix=read_only_dir.prefix, log=tmp_path / "second.log")
    url = server.url

    health = httpx.get(url + "/api/health").json()
    assert health["status"] == "degraded" and "read-only" in health["reason"], health
    listed = {run["id"]: run for run in httpx.get(url + "/api/runs", headers=auth).json()}
    assert set(listed) == {stepped, other} and listed[stepped]["step"] == 25
    assert httpx.get(f"{url}/api/runs/{stepped}").json()["step"] == 25
    assert httpx.get(f"{url}/api/runs/{stepped}/params").json() == params
    assert httpx.get(f"{url}/api/runs/{stepped}/history").status_code == 200

    assert_507(httpx.post(url + "/api/runs", json=CONFIG, headers=auth), "create")
    assert_507(httpx.post(url + "/api/runs", json=CONFIG), "create with a new identity")
    assert_507(httpx.post(f"{url}/api/runs/{stepped}/fork", headers=auth), "fork")
    patch = {"optimizer": {"lr": 0.5}}
    assert_507(httpx.patch(f"{url}/api/runs/{stepped}", json=patch, headers=auth), "patch")
    assert_507(httpx.post(f"{url}/api/runs/{stepped}/play", headers=auth), "play")
    assert_507(httpx.post(f"{url}/api/runs/{stepped}/step", json={"steps": 5}, headers=auth), "step")
    assert_507(httpx.post(f"{url}/api/runs/{stepped}/reset", headers=auth), "reset")
    assert_507(httpx.delete(f"{url}/api/runs/{other}", headers=auth), "delete")

    after = httpx.get(f"{url}/api/runs/{stepped}").json()
    assert after["status"] == "paused" and after["step"] == 25
    assert after["config"]["optimizer"]["lr"] == 0.01
    assert {run["id"] for run in httpx.get(url + "/api/runs", headers=auth).json()} == {stepped, other}

    read_only_dir.thaw()  # writable again: the server notices by itself
    assert wait_for_health(url, "ok", timeout=40)
    assert httpx.post(f"{url}/api/runs/{stepped}/step", json={"steps": 5}, headers=auth).json()["step"] == 30
    assert httpx.post(url + "/api/runs", json=CONFIG, headers=auth).status_code == 201
    assert httpx.delete(f"{url}/api/runs/{other}", headers=auth).status_code == 204
    assert "Traceback" not in (tmp_path / "second.log").read_text()
