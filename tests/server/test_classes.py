"""Classes: a teacher creates one, students join with its code and get runs of their own, the teacher
sees them all, pushes setups, locks settings and exports the results; all of it survives a restart."""

from __future__ import annotations

import asyncio
import csv
import io
import json

import httpx
import pytest
from websockets.asyncio.client import connect

from backproplab.server.classes.service import CODE_ALPHABET
from backproplab.server.runs.schemas import RunCreated

NOBODY = {"Authorization": ""}
SETUP = {"dataset": {"kind": "xor", "samples": 100}, "model": {"hidden": [4]}, "optimizer": {"lr": 0.1}}
LOCKED = ["optimizer.lr", "optimizer.name"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_class(client, **body):
    """(class, teacher headers), created by a caller without a token."""
    response = client.post("/api/classes", json={"config": SETUP, **body}, headers=NOBODY)
    assert response.status_code == 201, response.text
    group = response.json()
    return group, bearer(group["teacher_token"])


def join(client, code, name=None, headers=None):
    """(run, student headers): a new student (no token) joins."""
    response = client.post(f"/api/classes/{code}/join", json={"name": name}, headers=headers or NOBODY)
    assert response.status_code in (200, 201), response.text
    run = RunCreated.model_validate(response.json()).model_dump(by_alias=True, exclude_unset=True)
    return run, bearer(run["token"]) if "token" in run else headers


def test_a_class_has_an_unguessable_id_and_a_short_unambiguous_code(client):
    group, teacher = new_class(client, name="Period 3")
    assert len(group["code"]) == 6 and set(group["code"]) <= set(CODE_ALPHABET)
    assert not set("0O1IL") & set(CODE_ALPHABET)
    assert len(group["id"]) >= 20 and group["name"] == "Period 3"
    assert group["config"]["optimizer"]["lr"] == 0.1 and group["allowed"] is None
    assert client.get("/api/classes", headers=teacher).json()[0]["id"] == group["id"]
    assert client.get("/api/classes").json() == []  # the client's own identity teaches none
    mine = client.post("/api/classes", json={})
    assert mine.json()["teacher_token"] == client.headers["Authorization"].removeprefix("Bearer ")


def test_students_join_with_the_code_and_get_their_own_run_once(client):
    group, _ = new_class(client)
    run, student = join(client, group["code"], "Ada")
    assert run["name"] == "Ada" and run["class"] == {"code": group["code"], "name": None, "allowed": None}
    assert run["config"]["dataset"]["kind"] == "xor" and run["resolved"]["lr"] == 0.1
    again = client.post(f"/api/classes/{group['code'].lower()[:3]}-{group['code'][3:]}/join", headers=student)
    assert again.status_code == 200 and again.json()["id"] == run["id"] and "token" not in again.json()
    other, _ = join(client, group["code"], "Grace")
    assert other["id"] != run["id"]
    missing = client.post("/api/classes/ZZZZZZ/join", headers=NOBODY)
    assert missing.status_code == 404 and missing.json()["field"] == "code"


def test_names_are_unique_in_a_class_without_case_and_joining_again_renames(client):
    """The teacher tells students apart by name: a second "Ada" is refused (409 naming ``name``), a student
    who joins again with a new name is renamed (if it is free), and a rename by PATCH follows that rule."""
    group, teacher = new_class(client)
    code = group["code"]
    ada, ada_headers = join(client, code, "Ada")
    for taken in ("Ada", " ada ", "ADA", "Ａｄａ", "A\u200cda"):
        second = client.post(f"/api/classes/{code}/join", json={"name": taken}, headers=NOBODY)
        assert second.status_code == 409, second.text
        assert second.json()["field"] == "name", second.text
        assert (
            "taken in this class" in second.json()["reason"] and "choose another" in second.json()["reason"]
        )
    grace, _ = join(client, code, "Grace")

    refused = client.post(f"/api/classes/{code}/join", json={"name": "grace"}, headers=ada_headers)
    assert refused.status_code == 409 and refused.json()["field"] == "name"
    renamed = client.post(f"/api/classes/{code}/join", json={"name": "Ada L."}, headers=ada_headers)
    assert renamed.status_code == 200 and renamed.json()["id"] == ada["id"], renamed.text
    assert renamed.json()["name"] == "Ada L."
    unnamed = client.post(f"/api/classes/{code}/join", headers=ada_headers)
    assert unnamed.status_code == 200 and unnamed.json()["name"] == "Ada L.", "no name keeps the name"
    patched = client.patch(f"/api/runs/{ada['id']}", json={"name": "GRACE"}, headers=ada_headers)
    assert patched.status_code == 409 and patched.json()["field"] == "name"
    both = client.patch(f"/api/runs/{ada['id']}", json={"name": "GRACE", "seed": 7}, headers=ada_headers)
    assert both.status_code == 409 and client.get(f"/api/runs/{ada['id']}").json()["config"]["seed"] != 7
    bad = client.patch(f"/api/runs/{ada['id']}", json={"name": "Ada K.", "seed": -1}, headers=ada_headers)
    assert bad.status_code == 422 and bad.json()["field"] == "seed", bad.text
    assert client.get(f"/api/runs/{ada['id']}").json()["name"] == "Ada L.", "a refused change renames nothing"
    own = client.patch(f"/api/runs/{ada['id']}", json={"name": "ada l."}, headers=ada_headers)
    assert own.status_code == 200 and own.json()["name"] == "ada l.", "its own name in another case"

    newcomer, _ = join(client, code, "Ada")  # the name Ada left is free again
    elsewhere, _ = join(client, new_class(client)[0]["code"], "Grace")  # another class has its own Grace
    view = client.get(f"/api/classes/{group['id']}", headers=teacher).json()
    assert [student["name"] for student in view["students"]] == ["ada l.", "Grace", "Ada"]
    assert [student["id"] for student in view["students"]] == [ada["id"], grace["id"], newcomer["id"]]
    assert elsewhere["name"] == "Grace"


def test_only_the_teacher_or_the_admin_sees_the_class(admin_client):
    client = admin_client
    group, teacher = new_class(client)
    runs = [join(client, group["code"], name)[0] for name in ("Ada", "Grace", "Alan")]
    view = client.get(f"/api/classes/{group['id']}", headers=teacher).json()
    assert [student["id"] for student in view["students"]] == [run["id"] for run in runs]
    assert [student["name"] for student in view["students"]] == ["Ada", "Grace", "Alan"]
    _, student = join(client, group["code"])
    for headers in (NOBODY, student, {}):
        response = client.get(f"/api/classes/{group['id']}", headers=headers)
        assert response.status_code == 403 and "teacher" in response.json()["reason"]
        assert (
            client.patch(f"/api/classes/{group['id']}", json={"name": "x"}, headers=headers).status_code
            == 403
        )
        assert client.get(f"/api/classes/{group['id']}/export", headers=headers).status_code == 403
    assert client.get(f"/api/classes/{group['id']}", headers=client.admin).status_code == 200
    assert client.get("/api/classes/nope", headers=teacher).status_code == 404


def test_a_pushed_setup_reaches_every_student(client):
    group, teacher = new_class(client)
    students = [join(client, group["code"]) for _ in range(3)]
    for run, headers in students:
        client.post(f"/api/runs/{run['id']}/step", json={"steps": 20}, headers=headers)
    pushed = client.patch(
        f"/api/classes/{group['id']}", json={"config": {"optimizer": {"lr": 0.7}}}, headers=teacher
    )
    assert pushed.status_code == 200, pushed.text
    body = pushed.json()
    assert body["pushed"] == {"runs": 3, "failed": []} and body["config"]["optimizer"]["lr"] == 0.7
    for run, _ in students:
        now = client.get(f"/api/runs/{run['id']}").json()
        assert now["resolved"]["lr"] == 0.7 and now["step"] == 20  # an lr change keeps training going
    late, _ = join(client, group["code"])
    assert late["resolved"]["lr"] == 0.7  # a student joining later starts from the new setup
    rebuild = {"config": {"model": {"hidden": [6]}}}
    assert (
        client.patch(f"/api/classes/{group['id']}", json=rebuild, headers=teacher).json()["pushed"]["runs"]
        == 4
    )
    for run, _ in students:
        now = client.get(f"/api/runs/{run['id']}").json()
        assert now["resolved"]["sizes"] == [2, 6, 1] and now["step"] == 0


def test_a_class_with_custom_data_gives_it_to_students_but_does_not_echo_it(client):
    X = [[float(i % 7), float(i % 3)] for i in range(30)]
    y = [float(i % 2) for i in range(30)]
    data = {"dataset": {"kind": "custom", "X": X, "y": y, "train_fraction": 1.0}}
    group, teacher = new_class(client, config=data)
    assert group["config"]["dataset"]["kind"] == "custom" and group["config"]["dataset"]["X"] is None
    run, _ = join(client, group["code"])
    assert client.get(f"/api/runs/{run['id']}/points").json()["train"]["X"] == X
    assert client.get(f"/api/classes/{group['id']}", headers=teacher).json()["config"]["dataset"]["y"] is None


def test_a_bad_push_changes_nothing(client):
    group, teacher = new_class(client)
    run, _ = join(client, group["code"])
    response = client.patch(
        f"/api/classes/{group['id']}", json={"config": {"optimizer": {"lr": -1}}}, headers=teacher
    )
    assert response.status_code == 422 and response.json()["field"] == "config.optimizer.lr"
    assert client.get(f"/api/runs/{run['id']}").json()["resolved"]["lr"] == 0.1
    zero = {"config": {"model": {"hidden": [0]}}}
    assert (
        client.patch(f"/api/classes/{group['id']}", json=zero, headers=teacher).json()["field"]
        == "config.model.hidden.0"
    )
    unknown = client.patch(
        f"/api/classes/{group['id']}", json={"allowed": ["optimizer.speed"]}, headers=teacher
    )
    assert unknown.status_code == 422 and unknown.json()["field"] == "allowed"


def test_locked_settings_are_refused_to_students_naming_the_field(client):
    group, teacher = new_class(client, allowed=LOCKED)
    run, student = join(client, group["code"])
    path = f"/api/runs/{run['id']}"
    assert run["class"]["allowed"] == LOCKED
    assert (
        client.patch(path, json={"optimizer": {"lr": 0.3, "name": "adam"}}, headers=student).status_code
        == 200
    )
    for patch, field in (
        ({"model": {"hidden": [3]}}, "model.hidden"),
        ({"batch_size": 20}, "batch_size"),
        ({"optimizer": {"lr": 0.2, "momentum": 0.5}}, "optimizer.momentum"),
        ({"dataset": {"kind": "circle"}}, "dataset.kind"),
    ):
        response = client.patch(path, json=patch, headers=student)
        assert response.status_code == 403, response.text
        assert response.json()["field"] == field and "optimizer.lr" in response.json()["reason"]
    assert client.get(path).json()["resolved"]["lr"] == 0.3  # the refused patches changed nothing
    assert client.patch(path, json={"batch_size": 10}, headers=student).status_code == 200  # unchanged value
    assert (
        client.patch(path, json={"name": "mine", "keep_training": True}, headers=student).status_code == 200
    )
    assert client.patch(path, json={"batch_size": 20}, headers=teacher).status_code == 200  # the teacher may

    unlocked = client.patch(f"/api/classes/{group['id']}", json={"allowed": None}, headers=teacher).json()
    assert unlocked["allowed"] is None and client.get(path).json()["class"]["allowed"] is None
    assert client.patch(path, json={"batch_size": 5}, headers=student).status_code == 200


def test_ending_a_class_leaves_students_their_runs(client):
    group, teacher = new_class(client, allowed=LOCKED)
    run, student = join(client, group["code"])
    assert client.delete(f"/api/classes/{group['id']}", headers=teacher).status_code == 204
    assert client.get(f"/api/runs/{run['id']}").json()["class"] is None
    assert client.post(f"/api/runs/{run['id']}/play", headers=teacher).status_code == 403
    assert client.patch(f"/api/runs/{run['id']}", json={"batch_size": 5}, headers=student).status_code == 200
    assert client.post(f"/api/classes/{group['code']}/join", headers=NOBODY).status_code == 404


def test_the_export_has_every_students_final_metrics_and_config(client):
    group, teacher = new_class(client)
    names = ["Ada", "=HYPERLINK(1)"]
    for name in names:
        run, student = join(client, group["code"], name)
        client.post(f"/api/runs/{run['id']}/step", json={"steps": 60}, headers=student)
    response = client.get(f"/api/classes/{group['id']}/export", headers=teacher)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert group["code"] in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["name"] for row in rows] == ["Ada", "'=HYPERLINK(1)"]  # no formula for a spreadsheet
    for row in rows:
        assert row["step"] == "60" and float(row["train_loss"]) > 0 and row["test_accuracy"] != ""
        assert row["config.optimizer.lr"] == "0.1" and row["config.dataset.kind"] == "xor"
        assert row["config.model.hidden"] == "4"


def test_classes_memberships_and_ownership_survive_a_restart(make_server, tmp_path):
    first = make_server(tmp_path)
    created = httpx.post(first.url + "/api/classes", json={"config": SETUP, "allowed": LOCKED}).json()
    teacher = bearer(created["teacher_token"])
    joined = httpx.post(f"{first.url}/api/classes/{created['code']}/join", json={"name": "Ada"}).json()
    student = bearer(joined["token"])
    httpx.post(f"{first.url}/api/runs/{joined['id']}/step", json={"steps": 5}, headers=student)
    first.stop()

    second = make_server(tmp_path)
    url = second.url
    view = httpx.get(f"{url}/api/classes/{created['id']}", headers=teacher).json()
    assert [(run["id"], run["name"], run["step"]) for run in view["students"]] == [(joined["id"], "Ada", 5)]
    assert view["students"][0]["class"]["allowed"] == LOCKED
    again = httpx.post(f"{url}/api/classes/{created['code']}/join", headers=student)
    assert again.status_code == 200 and again.json()["id"] == joined["id"]
    locked = httpx.patch(f"{url}/api/runs/{joined['id']}", json={"batch_size": 3}, headers=student)
    assert locked.status_code == 403 and locked.json()["field"] == "batch_size"
    assert httpx.post(f"{url}/api/runs/{joined['id']}/play", headers=teacher).status_code == 200
    assert httpx.post(f"{url}/api/runs/{joined['id']}/pause", headers=second.auth).status_code == 403
    assert [run["id"] for run in httpx.get(url + "/api/runs", headers=student).json()] == [joined["id"]]


@pytest.mark.parametrize(
    "message",
    [
        {"type": "set", "config": {"batch_size": 3}},
        {"type": "set_weight", "layer": 0, "row": 0, "col": 0, "value": 2.0},
    ],
)
def test_locks_hold_on_the_websocket_too(server, message):
    created = httpx.post(server.url + "/api/classes", json={"config": SETUP, "allowed": LOCKED}).json()
    joined = httpx.post(f"{server.url}/api/classes/{created['code']}/join").json()

    async def scenario():
        async with connect(f"{server.ws_url}/ws/runs/{joined['id']}", proxy=None, max_size=None) as ws:
            await ws.send(json.dumps({"type": "auth", "token": joined["token"]}))
            await ws.send(json.dumps(message))
            while (reply := json.loads(await asyncio.wait_for(ws.recv(), 5)))["type"] != "error":
                pass
            return reply

    error = asyncio.run(scenario())
    field = "batch_size" if message["type"] == "set" else "model.weights"
    assert error["field"] == field and "teacher" in error["message"]
