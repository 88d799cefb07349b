"""Slow and vanishing clients against a real server: an upload aborted mid-body is logged once, briefly;
a request whose head or body stops arriving gets 408 and its connection is closed."""

from __future__ import annotations

import socket
import time

import pytest

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
    from conftest import ServerProcess

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
        except TimeoutError:
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


def test_a_half_sent_head_gets_408_and_is_closed(slow_server):
    with connect(slow_server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        reply = answer(sock)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


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
