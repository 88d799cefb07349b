"""Hostile but cheap inputs get a 4xx naming the field, never a 500 or a dead connection: deep and huge
JSON, weights at the float64 limit, malformed Origin and Host ports, bodies over the limit or cut short."""

from __future__ import annotations

import httpx
import pytest
from server_harness import BASE_URL, open_client
from starlette.websockets import WebSocketDisconnect

from backproplab.server.settings import Settings

JSON = {"content-type": "application/json"}


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def run_id(client) -> str:
    return client.post("/api/runs", json={}).json()["id"]


@pytest.fixture(scope="module")
def http(server):
    """A real server, so a request that would hang (a deep PATCH used to kill the pipe to the trainer)
    fails by timing out instead of hanging the test."""
    with httpx.Client(base_url=server.url, timeout=60, headers=server.auth) as client:
        yield client


@pytest.mark.parametrize("depth", [40, 500, 2000])
@pytest.mark.parametrize("route", ["create", "patch", "step", "sweep"])
def test_deeply_nested_json_is_422_naming_the_body(http, depth, route):
    run_id = http.post("/api/runs", json={}).json()["id"]
    method, path = {
        "create": ("post", "/api/runs"),
        "patch": ("patch", f"/api/runs/{run_id}"),
        "step": ("post", f"/api/runs/{run_id}/step"),
        "sweep": ("post", "/api/sweeps"),
    }[route]
    response = http.request(method, path, content=nested(depth), headers=JSON)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] is not None and body["reason"]
    # The run's trainer still answers (a deep PATCH used to kill the pipe to it).
    assert http.post(f"/api/runs/{run_id}/step", json={"steps": 3}).json()["step"] == 3
    http.delete(f"/api/runs/{run_id}")


@pytest.mark.parametrize("path", ["/api/runs", "/api/sweeps"])
def test_an_integer_of_5000_digits_is_422(http, path):
    response = http.post(path, content='{"seed": ' + "7" * 5000 + "}", headers=JSON)
    assert response.status_code == 422
    assert response.json()["field"] in ("body", "seed")


def test_landscape_of_weights_at_the_float64_limit_is_422(client, run_id):
    client.post(f"/api/runs/{run_id}/step", json={"steps": 20})
    with client.websocket_connect(f"{BASE_URL.replace('http', 'ws')}/ws/runs/{run_id}") as ws:
        ws.send_json({"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": 1e308})
        while ws.receive_json()["type"] != "ack":
            pass
    for directions in ("filter", "gradient", "pca"):
        response = client.get(f"/api/runs/{run_id}/landscape?resolution=5&directions={directions}")
        assert response.status_code in (200, 422), (directions, response.text)
        if response.status_code == 422:
            assert response.json()["field"] == "directions"


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://127.0.0.1:18950.evil.example"},
        {"origin": "http://a:99999"},
        {"origin": "http://testserver", "host": "127.0.0.1:abc"},
    ],
)
def test_a_malformed_origin_or_host_port_is_refused_not_a_500(client, run_id, headers):
    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect(f"{BASE_URL.replace('http', 'ws')}/ws/runs/{run_id}", headers=headers),
    ):
        pass
    assert refused.value.code == 1008  # the handshake answers 403


def test_a_body_over_the_limit_while_streaming_is_413_naming_the_body(tmp_path):
    with open_client(Settings(data_dir=tmp_path, max_body_bytes=1000)) as client:
        chunks = (part for part in [b'{"seed": 1, "dataset": {"X": [', b"1," * 2000, b"1]}}"])
        response = client.post("/api/runs", content=chunks, headers=JSON)  # chunked: no Content-Length
        assert response.status_code == 413, response.text
        assert response.json()["field"] == "body"
        run_id = client.post("/api/runs", json={}).json()["id"]
        response = client.patch(f"/api/runs/{run_id}", content=(b"x" * 600 for _ in range(3)), headers=JSON)
        assert response.status_code == 413 and response.json()["field"] == "body"


def test_a_content_length_that_is_not_a_number_is_400_naming_it(client):
    response = client.post("/api/runs", content=b"{}", headers={**JSON, "content-length": "ten"})
    assert response.status_code == 400
    assert response.json()["field"] == "content-length"


def test_upload_limits_name_the_part(client):
    csv = b"a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
    two_files = [("file", ("a.csv", csv, "text/csv")), ("file", ("b.csv", csv, "text/csv"))]
    response = client.post("/api/runs", files=two_files)
    assert response.status_code == 422 and response.json()["field"] == "file"
    many_fields = {f"field{index}": "x" for index in range(12)}
    response = client.post("/api/runs", files={"file": ("a.csv", csv, "text/csv")}, data=many_fields)
    assert response.status_code == 422 and response.json()["field"] == "form"
