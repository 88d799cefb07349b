"""Two servers on one data dir: the second refuses to start, says why, and exits non-zero; the first keeps
its runs; after the first is killed the dir is free again."""

from __future__ import annotations

import subprocess
import sys

import httpx

from conftest import free_port


def second_server(data_dir) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "backproplab", "serve", "--port", str(free_port())]
    return subprocess.run([*command, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=60)


def test_second_server_on_a_data_dir_exits_with_a_clear_message(make_server, tmp_path):
    first = make_server()
    run_id = httpx.post(first.url + "/api/runs", json={}, headers=first.auth).json()["id"]
    httpx.post(f"{first.url}/api/runs/{run_id}/step", json={"steps": 30}, headers=first.auth)

    second = second_server(tmp_path)

    assert second.returncode != 0
    message = second.stderr.strip().splitlines()[-1]
    assert "another Backprop Lab server" in message and str(tmp_path) in message
    assert f"pid {first.process.pid}" in message and "--data-dir" in message
    assert httpx.get(f"{first.url}/api/runs/{run_id}").json()["step"] == 30
    stepped = httpx.post(f"{first.url}/api/runs/{run_id}/step", json={"steps": 5}, headers=first.auth)
    assert stepped.json()["step"] == 35


def test_a_killed_server_leaves_the_data_dir_free(make_server, tmp_path):
    first = make_server()
    run_id = httpx.post(first.url + "/api/runs", json={}, headers=first.auth).json()["id"]
    httpx.post(f"{first.url}/api/runs/{run_id}/step", json={"steps": 12}, headers=first.auth)
    first.kill()

    again = make_server(tmp_path)
    assert httpx.get(f"{again.url}/api/runs/{run_id}").json()["step"] == 12
