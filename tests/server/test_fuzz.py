"""Property test of the REST API from its own OpenAPI schema: no input makes the server answer 5xx."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings

schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.fixture(scope="module")
def api_schema(server):
    loaded = schemathesis.openapi.from_url(server.url + "/openapi.json")
    loaded.config.update(base_url=server.url)
    loaded.config.phases.update(phases=["examples", "fuzzing"])  # bounded: no exhaustive coverage phase
    return loaded


@pytest.fixture(scope="module")
def real_run_id(server) -> str:
    run_id = httpx.post(server.url + "/api/runs", json={}).json()["id"]
    httpx.post(f"{server.url}/api/runs/{run_id}/step", json={"steps": 5})
    return run_id


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case, server, real_run_id):
    """Each generated request as is (unknown ids: 404) and, for run routes, against a real run."""
    generated = dict(case.path_parameters or {})
    attempts = [generated]
    if "run_id" in generated:
        if case.method.upper() == "DELETE":
            attempts = [{**generated, "run_id": "never-a-real-id"}]  # keep the real run for the others
        else:
            attempts.append({**generated, "run_id": real_run_id})
    for path_parameters in attempts:
        case.path_parameters = path_parameters
        response = case.call(timeout=30)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])
    if case.method.upper() == "POST" and case.path == "/api/runs" and response.status_code == 201:
        httpx.delete(f"{server.url}/api/runs/{response.json()['id']}")
