"""Garbage in one page of the database costs only the runs on that page: every other run is salvaged and
continues exactly, and the lost ones are named in the log and in /api/health."""

from __future__ import annotations

import logging

from backproplab.server.settings import Settings
from backproplab.server.store.sqlite import DB_NAME
from conftest import open_client

PAGE = 4096
TABLE_LEAF = 0x0D  # b-tree page types (https://sqlite.org/fileformat.html#b_tree_pages)


def leaf_page_holding(data: bytes, needle: bytes) -> int:
    """The index of the first table-leaf page whose bytes contain ``needle``."""
    for index in range(len(data) // PAGE):
        page = data[index * PAGE : (index + 1) * PAGE]
        kind = page[100] if index == 0 else page[0]
        if kind == TABLE_LEAF and needle in page:
            return index
    raise AssertionError("no table leaf holds it")


def test_garbage_in_one_page_loses_only_the_runs_on_it(tmp_path, caplog):
    runs: dict[str, dict] = {}  # params by run id
    steps: dict[str, int] = {}
    with open_client(Settings(data_dir=tmp_path)) as client:
        auth = {"Authorization": client.headers["Authorization"]}  # the same identity after the restart
        for seed in range(20):
            run_id = client.post("/api/runs", json={"seed": seed}).json()["id"]
            steps[run_id] = client.post(f"/api/runs/{run_id}/step", json={"steps": 10 + seed}).json()["step"]
            runs[run_id] = client.get(f"/api/runs/{run_id}/params").json()

    path = tmp_path / DB_NAME
    data = bytearray(path.read_bytes())
    victim = sorted(runs)[7]
    page = leaf_page_holding(bytes(data), victim.encode())
    on_page = {run_id for run_id in runs if run_id.encode() in data[page * PAGE : (page + 1) * PAGE]}
    assert len(on_page) < len(runs) // 2, "the test needs a page that holds few runs"
    data[page * PAGE : page * PAGE + 16] = b"\xde\xad\xbe\xef" * 4
    path.write_bytes(bytes(data))

    with (
        caplog.at_level(logging.INFO, "backproplab.store"),
        open_client(Settings(data_dir=tmp_path), token=False) as client,
    ):
        client.headers.update(auth)
        listed = {run["id"] for run in client.get("/api/runs").json()}
        assert victim not in listed
        lost = set(runs) - listed
        assert lost <= on_page, "only runs on the damaged page may be lost"
        for run_id in listed:
            assert client.get(f"/api/runs/{run_id}/params").json() == runs[run_id]
        health = client.get("/api/health").json()
        assert health["status"] == "degraded"
        assert set(health["lost_runs"]) == lost and victim in health["reason"]
        survivor = sorted(listed)[0]
        assert (
            client.post(f"/api/runs/{survivor}/step", json={"steps": 3}).json()["step"] == steps[survivor] + 3
        )
    assert any(victim in record.getMessage() and "lost" in record.getMessage() for record in caplog.records)
    assert list(tmp_path.glob(f"{DB_NAME}.corrupt-*")), "the damaged file is kept for a closer look"
