"""Behind a trusted reverse proxy (BACKPROPLAB_TRUSTED_PROXIES) every client arrives from the proxy's
address: they are told apart by X-Forwarded-For, so one client's limits and penalties are not everyone's,
and the proxy's connections take no request turns of their own. Nobody else's X-Forwarded-For is believed.
Each address below is a loopback address of its own (127.0.0.x), against a real server."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import httpx
import pytest
from test_ws_live import new_run, receive_type
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from backproplab.server.proxies import TrustedProxies

PROXY, OTHER = "127.0.0.5", "127.0.0.6"
TIGHT = {  # six requests per address, then one every 1,000 s
    "BACKPROPLAB_HTTP_REQUEST_RATE": "0.001",
    "BACKPROPLAB_HTTP_REQUEST_BURST": "6",
}


def health(server, local: str, forwarded: str | None = None, wait: float = 30) -> int | None:
    """The status of GET /api/health from ``local``, or None when it was not answered in ``wait`` s."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with httpx.Client(transport=httpx.HTTPTransport(local_address=local), timeout=wait) as client:
        try:
            return client.get(server.url + "/api/health", headers=headers).status_code
        except httpx.TransportError:
            return None


def test_a_trusted_proxys_requests_take_no_turns_and_others_keep_theirs(make_server):
    server = make_server(env={**TIGHT, "BACKPROPLAB_TRUSTED_PROXIES": PROXY})
    assert [health(server, PROXY, f"10.0.0.{n}") for n in range(10)] == [200] * 10
    assert [health(server, PROXY) for _ in range(3)] == [200] * 3
    # An untrusted address keeps its turns, whatever X-Forwarded-For it sends: its seventh request waits
    # for a turn due in 1,000 s (a slow machine only makes it wait longer).
    assert [health(server, OTHER, f"10.1.0.{n}") for n in range(6)] == [200] * 6
    assert health(server, OTHER, "10.1.0.9", wait=2) is None


async def flood_then_connect(server, run_id: str, local: str, flooder: str, other: str) -> tuple[int, int]:
    """Flood a socket as X-Forwarded-For ``flooder`` until it is closed; then the handshake statuses of
    that client and of ``other`` (101: accepted)."""
    url = f"{server.ws_url}/ws/runs/{run_id}"

    def as_client(forwarded: str):
        return connect(
            url, proxy=None, local_addr=(local, 0), additional_headers={"X-Forwarded-For": forwarded}
        )

    async with as_client(flooder) as ws:
        await receive_type(ws, "state")
        try:
            for _ in range(1_000):
                await ws.send("not json")
            while True:
                await ws.recv()
        except ConnectionClosed:
            pass

    async def status(forwarded: str) -> int:
        try:
            async with as_client(forwarded):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    return await status(flooder), await status(other)


def test_a_flood_penalty_holds_the_client_behind_the_proxy_not_everyone(make_server):
    server = make_server(env={"BACKPROPLAB_TRUSTED_PROXIES": f"{PROXY}/32"})
    run_id = new_run(server)
    flooder, other = asyncio.run(flood_then_connect(server, run_id, PROXY, "10.0.0.1", "10.0.0.2"))
    assert (flooder, other) == (429, 101)


def test_x_forwarded_for_is_not_believed_from_an_untrusted_address(make_server):
    server = make_server()
    run_id = new_run(server)
    flooder, other = asyncio.run(flood_then_connect(server, run_id, OTHER, "10.0.0.1", "10.0.0.2"))
    assert (flooder, other) == (429, 429), "one address, one client: its headers change nothing"


@pytest.mark.parametrize(
    ("entries", "inside", "outside"),
    [
        (("10.0.0.2",), ["10.0.0.2"], ["10.0.0.3", "::1", "nonsense"]),
        (("172.16.0.0/12", "::1"), ["172.20.1.2", "::1"], ["172.32.0.1"]),
        (("*",), ["192.0.2.1", "::1"], []),
    ],
)
def test_trusted_proxies_are_addresses_and_networks(entries, inside, outside):
    proxies = TrustedProxies(entries)
    assert all(host in proxies for host in inside) and not any(host in proxies for host in outside)


def test_a_trusted_proxy_that_is_no_address_stops_the_server_with_a_clear_message(tmp_path):
    env = {**os.environ, "BACKPROPLAB_TRUSTED_PROXIES": "10.0.0.2, proxy.example"}
    command = [sys.executable, "-m", "backproplab", "--port", "0", "--data-dir", str(tmp_path)]
    started = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert started.returncode != 0
    assert "'proxy.example' is not an IP address or network" in started.stderr, started.stderr
