"""Slow and vanishing clients against a real server: an upload aborted mid-body is logged once, briefly;
a request whose head or body stops arriving gets 408 and its connection is closed."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest
from server_harness import ServerProcess

TIMEOUT = 1.0  # BACKPROPLAB_REQUEST_TIMEOUT for these servers
WAIT = 15.0  # the longest a test waits for the server to act (bounded, not a speed)
UPLOAD_HEAD = (
    b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; boundary=xyz\r\n"
    b"Content-Length: 1000000\r\n\r\n"
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="d.csv"\r\nContent-Type: text/csv\r\n\r\n'
    b"a,b,label\n" + b"0.5,0.25,1\n" * 500
)


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    server = ServerProcess(
        tmp_path_factory.mktemp("slow"),
        env={"BACKPROPLAB_REQUEST_TIMEOUT": str(TIMEOUT), "BACKPROPLAB_TRAINERS": "1"},
    ).start()
    yield server
    server.stop()


def connect(server) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
    sock.settimeout(WAIT)
    return sock


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (bounded by WAIT)."""
    chunks = []
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_aborted_uploads_are_logged_once_each_without_a_traceback(slow_server):
    before = slow_server.log.read_text()
    for _ in range(5):
        with connect(slow_server) as sock:
            sock.sendall(UPLOAD_HEAD)
            time.sleep(0.2)  # the server is reading the body
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        new = slow_server.log.read_text()[len(before) :]
        if new.count("went away") >= 5:
            break
        time.sleep(0.1)
    lines = [line for line in new.splitlines() if "went away" in line]
    assert len(lines) == 5, new[-3000:]
    assert "Traceback" not in new and "Exception" not in new, new[-3000:]
    assert all(len(line) < 200 for line in lines)


def test_an_answer_sent_before_the_body_was_read_is_not_a_client_that_went_away(slow_server):
    """Answers sent without reading the body (no such route, a method the route does not take) log nothing;
    an upload aborted after them is still logged."""
    before = slow_server.log.read_text()
    for method, path, body in (
        ("DELETE", "/api/runs/abc/x", None),
        ("PUT", "/api/classes", None),
        ("PUT", "/api/classes", {"name": "Period 3"}),
        ("PATCH", "/api/health", {"seed": 1}),
    ):
        response = httpx.request(method, slow_server.url + path, json=body)
        assert response.status_code in (404, 405), (method, path, response.status_code)
    with connect(slow_server) as sock:
        sock.sendall(UPLOAD_HEAD)
        time.sleep(0.2)  # the server is reading the body
    deadline = time.monotonic() + WAIT
    while (
        "went away" not in (new := slow_server.log.read_text()[len(before) :]) and time.monotonic() < deadline
    ):
        time.sleep(0.1)
    lines = [line for line in new.splitlines() if "went away" in line]
    assert len(lines) == 1 and "POST /api/runs" in lines[0], new[-3000:]


def test_a_half_sent_head_gets_408_and_is_closed(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_a_request_the_http_parser_refuses_gets_the_json_error_shape(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n{}")
        reply = answer(sock)
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), reply[:300]
    assert b"content-type: application/json" in head.lower()
    error = json.loads(body)
    assert error["field"] is None and "not valid HTTP/1.1" in error["reason"], error


def test_a_connection_that_never_speaks_is_closed(slow_server):
    with connect(slow_server) as sock:
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def test_a_half_sent_body_gets_408_naming_the_body(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(
            b"POST /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b'Content-Length: 100\r\n\r\n{"seed": '
        )
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]
    assert b'"field":"body"' in reply


def test_a_complete_request_after_a_pause_between_requests_still_works(slow_server):
    with connect(slow_server) as sock:
        request = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        for _ in range(2):
            sock.sendall(request)
            assert read_response(sock).startswith(b"HTTP/1.1 200")
            time.sleep(TIMEOUT / 2)


def read_response(sock: socket.socket) -> bytes:
    """One whole response (head and a Content-Length body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


@pytest.fixture(scope="module")
def turns_server(tmp_path_factory):
    env = {
        "BACKPROPLAB_HTTP_REQUEST_RATE": "5",
        "BACKPROPLAB_HTTP_REQUEST_BURST": "5",
        "BACKPROPLAB_HTTP_WAITING_PER_ADDRESS": "5",
        "BACKPROPLAB_TRAINERS": "1",
    }
    server = ServerProcess(tmp_path_factory.mktemp("turns"), env=env).start()
    time.sleep(1.5)  # the start-up's requests (health polls) are forgotten: a full bucket
    yield server
    server.stop()


HEALTH = b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def send_from(server, address: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT, source_address=(address, 0))
    sock.sendall(HEALTH)
    return sock


def test_a_flooding_address_waits_its_turns_while_another_gets_the_next_one(turns_server):
    flood = [send_from(turns_server, "127.0.0.1") for _ in range(10)]  # 5 now, 5 wait their turn
    other = send_from(turns_server, "127.0.0.2")
    assert answer(other).startswith(b"HTTP/1.1 200")
    answered_other = time.monotonic()
    finished = []
    for sock in flood:
        assert answer(sock).startswith(b"HTTP/1.1 200")  # queued, not refused
        finished.append(time.monotonic())
        sock.close()
    assert answered_other < finished[-1], "the other address did not wait behind the flood"


def test_requests_past_the_waiting_limit_are_closed_unread(turns_server):
    time.sleep(2.5)  # a full bucket again
    flood = [send_from(turns_server, "127.0.0.3") for _ in range(16)]  # 5 now, 5 wait, 6 are dropped
    replies = [answer(sock) for sock in flood]
    for sock in flood:
        sock.close()
    assert sum(reply.startswith(b"HTTP/1.1 200") for reply in replies) == 10
    assert sum(reply == b"" for reply in replies) == 6
