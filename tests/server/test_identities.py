"""Identities are bearer tokens: minted on request, stored hashed, presented in a header (never a URL),
never logged; POST /api/runs without one mints one and returns it once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3

import httpx
from websockets.asyncio.client import connect

from backproplab.server.store.sqlite import DB_NAME

NOBODY = {"Authorization": ""}


def test_post_identities_gives_a_new_token(client):
    first = client.post("/api/identities", headers=NOBODY)
    second = client.post("/api/identities", headers=NOBODY)
    assert first.status_code == 201 and set(first.json()) == {"token"}
    token = first.json()["token"]
    assert token.startswith("bpl_") and len(token) >= 40
    assert token != second.json()["token"]


def test_tokens_are_stored_as_their_sha256_only(client, tmp_path):
    token = client.post("/api/identities", headers=NOBODY).json()["token"]
    minted = client.post("/api/runs", json={}, headers=NOBODY).json()["token"]
    database = sqlite3.connect(tmp_path / DB_NAME)
    hashes = {row[0] for row in database.execute("SELECT token_hash FROM identities")}
    database.close()
    for secret in (token, minted):
        assert hashlib.sha256(secret.encode()).hexdigest() in hashes
        for path in tmp_path.glob(f"{DB_NAME}*"):
            assert secret.encode() not in path.read_bytes()


def test_a_run_created_without_a_token_comes_with_its_owners_token_once(client):
    response = client.post("/api/runs", json={}, headers=NOBODY)
    assert response.status_code == 201
    run = response.json()
    token = run["token"]
    assert token.startswith("bpl_")
    assert "token" not in client.get(f"/api/runs/{run['id']}").json()
    owner = {"Authorization": f"Bearer {token}"}
    assert client.post(f"/api/runs/{run['id']}/step", json={"steps": 3}, headers=owner).json()["step"] == 3
    assert [item["id"] for item in client.get("/api/runs", headers=owner).json()] == [run["id"]]


def test_a_run_created_with_a_token_belongs_to_it_and_carries_no_token(client):
    run = client.post("/api/runs", json={}).json()
    assert "token" not in run
    assert [item["id"] for item in client.get("/api/runs").json()] == [run["id"]]


def test_unknown_and_malformed_tokens_are_401(client):
    run_id = client.post("/api/runs", json={}).json()["id"]
    for header in ("Bearer bpl_not-a-token-of-this-server", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b"):
        for response in (
            client.post("/api/runs", json={}, headers={"Authorization": header}),
            client.post(f"/api/runs/{run_id}/play", headers={"Authorization": header}),
            client.get("/api/runs", headers={"Authorization": header}),
        ):
            assert response.status_code == 401, (header, response.text)
            assert response.json()["field"] == "token" and response.json()["reason"]
    assert "POST /api/identities" in client.get("/api/runs", headers={"Authorization": "Bearer x"}).text


def test_a_token_in_the_url_is_not_a_token(client):
    token = client.headers["Authorization"].removeprefix("Bearer ")
    run_id = client.post("/api/runs", json={}).json()["id"]
    response = client.post(f"/api/runs/{run_id}/play", params={"token": token}, headers=NOBODY)
    assert response.status_code == 403


def test_reads_need_only_the_id(client):
    run_id = client.post("/api/runs", json={}).json()["id"]
    client.post(f"/api/runs/{run_id}/step", json={"steps": 5})
    for path in ("", "/params", "/history", "/points", "/gradcheck?samples=2", "/health", "/stepthrough"):
        assert client.get(f"/api/runs/{run_id}{path}", headers=NOBODY).status_code == 200, path
    access = client.get(f"/api/runs/{run_id}/access", headers=NOBODY).json()
    assert access == {"role": "watcher", "may_change": False}
    assert client.get(f"/api/runs/{run_id}/access").json() == {"role": "owner", "may_change": True}


def test_me_says_who_and_how_many_runs(client):
    client.post("/api/runs", json={})
    me = client.get("/api/identities/me").json()
    assert me["id"] and me["admin"] is False and me["runs"] == 1 and me["max_runs"] == 20
    assert client.get("/api/identities/me", headers=NOBODY).json() == {
        "id": None,
        "admin": False,
        "runs": 0,
        "max_runs": 20,
    }


def test_tokens_never_reach_the_log(admin_server):
    """Tokens travel in headers and messages only, and the server never writes one to its log."""
    url = admin_server.url
    anonymous = httpx.post(url + "/api/runs", json={}).json()
    token, run_id = anonymous["token"], anonymous["id"]
    owner = {"Authorization": f"Bearer {token}"}
    httpx.post(f"{url}/api/runs/{run_id}/step", json={"steps": 2}, headers=owner)
    httpx.post(f"{url}/api/runs/{run_id}/play", headers={"Authorization": "Bearer bpl_wrong-token"})
    httpx.post(f"{url}/api/runs/{run_id}/pause", headers=admin_server.admin)

    async def over_the_socket():
        async with connect(f"{admin_server.ws_url}/ws/runs/{run_id}", proxy=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token}))
            await ws.send(json.dumps({"type": "auth", "token": "bpl_also-wrong"}))
            seen = set()
            while not {"ack", "error"} <= seen:
                seen.add(json.loads(await asyncio.wait_for(ws.recv(), 5))["type"])

    async def in_the_socket_url():  # ignored there (a URL is logged and kept in histories), never logged
        async with connect(f"{admin_server.ws_url}/ws/runs/{run_id}?token={token}", proxy=None) as ws:
            await ws.recv()

    asyncio.run(over_the_socket())
    asyncio.run(in_the_socket_url())
    admin = admin_server.admin["Authorization"][7:]
    httpx.get(f"{url}/api/runs", params={"token": token})
    httpx.get(f"{url}/api/runs?access_token={admin}&x=1")
    log = admin_server.log.read_text()
    assert f"/api/runs/{run_id}/step" in log  # the access log is on, and shows paths
    assert '"GET /api/runs?token=[redacted] HTTP/1.1" 200' in log  # the access line itself, whole
    assert '"GET /api/runs?access_token=[redacted]&x=1 HTTP/1.1" 200' in log
    assert "Logging error" not in log
    for secret in (token, "bpl_wrong-token", "bpl_also-wrong", admin):
        assert secret not in log
