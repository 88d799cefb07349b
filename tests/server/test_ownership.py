"""Who may change what: every mutation of a run, race or comparison needs its owner's token, the class
teacher's (runs in a class) or the admin's; anyone else gets 403 saying who may. Reading needs only the id."""

from __future__ import annotations

import pytest

NOBODY = {"Authorization": ""}

RUN_MUTATIONS = [
    ("patch", "", {"optimizer": {"lr": 0.2}}),
    ("patch", "", {"name": "renamed"}),
    ("patch", "", {"keep_training": True}),
    ("post", "/step", {"steps": 2}),
    ("post", "/play", None),
    ("post", "/pause", None),
    ("post", "/reset", None),
    ("delete", "", None),
]


def mutate(client, run_id, method, path, body, headers):
    return client.request(method, f"/api/runs/{run_id}{path}", json=body, headers=headers)


def class_run(client, mint):
    """(run id, teacher headers, student headers): a student's run in a class."""
    teacher, student = mint(client), mint(client)
    client.post("/api/classes", json={}, headers=teacher)
    code = client.get("/api/classes", headers=teacher).json()[0]["code"]
    run_id = client.post(f"/api/classes/{code}/join", json={"name": "Ada"}, headers=student).json()["id"]
    return run_id, teacher, student


@pytest.mark.parametrize(("method", "path", "body"), RUN_MUTATIONS)
def test_run_mutations_are_refused_to_others(admin_client, mint, method, path, body):
    client = admin_client
    run = client.post("/api/runs", json={}).json()
    for headers in (NOBODY, mint(client)):
        response = mutate(client, run["id"], method, path, body, headers)
        assert response.status_code == 403, (headers, response.text)
        error = response.json()
        assert error["field"] == "token" and "owner" in error["reason"] and "fork" in error["reason"]
    after = client.get(f"/api/runs/{run['id']}").json()
    assert (after["config"], after["step"], after["name"], after["status"]) == (
        run["config"],
        run["step"],
        run["name"],
        run["status"],
    )


@pytest.mark.parametrize(("method", "path", "body"), RUN_MUTATIONS)
@pytest.mark.parametrize("who", ["owner", "teacher", "admin"])
def test_run_mutations_are_allowed_to_owner_teacher_and_admin(admin_client, mint, method, path, body, who):
    client = admin_client
    run_id, teacher, student = class_run(client, mint)
    headers = {"owner": student, "teacher": teacher, "admin": client.admin}[who]
    response = mutate(client, run_id, method, path, body, headers)
    assert response.status_code in (200, 204), response.text
    if method == "delete":
        assert client.get(f"/api/runs/{run_id}").status_code == 404


def test_another_classes_teacher_is_nobody_here(client, mint):
    run_id, _, _ = class_run(client, mint)
    _, other_teacher, _ = class_run(client, mint)
    assert client.post(f"/api/runs/{run_id}/play", headers=other_teacher).status_code == 403
    access = client.get(f"/api/runs/{run_id}/access", headers=other_teacher).json()
    assert access == {"role": "watcher", "may_change": False}


def test_the_list_holds_the_callers_runs_only(admin_client, mint):
    client = admin_client
    other = mint(client)
    mine = {client.post("/api/runs", json={}).json()["id"] for _ in range(2)}
    theirs = client.post("/api/runs", json={}, headers=other).json()["id"]
    assert {run["id"] for run in client.get("/api/runs").json()} == mine
    assert [run["id"] for run in client.get("/api/runs", headers=other).json()] == [theirs]
    assert client.get("/api/runs", headers=NOBODY).json() == []
    assert {run["id"] for run in client.get("/api/runs", headers=client.admin).json()} == mine | {theirs}


RACE_MUTATIONS = [
    ("patch", "", {"speed": 10}),
    ("post", "/step", {"steps": 3}),
    ("delete", "", None),
]


@pytest.mark.parametrize(("method", "path", "body"), RACE_MUTATIONS)
def test_race_mutations_need_the_owner_or_the_admin(admin_client, mint, method, path, body):
    client = admin_client
    race_ids = [client.post("/api/races", json={"function": "booth"}).json()["id"] for _ in range(3)]
    assert client.get(f"/api/races/{race_ids[2]}/access", headers=NOBODY).json()["role"] == "watcher"
    assert client.get(f"/api/races/{race_ids[2]}/access").json() == {"role": "owner", "may_change": True}
    for headers in (NOBODY, mint(client)):
        response = client.request(method, f"/api/races/{race_ids[0]}{path}", json=body, headers=headers)
        assert response.status_code == 403, response.text
        assert "owner" in response.json()["reason"]
    for race_id, headers in zip(race_ids, ({}, client.admin), strict=False):
        response = client.request(method, f"/api/races/{race_id}{path}", json=body, headers=headers)
        assert response.status_code in (200, 204), response.text


def test_a_race_created_without_a_token_returns_its_owners_token(client):
    race = client.post("/api/races", json={}, headers=NOBODY).json()
    owner = {"Authorization": f"Bearer {race['token']}"}
    assert client.post(f"/api/races/{race['id']}/step", json={"steps": 1}, headers=owner).status_code == 200


COMPARISON = {
    "base": {"dataset": {"kind": "xor"}, "model": {"hidden": [3]}},
    "racers": [{"label": "a", "optimizer": {"name": "sgd"}}, {"label": "b", "optimizer": {"name": "adam"}}],
}


def test_comparisons_belong_to_their_creator(admin_client, mint):
    client = admin_client
    comparison = client.post("/api/comparisons", json=COMPARISON).json()
    path = f"/api/comparisons/{comparison['id']}"
    for headers in (NOBODY, mint(client)):
        assert client.post(f"{path}/step", json={"steps": 2}, headers=headers).status_code == 403
        run_id = comparison["racers"][0]["run_id"]
        assert client.post(f"/api/runs/{run_id}/reset", headers=headers).status_code == 403
    assert client.get(path, headers=NOBODY).status_code == 200  # reading needs only the id
    stepped = client.post(f"{path}/step", json={"steps": 2}).json()
    assert [racer["run"]["step"] for racer in stepped["racers"]] == [2, 2]
    assert client.post(f"{path}/reset", headers=client.admin).status_code == 200
    assert {run["id"] for run in client.get("/api/runs").json()} == {
        racer["run_id"] for racer in comparison["racers"]
    }


def test_comparisons_are_in_the_store(tmp_path, app_client):
    from backproplab.server.settings import Settings

    settings = Settings(data_dir=tmp_path)
    with app_client(settings) as first:
        comparison = first.post("/api/comparisons", json=COMPARISON).json()
        owner = dict(first.headers)
    with app_client(settings, token=False) as second:  # a restart, or another web replica
        again = second.get(f"/api/comparisons/{comparison['id']}").json()
        assert [racer["run_id"] for racer in again["racers"]] == [r["run_id"] for r in comparison["racers"]]
        step = second.post(f"/api/comparisons/{comparison['id']}/step", json={"steps": 1}, headers=owner)
        assert step.status_code == 200
        assert second.post(f"/api/comparisons/{comparison['id']}/play").status_code == 403


def test_a_comparison_is_deleted_with_its_racers_by_its_owner_only(admin_client, mint):
    client = admin_client
    comparison = client.post("/api/comparisons", json=COMPARISON).json()
    path = f"/api/comparisons/{comparison['id']}"
    runs = {run["id"]: run["name"] for run in client.get("/api/runs").json()}
    assert sorted(runs.values()) == ["Race · a", "Race · b"]  # what the owner's list of runs shows
    for headers in (NOBODY, mint(client)):
        response = client.delete(path, headers=headers)
        assert response.status_code == 403 and "owner" in response.json()["reason"]
    client.delete(f"/api/runs/{comparison['racers'][0]['run_id']}")  # one racer deleted on its own first
    assert client.delete(path).status_code == 204
    assert client.get("/api/runs").json() == []
    assert client.get(path).status_code == 404
    assert client.delete(path).status_code == 404


def test_a_comparison_that_does_not_fit_the_owners_runs_is_refused_whole(tmp_path, app_client):
    from backproplab.server.settings import Settings

    with app_client(Settings(data_dir=tmp_path, max_runs_per_identity=3)) as client:
        client.post("/api/runs", json={})
        client.post("/api/runs", json={})
        response = client.post("/api/comparisons", json=COMPARISON)
        assert response.status_code == 429
        reason = response.json()["reason"]
        assert "you have 2 runs" in reason and "at most 3" in reason and "needs 2 more" in reason, reason
        assert "My runs" in reason
        assert len(client.get("/api/runs").json()) == 2  # nothing was made
