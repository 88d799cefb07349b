"""GET /api/runs/{id}/landscape and /landscape/line through TestClient: shapes, meaning, errors, streaming."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from backproplab.server.landscape.schemas import LandscapeLineOut, LandscapeOut, LandscapeProgress

CONFIG = {
    "dataset": {"kind": "circle", "samples": 200},
    "model": {"hidden": [6, 4]},
    "optimizer": {"lr": 0.1},
}


@pytest.fixture
def run_id(client):
    run_id = client.post("/api/runs", json=CONFIG).json()["id"]
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 200}).status_code == 200
    return run_id


def landscape(client, run_id, **query) -> dict:
    response = client.get(f"/api/runs/{run_id}/landscape", params=query)
    assert response.status_code == 200, response.text
    return LandscapeOut.model_validate(response.json()).model_dump()


@pytest.mark.parametrize("directions", ["filter", "pca", "gradient"])
def test_slice_is_a_grid_centred_on_the_current_loss(client, run_id, directions):
    body = landscape(client, run_id, directions=directions, resolution=11)
    values = np.array(body["values"], dtype=float)
    assert values.shape == (11, 11) and np.isfinite(values).all()
    assert body["alphas"][0] == -body["span"] and body["alphas"][-1] == body["span"]
    assert values[5, 5] == pytest.approx(body["current_loss"], rel=1e-12)
    assert body["value_range"] == [values.min(), values.max()]
    assert body["step"] == 200 and body["lr"] == 0.1
    assert body["path"]["steps"][-1] == 200
    assert body["path"]["points"][-1] == pytest.approx([0.0, 0.0], abs=1e-9)  # the path ends at θ
    assert len(body["path"]["steps"]) == len(body["path"]["points"]) >= 2


def test_plane_origin_is_the_current_weights(client, run_id):
    body = landscape(client, run_id, resolution=3)
    params = client.get(f"/api/runs/{run_id}/params").json()["layers"]
    origin = np.concatenate([np.concatenate([np.ravel(layer["W"]), layer["b"]]) for layer in params])
    assert np.array(body["plane"]["origin"]) == pytest.approx(origin)
    assert len(body["plane"]["d1"]) == len(body["plane"]["d2"]) == origin.size


def test_pca_reports_explained_variance_and_fits_the_path(client, run_id):
    body = landscape(client, run_id, directions="pca", resolution=5)
    first, second = body["explained_variance"]
    assert 1.0 >= first >= second >= 0.0 and first + second <= 1.0 + 1e-12
    reach = np.abs(np.array(body["path"]["points"])).max()
    assert body["span"] == pytest.approx(1.25 * reach)
    assert landscape(client, run_id, directions="filter", resolution=5)["explained_variance"] is None


def test_gradient_direction_descends_along_alpha(client, run_id):
    body = landscape(client, run_id, directions="gradient", resolution=21, span=0.05)
    middle_row = np.array(body["values"][10])
    assert middle_row[11] < middle_row[10] < middle_row[9]  # d1 = −∇L: small steps along +α go down


def test_log_loss_metric_is_log10_of_the_loss(client, run_id):
    plain = landscape(client, run_id, resolution=5, seed=3)
    logged = landscape(client, run_id, resolution=5, seed=3, metric="log_loss")
    assert np.array(logged["values"]) == pytest.approx(np.log10(plain["values"]))
    assert logged["current_value"] == pytest.approx(math.log10(plain["current_loss"]))


def test_seed_chooses_the_random_plane_and_split_the_data(client, run_id):
    first, again = (landscape(client, run_id, resolution=5, seed=1) for _ in range(2))
    other = landscape(client, run_id, resolution=5, seed=2)
    assert first["values"] == again["values"] != other["values"]
    test_split = landscape(client, run_id, resolution=5, seed=1, split="test")
    assert test_split["current_loss"] != first["current_loss"]


def test_weights_are_unchanged_by_a_landscape(client, run_id):
    before = client.get(f"/api/runs/{run_id}/params").json()
    for directions in ("filter", "pca", "gradient"):
        landscape(client, run_id, directions=directions, resolution=7)
    client.get(f"/api/runs/{run_id}/landscape/line")
    assert client.get(f"/api/runs/{run_id}/params").json() == before
    assert client.get(f"/api/runs/{run_id}").json()["step"] == 200


def test_line_marks_the_learning_rate_and_descends_at_first(client, run_id):
    response = client.get(f"/api/runs/{run_id}/landscape/line", params={"points": 41})
    body = LandscapeLineOut.model_validate(response.json()).model_dump()
    alphas, values = body["alphas"], body["values"]
    assert alphas[0] == 0.0 and alphas[-1] == pytest.approx(4 * body["lr"]) and len(alphas) == 41
    assert body["loss_at_lr"] == values[alphas.index(body["lr"])]
    assert values[0] == body["current_loss"] == landscape(client, run_id, resolution=3)["current_loss"]
    assert values[1] < values[0] and body["gradient_norm"] > 0
    assert values[alphas.index(body["best_alpha"])] == min(values)
    wide = client.get(f"/api/runs/{run_id}/landscape/line", params={"alpha_max": 0.01, "points": 5}).json()
    assert wide["alphas"] == pytest.approx(np.linspace(0, 0.01, 5)) and wide["loss_at_lr"] is None


def test_progress_streams_ndjson_then_the_result(client, run_id):
    with client.stream(
        "GET", f"/api/runs/{run_id}/landscape", params={"resolution": 101, "progress": True}
    ) as s:
        assert s.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in s.iter_lines() if line]
    *progress, result = lines
    assert progress and all(LandscapeProgress.model_validate(line) for line in progress)
    done = [line["done"] for line in progress]
    assert done == sorted(done) and done[-1] == progress[-1]["total"] == 101 * 101 and len(progress) <= 51
    assert result["type"] == "result"
    assert len(LandscapeOut.model_validate(result["landscape"]).values) == 101


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"resolution": 0}, "resolution"),
        ({"resolution": 10000}, "resolution"),
        ({"resolution": "many"}, "resolution"),
        ({"span": "nan"}, "span"),
        ({"span": "inf"}, "span"),
        ({"span": -1}, "span"),
        ({"directions": "hessian"}, "directions"),
        ({"metric": "accuracy"}, "metric"),
        ({"split": "validation"}, "split"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_parameters_are_422_naming_the_field(client, run_id, query, field):
    response = client.get(f"/api/runs/{run_id}/landscape", params=query)
    assert response.status_code == 422 and response.json()["field"] == field


@pytest.mark.parametrize(
    ("query", "field"),
    [({"points": 1}, "points"), ({"points": 10000}, "points"), ({"alpha_max": "nan"}, "alpha_max")],
)
def test_bad_line_parameters_are_422(client, run_id, query, field):
    response = client.get(f"/api/runs/{run_id}/landscape/line", params=query)
    assert response.status_code == 422 and response.json()["field"] == field


def test_pca_before_training_and_unknown_runs_are_clear_errors(client):
    fresh = client.post("/api/runs", json=CONFIG).json()["id"]
    response = client.get(f"/api/runs/{fresh}/landscape", params={"directions": "pca"})
    assert response.status_code == 422 and response.json()["field"] == "trajectory"
    assert landscape(client, fresh, resolution=3)["path"]["steps"] == [0]
    assert client.get("/api/runs/nope/landscape").status_code == 404
    assert client.get("/api/runs/nope/landscape/line").status_code == 404


def test_landscape_is_computed_while_the_run_trains(client, run_id):
    client.post(f"/api/runs/{run_id}/play")
    try:
        steps = [landscape(client, run_id, resolution=21)["step"] for _ in range(3)]
    finally:
        client.post(f"/api/runs/{run_id}/pause")
    assert steps == sorted(steps) and steps[-1] > 200


def test_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/openapi.json").json()
    assert {"/api/runs/{run_id}/landscape", "/api/runs/{run_id}/landscape/line"} <= set(schema["paths"])
    assert schema["components"]["schemas"]["LandscapeOut"]["examples"]


def test_a_wide_networks_path_is_an_evenly_spaced_sample_ending_now(client):
    """2-64-64-1 has 4,417 parameters: 2¹⁸ values are 59 of them, so 64 points travel (the minimum)."""
    config = {"dataset": {"kind": "circle", "samples": 100}, "model": {"hidden": [64, 64]}, "batch_size": 10}
    run_id = client.post("/api/runs", json=config).json()["id"]
    assert client.post(f"/api/runs/{run_id}/step", json={"steps": 1500}).status_code == 200
    for directions in ("filter", "pca"):
        path = landscape(client, run_id, directions=directions, resolution=3)["path"]
        assert len(path["steps"]) == len(path["points"]) in (64, 65)  # 65: the current weights appended
        assert path["steps"][0] == 1 and path["steps"][-1] == 1500
        assert path["points"][-1] == pytest.approx([0.0, 0.0], abs=1e-9)
        gaps = np.diff(path["steps"][:64])
        assert gaps.min() > 0 and gaps.max() - gaps.min() <= 20  # evenly spaced: 1 point in 10 recorded
