"""POST /api/runs/{id}/fork: a new run of the caller's, bit for bit the source (config, weights, optimizer
state, step count, history, generators), which then trains on its own."""

from __future__ import annotations

NOBODY = {"Authorization": ""}
CONFIG = {"seed": 3, "dataset": {"kind": "spiral", "classes": 3}, "optimizer": {"name": "adam", "lr": 0.01}}


def export(client, run_id: str) -> bytes:
    """The run's whole state as its trainer serialises it (Run.to_bytes)."""
    return client.portal.call(lambda: client.app.state.runs.call(run_id, "export"))


def test_a_fork_is_the_source_bit_for_bit_and_then_trains_on_its_own(client, mint):
    source = client.post("/api/runs", json=CONFIG).json()["id"]
    client.post(f"/api/runs/{source}/step", json={"steps": 57})
    forker = mint(client)
    response = client.post(f"/api/runs/{source}/fork", headers=forker)
    assert response.status_code == 201, response.text
    fork = response.json()
    assert fork["id"] != source and fork["step"] == 57 and "token" not in fork
    assert export(client, fork["id"]) == export(client, source)
    for path in ("/params", "/history"):
        assert (
            client.get(f"/api/runs/{fork['id']}{path}").json()
            == client.get(f"/api/runs/{source}{path}").json()
        )

    # The same next steps: the optimizer state and the batch generator came along.
    for run_id, headers in ((source, {}), (fork["id"], forker)):
        client.post(f"/api/runs/{run_id}/step", json={"steps": 40}, headers=headers)
    assert export(client, fork["id"]) == export(client, source)

    # Then each on its own: the fork is the forker's, and training it leaves the source alone.
    client.post(f"/api/runs/{fork['id']}/step", json={"steps": 10}, headers=forker)
    assert client.get(f"/api/runs/{source}").json()["step"] == 97
    assert client.get(f"/api/runs/{fork['id']}").json()["step"] == 107
    assert client.post(f"/api/runs/{fork['id']}/play").status_code == 403  # not the source's owner's
    assert [run["id"] for run in client.get("/api/runs", headers=forker).json()] == [fork["id"]]


def test_forking_without_a_token_makes_a_new_owner(client):
    source = client.post("/api/runs", json={}).json()["id"]
    fork = client.post(f"/api/runs/{source}/fork", headers=NOBODY).json()
    owner = {"Authorization": f"Bearer {fork['token']}"}
    assert client.post(f"/api/runs/{fork['id']}/step", json={"steps": 2}, headers=owner).json()["step"] == 2


def test_a_fork_of_a_class_run_is_not_in_the_class(client, mint):
    teacher = mint(client)
    code = client.post("/api/classes", json={"allowed": ["optimizer.lr"]}, headers=teacher).json()["code"]
    student_run = client.post(f"/api/classes/{code}/join", json={"name": "Ada"}).json()
    fork = client.post(f"/api/runs/{student_run['id']}/fork", headers=mint(client)).json()
    assert student_run["class"]["code"] == code and fork["class"] is None and fork["name"] == "Ada"


def test_forking_an_unknown_run_is_404(client):
    response = client.post("/api/runs/no-such-run/fork")
    assert response.status_code == 404 and response.json()["field"] == "run_id"
