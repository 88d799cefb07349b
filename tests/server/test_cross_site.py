"""A web page elsewhere cannot change anything here: a foreign Origin, a form or text body, and a Host
that is not one of the server's names (DNS rebinding) are refused; non-browser clients (no Origin) work."""

from __future__ import annotations

import socket

import httpx
import pytest

from backproplab.server.settings import Settings

SAME = "http://127.0.0.1:8000"  # the TestClient's own origin
EVIL = "http://evil.example"


def test_state_changes_from_a_foreign_origin_are_refused(client):
    run = client.post("/api/runs", json={}).json()
    path = f"/api/runs/{run['id']}"
    for method, url, body in (
        ("post", "/api/runs", {}),
        ("patch", path, {"optimizer": {"lr": 5}}),
        ("post", f"{path}/play", None),
        ("post", f"{path}/reset", None),
        ("post", f"{path}/step", {"steps": 3}),
        ("delete", path, None),
        ("post", "/api/identities", None),
        ("post", "/api/classes", {}),
    ):
        response = client.request(method, url, json=body, headers={"Origin": EVIL})
        assert response.status_code == 403, (method, url, response.text)
        assert response.json()["field"] == "origin" and "cross-site" in response.json()["reason"]
    after = client.get(path).json()
    assert after["step"] == 0 and after["config"] == run["config"] and after["status"] == "paused"
    assert len(client.get("/api/runs").json()) == 1
    assert client.post(f"{path}/step", json={"steps": 3}, headers={"Origin": SAME}).json()["step"] == 3
    assert client.post(f"{path}/step", json={"steps": 3}).json()["step"] == 6  # no Origin: not a browser
    assert client.get(path, headers={"Origin": EVIL}).status_code == 200  # reads are not state changes


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{}", "text/plain"),
        (b"seed=1", "application/x-www-form-urlencoded"),
        (b'{"seed": 1}', None),
    ],
)
def test_bodies_must_be_json(client, content, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/api/runs", content=content, headers=headers | {"Origin": SAME})
    assert response.status_code == 415 and response.json()["field"] == "content-type"
    assert client.get("/api/runs").json() == []


def test_a_csv_upload_is_multipart_under_the_origin_check(client):
    files = {"file": ("d.csv", "a,b,y\n0,0,0\n1,1,1\n0,1,1\n1,0,0\n", "text/csv")}
    assert client.post("/api/runs", files=files, headers={"Origin": EVIL}).status_code == 403
    assert client.post("/api/runs", files=files, headers={"Origin": SAME}).status_code == 201


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example", "127.0.0.1:abc"]
)
def test_foreign_host_names_are_refused(client, host):
    run_id = client.post("/api/runs", json={}).json()["id"]
    for method, path in (
        ("get", "/api/runs"),
        ("get", f"/api/runs/{run_id}"),
        ("delete", f"/api/runs/{run_id}"),
    ):
        response = client.request(method, path, headers={"Host": host, "Origin": f"http://{host}"})
        assert response.status_code == 400, (host, response.text)
        assert response.json()["field"] == "host" and "BACKPROPLAB_ALLOWED_HOSTS" in response.json()["reason"]
    assert client.get(f"/api/runs/{run_id}").status_code == 200


@pytest.mark.parametrize(
    ("allowed", "host", "ok"),
    [
        ((), "localhost:8000", True),
        ((), "[::1]:8000", True),
        ((), "192.168.1.20:8000", True),  # an address is never a rebinding
        ((), "lab.example", False),
        (("lab.example",), "lab.example", True),
        (("lab.example",), "LAB.example:443", True),
        ((".school.example",), "lab.school.example", True),
        ((".school.example",), "school.example.evil", False),
        (("*",), "anything.example", True),
    ],
)
def test_allowed_hosts(tmp_path, app_client, allowed, host, ok):
    with app_client(Settings(data_dir=tmp_path, allowed_hosts=allowed)) as client:
        assert (client.get("/api/health", headers={"Host": host}).status_code == 200) is ok


def handshake(server, run_id: str, host: str, origin: str | None) -> str:
    """The status line of a raw WebSocket handshake to a real server with these headers."""
    lines = [
        f"GET /ws/runs/{run_id} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *([f"Origin: {origin}"] if origin else []),
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as connection:
        connection.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return connection.recv(4096).decode("latin-1").split("\r\n")[0]


def test_websocket_handshakes_check_host_and_origin(server):
    run_id = httpx.post(server.url + "/api/runs", json={}, headers=server.auth).json()["id"]
    own = f"127.0.0.1:{server.port}"
    assert " 101 " in handshake(server, run_id, own, f"http://{own}")
    assert " 101 " in handshake(server, run_id, own, None)
    # DNS rebinding: the attacker's name in both Host and Origin, so they agree; the Host check stops it.
    rebound = f"evil.example:{server.port}"
    assert " 403 " in handshake(server, run_id, rebound, f"http://{rebound}")
    assert " 403 " in handshake(server, run_id, own, EVIL)
    assert " 403 " in handshake(server, run_id, "127.0.0.1:99999", f"http://{own}")
