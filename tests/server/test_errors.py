"""Bad inputs get 4xx with the field at fault, never a 5xx; limits from settings answer clearly."""

from __future__ import annotations

import pytest

from backproplab.server.settings import Settings

BAD_CONFIGS = [
    ({"optimizer": {"lr": -1}}, "optimizer.lr"),
    ({"optimizer": {"name": "lbfgs"}}, "optimizer.name"),
    ({"dataset": {"kind": "custom"}}, "dataset"),
    ({"dataset": {"kind": "spiral", "classes": 3}, "loss": "bce"}, "loss"),
    ({"model": {"hidden": [0]}}, "model.hidden.0"),
    ({"model": {"weights": [{"W": [[1]], "b": [0]}]}}, "model.weights"),
    ({"features": ["x1", "x1"]}, "features"),
    ({"nonsense": 1}, "nonsense"),
    ({"batch_size": "ten"}, "batch_size"),
]


@pytest.mark.parametrize(("config", "field"), BAD_CONFIGS)
def test_bad_config_is_422_with_field(client, config, field):
    response = client.post("/api/runs", json=config)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["field"] == field, body
    assert body["reason"] and body["detail"]


@pytest.mark.parametrize(("config", "field"), BAD_CONFIGS)
def test_bad_patch_is_422_and_changes_nothing(client, config, field):
    run = client.post("/api/runs", json={}).json()
    response = client.patch(f"/api/runs/{run['id']}", json=config)
    assert response.status_code == 422
    assert response.json()["field"] == field
    assert client.get(f"/api/runs/{run['id']}").json()["config"] == run["config"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/runs/missing", None),
        ("patch", "/api/runs/missing", {}),
        ("delete", "/api/runs/missing", None),
        ("post", "/api/runs/missing/step", {"steps": 1}),
        ("post", "/api/runs/missing/play", None),
        ("get", "/api/runs/missing/params", None),
        ("get", "/api/runs/missing/history", None),
        ("get", "/api/runs/missing/gradcheck", None),
    ],
)
def test_unknown_run_is_404(client, method, path, body):
    response = client.request(method, path, json=body)
    assert response.status_code == 404
    assert response.json()["field"] == "run_id"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b'{"seed": NaN}', "application/json"),
        (b'{"optimizer": {"lr": Infinity}}', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b"hello", "text/plain"),
        (b"--x\r\n\r\n", "multipart/form-data; boundary=x"),
    ],
)
def test_garbage_bodies_are_4xx(client, body, content_type):
    response = client.post("/api/runs", content=body, headers={"content-type": content_type})
    assert 400 <= response.status_code < 500, response.text


def test_bad_steps_and_queries(client):
    run_id = client.post("/api/runs", json={}).json()["id"]
    for body in ({"steps": 0}, {"steps": 10_001}, {"steps": "x"}, {"steps": 10**30}, []):
        response = client.post(f"/api/runs/{run_id}/step", json=body)
        assert response.status_code == 422, (body, response.text)
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 10_001}).json()["field"] == "steps"
    for query in ({"max_points": 1}, {"format": "xml"}, {"max_points": "many"}):
        assert client.get(f"/api/runs/{run_id}/history", params=query).status_code == 422
    for query in ({"samples": 0}, {"h": 0}, {"h": "nan"}):
        assert client.get(f"/api/runs/{run_id}/gradcheck", params=query).status_code == 422


def test_a_body_that_is_not_json_is_the_bodys_fault_on_every_route(client):
    """Every JSON route names ``body`` (not a character offset) when the body does not parse."""
    run_id = client.post("/api/runs", json={}).json()["id"]
    race_id = client.post("/api/races", json={}).json()["id"]
    for path in (f"/api/runs/{run_id}/step", f"/api/races/{race_id}/step", "/api/sweeps", "/api/comparisons"):
        response = client.post(path, content=b'{"steps":', headers={"content-type": "application/json"})
        assert response.status_code == 422, (path, response.text)
        assert response.json()["field"] == "body", (path, response.text)
        assert response.json()["reason"].startswith("not valid JSON"), (path, response.text)


def test_a_json_body_that_is_not_an_object_is_the_bodys_fault_on_every_json_route(client):
    """[], "Ed", 3 or true where an object belongs: 422 naming ``body``, on every route that takes JSON."""
    group = client.post("/api/classes", json={}).json()
    ids = {
        "run_id": client.post("/api/runs", json={}).json()["id"],
        "race_id": client.post("/api/races", json={}).json()["id"],
        "comparison_id": client.post(
            "/api/comparisons",
            json={"racers": [{"label": label, "optimizer": {"name": "sgd"}} for label in "ab"]},
        ).json()["id"],
        "action": "step",
        "class_id": group["id"],
        "code": group["code"],
    }
    routes = [
        (method.upper(), path.format(**ids))
        for path, operations in client.get("/openapi.json").json()["paths"].items()
        for method, operation in operations.items()
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    ]
    assert len(routes) >= 12, routes
    for method, path in routes:
        for body in (b"[]", b'"Ed"', b"3", b"true"):
            response = client.request(
                method, path, content=body, headers={"content-type": "application/json"}
            )
            assert response.status_code == 422, (method, path, body, response.text)
            error = response.json()
            assert (error["field"], error["reason"]) == ("body", "must be a JSON object"), (
                method,
                path,
                error,
            )


def test_an_error_repeats_at_most_the_start_of_a_long_id_code_or_value(client):
    """What the client sent is quoted shortened (a path, a body or a header can be kilobytes long)."""
    long = "A" * 5000
    for method, path, body, field in (
        ("GET", f"/api/runs/{long}", None, "run_id"),
        ("POST", f"/api/classes/{long}/join", None, "code"),
        ("POST", f"/api/classes/{long}/join", {"name": "Ada"}, "code"),
        ("GET", f"/api/classes/{long}", None, "class_id"),
        ("GET", f"/api/races/{long}", None, "race_id"),
        ("GET", f"/api/comparisons/{long}", None, "comparison_id"),
        ("POST", "/api/classes", {"allowed": [long]}, "allowed"),
    ):
        response = client.request(method, path, json=body)
        assert 400 <= response.status_code < 500 and len(response.text) < 1000, (path, response.text[:300])
        assert response.json()["field"] == field and "A" * 40 + "…" in response.json()["reason"]
    host = client.get("/api/health", headers={"host": long})
    assert host.status_code == 400 and len(host.text) < 1000 and "A" * 40 + "…" in host.json()["reason"]


def test_the_step_routes_take_no_body_as_one_step(client):
    run_id = client.post("/api/runs", json={}).json()["id"]
    assert client.post(f"/api/runs/{run_id}/step").json()["step"] == 1
    race_id = client.post("/api/races", json={}).json()["id"]
    assert client.post(f"/api/races/{race_id}/step").status_code == 200


def test_a_number_or_a_switch_of_the_wrong_type_is_refused_not_converted(client):
    """JSON true is not 1 step, and "yes" is not true."""
    run_id = client.post("/api/runs", json={}).json()["id"]
    response = client.post(f"/api/runs/{run_id}/step", json={"steps": True})
    assert response.status_code == 422 and response.json()["field"] == "steps"
    assert client.get(f"/api/runs/{run_id}").json()["step"] == 0
    response = client.patch(f"/api/runs/{run_id}", json={"keep_training": "yes"})
    assert response.status_code == 422 and response.json()["field"] == "keep_training"
    assert client.get(f"/api/runs/{run_id}").json()["keep_training"] is False
    response = client.get(f"/api/runs/{run_id}/gradcheck", params={"h": "nan"})
    assert response.json()["field"] == "h" and "finite" in response.json()["reason"]


def test_diverging_run_reports_and_never_crashes(client):
    config = {
        "optimizer": {"lr": 1e4},
        "model": {"activation": "relu", "hidden": [8, 8]},
        "dataset": {"kind": "plane"},
    }
    run_id = client.post("/api/runs", json=config).json()["id"]
    run = client.post(f"/api/runs/{run_id}/step", json={"steps": 500}).json()
    assert run["status"] == "diverged" and run["message"]
    assert client.get(f"/api/runs/{run_id}/params").status_code == 200
    assert client.get(f"/api/runs/{run_id}/history").status_code == 200
    assert client.post(f"/api/runs/{run_id}/play").json()["status"] == "diverged"


def test_limits_from_settings(tmp_path, app_client):
    settings = Settings(data_dir=tmp_path, max_runs=2, max_body_bytes=10_000, max_parameters=100)
    with app_client(settings) as client:
        assert client.post("/api/runs", json={"model": {"hidden": [64, 64]}}).status_code == 422
        client.post("/api/runs", json={})
        client.post("/api/runs", json={})
        too_many = client.post("/api/runs", json={})
        assert too_many.status_code == 429 and "at most 2" in too_many.json()["reason"]
        big = client.post(
            "/api/runs", content=b"{" + b" " * 20_000 + b"}", headers={"content-type": "application/json"}
        )
        assert big.status_code == 413
